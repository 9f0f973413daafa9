//! The `std::sync::mpsc` mirror on green channels: same functions, types, errors and semantics; waiting parks
//! only the calling green thread.
//!
//! `std::sync::mpsc` compiles in a green thread, and that is the trap: its `recv` blocks the worker's whole OS
//! thread, and every green thread on that worker stops with it (if the sender runs on the same worker, for
//! good). Swap `std::sync::mpsc` for `green::sync::mpsc` and the same code parks instead:
//!
//! ```
//! use green::sync::mpsc;
//!
//! green::run(|| {
//!     let (tx, rx) = mpsc::channel();
//!     for id in 0..3 {
//!         let tx = tx.clone();
//!         green::spawn(move || tx.send(id * 10).unwrap());
//!     }
//!     drop(tx); // the loop below ends when every sender is gone
//!     let mut got: Vec<i32> = rx.iter().collect();
//!     got.sort();
//!     assert_eq!(got, [0, 10, 20]);
//! });
//! ```
//!
//! # Design
//! Each type wraps its [`crate::channel`] twin — [`channel`](fn@channel) an unbounded channel, [`sync_channel`] a bounded
//! one (`sync_channel(0)` the rendezvous channel) — and converts the results. The error types *are* `std`'s
//! (re-exported), so code that matches on them, prints them or converts them with `?` is unchanged. Like
//! `std`'s, [`Receiver`] is not `Clone` (single consumer) and not `Sync`. Works between green threads on any
//! worker and plain OS threads, mixed, and every wait is a cancellation point (see [`crate::channel`]).

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::channel;

/// A channel with an unbounded buffer: sends never wait. [`std::sync::mpsc::channel`], parking.
///
/// ```
/// use green::sync::mpsc::channel;
///
/// green::run(|| {
///     let (tx, rx) = channel();
///     green::spawn(move || tx.send("from a green thread").unwrap());
///     assert_eq!(rx.recv().unwrap(), "from a green thread");
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (sender, receiver) = channel::unbounded();
    (Sender { inner: sender }, Receiver::new(receiver))
}

/// A channel holding at most `bound` messages; `send` waits while it is full, and `sync_channel(0)` makes each
/// send wait for a receive. [`std::sync::mpsc::sync_channel`], parking.
///
/// ```
/// use green::sync::mpsc::sync_channel;
///
/// green::run(|| {
///     let (tx, rx) = sync_channel(1);
///     let producer = green::spawn(move || {
///         for i in 0..3 {
///             tx.send(i).unwrap(); // parks while the one slot is taken
///         }
///     });
///     assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
///     producer.join().unwrap();
/// });
/// ```
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (sender, receiver) = channel::bounded(bound);
    (SyncSender { inner: sender }, Receiver::new(receiver))
}

/// The sending half of a [`channel`](fn@channel); clone it for more producers. [`std::sync::mpsc::Sender`].
pub struct Sender<T> {
    /// The green channel's sender.
    inner: channel::Sender<T>,
}

/// The sending half of a [`sync_channel`]; clone it for more producers. [`std::sync::mpsc::SyncSender`].
pub struct SyncSender<T> {
    /// The green channel's sender.
    inner: channel::Sender<T>,
}

/// The receiving half of a channel. [`std::sync::mpsc::Receiver`]: one consumer, neither `Clone` nor `Sync`.
pub struct Receiver<T> {
    /// The green channel's receiver.
    inner: channel::Receiver<T>,
    /// Makes the receiver `!Sync`, as `std`'s.
    _not_sync: PhantomData<Cell<()>>,
}

impl<T> Sender<T> {
    /// Sends `message`; never waits (the buffer is unbounded).
    ///
    /// # Errors
    /// [`SendError`] with the message when the receiver is gone. A successful send does not mean the message
    /// will be received: the receiver may be dropped before it gets it.
    ///
    /// ```
    /// let (tx, rx) = green::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    #[track_caller]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.inner.send(message).map_err(|error| SendError(error.into_inner()))
    }
}

impl<T> SyncSender<T> {
    /// Sends `message`, parking while the buffer is full (for `sync_channel(0)`: until a receiver takes it).
    ///
    /// A cancellation point: a cancelled sender's message is not sent.
    ///
    /// # Errors
    /// [`SendError`] with the message when the receiver is gone.
    ///
    /// ```
    /// use green::sync::mpsc::sync_channel;
    ///
    /// green::run(|| {
    ///     let (tx, rx) = sync_channel(0);
    ///     let receiver = green::spawn(move || rx.recv().unwrap());
    ///     tx.send(7).unwrap(); // returns once the receiver took it
    ///     assert_eq!(receiver.join().unwrap(), 7);
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.inner.send(message).map_err(|error| SendError(error.into_inner()))
    }

    /// Sends `message` if there is room now; never waits.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full (for `sync_channel(0)`: no receiver is waiting),
    /// [`TrySendError::Disconnected`] when the receiver is gone; both give the message back.
    ///
    /// ```
    /// use green::sync::mpsc::{sync_channel, TrySendError};
    ///
    /// let (tx, _rx) = sync_channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(message).map_err(|error| match error {
            channel::TrySendError::Full(message) => TrySendError::Full(message),
            channel::TrySendError::Disconnected(message) => TrySendError::Disconnected(message),
        })
    }
}

impl<T> Receiver<T> {
    fn new(inner: channel::Receiver<T>) -> Receiver<T> {
        Receiver { inner, _not_sync: PhantomData }
    }

    /// Receives a message if one is waiting; never waits.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when there is none now, [`TryRecvError::Disconnected`] when the buffer is empty
    /// and every sender is gone.
    ///
    /// ```
    /// use green::sync::mpsc::{channel, TryRecvError};
    ///
    /// let (tx, rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|error| match error {
            channel::TryRecvError::Empty => TryRecvError::Empty,
            channel::TryRecvError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Receives a message, parking until one arrives.
    ///
    /// Buffered messages are received even after every sender is gone. A cancellation point.
    ///
    /// # Errors
    /// [`RecvError`] when the buffer is empty and every sender is gone.
    ///
    /// ```
    /// use green::sync::mpsc::{channel, RecvError};
    ///
    /// green::run(|| {
    ///     let (tx, rx) = channel();
    ///     green::spawn(move || tx.send(1).unwrap()).join().unwrap();
    ///     assert_eq!(rx.recv(), Ok(1));
    ///     assert_eq!(rx.recv(), Err(RecvError)); // the sender was dropped with its green thread
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.inner.recv().map_err(|_| RecvError)
    }

    /// Like [`recv`](Receiver::recv), giving up after `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when nothing arrived in time, [`RecvTimeoutError::Disconnected`] when the
    /// buffer is empty and every sender is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::sync::mpsc::{channel, RecvTimeoutError};
    ///
    /// green::run(|| {
    ///     let (tx, rx) = channel::<()>();
    ///     assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    ///     drop(tx);
    ///     assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Disconnected));
    /// });
    /// ```
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.inner.recv_timeout(timeout).map_err(convert_timeout)
    }

    /// Like [`recv`](Receiver::recv), giving up at `deadline` (see [`recv_timeout`](Receiver::recv_timeout)).
    /// Unstable in `std` (`deadline_api`), stable here.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use green::sync::mpsc::{channel, RecvTimeoutError};
    ///
    /// let (_tx, rx) = channel::<()>();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// ```
    #[track_caller]
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.inner.recv_deadline(deadline).map_err(convert_timeout)
    }

    /// A blocking iterator: [`recv`](Receiver::recv) until the buffer is empty and every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = green::sync::mpsc::channel();
    /// for i in 1..=3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// An iterator over the messages waiting now; never waits.
    ///
    /// ```
    /// let (tx, rx) = green::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // empty, though `tx` is alive
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }
}

/// The one conversion of a timed receive's error.
fn convert_timeout(error: channel::RecvTimeoutError) -> RecvTimeoutError {
    match error {
        channel::RecvTimeoutError::Timeout => RecvTimeoutError::Timeout,
        channel::RecvTimeoutError::Disconnected => RecvTimeoutError::Disconnected,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender { inner: self.inner.clone() }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        SyncSender { inner: self.inner.clone() }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The blocking iterator of [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T: 'a> {
    /// The receiver iterated over.
    receiver: &'a Receiver<T>,
}

/// The non-blocking iterator of [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T: 'a> {
    /// The receiver iterated over.
    receiver: &'a Receiver<T>,
}

/// The owning blocking iterator of `Receiver::into_iter`.
#[derive(Debug)]
pub struct IntoIter<T> {
    /// The receiver iterated over.
    receiver: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}
