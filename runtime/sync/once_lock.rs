//! [`OnceLock`]: a cell written once, whose concurrent initialisers park instead of blocking their worker.
//!
//! # State
//! ```text
//!   INCOMPLETE ──CAS by one caller──► RUNNING ──value written──► COMPLETE
//!        ▲                               │
//!        └──── initialiser unwound ──────┘
//! ```
//! The value cell is written only by the caller that won `INCOMPLETE → RUNNING`, and read only after `COMPLETE`
//! was observed with `Acquire` (published with `Release` after the write). Callers that find `RUNNING` wait in
//! a [`WaitQueue`] behind a small `std` mutex.
//!
//! # Protocol
//! 1. A caller that finds `RUNNING` takes the queue lock, checks the state again (still `RUNNING`), pushes a
//!    waiter and parks until claimed; then it starts over.
//! 2. The initialiser stores `COMPLETE` — or, if its closure unwinds (a panic, a cancellation), `INCOMPLETE` —
//!    under the queue lock, claims every waiter and unparks them after releasing the lock. After an unwinding,
//!    the woken callers race for `INCOMPLETE → RUNNING` again, so one of them retries the initialisation, as
//!    `std::sync::OnceLock` does.
//!
//! Setting the state under the queue lock is what makes step 1's re-check sufficient: a waiter that saw
//! `RUNNING` under the lock is in the queue before the initialiser can take the lock to wake everyone.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::mutex::lock_internal;
use super::wait_queue::{WaitQueue, Waiter};

/// No value and nobody initialising.
const INCOMPLETE: u8 = 0;
/// One caller runs the initialiser; others park.
const RUNNING: u8 = 1;
/// The value is written and never changes again (until `take` or drop through `&mut`).
const COMPLETE: u8 = 2;

/// Claim token: the state left `RUNNING`.
const SETTLED: usize = 0;

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
    /// INCOMPLETE, RUNNING or COMPLETE (module docs).
    state: AtomicU8,
    /// Callers parked while another one initialises.
    queue: std::sync::Mutex<WaitQueue>,
    /// Initialised exactly when `state` is COMPLETE.
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
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            state: AtomicU8::new(INCOMPLETE),
            queue: std::sync::Mutex::new(WaitQueue::new()),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            _owns: PhantomData,
        }
    }

    /// The value, if the cell is initialised. Never parks.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == COMPLETE {
            // SAFETY: COMPLETE, observed with Acquire, is stored with Release after the value was written, and
            // the value is not changed again while `&self` borrows exist (module docs).
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// A mutable reference to the value, if the cell is initialised.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if *self.state.get_mut() == COMPLETE {
            // SAFETY: COMPLETE means initialised; `&mut self` excludes every other access.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Initialises the cell with `value` unless it already is; returns `Err(value)` then.
    ///
    /// If another thread is initialising it right now, parks until that finishes (and takes over if that
    /// initialiser unwinds).
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
    #[track_caller]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        self.initialize(f);
        self.get().expect("initialize returns once the cell is COMPLETE")
    }

    /// Consumes the cell and returns its value, if any.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if *self.state.get_mut() == COMPLETE {
            *self.state.get_mut() = INCOMPLETE;
            // SAFETY: it was COMPLETE (initialised); the state now says uninitialised, so it is read once.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// Runs the protocol until the cell is COMPLETE.
    #[cold]
    #[track_caller]
    fn initialize(&self, f: impl FnOnce() -> T) {
        let mut f = Some(f);
        loop {
            match self.state.compare_exchange(INCOMPLETE, RUNNING, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => {
                    /// Resets the state (and wakes the waiters) if the initialiser unwinds.
                    struct Reset<'a, T>(&'a OnceLock<T>);
                    impl<T> Drop for Reset<'_, T> {
                        fn drop(&mut self) {
                            self.0.settle(INCOMPLETE);
                        }
                    }
                    let reset = Reset(self);
                    let value = (f.take().expect("only one initialiser per caller"))();
                    // SAFETY: we won INCOMPLETE → RUNNING, so nobody else writes or reads the cell until we
                    // publish COMPLETE.
                    unsafe { (*self.value.get()).write(value) };
                    std::mem::forget(reset);
                    self.settle(COMPLETE);
                    return;
                }
                Err(COMPLETE) => return,
                Err(_) => self.wait_while_running(),
            }
        }
    }

    /// Protocol step 1.
    #[track_caller]
    fn wait_while_running(&self) {
        let waiter = {
            let mut queue = lock_internal(&self.queue);
            if self.state.load(Ordering::Acquire) != RUNNING {
                return;
            }
            let waiter = Waiter::current();
            queue.push(waiter.clone(), SETTLED);
            waiter
        };
        waiter.park_until_claimed(None, |_| remove(&self.queue, &waiter));
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

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == COMPLETE {
            // SAFETY: COMPLETE means initialised; this is the last access.
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
