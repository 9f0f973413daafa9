//! Receivers that deliver the time: [`after`], [`at`], [`tick`], and [`never`](fn@never), which delivers nothing.
//!
//! No thread or timer task feeds them: a [`Timer`] only stores when it fires next, and a receive parks until
//! then (a green thread arms its worker's timer wheel through `park`; an OS thread sleeps). In a
//! `select!` a timer arm registers nothing; it bounds the park with its next firing instead.

#![forbid(unsafe_code)]

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::RecvTimeoutError;
use super::receiver::Receiver;
use crate::inspect::WaitReason;
use crate::park;

/// The state of an `at`/`after`/`tick` receiver, shared by its clones.
pub(crate) struct Timer {
    /// When the next message is due; `None` once a one-shot timer has delivered.
    next: Mutex<Option<Instant>>,
    /// `Some` for `tick`: the interval between messages.
    period: Option<Duration>,
}

impl Timer {
    /// Takes the due message, if one is due; schedules the next (a tick skips the ones nobody took in time,
    /// like a channel of capacity 1 that drops messages when full).
    pub(crate) fn try_fire(&self) -> Option<Instant> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let due = (*next)?;
        let now = Instant::now();
        if now < due {
            return None;
        }
        *next = self.period.and_then(|period| {
            let following = due.checked_add(period)?;
            if following > now {
                Some(following)
            } else {
                now.checked_add(period)
            }
        });
        Some(due)
    }

    /// Puts back a message taken by [`try_fire`](Timer::try_fire) but not used (`Select::ready`).
    pub(crate) fn unfire(&self, due: Instant) {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        *next = Some(next.map_or(due, |next| next.min(due)));
    }

    /// When the next message is due.
    pub(crate) fn next(&self) -> Option<Instant> {
        *self.next.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a message is due now.
    pub(crate) fn is_ready(&self) -> bool {
        self.next().is_some_and(|due| Instant::now() >= due)
    }

    /// Receives: parks until the next message is due (or `deadline`).
    #[track_caller]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Instant, RecvTimeoutError> {
        loop {
            if let Some(due) = self.try_fire() {
                return Ok(due);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(RecvTimeoutError::Timeout);
            }
            let wake_at = match (self.next(), deadline) {
                (Some(due), Some(deadline)) => Some(due.min(deadline)),
                (due, deadline) => due.or(deadline),
            };
            park::park_until(WaitReason::ChannelRecv, wake_at);
        }
    }
}

/// Parks until `deadline` (forever if `None`): a receive on a channel that never delivers.
#[track_caller]
pub(crate) fn wait_forever(deadline: Option<Instant>) -> RecvTimeoutError {
    loop {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return RecvTimeoutError::Timeout;
        }
        park::park_until(WaitReason::ChannelRecv, deadline);
    }
}

/// A receiver that delivers one message, the instant it was due, after `duration`.
///
/// Like crossbeam's `after`: capacity 1, never disconnected; once the message is taken, receives wait
/// forever. Mostly for timeouts in [`select!`](crate::select):
///
/// ```
/// use std::time::Duration;
/// use green::channel::{after, unbounded};
///
/// green::run(|| {
///     let (_s, r) = unbounded::<i32>();
///     let timeout = after(Duration::from_millis(20));
///     green::select! {
///         recv(r) -> message => panic!("unexpected {message:?}"),
///         recv(timeout) -> _ => println!("timed out"),
///     }
/// });
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    match Instant::now().checked_add(duration) {
        Some(due) => at(due),
        None => never(),
    }
}

/// A receiver that delivers one message, `when`, once `when` has come (see [`after`]).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let when = Instant::now() + Duration::from_millis(5);
/// let timer = green::channel::at(when);
/// assert_eq!(timer.recv().unwrap(), when); // delivered once `when` has come
/// assert!(Instant::now() >= when);
/// ```
pub fn at(when: Instant) -> Receiver<Instant> {
    Receiver::from_timer(Timer { next: Mutex::new(Some(when)), period: None })
}

/// A receiver that delivers a message every `duration`: the instant it was due.
///
/// Like crossbeam's `tick`: capacity 1, never disconnected; ticks that come while one is still waiting to be
/// taken are dropped, and the schedule keeps its phase when the receiver keeps up.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// green::run(|| {
///     let start = Instant::now();
///     let ticker = green::channel::tick(Duration::from_millis(10));
///     for _ in 0..3 {
///         ticker.recv().unwrap();
///     }
///     assert!(start.elapsed() >= Duration::from_millis(30));
/// });
/// ```
pub fn tick(duration: Duration) -> Receiver<Instant> {
    match Instant::now().checked_add(duration) {
        Some(first) => Receiver::from_timer(Timer { next: Mutex::new(Some(first)), period: Some(duration) }),
        None => never(),
    }
}

/// A receiver that never delivers and is never disconnected: an arm of [`select!`](crate::select) that is
/// switched off.
///
/// ```
/// use std::time::Duration;
/// use green::channel::{after, never};
///
/// green::run(|| {
///     let deadline: Option<Duration> = None;
///     let timeout = deadline.map(after).unwrap_or_else(never);
///     assert!(timeout.try_recv().is_err());
/// });
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver::never()
}
