//! Green-thread-local storage: [`thread_local!`](crate::thread_local) and [`LocalKey`], with `std`'s API,
//! one value per green thread.
//!
//! `std::thread_local!` gives one value per *OS thread*. A green thread runs on a worker OS thread together
//! with every other green thread of that worker, so a `std` thread-local is shared by all of them: a
//! per-connection counter kept in one counts the connections of the whole worker. (It is still sound: a
//! started green thread never moves to another OS thread, so the references stay valid.) `green::thread_local!`
//! declares the same kind of key, but each green thread sees its own value, created on its first access and
//! destroyed when the green thread ends. Code that is not in a green thread (a plain OS thread, a worker's own
//! loop) gets one value per OS thread, exactly like `std`.
//!
//! ```
//! use std::cell::Cell;
//!
//! green::thread_local! {
//!     static REQUESTS: Cell<u32> = Cell::new(0);
//! }
//!
//! green::run(|| {
//!     let handles: Vec<_> = (0..4)
//!         .map(|_| {
//!             green::spawn(|| {
//!                 for _ in 0..3 {
//!                     REQUESTS.set(REQUESTS.get() + 1);
//!                     green::yield_now(); // the other green threads of this worker run here
//!                 }
//!                 REQUESTS.get()
//!             })
//!         })
//!         .collect();
//!     // With `std::thread_local!` the green threads sharing a worker would count each other's requests.
//!     assert!(handles.into_iter().all(|h| h.join().unwrap() == 3));
//! });
//! ```
//!
//! # State
//! - Each key is a `static` [`LocalKey`]: its initialiser and an index, allocated from a global counter on
//!   the key's first use anywhere and never changed.
//! - Each thread of execution has a [`Storage`]: a vector of boxed values by key index (`None`: not
//!   initialised on this thread) and a `destroyed` flag. A green thread's storage is a field of its
//!   `context::Local`, on its own stack; an OS thread's is in a `std` thread-local of this module.
//! - A value's box is never moved or freed while its thread runs: only `Storage::destroy` (at the green thread's end,
//!   when none of its `with` calls can be active) and the OS thread's exit free them. That is why `with` may
//!   hand out a reference that outlives the vector's borrow (the vector itself may grow meanwhile, moving the
//!   boxes but not what they point to).
//!
//! # Destruction
//! When the green thread's closure has returned (or unwound), its values are dropped in the order their keys
//! were first used anywhere, still inside the green thread (a destructor may park, and sees the green thread as
//! [`current`](crate::current)), before its `JoinHandle::join` returns. Nothing interrupts them — a
//! cancellation still pending when the closure returned, a `timeout`, runtime shutdown — as nothing interrupts
//! destructors during an unwinding; a destructor that panics makes the green thread's result that panic (if it
//! had none). From the moment destruction starts,
//! every key of that green thread is gone: `with` panics and `try_with` returns [`AccessError`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::context;

/// A key to green-thread-local values, declared with [`thread_local!`](crate::thread_local): the
/// [`std::thread::LocalKey`] mirror, with one value per green thread (per OS thread outside green threads).
///
/// The value is created by the key's initialiser on the thread's first access and dropped when the green
/// thread ends. See the [module documentation](crate::thread#green-thread-locals).
pub struct LocalKey<T: 'static> {
    /// Creates a thread's first value.
    init: fn() -> T,
    /// One more than the key's index in every [`Storage`]; 0 until the key is first used.
    index: AtomicUsize,
}

/// The error of [`LocalKey::try_with`]: the value was already destroyed (its green thread is ending).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError;

/// The green-thread-local values of one thread of execution (module docs, "State").
#[derive(Default)]
pub(crate) struct Storage {
    /// Values by key index; `None` where a key was not used on this thread yet.
    values: RefCell<Vec<Option<Box<dyn Any>>>>,
    /// Set when destruction starts; every access fails from then on.
    destroyed: Cell<bool>,
}

thread_local! {
    /// The values of this OS thread, for code that runs outside green threads.
    static OS_STORAGE: Storage = Storage::default();
}

impl<T: 'static> LocalKey<T> {
    /// What [`thread_local!`](crate::thread_local) expands to; not a public API.
    #[doc(hidden)]
    pub const fn __new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { init, index: AtomicUsize::new(0) }
    }

    /// Runs `f` with a reference to this thread's value, creating it first if needed.
    ///
    /// # Panics
    /// When the value was already destroyed (called from a destructor of another green-thread-local as the
    /// green thread ends), and when the initialiser panics.
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static NAMES: RefCell<Vec<String>> = RefCell::new(Vec::new()));
    ///
    /// green::run(|| {
    ///     NAMES.with(|names| names.borrow_mut().push("main".into()));
    ///     green::spawn(|| NAMES.with(|names| assert!(names.borrow().is_empty()))).join().unwrap();
    ///     NAMES.with(|names| assert_eq!(names.borrow().len(), 1));
    /// });
    /// ```
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.try_with(f).expect("cannot access a green-thread-local value during or after destruction")
    }

    /// Like [`with`](LocalKey::with), but returns [`AccessError`] instead of panicking when the value was
    /// already destroyed.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// green::thread_local!(static DEPTH: Cell<u32> = const { Cell::new(0) });
    /// assert_eq!(DEPTH.try_with(|depth| depth.get()), Ok(0));
    /// ```
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        self.with_or_init(self.init, f)
    }

    /// `try_with`, creating a missing value with `make` instead of the key's initialiser.
    fn with_or_init<R>(&'static self, make: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        let index = self.index();
        with_storage(|storage| {
            let value = storage.get_or_init(index, make)?;
            // SAFETY: `value` points to a `T` in a box of this thread's storage (`Storage::lookup`), never moved,
            // and freed only by destruction, which starts after the green thread's closure (and so this call) has
            // returned, or at the OS thread's exit (module docs).
            Ok(f(unsafe { &*value }))
        })?
    }

    /// The key's index in every storage, allocated on first use.
    fn index(&self) -> usize {
        /// The next index to allocate, plus one.
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let index = self.index.load(Ordering::Relaxed);
        if index != 0 {
            return index - 1;
        }
        let fresh = NEXT.fetch_add(1, Ordering::Relaxed);
        match self.index.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => fresh - 1,
            Err(existing) => existing - 1,
        }
    }

    /// Runs `f` with `Some(value)` and the existing value, or stores `value` as the first value (without
    /// running the initialiser) and runs `f` with `None` and it: what `set` on `Cell` and `RefCell` keys needs.
    fn initialize_with<R>(&'static self, value: T, f: impl FnOnce(Option<T>, &T) -> R) -> R {
        let mut value = Some(value);
        let stored = &mut value;
        let current = self
            .with_or_init(|| stored.take().expect("taken once"), |current| current as *const T)
            .expect("cannot access a green-thread-local value during or after destruction");
        // SAFETY: as in `with_or_init`: the box is alive and unmoved until this thread's destruction, which
        // cannot start during this call.
        f(value, unsafe { &*current })
    }
}

impl<T: 'static> LocalKey<Cell<T>> {
    /// Sets this thread's value to `value`; the initialiser does not run if the value did not exist yet.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// green::thread_local!(static ATTEMPT: Cell<u32> = panic!("not run by `set`"));
    /// ATTEMPT.set(2);
    /// assert_eq!(ATTEMPT.get(), 2);
    /// ```
    pub fn set(&'static self, value: T) {
        self.initialize_with(Cell::new(value), |value, cell| {
            if let Some(value) = value {
                cell.set(value.into_inner());
            }
        });
    }

    /// A copy of this thread's value.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// green::thread_local!(static ID: Cell<u64> = Cell::new(7));
    /// assert_eq!(ID.get(), 7);
    /// ```
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes this thread's value, leaving `T::default()`.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// green::thread_local!(static PENDING: Cell<Option<u32>> = Cell::new(Some(1)));
    /// assert_eq!(PENDING.take(), Some(1));
    /// assert_eq!(PENDING.take(), None);
    /// ```
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces this thread's value, returning the old one.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// green::thread_local!(static STATE: Cell<u8> = Cell::new(1));
    /// assert_eq!(STATE.replace(2), 1);
    /// assert_eq!(STATE.get(), 2);
    /// ```
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> LocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of this thread's value.
    ///
    /// # Panics
    /// When the value is mutably borrowed, and as [`with`](LocalKey::with).
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static GREETING: RefCell<String> = RefCell::new("hello".into()));
    /// assert_eq!(GREETING.with_borrow(|greeting| greeting.len()), 5);
    /// ```
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|cell| f(&cell.borrow()))
    }

    /// Runs `f` with a mutable borrow of this thread's value.
    ///
    /// # Panics
    /// When the value is borrowed, and as [`with`](LocalKey::with).
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new()));
    /// LOG.with_borrow_mut(|log| log.push(1));
    /// assert_eq!(LOG.with_borrow(|log| log.clone()), [1]);
    /// ```
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|cell| f(&mut cell.borrow_mut()))
    }

    /// Sets this thread's value to `value`; the initialiser does not run if the value did not exist yet.
    ///
    /// # Panics
    /// When the value is borrowed.
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static ROUTE: RefCell<String> = RefCell::new(String::new()));
    /// ROUTE.set("/index".into());
    /// assert_eq!(ROUTE.with_borrow(|route| route.clone()), "/index");
    /// ```
    pub fn set(&'static self, value: T) {
        self.initialize_with(RefCell::new(value), |value, cell| {
            if let Some(value) = value {
                *cell.borrow_mut() = value.into_inner();
            }
        });
    }

    /// Takes this thread's value, leaving `T::default()`.
    ///
    /// # Panics
    /// When the value is borrowed.
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static BATCH: RefCell<Vec<u8>> = RefCell::new(vec![1, 2]));
    /// assert_eq!(BATCH.take(), [1, 2]);
    /// assert!(BATCH.with_borrow(Vec::is_empty));
    /// ```
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces this thread's value, returning the old one.
    ///
    /// # Panics
    /// When the value is borrowed.
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// green::thread_local!(static USER: RefCell<&'static str> = RefCell::new("anonymous"));
    /// assert_eq!(USER.replace("ada"), "anonymous");
    /// ```
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt("already destroyed", f)
    }
}

impl Error for AccessError {}

impl Storage {
    /// A pointer to the value of key `index`, created with `make` if missing.
    #[inline]
    fn get_or_init<T: 'static>(&self, index: usize, make: impl FnOnce() -> T) -> Result<*const T, AccessError> {
        // Destruction empties the vector first, so a value found here is alive and `destroyed` needs no look.
        match self.lookup::<T>(index) {
            Some(value) => Ok(value),
            None => self.initialize(index, make),
        }
    }

    /// The first access of key `index` on this thread: runs `make` and stores its value.
    #[cold]
    #[inline(never)]
    fn initialize<T: 'static>(&self, index: usize, make: impl FnOnce() -> T) -> Result<*const T, AccessError> {
        if self.destroyed.get() {
            return Err(AccessError);
        }
        // No borrow is held while the initialiser runs: it may use other keys.
        let value = make();
        let unused = {
            let mut values = self.values.borrow_mut();
            if values.len() <= index {
                values.resize_with(index + 1, || None);
            }
            match &values[index] {
                // The initialiser used its own key and so created a value already: keep that one.
                Some(_) => Some(value),
                None => {
                    values[index] = Some(Box::new(value));
                    None
                }
            }
        };
        drop(unused); // outside the borrow: its destructor may use other keys
        Ok(self.lookup::<T>(index).expect("stored above"))
    }

    /// A pointer to the existing value of key `index`, if any.
    #[inline]
    fn lookup<T: 'static>(&self, index: usize) -> Option<*const T> {
        let values = self.values.borrow();
        let value: &dyn Any = values.get(index)?.as_deref()?;
        debug_assert!(value.is::<T>(), "a key's values all have the key's type");
        // An index belongs to one `LocalKey<T>` (allocated once, by CAS, in `LocalKey::index`), and only that
        // key stores at it, always a `Box<T>`: the cast is the `downcast_ref` without its type check.
        Some(value as *const dyn Any as *const T)
    }

    /// Drops every value; every access fails from now on.
    fn destroy(&self) {
        self.destroyed.set(true);
        loop {
            let values = std::mem::take(&mut *self.values.borrow_mut());
            if values.is_empty() {
                return;
            }
            drop(values); // outside the borrow: destructors may try other keys (and get `AccessError`)
        }
    }
}

/// Runs `f` with the storage of whatever is executing: the current green thread, or this OS thread.
fn with_storage<R>(f: impl FnOnce(&Storage) -> R) -> Result<R, AccessError> {
    if context::in_green_thread() {
        Ok(context::with_local(|local| f(&local.locals)))
    } else {
        OS_STORAGE.try_with(f).map_err(|_| AccessError)
    }
}

/// Whether the green thread running this code has green-thread-local values (false outside green threads):
/// most green threads never use one, and their end then costs nothing more.
#[inline]
pub(crate) fn current_has_values() -> bool {
    // An OS thread's `Local` never holds values (they live in `OS_STORAGE`), so one look answers for both.
    context::with_local(|local| !local.locals.values.borrow().is_empty())
}

/// Drops the green-thread-local values of the green thread running this code (module docs, "Destruction");
/// its body calls this after the user's closure. A no-op outside green threads.
pub(crate) fn destroy_current() {
    if context::in_green_thread() {
        context::with_local(|local| local.locals.destroy());
    }
}

/// Declares green-thread-local keys: [`std::thread_local!`]'s syntax, one value per green thread.
///
/// Each `static NAME: T = init;` becomes a [`LocalKey<T>`](crate::thread::LocalKey): every green thread that
/// uses `NAME` gets its own `T`, created by `init` on its first access and dropped when it ends; code outside
/// green threads gets one per OS thread. `const { init }` is accepted as in `std` (it is computed lazily all the
/// same). Plain `std::thread_local!` in a green thread is per *worker OS thread*, shared by every green thread
/// of that worker: see the [`thread`](crate::thread#green-thread-locals) module.
///
/// ```
/// use std::cell::RefCell;
///
/// green::thread_local! {
///     /// The path of the request this green thread serves.
///     static CURRENT_PATH: RefCell<String> = RefCell::new(String::new());
///     pub static HITS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
/// }
///
/// green::run(|| {
///     CURRENT_PATH.set("/a".into());
///     green::spawn(|| CURRENT_PATH.with_borrow(|path| assert_eq!(path, ""))).join().unwrap();
///     assert_eq!(CURRENT_PATH.take(), "/a");
/// });
/// ```
#[macro_export]
macro_rules! thread_local {
    () => {};
    (@key $(#[$attribute:meta])* $visibility:vis $name:ident, $type:ty, $init:expr) => {
        $(#[$attribute])*
        $visibility static $name: $crate::thread::LocalKey<$type> = {
            fn initial_value() -> $type {
                $init
            }
            $crate::thread::LocalKey::__new(initial_value)
        };
    };
    ($(#[$attribute:meta])* $visibility:vis static $name:ident: $type:ty = const $init:block; $($rest:tt)*) => {
        $crate::thread_local!(@key $(#[$attribute])* $visibility $name, $type, $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attribute:meta])* $visibility:vis static $name:ident: $type:ty = const $init:block) => {
        $crate::thread_local!(@key $(#[$attribute])* $visibility $name, $type, $init);
    };
    ($(#[$attribute:meta])* $visibility:vis static $name:ident: $type:ty = $init:expr; $($rest:tt)*) => {
        $crate::thread_local!(@key $(#[$attribute])* $visibility $name, $type, $init);
        $crate::thread_local!($($rest)*);
    };
    ($(#[$attribute:meta])* $visibility:vis static $name:ident: $type:ty = $init:expr) => {
        $crate::thread_local!(@key $(#[$attribute])* $visibility $name, $type, $init);
    };
}
