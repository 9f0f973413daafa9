//! The errors of channel operations, as in crossbeam-channel: each says why the operation failed and, for
//! sends, gives the message back.

#![forbid(unsafe_code)]

use std::error;
use std::fmt;

/// The error of [`Sender::send`](super::Sender::send): every receiver is gone, so the message comes back.
///
/// ```
/// let (s, r) = green::channel::unbounded();
/// drop(r);
/// let error = s.send("lost").unwrap_err();
/// assert_eq!(error.into_inner(), "lost");
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// The error of [`Sender::try_send`](super::Sender::try_send); either way the message comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full; for a zero-capacity channel: no receiver was waiting.
    Full(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// The error of [`Sender::send_timeout`](super::Sender::send_timeout) and
/// [`send_deadline`](super::Sender::send_deadline); either way the message comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The channel stayed full (zero capacity: no receiver came) until the time ran out.
    Timeout(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// The error of [`Receiver::recv`](super::Receiver::recv): the channel is empty and every sender is gone.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// The error of [`Receiver::try_recv`](super::Receiver::try_recv).
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// No message now; for a zero-capacity channel: no sender was waiting.
    Empty,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

/// The error of [`Receiver::recv_timeout`](super::Receiver::recv_timeout) and
/// [`recv_deadline`](super::Receiver::recv_deadline).
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// No message arrived before the time ran out.
    Timeout,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

/// The error of [`Select::try_select`](super::Select::try_select): no operation was ready.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TrySelectError;

/// The error of [`Select::select_timeout`](super::Select::select_timeout): no operation became ready in time.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct SelectTimeoutError;

/// The error of [`Select::try_ready`](super::Select::try_ready): no operation was ready.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TryReadyError;

/// The error of [`Select::ready_timeout`](super::Select::ready_timeout): no operation became ready in time.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct ReadyTimeoutError;

impl<T> SendError<T> {
    /// The message that could not be sent.
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded();
    /// drop(r);
    /// assert_eq!(s.send("foo").unwrap_err().into_inner(), "foo");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As crossbeam: the text is formatted with `Debug`, quotes included.
        fmt::Debug::fmt("SendError(..)", f)
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("sending on a disconnected channel")
    }
}

impl<T: Send> error::Error for SendError<T> {}

impl<T> TrySendError<T> {
    /// The message that could not be sent.
    ///
    /// ```
    /// let (s, _r) = green::channel::bounded(0);
    /// let error = s.try_send("no receiver waits").unwrap_err();
    /// assert!(error.is_full());
    /// assert_eq!(error.into_inner(), "no receiver waits");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(message) | TrySendError::Disconnected(message) => message,
        }
    }

    /// Whether the send failed because the channel was full.
    ///
    /// ```
    /// let (s, _r) = green::channel::bounded(0);
    /// assert!(s.try_send(1).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the send failed because every receiver is gone.
    ///
    /// ```
    /// let (s, r) = green::channel::bounded(1);
    /// drop(r);
    /// assert!(s.try_send(1).unwrap_err().is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => fmt::Debug::fmt("Full(..)", f),
            TrySendError::Disconnected(_) => fmt::Debug::fmt("Disconnected(..)", f),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.pad("sending on a full channel"),
            TrySendError::Disconnected(_) => f.pad("sending on a disconnected channel"),
        }
    }
}

impl<T: Send> error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(error: SendError<T>) -> TrySendError<T> {
        TrySendError::Disconnected(error.0)
    }
}

impl<T> SendTimeoutError<T> {
    /// The message that could not be sent.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (s, _r) = green::channel::bounded(0);
    /// let error = s.send_timeout("nobody came", Duration::from_millis(5)).unwrap_err();
    /// assert!(error.is_timeout());
    /// assert_eq!(error.into_inner(), "nobody came");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(message) | SendTimeoutError::Disconnected(message) => message,
        }
    }

    /// Whether the send timed out.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (s, _r) = green::channel::bounded(0);
    /// assert!(s.send_timeout(1, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// Whether the send failed because every receiver is gone.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (s, r) = green::channel::bounded(0);
    /// drop(r);
    /// assert!(s.send_timeout(1, Duration::from_millis(1)).unwrap_err().is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, SendTimeoutError::Disconnected(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt("SendTimeoutError(..)", f)
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.pad("timed out waiting on send operation"),
            SendTimeoutError::Disconnected(_) => f.pad("sending on a disconnected channel"),
        }
    }
}

impl<T: Send> error::Error for SendTimeoutError<T> {}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(error: SendError<T>) -> SendTimeoutError<T> {
        SendTimeoutError::Disconnected(error.0)
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("receiving on an empty and disconnected channel")
    }
}

impl error::Error for RecvError {}

impl TryRecvError {
    /// Whether the receive failed because the channel was empty.
    ///
    /// ```
    /// let (_s, r) = green::channel::unbounded::<i32>();
    /// assert!(r.try_recv().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// Whether the receive failed because the channel is empty and every sender is gone.
    ///
    /// ```
    /// let (s, r) = green::channel::unbounded::<i32>();
    /// drop(s);
    /// assert!(r.try_recv().unwrap_err().is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.pad("receiving on an empty channel"),
            TryRecvError::Disconnected => f.pad("receiving on an empty and disconnected channel"),
        }
    }
}

impl error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> TryRecvError {
        TryRecvError::Disconnected
    }
}

impl RecvTimeoutError {
    /// Whether the receive timed out.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (_s, r) = green::channel::unbounded::<i32>();
    /// assert!(r.recv_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// Whether the receive failed because the channel is empty and every sender is gone.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (s, r) = green::channel::unbounded::<i32>();
    /// drop(s);
    /// assert!(r.recv_timeout(Duration::from_millis(1)).unwrap_err().is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RecvTimeoutError::Disconnected)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.pad("timed out waiting on receive operation"),
            RecvTimeoutError::Disconnected => f.pad("channel is empty and disconnected"),
        }
    }
}

impl error::Error for RecvTimeoutError {}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> RecvTimeoutError {
        RecvTimeoutError::Disconnected
    }
}

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("all operations in select would block")
    }
}

impl error::Error for TrySelectError {}

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("timed out waiting on select")
    }
}

impl error::Error for SelectTimeoutError {}

impl fmt::Display for TryReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("all operations in select would block")
    }
}

impl error::Error for TryReadyError {}

impl fmt::Display for ReadyTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("timed out waiting on ready")
    }
}

impl error::Error for ReadyTimeoutError {}
