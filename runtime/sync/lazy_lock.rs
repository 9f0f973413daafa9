//! [`LazyLock`]: a value computed on first access, whose concurrent first users park instead of blocking
//! their worker.
//!
//! # State
//! A [`Once`] and a cell holding either the initialiser or the value. The cell changes only inside the
//! `Once`'s closure (one caller, while the `Once` is `RUNNING`): the initialiser is taken out, run, and the
//! value written. It is read as a value only after the `Once` was observed complete (`Acquire`). If the
//! initialiser unwinds, the cell is left `Poisoned` and so is the `Once`: every later access panics, as with
//! `std::sync::LazyLock`.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::Deref;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// What a [`LazyLock`] holds.
enum Data<T, F> {
    /// Not computed yet.
    Uninit(F),
    /// Computed.
    Init(T),
    /// The initialiser is running or unwound.
    Poisoned,
}

/// A value initialised on first access: the `std::sync::LazyLock` mirror, usable in a `static`.
///
/// The first access runs the initialiser; accesses that race with it park (a green thread switches out, its
/// worker runs other green threads) until it is done. If the initialiser panics, the `LazyLock` is poisoned
/// and every later access panics.
///
/// ```
/// use std::collections::HashMap;
/// use green::sync::LazyLock;
///
/// static PORTS: LazyLock<HashMap<&str, u16>> = LazyLock::new(|| {
///     green::sleep(std::time::Duration::from_millis(1)); // a slow initialiser parks only its caller
///     HashMap::from([("http", 80), ("https", 443)])
/// });
///
/// green::run(|| {
///     let handles: Vec<_> = (0..4).map(|_| green::spawn(|| PORTS["https"])).collect();
///     assert!(handles.into_iter().all(|h| h.join().unwrap() == 443));
/// });
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    /// Completed exactly when `data` is `Init`.
    once: Once,
    /// The initialiser or the value (module docs).
    data: UnsafeCell<Data<T, F>>,
}

// SAFETY: `&LazyLock` hands out `&T` to every thread (needs `T: Sync`), lets whichever thread comes first run
// `F` (needs `F: Send`) and create the `T` that others use (needs `T: Send`): the bounds of `std`'s LazyLock.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}

impl<T: RefUnwindSafe + UnwindSafe, F: UnwindSafe> RefUnwindSafe for LazyLock<T, F> {}
impl<T: UnwindSafe, F: UnwindSafe> UnwindSafe for LazyLock<T, F> {}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A `LazyLock` that computes its value with `f` on first access.
    ///
    /// ```
    /// use green::sync::LazyLock;
    ///
    /// static GREETING: LazyLock<String> = LazyLock::new(|| "hello".repeat(2));
    /// assert_eq!(*GREETING, "hellohello");
    /// ```
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock { once: Once::new(), data: UnsafeCell::new(Data::Uninit(f)) }
    }

    /// The value, computing it first if needed (what `Deref` does).
    ///
    /// # Panics
    /// When the initialiser panics (with its panic), and on every access after that.
    ///
    /// ```
    /// use green::sync::LazyLock;
    ///
    /// let lazy = LazyLock::new(|| 92);
    /// assert_eq!(*LazyLock::force(&lazy), 92);
    /// ```
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        if !this.once.is_completed() {
            this.initialize();
        }
        // SAFETY: the `Once` is complete (observed with Acquire), so `data` is `Init` and never written again
        // while `&this` borrows exist.
        match unsafe { &*this.data.get() } {
            Data::Init(value) => value,
            _ => unreachable!("a completed LazyLock holds its value"),
        }
    }

    /// Consumes the `LazyLock`: its value if it was computed, else its initialiser.
    ///
    /// # Panics
    /// When it is poisoned.
    ///
    /// ```
    /// use green::sync::LazyLock;
    ///
    /// let lazy = LazyLock::new(|| "computed");
    /// let _ = *lazy;
    /// assert_eq!(LazyLock::into_inner(lazy).ok(), Some("computed"));
    /// ```
    pub fn into_inner(this: LazyLock<T, F>) -> Result<T, F> {
        match this.data.into_inner() {
            Data::Init(value) => Ok(value),
            Data::Uninit(f) => Err(f),
            Data::Poisoned => panic!("LazyLock instance has previously been poisoned"),
        }
    }

    #[cold]
    #[track_caller]
    fn initialize(&self) {
        self.once.call_once_force(|state| {
            if state.is_poisoned() {
                panic!("LazyLock instance has previously been poisoned");
            }
            // SAFETY: the `Once` runs this closure in one caller at a time, and nobody reads `data` before it
            // is complete; the cell is `Poisoned` while `f` runs, so an unwinding leaves it that way.
            let data = unsafe { &mut *self.data.get() };
            match std::mem::replace(data, Data::Poisoned) {
                Data::Uninit(f) => *data = Data::Init(f()),
                _ => unreachable!("an incomplete LazyLock holds its initialiser"),
            }
        });
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;

    #[track_caller]
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_tuple("LazyLock");
        if self.once.is_completed() {
            // SAFETY: complete, so `data` is `Init` and no longer written (see `force`).
            if let Data::Init(value) = unsafe { &*self.data.get() } {
                debug.field(value);
            }
        } else {
            debug.field(&format_args!("<uninit>"));
        }
        debug.finish()
    }
}
