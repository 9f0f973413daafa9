//! [`OnceLock`]: a cell written once, whose concurrent initialisers park instead of blocking their worker.
//!
//! # State
//! A [`Once`] and the value cell, as `std` builds it. The cell is written only inside the `Once`'s closure
//! (one caller at a time, while the `Once` is `RUNNING`) and read only after `Once::is_completed` observed
//! completion with `Acquire`. The closure runs with `call_once_force`, so an initialiser that unwinds (a
//! panic, a cancellation) leaves the cell empty and the next caller — a waiting one or a later one — runs its
//! own, as `std::sync::OnceLock` does.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// A cell that is written at most once, usable as a lazily initialised `static`: the `std::sync::OnceLock`
/// mirror.
///
/// When several threads call [`get_or_init`](OnceLock::get_or_init) at once, exactly one runs its initialiser;
/// the others park (a green thread switches out; its worker keeps running other green threads, including,
/// possibly, the initialiser) until it is done. If the initialiser panics or is cancelled, the cell stays empty
/// and a later (or waiting) caller retries. Waiters are woken together, oldest first.
///
/// ```
/// use green::sync::OnceLock;
///
/// static CONFIG: OnceLock<String> = OnceLock::new();
///
/// green::run(|| {
///     let handles: Vec<_> = (0..4)
///         .map(|_| {
///             green::spawn(|| {
///                 CONFIG.get_or_init(|| {
///                     green::sleep(std::time::Duration::from_millis(5)); // the others park meanwhile
///                     "loaded".to_string()
///                 })
///                 .len()
///             })
///         })
///         .collect();
///     assert!(handles.into_iter().all(|h| h.join().unwrap() == 6));
/// });
/// ```
pub struct OnceLock<T> {
    /// Completed exactly when `value` is initialised (module docs).
    once: Once,
    /// Initialised exactly when `once` is completed.
    value: UnsafeCell<MaybeUninit<T>>,
    /// The cell owns a `T` (for drop check).
    _owns: PhantomData<T>,
}

// SAFETY: a shared `OnceLock` hands out `&T` to every thread (needs `T: Sync`) and lets any thread write the
// value it created (needs `T: Send`): the bounds of `std::sync::OnceLock`.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: moving the cell moves the `T`.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T: RefUnwindSafe + UnwindSafe> RefUnwindSafe for OnceLock<T> {}
impl<T: UnwindSafe> UnwindSafe for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell = green::sync::OnceLock::<u32>::new();
    /// assert_eq!(cell.get(), None);
    /// ```
    pub const fn new() -> OnceLock<T> {
        OnceLock { once: Once::new(), value: UnsafeCell::new(MaybeUninit::uninit()), _owns: PhantomData }
    }

    /// The value, if the cell is initialised. Never parks.
    ///
    /// ```
    /// let cell = green::sync::OnceLock::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(92).unwrap();
    /// assert_eq!(cell.get(), Some(&92));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: completion, observed with Acquire, is published with Release after the value was written,
            // and the value is not changed again while `&self` borrows exist (module docs).
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// A mutable reference to the value, if the cell is initialised.
    ///
    /// ```
    /// let mut cell = green::sync::OnceLock::from(1);
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.is_completed_mut() {
            // SAFETY: completed means initialised; `&mut self` excludes every other access.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Parks until the cell is initialised (by another thread), then returns the value.
    ///
    /// A cancellation point. Initialisers that unwind do not end the wait: it lasts until one succeeds.
    ///
    /// ```
    /// use green::sync::OnceLock;
    ///
    /// static RESULT: OnceLock<u64> = OnceLock::new();
    /// green::run(|| {
    ///     let reader = green::spawn(|| *RESULT.wait());
    ///     RESULT.set(42).unwrap();
    ///     assert_eq!(reader.join().unwrap(), 42);
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> &T {
        self.once.wait_force();
        self.get().expect("a completed cell is initialised")
    }

    /// Initialises the cell with `value` unless it already is; returns `Err(value)` then.
    ///
    /// If another thread is initialising it right now, parks until that finishes (and takes over if that
    /// initialiser unwinds).
    ///
    /// ```
    /// let cell = green::sync::OnceLock::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(2));
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    #[track_caller]
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("the initialiser runs once"));
        match value {
            None => Ok(()),
            Some(value) => Err(value),
        }
    }

    /// The value, initialising it with `f` first if the cell is empty.
    ///
    /// Exactly one caller runs its `f` at a time; concurrent callers park until it is done. If `f` panics, the
    /// panic propagates to its caller, the cell stays empty, and a later or waiting caller runs its own `f`.
    /// Calling `get_or_init` on the same cell from inside `f` deadlocks.
    ///
    /// # Blocking and cancellation
    /// Parks only the calling green thread while another initialises. A cancellation point; a cancelled
    /// initialiser (its `f` parks and is cancelled) counts as one that panicked.
    ///
    /// ```
    /// let cell = green::sync::OnceLock::new();
    /// assert_eq!(*cell.get_or_init(|| 92), 92);
    /// assert_eq!(*cell.get_or_init(|| unreachable!()), 92);
    /// ```
    #[track_caller]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        let mut f = Some(f);
        self.once.call_once_force(|_| {
            let value = (f.take().expect("only one initialiser per caller"))();
            // SAFETY: the `Once` runs this closure in one caller at a time and nobody reads the cell before it
            // is completed (module docs).
            unsafe { (*self.value.get()).write(value) };
        });
        self.get().expect("call_once_force returns once the cell is initialised")
    }

    /// Consumes the cell and returns its value, if any.
    ///
    /// ```
    /// assert_eq!(green::sync::OnceLock::from("x").into_inner(), Some("x"));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = green::sync::OnceLock::from(5);
    /// assert_eq!(cell.take(), Some(5));
    /// assert_eq!(cell.get(), None);
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if self.once.is_completed_mut() {
            self.once.reset();
            // SAFETY: it was completed (initialised); the `Once` now says uninitialised, so it is read once.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if self.once.is_completed_mut() {
            // SAFETY: completed means initialised; this is the last access.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        let cell = OnceLock::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        match self.get() {
            Some(value) => OnceLock::from(value.clone()),
            None => OnceLock::new(),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_tuple("OnceLock");
        match self.get() {
            Some(value) => debug.field(value),
            None => debug.field(&format_args!("<uninit>")),
        };
        debug.finish()
    }
}
