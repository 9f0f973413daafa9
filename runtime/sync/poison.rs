//! [`Flag`]: `std`'s lock poisoning, shared by [`Mutex`](super::Mutex) and [`RwLock`](super::RwLock).
//!
//! A lock is poisoned when a guard with write access is dropped while its thread unwinds (a panic, or a
//! cancellation: either way the critical section was cut short). A guard taken while the thread was already
//! unwinding does not poison, as in `std`.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LockResult, PoisonError};

/// The poison flag of one lock.
#[derive(Debug)]
pub(crate) struct Flag {
    /// Set when a writing guard was dropped during unwinding; cleared by `clear_poison`.
    poisoned: AtomicBool,
}

/// What a writing guard remembers to poison correctly: whether its thread was already unwinding when it locked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    /// [`panicking()`](crate::thread::panicking) at lock time: the green thread's own unwinding.
    panicking: bool,
}

impl Flag {
    pub(crate) const fn new() -> Flag {
        Flag { poisoned: AtomicBool::new(false) }
    }

    /// Whether the lock is poisoned.
    #[inline]
    pub(crate) fn get(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }

    /// Clears the poison.
    pub(crate) fn clear(&self) {
        self.poisoned.store(false, Ordering::Relaxed);
    }

    /// Called when a writing guard is created.
    #[inline]
    pub(crate) fn guard(&self) -> Guard {
        Guard { panicking: crate::thread::panicking() }
    }

    /// Called when a writing guard is dropped: poisons if its thread started unwinding since it locked.
    #[inline]
    pub(crate) fn done(&self, guard: &Guard) {
        if !guard.panicking && crate::thread::panicking() {
            self.poisoned.store(true, Ordering::Relaxed);
        }
    }

    /// `Ok(value)`, or `Err(PoisonError(value))` when poisoned: the shape of every `std` lock result.
    #[inline]
    pub(crate) fn result<T>(&self, value: T) -> LockResult<T> {
        result(self.get(), value)
    }
}

/// `Ok(value)` or `Err(PoisonError(value))`, for callers that read the flag before taking the value apart.
#[inline]
pub(crate) fn result<T>(poisoned: bool, value: T) -> LockResult<T> {
    if poisoned {
        Err(PoisonError::new(value))
    } else {
        Ok(value)
    }
}
