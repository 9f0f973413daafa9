//! [`Semaphore`]: a counted set of permits; acquiring parks green threads, FIFO-fair.
//!
//! # State
//! One atomic word, plus a [`WaitQueue`] behind a small `std` mutex that only the slow paths touch:
//!
//! ```text
//!   bit 0     WAITERS  the queue is not empty (then the permit count is 0)
//!   bits 1..  permits  free permits
//! ```
//!
//! `WAITERS` changes only under the queue lock and is set exactly while the queue is not empty. Invariant:
//! while `WAITERS` is set no permit is free — a released permit goes straight to the oldest waiter.
//!
//! # Fairness: strict FIFO with handoff
//! Permits are handed over: a release with waiters claims the oldest one *with* the permit, and newcomers
//! (including [`try_acquire`](Semaphore::try_acquire)) never take a permit while anybody waits. A semaphore
//! usually guards a scarce resource where waiting order matters more than the last bit of throughput.
//!
//! # Protocol
//! 1. Acquire: a CAS takes a permit when one is free and nobody waits (no system call, no allocation).
//!    Otherwise, under the queue lock: take a permit if that is now possible, else set `WAITERS` by CAS
//!    (validating that no permit is free), push a waiter and park until claimed: the claim is the permit.
//! 2. Release (drop of a permit, `add_permits`): a CAS adds the permit when nobody waits. Otherwise, under the
//!    queue lock, claim the oldest waiter(s), one per permit; permits left over go to the count (clearing
//!    `WAITERS` when the queue empties). Claimed waiters are unparked after the queue lock is released.
//! 3. A waiter whose deadline passes, or that unwinds while parked (cancellation, an expired timeout scope),
//!    aborts under the queue lock: not claimed yet, it removes itself; claimed, it owns a permit — which it
//!    keeps on a timeout (the acquire succeeded) and releases (step 2) when unwinding, so it goes to the next
//!    waiter.

#![forbid(unsafe_code)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// The queue is not empty.
const WAITERS: usize = 1;
/// One permit in the count (bits 1 and up).
const ONE_PERMIT: usize = 2;

/// Claim token: a permit was handed over.
const PERMIT: usize = 0;

/// A counting semaphore whose `acquire` parks only the calling green thread.
///
/// Holds a number of permits; [`acquire`](Semaphore::acquire) takes one (parking while none is free) and
/// returns a [`SemaphorePermit`] that gives it back when dropped. Waiters get permits in FIFO order (direct
/// handoff, no barging). Works from green threads on any worker and from plain OS threads, mixed; the
/// uncontended acquire and release are one atomic compare-and-swap each.
///
/// `acquire` is a cancellation point: a cancelled waiter unwinds without a permit, and a permit handed to it
/// as it was being cancelled goes to the next waiter.
///
/// ```
/// use std::sync::Arc;
/// use green::sync::Semaphore;
///
/// green::run(|| {
///     let connections = Arc::new(Semaphore::new(2));
///     let handles: Vec<_> = (0..6)
///         .map(|_| {
///             let connections = connections.clone();
///             green::spawn(move || {
///                 let _permit = connections.acquire(); // at most two green threads in here at a time
///                 green::sleep(std::time::Duration::from_millis(1));
///             })
///         })
///         .collect();
///     handles.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(connections.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    /// WAITERS | permits * ONE_PERMIT.
    state: AtomicUsize,
    /// Parked acquirers, oldest first.
    queue: std::sync::Mutex<WaitQueue>,
}

/// One permit of a [`Semaphore`], borrowed from it; released when dropped.
#[must_use = "the permit is released at once if unused"]
pub struct SemaphorePermit<'a> {
    /// Where the permit goes back.
    semaphore: &'a Semaphore,
}

/// One permit of a [`Semaphore`] held through an `Arc` (movable into a spawned green thread); released when
/// dropped.
#[must_use = "the permit is released at once if unused"]
pub struct OwnedSemaphorePermit {
    /// Where the permit goes back.
    semaphore: Arc<Semaphore>,
    /// 1, or 0 once `forget` was called.
    permits: usize,
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 1;

    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// use green::sync::Semaphore;
    ///
    /// static CONNECTIONS: Semaphore = Semaphore::new(100); // `const`: usable in a static
    /// assert_eq!(CONNECTIONS.available_permits(), 100);
    /// ```
    pub const fn new(permits: usize) -> Semaphore {
        assert!(permits <= Semaphore::MAX_PERMITS, "a semaphore holds at most MAX_PERMITS permits");
        Semaphore { state: AtomicUsize::new(permits * ONE_PERMIT), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    /// The number of free permits right now (0 whenever somebody waits).
    ///
    /// ```
    /// let semaphore = green::sync::Semaphore::new(2);
    /// let _permit = semaphore.acquire();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.state.load(Ordering::Relaxed) / ONE_PERMIT
    }

    /// Takes a permit, parking the calling thread until one is free.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread (an OS thread blocks). A cancellation point (see the type docs).
    ///
    /// ```
    /// use green::sync::{Arc, Semaphore};
    ///
    /// green::run(|| {
    ///     let limit = Arc::new(Semaphore::new(2)); // at most two at a time
    ///     let handles: Vec<_> = (0..6)
    ///         .map(|_| {
    ///             let limit = limit.clone();
    ///             green::spawn(move || {
    ///                 let _permit = limit.acquire(); // parks while two others hold permits
    ///                 green::sleep(std::time::Duration::from_millis(1));
    ///             }) // the permit returns when dropped
    ///         })
    ///         .collect();
    ///     handles.into_iter().for_each(|h| h.join().unwrap());
    ///     assert_eq!(limit.available_permits(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        if !self.try_take() {
            let acquired = self.acquire_slow(None);
            debug_assert!(acquired);
        }
        SemaphorePermit { semaphore: self }
    }

    /// Takes a permit if one is free and nobody is waiting; never parks.
    ///
    /// ```
    /// let semaphore = green::sync::Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert!(semaphore.try_acquire().is_none());
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_take().then(|| SemaphorePermit { semaphore: self })
    }

    /// Like [`acquire`](Semaphore::acquire), giving up after about `timeout`: `None` if no permit came in time.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let semaphore = green::sync::Semaphore::new(1);
    /// let _held = semaphore.acquire();
    /// assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_none()); // nobody gave one back
    /// ```
    #[track_caller]
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        let acquired = self.try_take() || self.acquire_slow(Instant::now().checked_add(timeout));
        acquired.then(|| SemaphorePermit { semaphore: self })
    }

    /// Like [`acquire`](Semaphore::acquire), returning a permit that keeps the semaphore alive through an `Arc`.
    ///
    /// ```
    /// use green::sync::{Arc, Semaphore};
    ///
    /// green::run(|| {
    ///     let semaphore = Arc::new(Semaphore::new(1));
    ///     let permit = semaphore.acquire_owned(); // `'static`: it can move into a green thread
    ///     let worker = green::spawn(move || drop(permit));
    ///     worker.join().unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedSemaphorePermit {
        self.acquire().forget();
        OwnedSemaphorePermit { semaphore: self.clone(), permits: 1 }
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), returning an owned permit.
    ///
    /// ```
    /// use green::sync::{Arc, Semaphore};
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.try_acquire_owned().unwrap();
    /// assert!(semaphore.try_acquire_owned().is_none());
    /// drop(permit);
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_take().then(|| OwnedSemaphorePermit { semaphore: self.clone(), permits: 1 })
    }

    /// Adds `permits` permits, handing them to waiters first (oldest first). Never blocks.
    ///
    /// # Panics
    /// If the count would exceed [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// let semaphore = green::sync::Semaphore::new(0);
    /// semaphore.add_permits(3);
    /// assert_eq!(semaphore.available_permits(), 3);
    /// ```
    pub fn add_permits(&self, permits: usize) {
        if permits > 0 {
            self.release(permits);
        }
    }

    /// Protocol step 1, fast path.
    #[inline]
    fn try_take(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & WAITERS == 0 && state >= ONE_PERMIT {
            match self.state.compare_exchange_weak(state, state - ONE_PERMIT, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    /// Protocol step 1, slow path; false if `deadline` passed without a permit.
    #[cold]
    #[track_caller]
    fn acquire_slow(&self, deadline: Option<Instant>) -> bool {
        let waiter = Waiter::current();
        {
            let mut queue = lock_internal(&self.queue);
            let mut state = self.state.load(Ordering::Relaxed);
            loop {
                let (new, take) = if state & WAITERS == 0 && state >= ONE_PERMIT {
                    (state - ONE_PERMIT, true)
                } else {
                    (state | WAITERS, false)
                };
                match self.state.compare_exchange_weak(state, new, Ordering::Acquire, Ordering::Relaxed) {
                    Ok(_) if take => return true,
                    Ok(_) => break,
                    Err(actual) => state = actual,
                }
            }
            queue.push(waiter.clone(), PERMIT);
        }
        waiter
            .park_until_claimed(WaitReason::Semaphore, deadline, |unwinding| self.give_up(&waiter, unwinding))
            .is_some()
    }

    /// Protocol step 3.
    fn give_up(&self, waiter: &Arc<Waiter>, unwinding: bool) -> Option<usize> {
        let mut queue = lock_internal(&self.queue);
        match waiter.abort() {
            None => {
                queue.remove(waiter);
                if queue.is_empty() {
                    self.state.fetch_and(!WAITERS, Ordering::Relaxed);
                }
                None
            }
            Some(token) => {
                drop(queue);
                if unwinding {
                    self.release(1);
                }
                Some(token)
            }
        }
    }

    /// Protocol step 2.
    #[inline]
    fn release(&self, permits: usize) {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & WAITERS == 0 {
            let new = add_checked(state, permits);
            match self.state.compare_exchange_weak(state, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
        self.release_slow(permits);
    }

    #[cold]
    fn release_slow(&self, mut permits: usize) {
        let mut woken = Vec::new();
        let mut queue = lock_internal(&self.queue);
        if self.state.load(Ordering::Relaxed) & WAITERS != 0 {
            while permits > 0 {
                match queue.claim_one(PERMIT) {
                    Some(waiter) => {
                        woken.push(waiter);
                        permits -= 1;
                    }
                    None => break,
                }
            }
            if queue.is_empty() {
                // No permit is free while WAITERS is set, and nobody else changes the word while it is.
                self.state.store(add_checked(0, permits), Ordering::Release);
            }
        } else {
            // The waiters left meanwhile. WAITERS cannot come back while we hold the queue lock, but the fast
            // paths may change the count.
            let mut state = self.state.load(Ordering::Relaxed);
            while let Err(actual) = self.state.compare_exchange_weak(
                state,
                add_checked(state, permits),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                state = actual;
            }
        }
        drop(queue);
        for waiter in woken {
            waiter.thread().unpark();
        }
    }
}

/// `state` with `permits` more permits.
///
/// # Panics
/// Beyond [`Semaphore::MAX_PERMITS`].
fn add_checked(state: usize, permits: usize) -> usize {
    permits
        .checked_mul(ONE_PERMIT)
        .and_then(|added| state.checked_add(added))
        .expect("a semaphore holds at most MAX_PERMITS permits")
}

impl SemaphorePermit<'_> {
    /// Drops the permit without returning it: the semaphore has one permit less for good.
    ///
    /// ```
    /// let semaphore = green::sync::Semaphore::new(2);
    /// semaphore.acquire().forget(); // one permit less, for good
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(1);
    }
}

impl OwnedSemaphorePermit {
    /// The semaphore the permit belongs to.
    ///
    /// ```
    /// use green::sync::{Arc, Semaphore};
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.acquire_owned();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Drops the permit without returning it: the semaphore has one permit less for good.
    ///
    /// ```
    /// use green::sync::{Arc, Semaphore};
    ///
    /// let semaphore = Arc::new(Semaphore::new(2));
    /// semaphore.acquire_owned().forget();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.semaphore.add_permits(self.permits);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("available_permits", &(state / ONE_PERMIT))
            .field("waiters", &(state & WAITERS != 0))
            .finish()
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("semaphore", &self.semaphore)
            .field("permits", &self.permits)
            .finish()
    }
}
