//! [`RwLock`]: many readers or one writer, parking green threads, FIFO-fair, with `std`'s poisoning.
//!
//! # State
//! One atomic word, plus a [`WaitQueue`] behind a small `std` mutex that only the slow paths touch:
//!
//! ```text
//!   bit 0     WRITER   a writer holds the lock
//!   bit 1     PARKED   the wait queue is not empty: new readers and writers queue, unlocks take the slow path
//!   bits 2..  readers  the number of readers holding the lock (never non-zero together with WRITER)
//! ```
//!
//! `PARKED` changes only under the queue lock and is set exactly while the queue is not empty. Each queued
//! waiter is registered with its kind (`READ` or `WRITE`) as token. The uncontended paths are one CAS (or one
//! `fetch_sub` for a read unlock): no system call, no allocation.
//!
//! # Fairness: strict FIFO with handoff
//! Once anybody waits, newcomers queue behind them — also readers while other readers hold the lock — so a
//! waiting writer is never starved by a stream of readers, and waiters are served in arrival order. Whoever
//! releases the lock last *grants* it to the head of the queue: to the head writer alone, or to the whole run
//! of readers at the head at once. The granted waiters own the lock before they even run (handoff), which costs
//! throughput under heavy contention compared with barging (see `mutex.rs`) but keeps reader/writer phases
//! simple and fair. A reader that takes the read lock again while a writer is queued therefore deadlocks (as
//! `std` warns may happen).
//!
//! # Protocol
//! 1. Lock, slow path: under the queue lock, take the lock if nobody holds it in a conflicting way and nobody
//!    is queued; otherwise set `PARKED` by CAS (so the holders' unlocks take the slow path), push a waiter and
//!    park until granted.
//! 2. Grant (under the queue lock, when the lock is free with waiters, state == `PARKED`): write the new holders
//!    into the state word *first*, then claim them, then unpark them after releasing the queue lock. A granted
//!    waiter may see its claim (through a spurious wake-up) before it is unparked; the state already says it
//!    holds the lock.
//! 3. Unlock: a writer clears `WRITER` and grants; the last reader (its `fetch_sub` saw `ONE_READER | PARKED`)
//!    grants.
//! 4. A waiter that unwinds while parked (cancellation, an expired timeout scope) aborts under the queue lock:
//!    not granted yet, it removes itself; already granted, it holds the lock and unlocks it (step 3).
//!
//! Every abort happens under the queue lock, so a grant (under it) never claims a waiter that is leaving.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LockResult, TryLockError, TryLockResult};

use super::mutex::lock_internal;
use super::poison;
use super::wait_queue::{WaitQueue, Waiter};
use crate::inspect::WaitReason;

/// A writer holds the lock.
const WRITER: usize = 0b01;
/// The wait queue is not empty.
const PARKED: usize = 0b10;
/// One reader in the reader count (bits 2 and up).
const ONE_READER: usize = 0b100;

/// Registration token of a waiting reader.
const READ: usize = 0;
/// Registration token of a waiting writer.
const WRITE: usize = 1;
/// Claim token: the lock was granted (in the kind the waiter asked for).
const GRANTED: usize = 2;

/// The lock without the data: state word and wait queue (see the module docs).
struct RawRwLock {
    /// WRITER | PARKED | readers * ONE_READER.
    state: AtomicUsize,
    /// Waiting readers (token READ) and writers (token WRITE), oldest first.
    queue: std::sync::Mutex<WaitQueue>,
}

impl RawRwLock {
    const fn new() -> RawRwLock {
        RawRwLock { state: AtomicUsize::new(0), queue: std::sync::Mutex::new(WaitQueue::new()) }
    }

    #[inline]
    fn try_read(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        while state & (WRITER | PARKED) == 0 {
            let readers = state.checked_add(ONE_READER).expect("too many readers of one RwLock");
            match self.state.compare_exchange_weak(state, readers, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
        false
    }

    #[inline]
    fn try_write(&self) -> bool {
        self.state.compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    #[inline]
    #[track_caller]
    fn read(&self) {
        if !self.try_read() {
            self.lock_slow(READ);
        }
    }

    #[inline]
    #[track_caller]
    fn write(&self) {
        if !self.try_write() {
            self.lock_slow(WRITE);
        }
    }

    /// Protocol step 1, for a reader or a writer (`kind`).
    #[cold]
    #[track_caller]
    fn lock_slow(&self, kind: usize) {
        let waiter = Waiter::current();
        {
            let mut queue = lock_internal(&self.queue);
            let mut state = self.state.load(Ordering::Relaxed);
            loop {
                let free = match kind {
                    READ => state & (WRITER | PARKED) == 0,
                    _ => state == 0,
                };
                let (new, ordering) = if free {
                    let taken = if kind == READ { state + ONE_READER } else { WRITER };
                    (taken, Ordering::Acquire)
                } else {
                    (state | PARKED, Ordering::Relaxed)
                };
                match self.state.compare_exchange_weak(state, new, ordering, Ordering::Relaxed) {
                    Ok(_) if free => return,
                    Ok(_) => break,
                    Err(actual) => state = actual,
                }
            }
            queue.push(waiter.clone(), kind);
        }
        let granted = waiter.park_until_claimed(
            if kind == READ { WaitReason::RwLockRead } else { WaitReason::RwLockWrite },
            None,
            |_| self.give_up(&waiter, kind),
        );
        debug_assert_eq!(granted, Some(GRANTED));
    }

    /// Protocol step 4 (only called while unwinding: locking has no deadline).
    fn give_up(&self, waiter: &Arc<Waiter>, kind: usize) -> Option<usize> {
        let mut queue = lock_internal(&self.queue);
        match waiter.abort() {
            None => {
                queue.remove(waiter);
                if queue.is_empty() {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
                None
            }
            Some(token) => {
                drop(queue);
                if kind == READ {
                    self.read_unlock();
                } else {
                    self.write_unlock();
                }
                Some(token)
            }
        }
    }

    /// Protocol step 2: the queue lock is held; returns the waiters to unpark once it is released.
    fn grant(&self, queue: &mut WaitQueue) -> Vec<Arc<Waiter>> {
        let mut granted = Vec::new();
        if self.state.load(Ordering::Relaxed) != PARKED {
            // Held again (or nobody waits any more): the next unlock grants.
            return granted;
        }
        if queue.front_token() == Some(WRITE) {
            self.state.store(WRITER | PARKED, Ordering::Relaxed);
            granted.extend(queue.claim_one(GRANTED));
        } else {
            while queue.front_token() == Some(READ) {
                self.state.fetch_add(ONE_READER, Ordering::Relaxed);
                granted.extend(queue.claim_one(GRANTED));
            }
        }
        if queue.is_empty() {
            self.state.fetch_and(!PARKED, Ordering::Relaxed);
        }
        granted
    }

    /// Grants under the queue lock, then unparks.
    #[cold]
    fn grant_and_unpark(&self, release_writer: bool) {
        let mut queue = lock_internal(&self.queue);
        if release_writer {
            self.state.fetch_and(!WRITER, Ordering::Release);
        }
        let granted = self.grant(&mut queue);
        drop(queue);
        for waiter in granted {
            waiter.thread().unpark();
        }
    }

    /// Turns the caller's write lock into a read lock, letting in the readers at the head of the queue
    /// (`RwLockWriteGuard::downgrade`). A writer at the head stays queued until the last reader leaves.
    fn downgrade(&self) {
        if self.state.compare_exchange(WRITER, ONE_READER, Ordering::Release, Ordering::Relaxed).is_ok() {
            return;
        }
        // PARKED is set, and changes only under the queue lock: take it and admit the head run of readers.
        let mut queue = lock_internal(&self.queue);
        self.state.store(ONE_READER | PARKED, Ordering::Release);
        let mut granted = Vec::new();
        while queue.front_token() == Some(READ) {
            self.state.fetch_add(ONE_READER, Ordering::Relaxed);
            granted.extend(queue.claim_one(GRANTED));
        }
        if queue.is_empty() {
            self.state.fetch_and(!PARKED, Ordering::Relaxed);
        }
        drop(queue);
        for waiter in granted {
            waiter.thread().unpark();
        }
    }

    #[inline]
    fn read_unlock(&self) {
        let before = self.state.fetch_sub(ONE_READER, Ordering::AcqRel);
        if before == ONE_READER | PARKED {
            self.grant_and_unpark(false);
        }
    }

    #[inline]
    fn write_unlock(&self) {
        if self.state.compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed).is_err() {
            self.grant_and_unpark(true);
        }
    }
}

/// A reader-writer lock whose `read` and `write` park only the calling green thread: the `std::sync::RwLock`
/// mirror.
///
/// Any number of readers or one writer at a time. Same API and poisoning as [`std::sync::RwLock`] (a writer
/// that unwinds poisons it; readers do not), with `std`'s error types. Waiters are served in FIFO order with
/// direct handoff: once a writer waits, new readers queue behind it, so writers are not starved. Works from green threads on
/// any worker and from plain OS threads, mixed; uncontended locking is one atomic operation.
///
/// `read` and `write` are cancellation points: a cancelled waiter unwinds without the lock, and the lock stays
/// usable for everybody else.
///
/// ```
/// use green::sync::RwLock;
///
/// green::run(|| {
///     let lock = RwLock::new(5);
///     {
///         let first = lock.read().unwrap();
///         let second = lock.read().unwrap();
///         assert_eq!(*first + *second, 10);
///     }
///     *lock.write().unwrap() += 1;
///     assert_eq!(*lock.read().unwrap(), 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    /// The lock itself.
    raw: RawRwLock,
    /// Set when a write guard was dropped during unwinding.
    poison: poison::Flag,
    /// The protected value.
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one thread at a time (needs `T: Send`) and `&T` to several at once
// (needs `T: Sync`): the same bounds as `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

// As `std`'s: a panic while the lock is held poisons it, so observing a broken invariant needs the explicit
// `PoisonError::into_inner`.
impl<T: ?Sized> UnwindSafe for RwLock<T> {}
impl<T: ?Sized> RefUnwindSafe for RwLock<T> {}

/// Shared access to the data of a read-locked [`RwLock`]; releases the read lock when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    /// The read-locked lock.
    lock: &'a RwLock<T>,
    /// Makes the guard `!Send`, as `std`'s.
    _not_send: PhantomData<*const ()>,
}

// SAFETY: the guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

/// Exclusive access to the data of a write-locked [`RwLock`]; releases the write lock when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    /// The write-locked lock.
    lock: &'a RwLock<T>,
    /// Whether the thread was already unwinding when it locked (then dropping the guard does not poison).
    poison: poison::Guard,
    /// Makes the guard `!Send`, as `std`'s.
    _not_send: PhantomData<*const ()>,
}

// SAFETY: `&RwLockWriteGuard` only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    ///
    /// ```
    /// use green::sync::RwLock;
    ///
    /// static SETTINGS: RwLock<Vec<String>> = RwLock::new(Vec::new());
    /// SETTINGS.write().unwrap().push("verbose".into());
    /// assert_eq!(SETTINGS.read().unwrap().len(), 1);
    /// ```
    pub const fn new(value: T) -> RwLock<T> {
        RwLock { raw: RawRwLock::new(), poison: poison::Flag::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the lock and returns the data.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the data if the lock is poisoned.
    ///
    /// ```
    /// let lock = green::sync::RwLock::new(String::from("owned"));
    /// assert_eq!(lock.into_inner().unwrap(), "owned");
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for shared reading, parking the calling thread while a writer holds the lock or anybody waits.
    ///
    /// # Errors
    /// `Err(PoisonError)` holding the guard if a writer unwound while holding the lock.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread. A cancellation point. Taking the read lock again while already
    /// holding it can deadlock when a writer is queued in between.
    ///
    /// ```
    /// use green::sync::{Arc, RwLock};
    ///
    /// green::run(|| {
    ///     let lock = Arc::new(RwLock::new(1));
    ///     let readers: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let lock = lock.clone();
    ///             green::spawn(move || *lock.read().unwrap()) // readers share the lock
    ///         })
    ///         .collect();
    ///     assert!(readers.into_iter().all(|r| r.join().unwrap() == 1));
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        self.raw.read();
        self.read_guard()
    }

    /// Locks for exclusive writing, parking the calling thread until no reader or writer holds the lock.
    ///
    /// # Errors
    /// `Err(PoisonError)` holding the guard if a writer unwound while holding the lock.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread. A cancellation point.
    ///
    /// ```
    /// let lock = green::sync::RwLock::new(5);
    /// {
    ///     let mut writer = lock.write().unwrap();
    ///     *writer += 1;
    ///     assert!(lock.try_read().is_err()); // no reader while the writer holds it
    /// }
    /// assert_eq!(*lock.read().unwrap(), 6);
    /// ```
    #[inline]
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        self.raw.write();
        self.write_guard()
    }

    /// Takes the read lock if that is possible right now (no writer holds it and nobody is queued); never parks.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`], or [`TryLockError::Poisoned`] with the guard.
    ///
    /// ```
    /// use green::sync::{RwLock, TryLockError};
    ///
    /// let lock = RwLock::new(1);
    /// let reader = lock.try_read().unwrap();
    /// assert_eq!(*lock.try_read().unwrap(), 1); // another reader is fine
    /// drop(reader);
    /// let _writer = lock.write().unwrap();
    /// assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
    /// ```
    #[inline]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        if self.raw.try_read() {
            Ok(self.read_guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Takes the write lock if nobody holds the lock right now; never parks.
    ///
    /// # Errors
    /// [`TryLockError::WouldBlock`], or [`TryLockError::Poisoned`] with the guard.
    ///
    /// ```
    /// use green::sync::{RwLock, TryLockError};
    ///
    /// let lock = RwLock::new(1);
    /// let reader = lock.read().unwrap();
    /// assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
    /// drop(reader);
    /// *lock.try_write().unwrap() = 2;
    /// assert_eq!(*lock.read().unwrap(), 2);
    /// ```
    #[inline]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        if self.raw.try_write() {
            Ok(self.write_guard()?)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Whether a writer unwound while holding the lock (and nobody cleared the poison since).
    ///
    /// ```
    /// use green::sync::{Arc, RwLock};
    ///
    /// let lock = Arc::new(RwLock::new(0));
    /// let clone = lock.clone();
    /// let _ = green::spawn(move || {
    ///     let _writer = clone.write().unwrap();
    ///     panic!("poisons the lock");
    /// })
    /// .join();
    /// assert!(lock.is_poisoned());
    /// ```
    #[inline]
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag, after the caller has restored the data's invariants.
    ///
    /// ```
    /// use green::sync::{Arc, RwLock};
    ///
    /// let lock = Arc::new(RwLock::new(0));
    /// let clone = lock.clone();
    /// let _ = green::spawn(move || {
    ///     let _writer = clone.write().unwrap();
    ///     panic!("poisons the lock");
    /// })
    /// .join();
    /// *lock.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = 0;
    /// lock.clear_poison();
    /// assert!(!lock.is_poisoned());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// A mutable reference to the data; no locking needed since the borrow is exclusive.
    ///
    /// # Errors
    /// `Err(PoisonError)` with the reference if the lock is poisoned.
    ///
    /// ```
    /// let mut lock = green::sync::RwLock::new(0);
    /// *lock.get_mut().unwrap() = 10;
    /// assert_eq!(*lock.read().unwrap(), 10);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.get_mut())
    }

    fn read_guard(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let guard = RwLockReadGuard { lock: self, _not_send: PhantomData };
        self.poison.result(guard)
    }

    fn write_guard(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let guard = RwLockWriteGuard { lock: self, poison: self.poison.guard(), _not_send: PhantomData };
        self.poison.result(guard)
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting a writer in between: other readers may join at
    /// once (the readers queued first), writers still wait.
    ///
    /// ```
    /// use green::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut writer = lock.write().unwrap();
    /// *writer += 1;
    /// let reader = RwLockWriteGuard::downgrade(writer);
    /// assert_eq!(*reader, 2);
    /// assert_eq!(*lock.try_read().unwrap(), 2); // other readers get in now
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn downgrade(guard: RwLockWriteGuard<'a, T>) -> RwLockReadGuard<'a, T> {
        let guard = ManuallyDrop::new(guard);
        let lock = guard.lock;
        lock.poison.done(&guard.poison);
        lock.raw.downgrade();
        RwLockReadGuard { lock, _not_send: PhantomData }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a read guard exists only while its thread holds a read lock, so no writer (no `&mut T`)
        // exists until it is dropped.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a write guard exists only while its thread holds the write lock: no other reference to the
        // data is live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.poison.done(&self.poison);
        self.lock.raw.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => debug.field("data", &&*guard),
            Err(TryLockError::Poisoned(poisoned)) => debug.field("data", &&**poisoned.get_ref()),
            Err(TryLockError::WouldBlock) => debug.field("data", &format_args!("<locked>")),
        };
        debug.field("poisoned", &self.is_poisoned()).finish_non_exhaustive()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}
