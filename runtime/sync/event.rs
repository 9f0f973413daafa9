//! [`Event`]: a flag threads wait on until it is set (gevent's `Event`, parking green threads).
//!
//! # State
//! `set`, an atomic flag, and a [`WaitQueue`] of the threads waiting for it, behind a small `std` mutex.
//!
//! # Protocol
//! 1. `wait` returns at once if the flag is set. Otherwise it takes the queue lock, checks the flag again,
//!    pushes a waiter and parks until claimed (or its deadline passes).
//! 2. `set` turns the flag on; if it was off, it takes the queue lock and claims every waiter, unparking them
//!    after releasing the lock.
//!
//! The flag is turned on before `set` takes the queue lock and is read by a waiter under that lock, so a waiter
//! either sees it set or is in the queue when `set` wakes everyone. A claimed waiter returns true even if the
//! flag was cleared again before it ran: waits are edge-triggered, no set is missed.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// Claim token: the event was set.
const SET: usize = 0;

/// A flag that threads can wait on: [`wait`](Event::wait) parks until another thread calls
/// [`set`](Event::set); [`clear`](Event::clear) turns it off again. Like gevent's `Event`.
///
/// Waiters are released together, oldest first. Works across green threads on any worker and plain OS threads.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use green::sync::Event;
///
/// green::run(|| {
///     let ready = Arc::new(Event::new());
///     let waiter = {
///         let ready = ready.clone();
///         green::spawn(move || ready.wait())
///     };
///     assert!(!ready.wait_timeout(Duration::from_millis(1)));
///     ready.set();
///     waiter.join().unwrap();
///     assert!(ready.is_set());
/// });
/// ```
#[derive(Default)]
pub struct Event {
    /// Whether the event is set.
    set: AtomicBool,
    /// Threads waiting for the flag, oldest first.
    queue: std::sync::Mutex<WaitQueue>,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// static SHUTDOWN: green::sync::Event = green::sync::Event::new();
    /// assert!(!SHUTDOWN.is_set());
    /// ```
    pub const fn new() -> Event {
        Event { set: AtomicBool::new(false), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    /// Sets the flag and wakes every waiting thread. Never blocks.
    ///
    /// ```
    /// use green::sync::{Arc, Event};
    ///
    /// green::run(|| {
    ///     let started = Arc::new(Event::new());
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let started = started.clone();
    ///             green::spawn(move || started.wait())
    ///         })
    ///         .collect();
    ///     started.set(); // wakes all three
    ///     waiters.into_iter().for_each(|w| w.join().unwrap());
    /// });
    /// ```
    pub fn set(&self) {
        if self.set.swap(true, Ordering::AcqRel) {
            // Already set: nobody queued since it was, and the `set` that set it wakes the earlier ones.
            return;
        }
        let mut woken = Vec::new();
        let mut queue = lock_internal(&self.queue);
        while let Some(waiter) = queue.claim_one(SET) {
            woken.push(waiter);
        }
        drop(queue);
        for waiter in woken {
            waiter.thread().unpark();
        }
    }

    /// Turns the flag off; later waits park until the next [`set`](Event::set).
    ///
    /// ```
    /// let event = green::sync::Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.set.store(false, Ordering::Release);
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// let event = green::sync::Event::new();
    /// assert!(!event.is_set());
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// Parks the caller until the event is set (returns at once if it is).
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread. A cancellation point.
    ///
    /// ```
    /// use green::sync::{Arc, Event};
    ///
    /// green::run(|| {
    ///     let ready = Arc::new(Event::new());
    ///     let waiter = {
    ///         let ready = ready.clone();
    ///         green::spawn(move || ready.wait()) // parks until `set`
    ///     };
    ///     ready.set();
    ///     waiter.join().unwrap();
    ///     ready.wait(); // already set: returns at once
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Like [`wait`](Event::wait), for at most about `timeout`: returns true if the event was set (a `set` woke
    /// the caller, or the flag is on when the time runs out), false otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let event = green::sync::Event::new();
    /// assert!(!event.wait_timeout(Duration::from_millis(5)));
    /// event.set();
    /// assert!(event.wait_timeout(Duration::from_millis(5)));
    /// ```
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Protocol step 1.
    #[track_caller]
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        let waiter = {
            let mut queue = lock_internal(&self.queue);
            if self.is_set() {
                return true;
            }
            let waiter = Waiter::current();
            queue.push(waiter.clone(), SET);
            waiter
        };
        let woken = waiter.park_until_claimed(WaitReason::Event, deadline, |_| {
            let mut queue = lock_internal(&self.queue);
            let claimed = waiter.abort();
            if claimed.is_none() {
                queue.remove(&waiter);
            }
            claimed
        });
        woken.is_some() || self.is_set()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).finish()
    }
}
