//! [`Receiver`]: the receiving half of a channel or a timer, and its iterators.

#![forbid(unsafe_code)]

use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channel::{Channel, Reservation, Side};
use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::select::SelectHandle;
use super::timer::{self, Timer};
use crate::sync::wait_queue::Waiter;

/// The receiving half of a channel; clone it for more consumers (each message goes to exactly one).
///
/// When the last `Receiver` of a channel is dropped, its buffered messages are dropped and sends fail with
/// [`SendError`](super::SendError). Receivers made by [`after`](super::after), [`at`](super::at),
/// [`tick`](super::tick) and [`never`](super::never) deliver time instead and are never disconnected.
pub struct Receiver<T> {
    /// What the messages come from.
    flavor: Flavor<T>,
}

/// Where a [`Receiver`]'s messages come from.
enum Flavor<T> {
    /// A `bounded` or `unbounded` channel.
    Channel(Arc<Channel<T>>),
    /// `at`, `after` or `tick`. `T` is `Instant` for these; the function turns the instant into a `T`
    /// (it is the identity), which keeps the flavor free of unsafe casts.
    Timer(Arc<Timer>, fn(Instant) -> T),
    /// `never`: no messages, ever.
    Never,
}

impl<T> Receiver<T> {
    pub(crate) fn from_channel(channel: Arc<Channel<T>>) -> Receiver<T> {
        Receiver { flavor: Flavor::Channel(channel) }
    }

    pub(crate) fn never() -> Receiver<T> {
        Receiver { flavor: Flavor::Never }
    }

    /// Receives without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when there is no message now — for a zero-capacity channel, when no sender is
    /// waiting — and [`TryRecvError::Disconnected`] when the channel is empty and every sender is gone.
    ///
    /// ```
    /// use green::channel::{unbounded, TryRecvError};
    ///
    /// let (s, r) = unbounded();
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    /// s.send(5).unwrap();
    /// drop(s);
    /// assert_eq!(r.try_recv(), Ok(5)); // buffered messages outlive the senders
    /// assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.flavor {
            Flavor::Channel(channel) => channel.try_recv(),
            Flavor::Timer(timer, convert) => timer.try_fire().map(*convert).ok_or(TryRecvError::Empty),
            Flavor::Never => Err(TryRecvError::Empty),
        }
    }

    /// Receives, waiting for a message.
    ///
    /// In a green thread only that green thread waits. A cancellation point: if the waiting green thread is
    /// cancelled or its [`timeout`](crate::timeout) expires, it takes no message — one that was already on its
    /// way to it stays in the channel for the next receiver.
    ///
    /// # Errors
    /// [`RecvError`] when the channel is empty and every sender is gone (buffered messages are received
    /// first).
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::channel::{unbounded, RecvError};
    ///
    /// green::run(|| {
    ///     let (s, r) = unbounded();
    ///     green::spawn(move || {
    ///         green::sleep(Duration::from_millis(5));
    ///         s.send(5).unwrap();
    ///     });
    ///     assert_eq!(r.recv(), Ok(5)); // parks until the message arrives
    ///     assert_eq!(r.recv(), Err(RecvError)); // the sender is gone
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Like [`recv`](Receiver::recv), giving up after `timeout`.
    ///
    /// # Errors
    /// [`RecvTimeoutError::Timeout`] when nothing arrived in time, [`RecvTimeoutError::Disconnected`] when
    /// the channel is empty and every sender is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::channel::{unbounded, RecvTimeoutError};
    ///
    /// let (_s, r) = unbounded::<()>();
    /// assert_eq!(r.recv_timeout(Duration::from_millis(10)), Err(RecvTimeoutError::Timeout));
    /// ```
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Like [`recv`](Receiver::recv), giving up at `deadline` (see [`recv_timeout`](Receiver::recv_timeout)).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use green::channel::{unbounded, RecvTimeoutError};
    ///
    /// let (s, r) = unbounded();
    /// s.send(1).unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(r.recv_deadline(deadline), Ok(1));
    /// assert_eq!(r.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// ```
    #[track_caller]
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// Every blocking receive ends here.
    #[track_caller]
    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match &self.flavor {
            Flavor::Channel(channel) => channel.recv(deadline),
            Flavor::Timer(timer, convert) => timer.recv(deadline).map(*convert),
            Flavor::Never => Err(timer::wait_forever(deadline)),
        }
    }

    /// Whether no message is waiting (always true for a zero-capacity channel).
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded();
    /// assert!(r.is_empty());
    /// s.send(0).unwrap();
    /// assert!(!r.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full (always true for a zero-capacity channel, never for an unbounded one).
    ///
    /// ```
    /// let (s, r) = green::channel::bounded(1);
    /// assert!(!r.is_full());
    /// s.send(0).unwrap();
    /// assert!(r.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        match &self.flavor {
            Flavor::Channel(channel) => channel.is_full(),
            Flavor::Timer(timer, _) => timer.is_ready(),
            Flavor::Never => true,
        }
    }

    /// The number of messages waiting (always 0 for a zero-capacity channel).
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// assert_eq!(r.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Channel(channel) => channel.len(),
            Flavor::Timer(timer, _) => usize::from(timer.is_ready()),
            Flavor::Never => 0,
        }
    }

    /// The capacity: `None` for an unbounded channel, `Some(1)` for timers, `Some(0)` for `never`.
    ///
    /// ```
    /// use green::channel::{bounded, unbounded};
    ///
    /// assert_eq!(unbounded::<i32>().1.capacity(), None);
    /// assert_eq!(bounded::<i32>(5).1.capacity(), Some(5));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            Flavor::Channel(channel) => channel.capacity(),
            Flavor::Timer(..) => Some(1),
            Flavor::Never => Some(0),
        }
    }

    /// A blocking iterator: [`recv`](Receiver::recv) until the channel is empty and disconnected.
    ///
    /// ```
    /// green::run(|| {
    ///     let (s, r) = green::channel::unbounded();
    ///     green::spawn(move || {
    ///         for i in 1..=3 {
    ///             s.send(i).unwrap();
    ///         }
    ///     }); // the sender is dropped when the green thread ends
    ///     assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// });
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// A non-blocking iterator over the messages waiting now.
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// assert_eq!(r.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(r.try_iter().next(), None); // empty now; `s` is still alive
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// Whether `other` receives from the same channel (or timer; all `never` receivers are the same).
    ///
    /// ```
    /// let (_s, r) = green::channel::unbounded::<i32>();
    /// let (_s2, other) = green::channel::unbounded::<i32>();
    /// assert!(r.same_channel(&r.clone()));
    /// assert!(!r.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.flavor, &other.flavor) {
            (Flavor::Channel(a), Flavor::Channel(b)) => Arc::ptr_eq(a, b),
            (Flavor::Timer(a, _), Flavor::Timer(b, _)) => Arc::ptr_eq(a, b),
            (Flavor::Never, Flavor::Never) => true,
            _ => false,
        }
    }

    /// Select step 6: takes what `reservation` holds.
    pub(crate) fn complete_recv(&self, reservation: Reservation) -> Result<T, RecvError> {
        match (&self.flavor, reservation) {
            (Flavor::Channel(channel), reservation) => channel.complete_recv(reservation),
            (Flavor::Timer(_, convert), Reservation::Fired(due)) => Ok(convert(due)),
            _ => Err(RecvError),
        }
    }
}

impl Receiver<Instant> {
    pub(crate) fn from_timer(timer: Timer) -> Receiver<Instant> {
        Receiver { flavor: Flavor::Timer(Arc::new(timer), |due| due) }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        let flavor = match &self.flavor {
            Flavor::Channel(channel) => {
                channel.add_handle(Side::Receive);
                Flavor::Channel(channel.clone())
            }
            Flavor::Timer(timer, convert) => Flavor::Timer(timer.clone(), *convert),
            Flavor::Never => Flavor::Never,
        };
        Receiver { flavor }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Flavor::Channel(channel) = &self.flavor {
            channel.drop_handle(Side::Receive);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

impl<T> SelectHandle for Receiver<T> {
    fn try_reserve(&self) -> Option<Reservation> {
        match &self.flavor {
            Flavor::Channel(channel) => channel.try_reserve(Side::Receive),
            Flavor::Timer(timer, _) => timer.try_fire().map(Reservation::Fired),
            Flavor::Never => None,
        }
    }

    fn register(&self, waiter: &Arc<Waiter>, token: usize) -> bool {
        match &self.flavor {
            Flavor::Channel(channel) => channel.register(Side::Receive, waiter, token),
            Flavor::Timer(timer, _) => timer.is_ready(),
            Flavor::Never => false,
        }
    }

    fn unregister(&self, waiter: &Arc<Waiter>) {
        if let Flavor::Channel(channel) = &self.flavor {
            channel.unregister(Side::Receive, waiter);
        }
    }

    fn pass_on(&self) {
        if let Flavor::Channel(channel) = &self.flavor {
            channel.pass_on(Side::Receive);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.flavor {
            Flavor::Timer(timer, _) => timer.next(),
            _ => None,
        }
    }

    fn release(&self, reservation: Reservation) {
        match (&self.flavor, reservation) {
            (Flavor::Channel(channel), reservation) => channel.release(Side::Receive, reservation),
            (Flavor::Timer(timer, _), Reservation::Fired(due)) => timer.unfire(due),
            _ => {}
        }
    }
}

/// The blocking iterator of [`Receiver::iter`]; ends when the channel is empty and disconnected.
pub struct Iter<'a, T> {
    /// The receiver iterated over.
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Iter { .. }")
    }
}

/// The non-blocking iterator of [`Receiver::try_iter`]; ends at the first empty look.
pub struct TryIter<'a, T> {
    /// The receiver iterated over.
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("TryIter { .. }")
    }
}

/// The owning blocking iterator of `Receiver::into_iter`; ends when the channel is empty and disconnected.
pub struct IntoIter<T> {
    /// The receiver iterated over.
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("IntoIter { .. }")
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
