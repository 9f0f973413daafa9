//! [`Sender`]: the sending half, and the constructors [`bounded`] and [`unbounded`].

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channel::{Channel, Reservation, Side};
use super::error::{SendError, SendTimeoutError, TrySendError};
use super::receiver::Receiver;
use super::select::SelectHandle;
use crate::sync::wait_queue::Waiter;

/// A channel that holds at most `capacity` messages; `bounded(0)` makes a rendezvous channel, where each send
/// waits for a receive.
///
/// Senders and receivers can be cloned and shared: the channel is multi-producer, multi-consumer. A blocked
/// send or receive parks only its green thread (or blocks its OS thread).
///
/// ```
/// use green::channel::bounded;
///
/// green::run(|| {
///     let (s, r) = bounded(1);
///     let producer = green::spawn(move || {
///         for i in 0..3 {
///             s.send(i).unwrap(); // waits while the one slot is taken
///         }
///     });
///     assert_eq!(r.iter().collect::<Vec<_>>(), [0, 1, 2]); // ends when `s` is dropped
///     producer.join().unwrap();
/// });
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel::new(Some(capacity)));
    (Sender { channel: channel.clone() }, Receiver::from_channel(channel))
}

/// A channel without a capacity limit: sends never wait.
///
/// ```
/// let (s, r) = green::channel::unbounded();
/// for i in 0..1000 {
///     s.send(i).unwrap();
/// }
/// drop(s);
/// assert_eq!(r.iter().sum::<i32>(), 499_500);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel::new(None));
    (Sender { channel: channel.clone() }, Receiver::from_channel(channel))
}

/// The sending half of a channel; clone it for more producers.
///
/// When the last `Sender` is dropped, receivers take what is left in the buffer and then get
/// [`RecvError`](super::RecvError).
///
/// A `Sender<T>` crosses threads only if `T` does:
///
/// ```compile_fail
/// let (s, _r) = green::channel::unbounded::<std::rc::Rc<i32>>();
/// green::spawn(move || s.send(std::rc::Rc::new(1)).unwrap()); // `Rc` is not `Send`, so neither is `s`
/// ```
pub struct Sender<T> {
    /// Shared with every handle of the channel.
    channel: Arc<Channel<T>>,
}

impl<T> Sender<T> {
    /// Sends without waiting.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when the buffer is full — for a zero-capacity channel, when no receiver is
    /// waiting right now — and [`TrySendError::Disconnected`] when every receiver is gone. Both give the
    /// message back.
    ///
    /// ```
    /// use green::channel::{bounded, TrySendError};
    ///
    /// let (s, r) = bounded(1);
    /// assert_eq!(s.try_send(1), Ok(()));
    /// assert_eq!(s.try_send(2), Err(TrySendError::Full(2)));
    /// drop(r);
    /// assert_eq!(s.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.channel.try_send(message)
    }

    /// Sends, waiting for room in the buffer (zero capacity: for a receiver to take it).
    ///
    /// In a green thread only that green thread waits. A cancellation point: if the waiting green thread is
    /// cancelled or its [`timeout`](crate::timeout) expires, the message is not sent and is dropped with it.
    ///
    /// # Errors
    /// [`SendError`] with the message when every receiver is gone.
    ///
    /// ```
    /// use green::channel::{bounded, SendError};
    ///
    /// green::run(|| {
    ///     let (s, r) = bounded(0);
    ///     let receiver = green::spawn(move || r.recv().unwrap());
    ///     assert_eq!(s.send(1), Ok(())); // parks until the receiver takes it
    ///     assert_eq!(receiver.join().unwrap(), 1);
    ///     assert_eq!(s.send(2), Err(SendError(2))); // the receiver is gone
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        self.channel.send(message, None).map_err(|error| match error {
            SendTimeoutError::Disconnected(message) | SendTimeoutError::Timeout(message) => SendError(message),
        })
    }

    /// Like [`send`](Sender::send), giving up after `timeout`.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] when there was no room in time, [`SendTimeoutError::Disconnected`] when
    /// every receiver is gone; both give the message back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::channel::{bounded, SendTimeoutError};
    ///
    /// let (s, r) = bounded(1);
    /// assert_eq!(s.send_timeout(1, Duration::from_millis(5)), Ok(()));
    /// assert_eq!(s.send_timeout(2, Duration::from_millis(5)), Err(SendTimeoutError::Timeout(2)));
    /// drop(r);
    /// assert_eq!(s.send_timeout(3, Duration::from_millis(5)), Err(SendTimeoutError::Disconnected(3)));
    /// ```
    #[track_caller]
    pub fn send_timeout(&self, message: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.channel.send(message, Instant::now().checked_add(timeout))
    }

    /// Like [`send`](Sender::send), giving up at `deadline` (see [`send_timeout`](Sender::send_timeout)).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use green::channel::{bounded, SendTimeoutError};
    ///
    /// let (s, _r) = bounded(0);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(s.send_deadline(1, deadline), Err(SendTimeoutError::Timeout(1))); // no receiver came
    /// ```
    #[track_caller]
    pub fn send_deadline(&self, message: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.channel.send(message, Some(deadline))
    }

    /// Whether the buffer is empty (always true for a zero-capacity channel).
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded();
    /// assert!(s.is_empty());
    /// s.send(0).unwrap();
    /// assert!(!s.is_empty());
    /// # drop(r);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.channel.is_empty()
    }

    /// Whether the buffer is full (always true for a zero-capacity channel, never for an unbounded one).
    ///
    /// ```
    /// let (s, _r) = green::channel::bounded(1);
    /// assert!(!s.is_full());
    /// s.send(0).unwrap();
    /// assert!(s.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.channel.is_full()
    }

    /// The number of buffered messages (always 0 for a zero-capacity channel).
    ///
    /// ```
    /// let (s, _r) = green::channel::unbounded();
    /// s.send(1).unwrap();
    /// s.send(2).unwrap();
    /// assert_eq!(s.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.channel.len()
    }

    /// The capacity: `None` for an unbounded channel.
    ///
    /// ```
    /// use green::channel::{bounded, unbounded};
    ///
    /// assert_eq!(unbounded::<i32>().0.capacity(), None);
    /// assert_eq!(bounded::<i32>(5).0.capacity(), Some(5));
    /// assert_eq!(bounded::<i32>(0).0.capacity(), Some(0));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.channel.capacity()
    }

    /// Whether `other` sends into the same channel.
    ///
    /// ```
    /// let (s, _r) = green::channel::unbounded::<i32>();
    /// let (other, _r2) = green::channel::unbounded::<i32>();
    /// assert!(s.same_channel(&s.clone()));
    /// assert!(!s.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.channel, &other.channel)
    }

    /// Select step 6: deposits `message` in the room `reservation` holds.
    pub(crate) fn complete_send(&self, reservation: Reservation, message: T) -> Result<(), SendError<T>> {
        self.channel.complete_send(reservation, message)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.channel.add_handle(Side::Send);
        Sender { channel: self.channel.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.channel.drop_handle(Side::Send);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

impl<T> SelectHandle for Sender<T> {
    fn try_reserve(&self) -> Option<Reservation> {
        self.channel.try_reserve(Side::Send)
    }

    fn register(&self, waiter: &Arc<Waiter>, token: usize) -> bool {
        self.channel.register(Side::Send, waiter, token)
    }

    fn unregister(&self, waiter: &Arc<Waiter>) {
        self.channel.unregister(Side::Send, waiter);
    }

    fn pass_on(&self) {
        self.channel.pass_on(Side::Send);
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn release(&self, reservation: Reservation) {
        self.channel.release(Side::Send, reservation);
    }
}
