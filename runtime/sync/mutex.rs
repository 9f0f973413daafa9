//! [`Mutex`]: mutual exclusion that parks green threads, with `std`'s poisoning.
//!
//! # State
//! One atomic byte, plus a [`WaitQueue`] behind a small `std` mutex that only the slow paths touch:
//!
//! ```text
//!   bit 0  LOCKED   someone holds the lock
//!   bit 1  PARKED   the wait queue is not empty: unlock must take the slow path
//!   bit 2  HANDOFF  starvation mode: unlock hands the lock to the oldest waiter, newcomers queue
//! ```
//!
//! `PARKED` and `HANDOFF` change only with the queue lock held; `PARKED` is set exactly while the queue is not
//! empty, and `HANDOFF` only together with `PARKED`. `LOCKED` is taken by CAS and may be released by CAS
//! (fast path) or under the queue lock (slow path).
//!
//! The uncontended paths are one CAS each: `0 → LOCKED` to lock, `LOCKED → 0` to unlock. No system call, no
//! allocation; the queue lock, the [`Waiter`] allocation and the park happen only when the lock is taken.
//!
//! # Fairness: barging by default, handoff against starvation
//! Handing the lock straight to the oldest waiter on every unlock is perfectly fair but slow under contention:
//! the lock stays idle from the unlock until the woken thread has been scheduled (on another worker, that is an
//! `eventfd` write and an `epoll_wait` return), and every thread that arrives meanwhile must queue and park too
//! — a lock convoy. Letting the woken waiter compete with running threads ("barging") keeps the lock busy but
//! can starve a waiter. Like Go's `sync.Mutex` we do both:
//!
//! - Normal mode: unlock releases the lock and wakes the oldest waiter, which competes with newcomers. A woken
//!   waiter that loses queues again *at the head*, keeping its turn, so waiters are woken in (nearly) FIFO order
//!   of arrival (two woken losers that re-queue swap places, as in Go).
//! - Starvation mode (`HANDOFF`): a woken waiter that loses after waiting 1 ms or more switches the mutex to
//!   handoff. Unlock then passes ownership directly to the oldest waiter (the lock never looks free) and
//!   newcomers queue at the tail. The mode ends when the queue empties or a waiter is served in under 1 ms.
//!
//! Before parking, a contender spins a few dozen `spin_loop` hints while nobody is queued: enough to catch a
//! holder on another worker that is about to unlock, too little to matter when the holder is a green thread on
//! the same worker (which cannot run until we park).
//!
//! # Protocol
//! 1. Lock, slow path: take the queue lock; if the mutex is free, retry the CAS. Otherwise set `PARKED` by CAS
//!    while `LOCKED` is still set (so the holder's unlock is sure to take the slow path), push a waiter — at the
//!    head if it was woken before — and park until claimed. The claim's token says `RETRY` (compete again) or
//!    `HANDOFF` (the lock is already ours).
//! 2. Unlock, slow path: under the queue lock, in normal mode clear `LOCKED` and claim the oldest waiter with
//!    `RETRY`; in starvation mode claim it with `HANDOFF` and leave `LOCKED` set. Clear `PARKED` (and `HANDOFF`)
//!    if the queue is now empty. Unpark the claimed waiter after dropping the queue lock.
//! 3. A waiter that unwinds while parked (cancellation, an expired timeout scope) aborts under the queue lock:
//!    not claimed yet, it removes itself; claimed with `HANDOFF`, it owns the lock and unlocks it (step 2), so
//!    the lock goes to the next waiter; claimed with `RETRY` while the lock is free, it claims the next waiter
//!    in its place. Nothing is lost and the mutex stays usable.
//!
//! Every abort happens under the queue lock, so a waker that holds it can always claim the head waiter.
//!
//! # Poisoning
//! As `std`: a guard dropped while its thread unwinds poisons the mutex; [`Mutex::lock`] then returns
//! `Err(PoisonError)` holding the guard. A green thread cancelled (or timed out by [`crate::timeout`]) while it
//! holds a guard unwinds too, so it also poisons: its critical section was cut short all the same.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult};
use std::time::{Duration, Instant};

use super::poison;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// Someone holds the lock.
const LOCKED: u8 = 0b001;
/// The wait queue is not empty.
const PARKED: u8 = 0b010;
/// Starvation mode: unlock hands the lock to the oldest waiter.
const HANDOFF: u8 = 0b100;

/// Claim token: the lock was released; compete for it again.
const RETRY: usize = 0;
/// Claim token: the lock was handed over; the woken waiter owns it.
const HANDED_OVER: usize = 1;

/// A waiter that has waited this long and still loses the race switches the mutex to handoff (Go uses the same).
const STARVATION: Duration = Duration::from_millis(1);
/// Rounds of exponential spinning (2, 4, 8, 16 hints) before parking, while nobody is queued.
const SPIN_ROUNDS: u32 = 4;

/// Locks one of the small internal `std` mutexes of this module's primitives (a wait queue and a few counters).
///
/// Their critical sections never park and never run user code, so they are short and a panic cannot leave
/// them half-updated: poisoning is ignored.
pub(crate) fn lock_internal<T>(internal: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    internal.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The lock without the data: state word and wait queue (see the module docs).
struct RawMutex {
    /// LOCKED | PARKED | HANDOFF.
    state: AtomicU8,
    /// Parked contenders, oldest first; registrations carry no meaning (token 0).
    queue: std::sync::Mutex<WaitQueue>,
}

impl RawMutex {
    const fn new() -> RawMutex {
        RawMutex { state: AtomicU8::new(0), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(state, state | LOCKED, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    #[inline]
    #[track_caller]
    fn lock(&self) {
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    /// Protocol step 1.
    #[cold]
    #[track_caller]
    fn lock_slow(&self) {
        let mut spins = 0;
        let mut first_parked: Option<Instant> = None;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state & LOCKED == 0 {
                if self.state.compare_exchange_weak(state, state | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
                {
                    return;
                }
                continue;
            }
            if state & PARKED == 0 && spins < SPIN_ROUNDS {
                for _ in 0..(2 << spins) {
                    std::hint::spin_loop();
                }
                spins += 1;
                continue;
            }
            let waiter = Waiter::current();
            {
                let mut queue = lock_internal(&self.queue);
                let starving = first_parked.is_some_and(|since| since.elapsed() >= STARVATION);
                let mode = if starving { PARKED | HANDOFF } else { PARKED };
                let mut state = self.state.load(Ordering::Relaxed);
                let registered = loop {
                    if state & LOCKED == 0 {
                        break false;
                    }
                    match self.state.compare_exchange_weak(state, state | mode, Ordering::Relaxed, Ordering::Relaxed) {
                        Ok(_) => break true,
                        Err(actual) => state = actual,
                    }
                };
                if !registered {
                    continue;
                }
                if first_parked.is_some() {
                    queue.push_front(waiter.clone(), 0);
                } else {
                    queue.push(waiter.clone(), 0);
                }
            }
            let since = *first_parked.get_or_insert_with(Instant::now);
            match waiter.park_until_claimed(WaitReason::Mutex, None, |_| self.give_up(&waiter)) {
                Some(HANDED_OVER) => {
                    if since.elapsed() < STARVATION {
                        self.state.fetch_and(!HANDOFF, Ordering::Relaxed);
                    }
                    return;
                }
                _ => spins = 0,
            }
        }
    }

    /// Protocol step 3 (only called while unwinding: `lock` has no deadline).
    fn give_up(&self, waiter: &Arc<Waiter>) -> Option<usize> {
        let mut queue = lock_internal(&self.queue);
        match waiter.abort() {
            None => {
                queue.remove(waiter);
                if queue.is_empty() {
                    self.state.fetch_and(!(PARKED | HANDOFF), Ordering::Relaxed);
                }
                None
            }
            Some(HANDED_OVER) => {
                drop(queue);
                self.unlock();
                Some(HANDED_OVER)
            }
            Some(token) => {
                let next = if self.state.load(Ordering::Relaxed) & LOCKED == 0 {
                    self.claim_next(&mut queue, RETRY)
                } else {
                    // The holder's unlock sees PARKED (the queue is not empty) and wakes the next one.
                    None
                };
                drop(queue);
                if let Some(next) = next {
                    next.thread().unpark();
                }
                Some(token)
            }
        }
    }

    /// Claims the oldest waiter for `token`, keeping PARKED/HANDOFF in step with the queue. Queue lock held.
    fn claim_next(&self, queue: &mut WaitQueue, token: usize) -> Option<Arc<Waiter>> {
        let next = queue.claim_one(token);
        if queue.is_empty() {
            self.state.fetch_and(!(PARKED | HANDOFF), Ordering::Relaxed);
        }
        next
    }

    #[inline]
    fn unlock(&self) {
        if self.state.compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed).is_err() {
            self.unlock_slow();
        }
    }

    /// Protocol step 2.
    #[cold]
    fn unlock_slow(&self) {
        let mut queue = lock_internal(&self.queue);
        let next = if self.state.load(Ordering::Relaxed) & HANDOFF != 0 {
            let next = self.claim_next(&mut queue, HANDED_OVER);
            if next.is_none() {
                self.state.fetch_and(!LOCKED, Ordering::Release);
            }
            next
        } else {
            self.state.fetch_and(!LOCKED, Ordering::Release);
            self.claim_next(&mut queue, RETRY)
        };
        drop(queue);
        if let Some(next) = next {
            next.thread().unpark();
        }
    }
}

/// A mutual exclusion lock whose `lock` parks only the calling green thread: the `std::sync::Mutex` mirror.
///
/// Same API and poisoning as [`std::sync::Mutex`] (and the same error types, so code switches by changing the
/// import). Unlike `std`'s, holding the guard across a blocking `green` call ([`crate::sleep`], a channel
/// receive, a socket read) is fine: contenders park instead of blocking their worker (see the
/// [module docs](super) for why that matters). Works from green threads on any worker and from plain OS threads,
/// mixed.
///
/// Waiters are woken in FIFO order; a woken waiter competes with newly arriving threads, except in starvation
/// mode (a waiter has waited over 1 ms) where the lock is handed to the oldest waiter directly: throughput while
/// the lock is busy, no starvation (as Go's `sync.Mutex`; see the [`sync`](super) docs).
/// Uncontended `lock`/`unlock` is one atomic compare-and-swap each.
///
/// `lock` is a cancellation point: a green thread cancelled while it waits unwinds without the lock, and the
/// mutex stays usable for everybody else.
///
/// ```
/// use std::sync::Arc;
/// use green::sync::Mutex;
///
/// green::run(|| {
///     let counter = Arc::new(Mutex::new(0));
///     let handles: Vec<_> = (0..10)
///         .map(|_| {
///             let counter = counter.clone();
///             green::spawn(move || {
///                 let mut guard = counter.lock().unwrap();
///                 green::yield_now(); // other green threads run; they park on the lock
///                 *guard += 1;
///             })
///         })
///         .collect();
///     handles.into_iter().for_each(|h| h.join().unwrap());
///     assert_eq!(*counter.lock().unwrap(), 10);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    /// The lock itself.
    raw: RawMutex,
    /// Set when a guard was dropped during unwinding.
    poison: poison::Flag,
    /// The protected value; accessed only through a guard (or `&mut self`).
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one thread at a time, so sharing it needs only `T: Send`
// (the same bounds as `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

// As `std`'s: a panic while the lock is held poisons it, so observing a broken invariant needs the explicit
// `PoisonError::into_inner`.
impl<T: ?Sized> UnwindSafe for Mutex<T> {}
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}

/// Access to the data of a locked [`Mutex`]; unlocks when dropped.
///
/// Not `Send`, as `std`'s guard: it belongs to the thread (green or OS) that locked, so it cannot be moved
/// into another green thread:
///
/// ```compile_fail
/// static MUTEX: green::sync::Mutex<i32> = green::sync::Mutex::new(0);
/// let guard = MUTEX.lock().unwrap();
/// green::spawn(move || drop(guard)); // error: `*const ()` cannot be sent between threads safely
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    /// The locked mutex.
    mutex: &'a Mutex<T>,
    /// Whether the thread was already unwinding when it locked (then dropping the guard does not poison).
    poison: poison::Guard,
    /// Makes the guard `!Send`.
    _not_send: PhantomData<*const ()>,
}

// SAFETY: `&MutexGuard` only gives `&T`, which is shareable when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// ```
    /// use green::sync::Mutex;
    ///
    /// static COUNTER: Mutex<u32> = Mutex::new(0); // `const`: usable in a static
    /// let local = Mutex::new(vec![1, 2]);
    /// *COUNTER.lock().unwrap() += 1;
    /// assert_eq!(local.lock().unwrap().len(), 2);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { raw: RawMutex::new(), poison: poison::Flag::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the data if the mutex is poisoned.
    ///
    /// ```
    /// let mutex = green::sync::Mutex::new(String::from("owned"));
    /// assert_eq!(mutex.into_inner().unwrap(), "owned");
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the calling thread until it is available.
    ///
    /// # Errors
    /// `Err(PoisonError)` holding the guard if another thread unwound while holding the lock; the lock is held
    /// either way.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread (an OS thread blocks). A cancellation point: a cancelled green thread
    /// unwinds from here without the lock. Locking a mutex the thread already holds deadlocks.
    ///
    /// ```
    /// use green::sync::{Arc, Mutex};
    ///
    /// green::run(|| {
    ///     let shared = Arc::new(Mutex::new(0));
    ///     let handles: Vec<_> = (0..4)
    ///         .map(|_| {
    ///             let shared = shared.clone();
    ///             green::spawn(move || *shared.lock().unwrap() += 1) // contenders park, never block the worker
    ///         })
    ///         .collect();
    ///     handles.into_iter().for_each(|h| h.join().unwrap());
    ///     assert_eq!(*shared.lock().unwrap(), 4);
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        self.raw.lock();
        self.guard()
    }

    /// Locks the mutex if it is free right now; never parks.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`] when the lock is held; [`TryLockError::Poisoned`] (with the guard) when it
    /// was free but is poisoned.
    ///
    /// ```
    /// use green::sync::{Mutex, TryLockError};
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(matches!(mutex.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 1);
    /// ```
    #[inline]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            Ok(self.guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Whether a thread unwound while holding the lock (and nobody cleared the poison since).
    ///
    /// ```
    /// use green::sync::{Arc, Mutex};
    ///
    /// let mutex = Arc::new(Mutex::new(0));
    /// let clone = mutex.clone();
    /// let _ = green::spawn(move || {
    ///     let _guard = clone.lock().unwrap();
    ///     panic!("poisons the mutex");
    /// })
    /// .join();
    /// assert!(mutex.is_poisoned());
    /// ```
    #[inline]
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag, after the caller has restored the data's invariants.
    ///
    /// ```
    /// use green::sync::{Arc, Mutex};
    ///
    /// let mutex = Arc::new(Mutex::new(0));
    /// let clone = mutex.clone();
    /// let _ = green::spawn(move || {
    ///     let _guard = clone.lock().unwrap();
    ///     panic!("poisons the mutex");
    /// })
    /// .join();
    /// let mut guard = mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    /// *guard = 0; // restore the invariant
    /// drop(guard);
    /// mutex.clear_poison();
    /// assert!(!mutex.is_poisoned());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// A mutable reference to the data; no locking needed since the borrow is exclusive.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the reference if the mutex is poisoned.
    ///
    /// ```
    /// let mut mutex = green::sync::Mutex::new(0);
    /// *mutex.get_mut().unwrap() = 10;
    /// assert_eq!(*mutex.lock().unwrap(), 10);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.get_mut())
    }

    /// The guard for a lock just taken by the caller.
    fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = MutexGuard { mutex: self, poison: self.poison.guard(), _not_send: PhantomData };
        self.poison.result(guard)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (for `Condvar`, which unlocks and re-locks it).
    pub(crate) fn mutex(guard: &MutexGuard<'a, T>) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its thread holds the lock, so no other reference to the data is
        // live (module docs: one holder at a time).
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.poison.done(&self.poison);
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => debug.field("data", &&*guard),
            Err(TryLockError::Poisoned(poisoned)) => debug.field("data", &&**poisoned.get_ref()),
            Err(TryLockError::WouldBlock) => debug.field("data", &format_args!("<locked>")),
        };
        debug.field("poisoned", &self.is_poisoned()).finish_non_exhaustive()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forces starvation mode, then races a handoff with the cancellation of the waiter it goes to: the lock
    /// must always end up usable.
    #[test]
    fn a_cancelled_waiter_passes_a_handed_over_lock_on() {
        let runtime = crate::Runtime::builder().workers(2).build().unwrap();
        runtime.block_on(|| {
            let mutex = Arc::new(Mutex::new(0u32));
            for round in 0..200u32 {
                let guard = mutex.lock().unwrap();
                let waiter = {
                    let mutex = mutex.clone();
                    crate::spawn(move || *mutex.lock().unwrap() += 1)
                };
                while mutex.raw.state.load(Ordering::Relaxed) & PARKED == 0 {
                    crate::yield_now();
                }
                mutex.raw.state.fetch_or(HANDOFF, Ordering::Relaxed);
                if round % 2 == 0 {
                    waiter.cancel();
                    drop(guard);
                } else {
                    drop(guard);
                    waiter.cancel();
                }
                // Either the cancellation won (Err) or the waiter got the lock first and finished (Ok).
                let _ = waiter.join();
                let mut value = mutex.lock().unwrap();
                assert_eq!(mutex.raw.state.load(Ordering::Relaxed), LOCKED, "no stale waiter, no handoff mode");
                *value = 0;
            }
            assert!(mutex.try_lock().is_ok());
        });
    }

    #[test]
    fn handoff_mode_serves_the_oldest_waiter_first() {
        let runtime = crate::Runtime::builder().workers(1).build().unwrap();
        runtime.block_on(|| {
            let mutex = Arc::new(Mutex::new(Vec::new()));
            let guard = mutex.lock().unwrap();
            let handles: Vec<_> = (0..5)
                .map(|i| {
                    let mutex = mutex.clone();
                    let handle = crate::spawn_local(move || mutex.lock().unwrap().push(i));
                    crate::yield_now();
                    handle
                })
                .collect();
            mutex.raw.state.fetch_or(HANDOFF, Ordering::Relaxed);
            drop(guard);
            // A newcomer must queue behind the handed-over lock instead of barging.
            assert!(mutex.try_lock().is_err());
            mutex.lock().unwrap().push(99);
            handles.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(*mutex.lock().unwrap(), vec![0, 1, 2, 3, 4, 99]);
        });
    }
}
