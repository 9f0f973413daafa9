//! The one suspension primitive: every blocking-looking call in `green` ends here.
//!
//! `sleep`, a channel `recv`, a `Mutex::lock`, a socket `read` and `JoinHandle::join` all follow the same
//! pattern: register the current [`Thread`] somewhere a waker will find it, then call [`park_until`] in a
//! loop until their condition holds. Whoever makes the condition true calls [`Thread::unpark`]. Because the
//! one function below is the only place a thread of execution ever waits, timeouts, cancellation and the
//! record of *where* a thread waits (for thread dumps) are implemented here, once.
//!
//! # State
//! Each [`Thread`] has a three-state parker word:
//!
//! ```text
//!            park: CAS EMPTY -> PARKED, then switch out
//!   EMPTY ─────────────────────────────────────────────► PARKED
//!     ▲  ◄──────────── timer: CAS PARKED -> EMPTY ───────  │
//!     │                 (and schedule it)                   │ unpark: swap -> NOTIFIED
//!     │ park consumes the token                             │ (old == PARKED: schedule it)
//!     └──────────────────────── NOTIFIED ◄──────────────────┘
//! ```
//!
//! `unpark` swaps in NOTIFIED; only the caller that saw PARKED puts the thread back on its run queue, so a
//! parked thread is scheduled exactly once however many wakers race (unparks, its timer, a cancel). A token
//! left by an `unpark` while the thread was running makes its next park return at once, as with
//! `std::thread::park`. Every park may return spuriously; callers loop on their own condition.
//!
//! # How a park ends
//! 1. An `unpark`: [`Wake::Unparked`].
//! 2. Its deadline: the worker's timer wheel (green thread) or `park_timeout` (OS thread) ends it:
//!    [`Wake::TimedOut`].
//! 3. A cancellation ([`JoinHandle::cancel`](crate::JoinHandle::cancel)) or an expired
//!    [`timeout`](crate::timeout) scope: the park does not return but unwinds, with a [`Cancelled`] or
//!    [`Elapsed`](crate::Elapsed) payload, so every blocking call is a cancellation point without doing
//!    anything itself. A thread checks for both before it parks and after it wakes. Blocking calls must
//!    therefore undo their registrations in `Drop` guards, which they do anyway for panics.
//!
//! A thread that is already unwinding (`std::thread::panicking()`) or inside
//! [`uncancellable`](crate::uncancellable) is never interrupted, so destructors may block safely.
//!
//! # Ownership
//! The parker word and the cancel flag are atomics any thread may touch. [`Scopes`] belongs to the thread
//! it describes and lives in its [`Local`](crate::context::Local).

use std::any::Any;
use std::panic::{self, Location};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use crate::context;

/// No token; the thread is running or about to park.
pub(crate) const EMPTY: u8 = 0;
/// The thread is switched out (or blocked) in `park`, waiting to be scheduled.
pub(crate) const PARKED: u8 = 1;
/// An `unpark` arrived; the next park consumes it and returns at once.
pub(crate) const NOTIFIED: u8 = 2;

/// No cancellation requested.
const CANCEL_NONE: u8 = 0;
/// `cancel` was called and the thread has not unwound for it yet.
const CANCEL_REQUESTED: u8 = 1;
/// The thread has started unwinding with [`Cancelled`]; later parks (in destructors) work normally.
const CANCEL_DELIVERED: u8 = 2;

/// Why a [`park_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// An `unpark` (or a spurious wake-up): the caller re-checks its condition.
    Unparked,
    /// The deadline passed.
    TimedOut,
}

/// The payload a green thread unwinds with when it is cancelled; [`JoinHandle::join`](crate::JoinHandle::join)
/// returns it as the error.
///
/// Tell it from a panic with [`is_cancelled`](crate::is_cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("green thread cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// The payload of the unwinding started by an expired [`timeout`](crate::timeout) scope; only that scope
/// catches it.
#[derive(Debug)]
pub(crate) struct ScopeExpired {
    /// Which scope expired.
    pub(crate) scope: u64,
}

/// Timeout scopes and cancellation shields active on one thread of execution, innermost last.
#[derive(Default)]
pub(crate) struct Scopes {
    /// Open timeout scopes: (scope id, deadline, already fired). Deadlines need not be ordered.
    deadlines: Vec<(u64, Instant, bool)>,
    /// Depth of `uncancellable` sections; while non-zero nothing interrupts a park.
    shield: u32,
    /// Source of scope ids for this thread.
    next_scope: u64,
}

impl Scopes {
    /// Opens a timeout scope; returns its id.
    pub(crate) fn push_deadline(&mut self, deadline: Instant) -> u64 {
        self.next_scope += 1;
        self.deadlines.push((self.next_scope, deadline, false));
        self.next_scope
    }

    /// Closes the innermost timeout scope, which must be `scope`.
    pub(crate) fn pop_deadline(&mut self, scope: u64) {
        let popped = self.deadlines.pop();
        debug_assert_eq!(popped.map(|(id, _, _)| id), Some(scope));
    }

    /// Enters (`+1`) or leaves (`-1`) an uncancellable section.
    pub(crate) fn shield(&mut self, enter: bool) {
        if enter {
            self.shield += 1;
        } else {
            self.shield -= 1;
        }
    }

    /// The earliest deadline of a scope that has not fired yet.
    fn earliest(&self) -> Option<Instant> {
        self.deadlines.iter().filter(|d| !d.2).map(|d| d.1).min()
    }

    /// Marks and returns the outermost scope whose deadline has passed. Raising the outermost one first is
    /// what keeps nested timeouts honest: the inner scopes let a foreign payload pass through.
    fn take_expired(&mut self, now: Instant) -> Option<u64> {
        let expired = self.deadlines.iter_mut().find(|d| !d.2 && d.1 <= now)?;
        expired.2 = true;
        Some(expired.0)
    }
}

/// The parker word and cancellation flag of one thread (see the module docs).
pub(crate) struct Parker {
    /// EMPTY, PARKED or NOTIFIED.
    pub(crate) state: AtomicU8,
    /// CANCEL_NONE, CANCEL_REQUESTED or CANCEL_DELIVERED.
    cancel: AtomicU8,
    /// Where the thread last parked (`#[track_caller]`), null while it runs; read by thread dumps.
    location: std::sync::atomic::AtomicPtr<Location<'static>>,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicU8::new(EMPTY),
            cancel: AtomicU8::new(CANCEL_NONE),
            location: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Sets the token; returns true when the caller must schedule the thread (it was parked).
    #[inline]
    pub(crate) fn notify(&self) -> bool {
        self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED
    }

    /// The timer's wake-up: true when the thread was still parked and the caller must schedule it.
    #[inline]
    pub(crate) fn expire(&self) -> bool {
        self.state.compare_exchange(PARKED, EMPTY, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Consumes a pending token; true if there was one.
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Announces the coming switch-out; false when a token arrived first (then it is consumed).
    #[inline]
    pub(crate) fn begin_park(&self) -> bool {
        match self.state.compare_exchange(EMPTY, PARKED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(_) => {
                self.state.store(EMPTY, Ordering::Relaxed);
                false
            }
        }
    }

    /// After waking: consumes the token; true when an unpark (not the timer) ended the park.
    #[inline]
    pub(crate) fn end_park(&self) -> bool {
        self.state.swap(EMPTY, Ordering::Acquire) == NOTIFIED
    }

    /// Requests cancellation; true if this call made the request.
    pub(crate) fn request_cancel(&self) -> bool {
        self.cancel.compare_exchange(CANCEL_NONE, CANCEL_REQUESTED, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Whether cancellation was requested (delivered or not).
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::Acquire) != CANCEL_NONE
    }

    /// Where the thread is parked now, if it is.
    pub(crate) fn location(&self) -> Option<&'static Location<'static>> {
        let location = self.location.load(Ordering::Relaxed);
        // SAFETY: the pointer is either null or came from a `&'static Location` in `park_until`.
        unsafe { location.as_ref() }
    }
}

/// Unwinds the current thread if it was cancelled or one of its timeout scopes expired.
///
/// Called on entry to and exit from every park: the cancellation points of `green`.
fn check_interrupts(local: &context::Local) {
    if std::thread::panicking() {
        return;
    }
    let mut scopes = local.scopes.borrow_mut();
    if scopes.shield > 0 {
        return;
    }
    let parker = local.thread.parker();
    if parker.cancel.load(Ordering::Relaxed) == CANCEL_REQUESTED
        && parker
            .cancel
            .compare_exchange(CANCEL_REQUESTED, CANCEL_DELIVERED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        drop(scopes);
        log::debug!(target: "green::park", "{} unwinds: cancelled", local.thread.describe());
        unwind(Box::new(Cancelled));
    }
    if scopes.deadlines.is_empty() {
        return;
    }
    if let Some(scope) = scopes.take_expired(Instant::now()) {
        drop(scopes);
        log::debug!(target: "green::park", "{} unwinds: timeout scope {scope} expired", local.thread.describe());
        unwind(Box::new(ScopeExpired { scope }));
    }
}

/// Starts unwinding without running the panic hook (nothing is printed: this is control flow, not a bug).
fn unwind(payload: Box<dyn Any + Send>) -> ! {
    panic::resume_unwind(payload)
}

/// Parks the current thread of execution (green or OS) until unparked or until `deadline`.
///
/// May return spuriously ([`Wake::Unparked`] with nothing changed): callers loop on their condition. May not
/// return at all: a cancellation or an expired timeout scope unwinds from here (see the module docs).
#[track_caller]
pub(crate) fn park_until(deadline: Option<Instant>) -> Wake {
    let location = Location::caller();
    context::with_local(|local| {
        check_interrupts(local);
        let scope_deadline =
            if local.scopes.borrow().deadlines.is_empty() { None } else { local.scopes.borrow().earliest() };
        let wake_at = match (deadline, scope_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let parker = local.thread.parker();
        log::trace!(
            target: "green::park",
            "{} parks at {location}{}",
            local.thread.describe(),
            match wake_at {
                Some(at) => format!(" for {:?}", at.saturating_duration_since(Instant::now())),
                None => String::new(),
            }
        );
        parker.location.store(location as *const Location<'static> as *mut _, Ordering::Relaxed);
        let unparked = local.thread.park_raw(wake_at);
        parker.location.store(std::ptr::null_mut(), Ordering::Relaxed);
        check_interrupts(local);
        match deadline {
            Some(deadline) if !unparked && Instant::now() >= deadline => Wake::TimedOut,
            _ => Wake::Unparked,
        }
    })
}

/// When the earliest unexpired timeout scope of the current thread ends, if one can interrupt a wait now
/// (`None` inside [`uncancellable`](crate::uncancellable), while unwinding, or without scopes).
///
/// For waits that cannot go through [`park_until`] (an OS thread blocked in `poll(2)` on a socket): they bound
/// their wait by this instant and then call [`interruption_point`].
pub(crate) fn interruption_deadline() -> Option<Instant> {
    if std::thread::panicking() {
        return None;
    }
    context::with_local(|local| {
        let scopes = local.scopes.borrow();
        if scopes.shield > 0 {
            None
        } else {
            scopes.earliest()
        }
    })
}

/// Unwinds the current thread if it was cancelled or one of its timeout scopes expired: the check
/// [`park_until`] makes before and after parking, for waits that do not park.
pub(crate) fn interruption_point() {
    context::with_local(check_interrupts);
}

/// Runs `f` with cancellation and timeout scopes held off: see [`uncancellable`](crate::uncancellable).
pub(crate) fn shielded<R>(f: impl FnOnce() -> R) -> R {
    struct Unshield;
    impl Drop for Unshield {
        fn drop(&mut self) {
            context::with_local(|local| local.scopes.borrow_mut().shield(false));
        }
    }
    context::with_local(|local| local.scopes.borrow_mut().shield(true));
    let _unshield = Unshield;
    f()
}
