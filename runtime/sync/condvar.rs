//! [`Condvar`]: wait for a condition on data behind a [`Mutex`], parking green threads.
//!
//! # State
//! A [`WaitQueue`] of waiting threads behind a small `std` mutex, and `waiters`, a copy of its length kept so
//! that `notify_*` without waiters is one atomic load.
//!
//! # Protocol (no lost wake-ups)
//! 1. `wait` registers the caller in the queue *while it still holds the mutex*, then unlocks the mutex and
//!    parks until a notification claims it (or its deadline passes), then locks the mutex again.
//! 2. A notifier changes the condition under the mutex, then calls `notify_one`/`notify_all`, which claim the
//!    oldest waiter(s) under the queue lock and unpark them after releasing it.
//!
//! Because a waiter is in the queue before it releases the mutex, and the notifier changed the condition after
//! acquiring it, a notification can never fall between a waiter's check of the condition and its park.
//!
//! # Timeouts, cancellation
//! A waiter whose deadline passes withdraws under the queue lock; if a notification claimed it in the
//! meantime, it counts as notified (`timed_out()` is false), so no notification is lost. A waiter that unwinds
//! while parked (cancellation, an expired [`crate::timeout`] scope) withdraws the same way and, if it was
//! already notified, passes the notification on to the next waiter (a spurious wake-up for that one at worst).
//!
//! A cancelled `wait` does **not** lock the mutex again before unwinding. `std`'s `wait` cannot be interrupted,
//! so it has no precedent; we chose this because the guard was moved into `wait`, so no code can observe
//! whether the lock is held during the unwinding; re-locking would only add an uninterruptible wait to the
//! unwinding (the holder may keep the lock for long) and then poison the mutex when the re-acquired guard drops
//! during the unwinding, although the waiter left the data consistent before waiting. The mutex was unlocked
//! by step 1 and stays unlocked.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LockResult, PoisonError};
use std::time::{Duration, Instant};

use super::mutex::{lock_internal, Mutex, MutexGuard};
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// Claim token of a notification (one kind only).
const NOTIFIED: usize = 0;

/// A condition variable: parks threads until another thread notifies them that a condition on data behind a
/// [`Mutex`] may have changed. The `std::sync::Condvar` mirror.
///
/// As with `std`, waits may wake spuriously: check the condition in a loop, or use [`wait_while`]. Waiters are
/// woken in FIFO order: `notify_one` wakes the thread that has waited longest. Works from green threads on any
/// worker and from OS threads, mixed. A condvar should be used with one mutex at a time (not checked).
///
/// [`wait_while`]: Condvar::wait_while
///
/// ```
/// use std::sync::Arc;
/// use green::sync::{Condvar, Mutex};
///
/// green::run(|| {
///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
///     let pair2 = pair.clone();
///     green::spawn(move || {
///         let (ready, condvar) = &*pair2;
///         *ready.lock().unwrap() = true;
///         condvar.notify_one();
///     });
///     let (ready, condvar) = &*pair;
///     let guard = condvar.wait_while(ready.lock().unwrap(), |ready| !*ready).unwrap();
///     assert!(*guard);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Condvar {
    /// The number of registrations in `queue`; updated under its lock, read without it by `notify_*`.
    waiters: AtomicUsize,
    /// Waiting threads, oldest first.
    queue: std::sync::Mutex<WaitQueue>,
}

/// Whether a timed wait on a [`Condvar`] returned because its time ran out.
///
/// `std::sync::WaitTimeoutResult` has no public constructor, so `green` has its own.
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait ended because the timeout elapsed (not because of a notification).
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::sync::{Condvar, Mutex};
    ///
    /// let (lock, condvar) = (Mutex::new(()), Condvar::new());
    /// let (_guard, result) = condvar.wait_timeout(lock.lock().unwrap(), Duration::from_millis(5)).unwrap();
    /// assert!(result.timed_out()); // nobody notified
    /// ```
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable with no waiters.
    ///
    /// ```
    /// let condvar = green::sync::Condvar::new();
    /// condvar.notify_all(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Condvar {
        Condvar { waiters: AtomicUsize::new(0), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    /// Unlocks the mutex of `guard`, parks until notified, then locks the mutex again and returns its guard.
    ///
    /// May return spuriously (check the condition in a loop).
    ///
    /// # Errors
    /// `Err(PoisonError)` with the guard if the mutex is poisoned when it is locked again.
    ///
    /// # Cancellation
    /// A cancellation point. A cancelled wait unwinds with the mutex unlocked, without locking it again (unlike a
    /// return): the guard was moved into `wait`, so nothing can observe the difference, and re-locking would add an
    /// uninterruptible wait to the unwinding and poison the mutex. A notification it had already received goes to
    /// the next waiter.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let notifier = {
    ///         let pair = pair.clone();
    ///         green::spawn(move || {
    ///             *pair.0.lock().unwrap() = true;
    ///             pair.1.notify_one();
    ///         })
    ///     };
    ///     let (lock, condvar) = &*pair;
    ///     let mut ready = lock.lock().unwrap();
    ///     while !*ready {
    ///         ready = condvar.wait(ready).unwrap(); // parks; the mutex is unlocked meanwhile
    ///     }
    ///     notifier.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_until(guard, None).0
    }

    /// Waits while `condition` returns true: returns, with the lock held, once it returns false.
    ///
    /// The condition is checked first, under the lock, so there is no wait if it is already false.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the guard if the mutex is poisoned when it is locked again.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let notifier = {
    ///         let pair = pair.clone();
    ///         green::spawn(move || {
    ///             *pair.0.lock().unwrap() = true;
    ///             pair.1.notify_one();
    ///         })
    ///     };
    ///     let (lock, condvar) = &*pair;
    ///     let ready = condvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
    ///     assert!(*ready);
    ///     notifier.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait_while<'a, T, F>(&self, mut guard: MutexGuard<'a, T>, mut condition: F) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Condvar::wait), returning after at most about `timeout`.
    ///
    /// The result tells whether the time ran out; a notification that races with the timeout counts as a
    /// notification. The time is measured with `Instant`; a green thread wakes at most about a millisecond late
    /// (the timer wheel's resolution).
    ///
    /// # Errors
    /// `Err(PoisonError)` with the guard and the result if the mutex is poisoned when it is locked again.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let notifier = {
    ///         let pair = pair.clone();
    ///         green::spawn(move || {
    ///             *pair.0.lock().unwrap() = true;
    ///             pair.1.notify_one();
    ///         })
    ///     };
    ///     let (lock, condvar) = &*pair;
    ///     let mut ready = lock.lock().unwrap();
    ///     while !*ready {
    ///         let (guard, result) = condvar.wait_timeout(ready, std::time::Duration::from_secs(10)).unwrap();
    ///         assert!(!result.timed_out());
    ///         ready = guard;
    ///     }
    ///     notifier.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let (result, timed_out) = self.wait_until(guard, Instant::now().checked_add(timeout));
        with_timeout_result(result, timed_out)
    }

    /// Waits while `condition` returns true, for at most about `timeout` in total.
    ///
    /// Returns the guard and whether the time ran out with the condition still true.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the guard and the result if the mutex is poisoned when it is locked again.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let notifier = {
    ///         let pair = pair.clone();
    ///         green::spawn(move || {
    ///             *pair.0.lock().unwrap() = true;
    ///             pair.1.notify_one();
    ///         })
    ///     };
    ///     let (lock, condvar) = &*pair;
    ///     let timeout = std::time::Duration::from_secs(10);
    ///     let (ready, result) = condvar.wait_timeout_while(lock.lock().unwrap(), timeout, |ready| !*ready).unwrap();
    ///     assert!(*ready && !result.timed_out());
    ///     notifier.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn wait_timeout_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok((guard, WaitTimeoutResult(true)));
            }
            let (result, timed_out) = self.wait_until(guard, deadline);
            guard = match result {
                Ok(guard) => guard,
                Err(poisoned) => return with_timeout_result(Err(poisoned), timed_out),
            };
        }
    }

    /// Wakes the thread that has waited longest, if any.
    ///
    /// Call it after changing the condition (with or without the mutex held). Never blocks.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let pair = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let notifier = {
    ///         let pair = pair.clone();
    ///         green::spawn(move || {
    ///             *pair.0.lock().unwrap() = true;
    ///             pair.1.notify_one();
    ///         })
    ///     };
    ///     let (lock, condvar) = &*pair;
    ///     drop(condvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap());
    ///     notifier.join().unwrap();
    /// });
    /// ```
    pub fn notify_one(&self) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut queue = lock_internal(&self.queue);
        let next = queue.claim_one(NOTIFIED);
        self.waiters.store(queue.len(), Ordering::Relaxed);
        drop(queue);
        if let Some(next) = next {
            next.thread().unpark();
        }
    }

    /// Wakes every waiting thread, oldest first. Never blocks.
    ///
    /// ```
    /// use green::sync::{Arc, Condvar, Mutex};
    ///
    /// green::run(|| {
    ///     let state = Arc::new((Mutex::new(false), Condvar::new()));
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let state = state.clone();
    ///             green::spawn(move || drop(state.1.wait_while(state.0.lock().unwrap(), |go| !*go).unwrap()))
    ///         })
    ///         .collect();
    ///     *state.0.lock().unwrap() = true;
    ///     state.1.notify_all(); // wakes every waiter
    ///     waiters.into_iter().for_each(|w| w.join().unwrap());
    /// });
    /// ```
    pub fn notify_all(&self) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut woken = Vec::new();
        let mut queue = lock_internal(&self.queue);
        while let Some(next) = queue.claim_one(NOTIFIED) {
            woken.push(next);
        }
        self.waiters.store(0, Ordering::Relaxed);
        drop(queue);
        for waiter in woken {
            waiter.thread().unpark();
        }
    }

    /// Protocol step 1; returns the re-locked mutex and whether the deadline passed without a notification.
    #[track_caller]
    fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        let waiter = Waiter::current();
        {
            let mut queue = lock_internal(&self.queue);
            queue.push(waiter.clone(), NOTIFIED);
            self.waiters.store(queue.len(), Ordering::Release);
        }
        drop(guard);
        let notified = waiter
            .park_until_claimed(WaitReason::Condvar, deadline, |unwinding| self.give_up(&waiter, unwinding))
            .is_some();
        (mutex.lock(), !notified)
    }

    /// Withdraws a waiter whose deadline passed or who unwinds (module docs).
    fn give_up(&self, waiter: &Arc<Waiter>, unwinding: bool) -> Option<usize> {
        let mut queue = lock_internal(&self.queue);
        match waiter.abort() {
            None => {
                queue.remove(waiter);
                self.waiters.store(queue.len(), Ordering::Relaxed);
                None
            }
            Some(token) => {
                if unwinding {
                    let next = queue.claim_one(NOTIFIED);
                    self.waiters.store(queue.len(), Ordering::Relaxed);
                    drop(queue);
                    if let Some(next) = next {
                        next.thread().unpark();
                    }
                }
                Some(token)
            }
        }
    }
}

/// Attaches the timeout result to a `wait` result, keeping the poison.
fn with_timeout_result<G>(result: LockResult<G>, timed_out: bool) -> LockResult<(G, WaitTimeoutResult)> {
    match result {
        Ok(guard) => Ok((guard, WaitTimeoutResult(timed_out))),
        Err(poisoned) => Err(PoisonError::new((poisoned.into_inner(), WaitTimeoutResult(timed_out)))),
    }
}
