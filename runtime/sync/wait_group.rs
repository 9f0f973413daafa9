//! [`WaitGroup`]: wait until a group of threads is done (crossbeam's `WaitGroup`, parking green threads).
//!
//! # State
//! An `Arc` shared by every clone: `count`, the number of live clones, and a [`WaitQueue`] of the threads
//! waiting for it to reach zero, behind a small `std` mutex.
//!
//! # Protocol
//! 1. Dropping a clone decrements `count`; the drop that makes it zero takes the queue lock and claims every
//!    waiter, unparking them after releasing the lock.
//! 2. `wait(self)` drops its own clone (step 1), then, under the queue lock, returns if `count` is zero or
//!    pushes a waiter and parks until claimed.
//!
//! `count` reaches zero before the last dropper takes the queue lock, and a waiter reads it under that lock, so
//! a waiter either sees zero or is in the queue when the wake-up comes.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// Claim token: the count reached zero.
const DONE: usize = 0;

/// Waits for a group of threads to finish: clone it for each member, drop the clone when the member is done,
/// and [`wait`](WaitGroup::wait) (consuming your own clone) until every other clone is gone.
///
/// Like `crossbeam_utils::sync::WaitGroup`, with waits that park only the calling green thread. Works across
/// green threads on any worker and plain OS threads. Several clones may wait at once; all are released
/// together, oldest first.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use green::sync::WaitGroup;
///
/// green::run(|| {
///     let done = Arc::new(AtomicUsize::new(0));
///     let group = WaitGroup::new();
///     for _ in 0..10 {
///         let (member, done) = (group.clone(), done.clone());
///         green::spawn(move || {
///             green::sleep(std::time::Duration::from_millis(1));
///             done.fetch_add(1, Ordering::Relaxed);
///             drop(member);
///         });
///     }
///     group.wait();
///     assert_eq!(done.load(Ordering::Relaxed), 10);
/// });
/// ```
pub struct WaitGroup {
    /// Shared by all clones.
    inner: Arc<Inner>,
}

/// The shared part of a [`WaitGroup`].
struct Inner {
    /// Live clones; a waiter waits for zero.
    count: AtomicUsize,
    /// Threads in `wait`, oldest first.
    queue: std::sync::Mutex<WaitQueue>,
}

impl WaitGroup {
    /// A new group with one member: this handle.
    ///
    /// ```
    /// let group = green::sync::WaitGroup::new();
    /// group.wait(); // the only member: returns at once
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner { count: AtomicUsize::new(1), queue: std::sync::Mutex::new(WaitQueue::new()) }),
        }
    }

    /// Drops this handle and parks until every other clone has been dropped too.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread. A cancellation point; this handle counts as dropped even then.
    ///
    /// ```
    /// use green::sync::WaitGroup;
    ///
    /// green::run(|| {
    ///     let group = WaitGroup::new();
    ///     for _ in 0..3 {
    ///         let member = group.clone();
    ///         green::spawn(move || {
    ///             green::sleep(std::time::Duration::from_millis(1));
    ///             drop(member); // done
    ///         });
    ///     }
    ///     group.wait(); // parks until every clone is dropped
    /// });
    /// ```
    #[track_caller]
    pub fn wait(self) {
        let inner = self.inner.clone();
        drop(self);
        let waiter = {
            let mut queue = lock_internal(&inner.queue);
            if inner.count.load(Ordering::Acquire) == 0 {
                return;
            }
            let waiter = Waiter::current();
            queue.push(waiter.clone(), DONE);
            waiter
        };
        waiter.park_until_claimed(WaitReason::WaitGroup, None, |_| {
            let mut queue = lock_internal(&inner.queue);
            let claimed = waiter.abort();
            if claimed.is_none() {
                queue.remove(&waiter);
            }
            claimed
        });
    }
}

impl Clone for WaitGroup {
    /// Adds a member to the group.
    fn clone(&self) -> WaitGroup {
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        WaitGroup { inner: self.inner.clone() }
    }
}

impl Drop for WaitGroup {
    /// A member is done (protocol step 1).
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut woken = Vec::new();
            let mut queue = lock_internal(&self.inner.queue);
            while let Some(waiter) = queue.claim_one(DONE) {
                woken.push(waiter);
            }
            drop(queue);
            for waiter in woken {
                waiter.thread().unpark();
            }
        }
    }
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup").field("count", &self.inner.count.load(Ordering::Relaxed)).finish()
    }
}
