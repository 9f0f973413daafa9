//! [`Once`]: run an initialisation exactly once; concurrent callers park instead of blocking their worker.
//! [`OnceLock`](super::OnceLock) and [`LazyLock`](super::LazyLock) are built on it, as in `std`.
//!
//! # State
//! ```text
//!   INCOMPLETE ──CAS by one caller──► RUNNING ──closure returned──► COMPLETE
//!        ▲                             │  ▲
//!        │                   unwound   │  │ call_once_force
//!        │                             ▼  │
//!        └───────(never)──────────  POISONED
//! ```
//! The closure runs only in the caller that won the CAS to `RUNNING`; whatever it wrote is published by
//! storing `COMPLETE` with `Release` and read by whoever observes `COMPLETE` with `Acquire`. A closure that
//! unwinds (a panic, a cancellation) leaves `POISONED`: [`Once::call_once`] then panics, while
//! [`Once::call_once_force`] (and so `OnceLock`) runs its closure and may complete it.
//!
//! # Protocol
//! 1. A caller that must wait (it saw `RUNNING`, or calls [`Once::wait`] before completion) takes the queue
//!    lock, checks that the state is still the one it saw, pushes a waiter and parks until claimed; then it
//!    starts over.
//! 2. The closure's caller stores `COMPLETE` or `POISONED` under the queue lock, claims every waiter and
//!    unparks them after releasing the lock.
//!
//! Setting the final state under the queue lock is what makes step 1's re-check sufficient: a waiter that
//! saw the old state under the lock is in the queue before anyone can take the lock to wake everyone. The
//! `INCOMPLETE → RUNNING` CAS wakes nobody; waiters that saw `INCOMPLETE` are woken by the settle that ends
//! that run.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// No closure has run.
const INCOMPLETE: u8 = 0;
/// A closure unwound; the next `call_once_force` runs again.
const POISONED: u8 = 1;
/// One caller runs its closure; others park.
const RUNNING: u8 = 2;
/// A closure returned; nothing runs again.
const COMPLETE: u8 = 3;

/// Claim token: the state left the one the waiter saw.
const SETTLED: usize = 0;

/// A one-time initialisation: the `std::sync::Once` mirror, parking instead of blocking.
///
/// Exactly one of the concurrent callers of [`call_once`](Once::call_once) runs its closure; the others park
/// until it is done (in a green thread only that green thread waits: its worker runs the others, possibly
/// the initialiser itself). A closure that panics poisons the `Once`, as `std`'s does.
///
/// ```
/// use green::sync::Once;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// green::run(|| {
///     let handles: Vec<_> = (0..4)
///         .map(|_| green::spawn(|| INIT.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); })))
///         .collect();
///     handles.into_iter().for_each(|h| h.join().unwrap());
/// });
/// assert!(INIT.is_completed());
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    /// INCOMPLETE, POISONED, RUNNING or COMPLETE (module docs).
    state: AtomicU8,
    /// Callers parked until the state changes.
    queue: std::sync::Mutex<WaitQueue>,
}

/// What [`Once::call_once_force`] tells its closure: whether an earlier closure unwound.
///
/// ```
/// use green::sync::Once;
///
/// let once = Once::new();
/// let _ = std::panic::catch_unwind(|| once.call_once(|| panic!("first try fails")));
/// once.call_once_force(|state| assert!(state.is_poisoned()));
/// assert!(once.is_completed());
/// ```
#[derive(Debug)]
pub struct OnceState {
    /// Whether the `Once` was poisoned when this closure started.
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier closure of this `Once` unwound (a panic or a cancellation).
    ///
    /// ```
    /// use green::sync::Once;
    ///
    /// let once = Once::new();
    /// let _ = std::panic::catch_unwind(|| once.call_once(|| panic!("failed")));
    /// once.call_once_force(|state| assert!(state.is_poisoned()));
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl Once {
    /// A `Once` that has not run.
    ///
    /// ```
    /// static INIT: green::sync::Once = green::sync::Once::new();
    /// assert!(!INIT.is_completed());
    /// ```
    pub const fn new() -> Once {
        Once { state: AtomicU8::new(INCOMPLETE), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    /// Runs `f` if no closure of this `Once` has completed yet; returns once one has.
    ///
    /// When another caller is running its closure, parks until it is done; everything that closure wrote is
    /// visible afterwards. A cancellation point while parked.
    ///
    /// # Panics
    /// When the `Once` is poisoned (an earlier closure panicked), and with `f`'s own panic, which poisons it.
    ///
    /// ```
    /// use green::sync::Once;
    ///
    /// static START: Once = Once::new();
    /// START.call_once(|| println!("runs once"));
    /// START.call_once(|| unreachable!());
    /// ```
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.run(false, &mut |_| (f.take().expect("the closure runs once"))());
    }

    /// Like [`call_once`](Once::call_once), but runs `f` also when the `Once` is poisoned; `f` learns whether
    /// it is from its [`OnceState`]. If `f` returns, the `Once` is complete (and no longer poisoned).
    ///
    /// ```
    /// use green::sync::Once;
    ///
    /// let once = Once::new();
    /// let _ = std::panic::catch_unwind(|| once.call_once(|| panic!("first try fails")));
    /// once.call_once_force(|state| {
    ///     assert!(state.is_poisoned());
    ///     // retry the initialisation
    /// });
    /// assert!(once.is_completed());
    /// ```
    #[track_caller]
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.run(true, &mut |state| (f.take().expect("the closure runs once"))(state));
    }

    /// Whether a closure has completed. Never parks.
    ///
    /// ```
    /// let once = green::sync::Once::new();
    /// assert!(!once.is_completed());
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    /// Parks until a closure of this `Once` has completed (run by another thread).
    ///
    /// # Panics
    /// When the `Once` is or becomes poisoned.
    ///
    /// ```
    /// use green::sync::Once;
    ///
    /// static READY: Once = Once::new();
    /// green::run(|| {
    ///     let waiter = green::spawn(|| READY.wait());
    ///     READY.call_once(|| {});
    ///     waiter.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        self.wait_until_complete(false);
    }

    /// Like [`wait`](Once::wait), but a poisoned `Once` does not panic: it waits for a later
    /// [`call_once_force`](Once::call_once_force) to complete it.
    ///
    /// ```
    /// use green::sync::Once;
    ///
    /// static READY: Once = Once::new();
    /// green::run(|| {
    ///     let waiter = green::spawn(|| READY.wait_force());
    ///     READY.call_once_force(|_| {});
    ///     waiter.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait_force(&self) {
        self.wait_until_complete(true);
    }

    /// Resets a `Once` through `&mut` (`OnceLock::take`).
    pub(super) fn reset(&mut self) {
        *self.state.get_mut() = INCOMPLETE;
    }

    /// Whether a closure completed, seen through `&mut`.
    pub(super) fn is_completed_mut(&mut self) -> bool {
        *self.state.get_mut() == COMPLETE
    }

    /// Runs the protocol until the `Once` is complete, running `f` in this caller if it wins the race.
    #[cold]
    #[track_caller]
    fn run(&self, ignore_poison: bool, f: &mut dyn FnMut(&OnceState)) {
        loop {
            let state = self.state.load(Ordering::Acquire);
            match state {
                COMPLETE => return,
                POISONED if !ignore_poison => panic!("Once instance has previously been poisoned"),
                INCOMPLETE | POISONED => {
                    if self.state.compare_exchange(state, RUNNING, Ordering::Acquire, Ordering::Acquire).is_err() {
                        continue;
                    }
                    /// Poisons the `Once` (and wakes the waiters) if the closure unwinds.
                    struct Poison<'a>(&'a Once);
                    impl Drop for Poison<'_> {
                        fn drop(&mut self) {
                            self.0.settle(POISONED);
                        }
                    }
                    let poison = Poison(self);
                    f(&OnceState { poisoned: state == POISONED });
                    std::mem::forget(poison);
                    self.settle(COMPLETE);
                    return;
                }
                _ => self.park_while(state),
            }
        }
    }

    /// `wait` and `wait_force`.
    #[track_caller]
    fn wait_until_complete(&self, ignore_poison: bool) {
        loop {
            match self.state.load(Ordering::Acquire) {
                COMPLETE => return,
                POISONED if !ignore_poison => panic!("Once instance has previously been poisoned"),
                state => self.park_while(state),
            }
        }
    }

    /// Protocol step 1: parks until the state is no longer `seen` (or returns at once if it already is not).
    #[track_caller]
    fn park_while(&self, seen: u8) {
        let waiter = {
            let mut queue = lock_internal(&self.queue);
            if self.state.load(Ordering::Acquire) != seen {
                return;
            }
            let waiter = Waiter::current();
            queue.push(waiter.clone(), SETTLED);
            waiter
        };
        waiter.park_until_claimed(WaitReason::Once, None, |_| remove(&self.queue, &waiter));
    }

    /// Protocol step 2: publishes `state` and wakes every waiter.
    fn settle(&self, state: u8) {
        let mut woken = Vec::new();
        let mut queue = lock_internal(&self.queue);
        self.state.store(state, Ordering::Release);
        while let Some(waiter) = queue.claim_one(SETTLED) {
            woken.push(waiter);
        }
        drop(queue);
        for waiter in woken {
            waiter.thread().unpark();
        }
    }
}

/// Withdraws `waiter` from `queue` when it unwinds: a wake-up it got is not passed on, since every waiter was
/// woken with it.
fn remove(queue: &std::sync::Mutex<WaitQueue>, waiter: &Arc<Waiter>) -> Option<usize> {
    let mut queue = lock_internal(queue);
    let claimed = waiter.abort();
    if claimed.is_none() {
        queue.remove(waiter);
    }
    claimed
}

/// A `Once` for static initialisation; deprecated as `std::sync::ONCE_INIT` is (use [`Once::new`]).
#[deprecated(note = "the `Once::new()` function is now preferred, as in std")]
#[allow(clippy::declare_interior_mutable_const)] // a const to copy into statics, exactly as std's
pub const ONCE_INIT: Once = Once::new();

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}
