//! [`Barrier`]: parks a fixed number of threads until all of them have arrived, generation after generation.
//!
//! # State
//! Behind one small `std` mutex: how many threads of the current generation have arrived, and the
//! [`WaitQueue`] of those parked. The last to arrive is the leader: it resets the count (starting the next
//! generation) and claims every parked waiter, unparking them after releasing the mutex. A claimed waiter
//! belongs to the finished generation whatever happens next, so the barrier can be reused at once.
//!
//! # Cancellation
//! A waiter that unwinds while parked (cancellation, an expired timeout scope) and was not released yet takes
//! its arrival back: the generation then needs one more thread. If it was already released, nothing is undone.

#![forbid(unsafe_code)]

use std::fmt;

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// Claim token: the generation is complete.
const RELEASED: usize = 0;

/// A barrier that parks `n` threads until all `n` have called [`wait`](Barrier::wait): the
/// `std::sync::Barrier` mirror.
///
/// Reusable: once a generation is released the next `n` calls form the next one. Works from green threads on
/// any worker and from plain OS threads, mixed. Parked threads are released together; exactly one of each
/// generation is told it is the leader.
///
/// ```
/// use std::sync::Arc;
/// use green::sync::Barrier;
///
/// green::run(|| {
///     let barrier = Arc::new(Barrier::new(3));
///     let handles: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             green::spawn(move || barrier.wait().is_leader())
///         })
///         .collect();
///     let leaders = handles.into_iter().map(|h| h.join().unwrap()).filter(|&l| l).count();
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    /// Arrivals of the current generation and the parked ones.
    state: std::sync::Mutex<BarrierState>,
    /// Threads per generation (at least 1).
    parties: usize,
}

/// The mutable part of a [`Barrier`].
struct BarrierState {
    /// Threads of the current generation that have arrived and are parked (always `< parties`).
    arrived: usize,
    /// The parked threads of the current generation.
    queue: WaitQueue,
}

/// What [`Barrier::wait`] returns: whether this thread was the generation's leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// True for exactly one thread of each generation (the last to arrive).
    ///
    /// ```
    /// use green::sync::{Arc, Barrier};
    ///
    /// green::run(|| {
    ///     let barrier = Arc::new(Barrier::new(3));
    ///     let handles: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let barrier = barrier.clone();
    ///             green::spawn(move || barrier.wait().is_leader()) // all three park until the last arrives
    ///         })
    ///         .collect();
    ///     let leaders = handles.into_iter().map(|h| h.join().unwrap()).filter(|&l| l).count();
    ///     assert_eq!(leaders, 1); // exactly one leader per round
    /// });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `parties` threads per generation. `new(0)` behaves like `new(1)`: `wait` never parks.
    ///
    /// ```
    /// let barrier = green::sync::Barrier::new(1);
    /// assert!(barrier.wait().is_leader()); // one party: the wait returns at once
    /// ```
    pub const fn new(parties: usize) -> Barrier {
        Barrier {
            state: std::sync::Mutex::new(BarrierState { arrived: 0, queue: WaitQueue::new() }),
            parties: if parties == 0 { 1 } else { parties },
        }
    }

    /// Parks the caller until `parties` threads (counting it) have called `wait` in this generation.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread. A cancellation point: a cancelled waiter that was not released yet
    /// withdraws its arrival: the generation then needs one more thread.
    ///
    /// ```
    /// use green::sync::{Arc, Barrier};
    ///
    /// green::run(|| {
    ///     let barrier = Arc::new(Barrier::new(3));
    ///     let handles: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let barrier = barrier.clone();
    ///             green::spawn(move || barrier.wait().is_leader()) // all three park until the last arrives
    ///         })
    ///         .collect();
    ///     let leaders = handles.into_iter().map(|h| h.join().unwrap()).filter(|&l| l).count();
    ///     assert_eq!(leaders, 1); // exactly one leader per round
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> BarrierWaitResult {
        let waiter = {
            let mut state = lock_internal(&self.state);
            if state.arrived + 1 == self.parties {
                state.arrived = 0;
                let mut released = Vec::with_capacity(self.parties - 1);
                while let Some(waiter) = state.queue.claim_one(RELEASED) {
                    released.push(waiter);
                }
                drop(state);
                for waiter in released {
                    waiter.thread().unpark();
                }
                return BarrierWaitResult(true);
            }
            state.arrived += 1;
            let waiter = Waiter::current();
            state.queue.push(waiter.clone(), RELEASED);
            waiter
        };
        waiter.park_until_claimed(WaitReason::Barrier, None, |_| {
            let mut state = lock_internal(&self.state);
            let claimed = waiter.abort();
            if claimed.is_none() {
                state.queue.remove(&waiter);
                state.arrived -= 1;
            }
            claimed
        });
        BarrierWaitResult(false)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("parties", &self.parties).finish_non_exhaustive()
    }
}
