//! The one suspension primitive: every blocking-looking call in `green` ends here.
//!
//! `sleep`, a channel `recv`, a `Mutex::lock`, a socket `read` and `JoinHandle::join` all follow the same
//! pattern: register the current [`Thread`](crate::thread::Thread) somewhere a waker will find it, then call [`park_until`] in a
//! loop until their condition holds. Whoever makes the condition true calls [`Thread::unpark`](crate::thread::Thread::unpark). Because the
//! one function below is the only place a thread of execution ever waits, timeouts, cancellation and the
//! record of *where* a thread waits (for thread dumps) are implemented here, once.
//!
//! # State
//! Each [`Thread`](crate::thread::Thread) has a three-state parker word:
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
//! # What holds an interruption off
//! 1. The thread is unwinding already ([`context::Local::is_unwinding`]: the green thread's *own* unwinding,
//!    not its worker's): unwinding out of a destructor that runs during unwinding would abort the process, so
//!    destructors may block safely and are never interrupted.
//! 2. A *lending wait* ([`lending`]): the frame waiting there has lent borrows to other threads (a scope's
//!    implicit join, `Runtime::block_on`, `offload`, a `Group`'s drop) and must not end before they are gone.
//!    Nothing interrupts it, not even runtime shutdown. Its park is not bounded by timeout scopes either, so an
//!    expired `timeout` around it does not make it spin: it waits, and the timeout fires at the first
//!    cancellation point after it.
//! 3. [`uncancellable`](crate::uncancellable) holds off cancellation and timeouts, but not runtime shutdown.
//!
//! # Runtime shutdown
//! Dropping a [`Runtime`](crate::Runtime) asks every green thread of it to stop ([`Parker::request_shutdown`]):
//! a sticky request, delivered as a [`Cancelled`] unwinding at every park and yield of a thread that is not
//! already unwinding and not in a lending wait — also inside `uncancellable`, and again if user code catches
//! it. The workers keep scheduling until every green thread has finished, so destructors that block are woken
//! as usual and lending waits end when their borrowers do.
//!
//! # Ownership
//! The parker word and the cancel flag are atomics any thread may touch. [`Scopes`] belongs to the thread
//! it describes and lives in its [`Local`](crate::context::Local).

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Instant;

use crate::context;
use crate::inspect::WaitReason;

/// No token; the thread is running or about to park.
pub(crate) const EMPTY: u8 = 0;
/// The thread is switched out (or blocked) in `park`, waiting to be scheduled.
pub(crate) const PARKED: u8 = 1;
/// An `unpark` arrived; the next park consumes it and returns at once.
pub(crate) const NOTIFIED: u8 = 2;

/// Bit of the cancel word: `cancel` was called.
const CANCEL_REQUESTED: u8 = 1;
/// Bit of the cancel word: the thread has unwound for its `cancel` once; it is not delivered again.
const CANCEL_DELIVERED: u8 = 2;
/// Bit of the cancel word: its runtime shuts down. Sticky: delivered at every interruptible park.
const CANCEL_SHUTDOWN: u8 = 4;
/// Bit of the cancel word: the deadlock detector found that nothing can ever wake the thread (the main green
/// thread of a `block_on`); it panics with the report at its park, once (see [`crate::inspect`]).
const CANCEL_DEADLOCK: u8 = 8;

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
    /// Depth of `uncancellable` sections; while non-zero only runtime shutdown interrupts a park.
    shield: u32,
    /// Depth of lending waits ([`lending`]); while non-zero nothing interrupts a park.
    lending: u32,
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

    /// The earliest deadline of a scope that has not fired yet, if a scope can interrupt a wait now (not
    /// inside a shield of either kind).
    fn interrupting_deadline(&self) -> Option<Instant> {
        if self.deadlines.is_empty() || self.shield > 0 || self.lending > 0 {
            return None;
        }
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
    /// Bits: CANCEL_REQUESTED, CANCEL_DELIVERED, CANCEL_SHUTDOWN, CANCEL_DEADLOCK.
    cancel: AtomicU8,
    /// An OS thread's park with no deadline is counted by the deadlock detector while this is true; whoever
    /// swaps it back to false (the waker, or the thread as it returns) takes it off the count, exactly once.
    pub(crate) os_waiting: AtomicBool,
    /// When the current park began, in milliseconds of the coarse clock ([`coarse_millis`](crate::inspect::clock::coarse_millis)): stamped
    /// by the worker when a green thread switches out to park (with the time it read at the start of its
    /// batch), by an OS thread itself before it blocks. Read by thread dumps.
    since: AtomicU32,
    /// Where the thread last parked (`#[track_caller]`); kept after the park ends, as where a running green
    /// thread resumed (the stall warning, dumps). Null until the first park.
    location: AtomicPtr<Location<'static>>,
    /// Why it parks now ([`WaitReason::encode`]), 0 while it runs: what tells a current park from the last one.
    reason: AtomicU64,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicU8::new(EMPTY),
            cancel: AtomicU8::new(0),
            os_waiting: AtomicBool::new(false),
            since: AtomicU32::new(0),
            location: AtomicPtr::new(std::ptr::null_mut()),
            reason: AtomicU64::new(0),
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
        self.cancel.fetch_or(CANCEL_REQUESTED, Ordering::AcqRel) & CANCEL_REQUESTED == 0
    }

    /// Requests the shutdown unwinding (see the module docs); true if this call made the request.
    pub(crate) fn request_shutdown(&self) -> bool {
        self.cancel.fetch_or(CANCEL_SHUTDOWN, Ordering::AcqRel) & CANCEL_SHUTDOWN == 0
    }

    /// Whether cancellation or shutdown was requested (delivered or not).
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::Acquire) & (CANCEL_REQUESTED | CANCEL_SHUTDOWN) != 0
    }

    /// Whether the thread's runtime asked it to stop.
    pub(crate) fn is_shutdown_requested(&self) -> bool {
        self.cancel.load(Ordering::Acquire) & CANCEL_SHUTDOWN != 0
    }

    /// Where the thread is parked now, if it is.
    pub(crate) fn location(&self) -> Option<&'static Location<'static>> {
        if self.reason.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.last_location()
    }

    /// Where the thread last parked, whether or not it is parked now (`None` before its first park).
    pub(crate) fn last_location(&self) -> Option<&'static Location<'static>> {
        let location = self.location.load(Ordering::Relaxed);
        // SAFETY: the pointer is either null or came from a `&'static Location` in `park_until`.
        unsafe { location.as_ref() }
    }

    /// Stamps the start of the current park with `now` (coarse milliseconds).
    #[inline]
    pub(crate) fn stamp(&self, now: u32) {
        self.since.store(now, Ordering::Relaxed);
    }

    /// The current park's kind as stored (the kind's index plus one, 0 if not parked; below 32): how the
    /// worker counts parks by kind with no decoding and no bounds check ([`WorkerCounters`]).
    ///
    /// [`WorkerCounters`]: crate::inspect::WorkerCounters
    #[inline]
    pub(crate) fn reason_code(&self) -> usize {
        (self.reason.load(Ordering::Relaxed) & 0x1f) as usize
    }

    /// Why the thread is parked now and since when (coarse milliseconds), if it is. A snapshot of three
    /// relaxed loads: a thread that wakes meanwhile may show its old reason with its new location or none.
    pub(crate) fn waiting(&self) -> Option<(WaitReason, u32)> {
        let reason = WaitReason::decode(self.reason.load(Ordering::Relaxed))?;
        Some((reason, self.since.load(Ordering::Relaxed)))
    }

    /// Asks the thread to panic with the deadlock report at its park (see [`crate::inspect`]); true if this
    /// call made the request.
    pub(crate) fn request_deadlock_panic(&self) -> bool {
        self.cancel.fetch_or(CANCEL_DEADLOCK, Ordering::AcqRel) & CANCEL_DEADLOCK == 0
    }
}

/// Unwinds the current thread if it was cancelled, its runtime shuts down, or one of its timeout scopes
/// expired — unless something holds the interruption off (see the module docs).
///
/// Called on entry to and exit from every park: the cancellation points of `green`.
/// Inlined: the common case (nothing could interrupt) is two loads.
#[inline]
fn check_interrupts(local: &context::Local) {
    if local.thread.parker().cancel.load(Ordering::Relaxed) != 0 || !local.scopes.borrow().deadlines.is_empty() {
        check_interrupts_slow(local);
    }
}

/// [`check_interrupts`] when something might interrupt.
#[cold]
#[inline(never)]
fn check_interrupts_slow(local: &context::Local) {
    let parker = local.thread.parker();
    let cancel = parker.cancel.load(Ordering::Relaxed);
    if cancel & CANCEL_DEADLOCK != 0
        && parker.cancel.fetch_and(!CANCEL_DEADLOCK, Ordering::AcqRel) & CANCEL_DEADLOCK != 0
    {
        // Before the shields: a deadlock is reported in any wait (in one that cannot unwind, by aborting).
        let unwindable = local.scopes.borrow().lending == 0 && !local.is_unwinding();
        crate::inspect::deadlock::report(unwindable);
    }
    // Not parked any more, and what follows may unwind past `park_until`'s own clearing.
    parker.reason.store(0, Ordering::Relaxed);
    let scopes = local.scopes.borrow();
    if scopes.lending > 0 || local.is_unwinding() {
        return;
    }
    if cancel & CANCEL_SHUTDOWN != 0 {
        drop(scopes);
        unwind_for_shutdown(local);
    }
    if scopes.shield > 0 {
        return;
    }
    if cancel & (CANCEL_REQUESTED | CANCEL_DELIVERED) == CANCEL_REQUESTED
        && parker.cancel.fetch_or(CANCEL_DELIVERED, Ordering::AcqRel) & CANCEL_DELIVERED == 0
    {
        drop(scopes);
        log::debug!(target: "green::park", "{} unwinds: cancelled", local.thread.describe());
        context::resume_unwind(Box::new(Cancelled));
    }
    if scopes.deadlines.is_empty() {
        return;
    }
    drop(scopes);
    let expired = local.scopes.borrow_mut().take_expired(Instant::now());
    if let Some(scope) = expired {
        log::debug!(target: "green::park", "{} unwinds: timeout scope {scope} expired", local.thread.describe());
        context::resume_unwind(Box::new(ScopeExpired { scope }));
    }
}

/// Parks the current thread of execution (green or OS) until unparked or until `deadline`; `reason` says what
/// it waits for (thread dumps, stats, the trace).
///
/// May return spuriously ([`Wake::Unparked`] with nothing changed): callers loop on their condition. May not
/// return at all: a cancellation or an expired timeout scope unwinds from here (see the module docs).
#[track_caller]
#[inline(always)]
pub(crate) fn park_until(reason: WaitReason, deadline: Option<Instant>) -> Wake {
    // Inlined so that the reason's encoding folds to a constant at the (mostly constant) call sites.
    park_at(Location::caller(), reason.encode(), deadline)
}

/// [`park_until`] on behalf of the user's call at `location`: for a wait inside a closure (a lending wait),
/// where `#[track_caller]` cannot reach.
#[inline(always)]
pub(crate) fn park_until_at(
    location: &'static Location<'static>,
    reason: WaitReason,
    deadline: Option<Instant>,
) -> Wake {
    park_at(location, reason.encode(), deadline)
}

/// [`park_until`] with the location given and the reason encoded ([`WaitReason::encode`]).
fn park_at(location: &'static Location<'static>, reason: u64, deadline: Option<Instant>) -> Wake {
    context::with_local(|local| {
        let parker = local.thread.parker();
        // The common case, checked once: nothing could interrupt this park or bound it.
        let quiet = parker.cancel.load(Ordering::Relaxed) == 0 && local.scopes.borrow().deadlines.is_empty();
        let wake_at = if quiet {
            deadline
        } else {
            check_interrupts(local);
            // Only a scope that can interrupt this park bounds it: a shielded park bounded by an expired scope
            // would return at once, forever.
            match (deadline, interrupting_deadline(local)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        log::trace!(
            target: "green::park",
            "{} parks at {location}: {}{}",
            local.thread.describe(),
            WaitReason::decode(reason).map_or_else(String::new, |reason| reason.to_string()),
            match wake_at {
                Some(at) => format!(" for {:?}", at.saturating_duration_since(Instant::now())),
                None => String::new(),
            }
        );
        parker.location.store(location as *const Location<'static> as *mut _, Ordering::Relaxed);
        parker.reason.store(reason, Ordering::Relaxed);
        let unparked = local.thread.park_raw(wake_at);
        // The reason is cleared after the check, whose deadlock report shows where the thread waited (the slow
        // path clears it too, before it may unwind); the location stays: it is where the thread resumed.
        check_interrupts(local);
        parker.reason.store(0, Ordering::Relaxed);
        match deadline {
            Some(deadline) if !unparked && Instant::now() >= deadline => Wake::TimedOut,
            _ => Wake::Unparked,
        }
    })
}

/// When the earliest unexpired timeout scope of `local` ends, if one can interrupt a wait now (`None` inside
/// a shield, while unwinding, or without scopes).
fn interrupting_deadline(local: &context::Local) -> Option<Instant> {
    let deadline = local.scopes.borrow().interrupting_deadline()?;
    (!local.is_unwinding()).then_some(deadline)
}

/// [`interrupting_deadline`] of the current thread.
///
/// For waits that cannot go through [`park_until`] (an OS thread blocked in `poll(2)` on a socket): they bound
/// their wait by this instant and then call [`interruption_point`].
pub(crate) fn interruption_deadline() -> Option<Instant> {
    context::with_local(interrupting_deadline)
}

/// Unwinds the current thread if it was cancelled or one of its timeout scopes expired: the check
/// [`park_until`] makes before and after parking, for waits that do not park.
pub(crate) fn interruption_point() {
    context::with_local(check_interrupts);
}

/// Unwinds the thread of `local` if its runtime shuts down and nothing holds that off: the check `yield_now`
/// makes, so a loop that only yields cannot keep its runtime from shutting down. (`yield_now` is not a
/// cancellation point otherwise: like std's it never unwinds, so a lock held across it stays consistent.)
/// Inlined: the common case is one load.
#[inline]
pub(crate) fn check_shutdown(local: &context::Local) {
    if local.thread.parker().is_shutdown_requested() && local.scopes.borrow().lending == 0 && !local.is_unwinding() {
        unwind_for_shutdown(local);
    }
}

/// The unwinding a shutdown request starts, at a park or a yield (see the module docs).
#[cold]
fn unwind_for_shutdown(local: &context::Local) -> ! {
    log::debug!(target: "green::park", "{} unwinds: its runtime shuts down", local.thread.describe());
    context::resume_unwind(Box::new(Cancelled))
}

/// Which of the two shields a section raises.
#[derive(Clone, Copy)]
enum Shield {
    /// [`uncancellable`](crate::uncancellable): holds off cancellation and timeouts.
    User,
    /// A lending wait: holds off everything, runtime shutdown included.
    Lending,
}

/// Runs `f` with `shield` raised, lowering it however `f` ends.
fn with_shield<R>(shield: Shield, f: impl FnOnce() -> R) -> R {
    fn raise(shield: Shield, by: i32) {
        context::with_local(|local| {
            let mut scopes = local.scopes.borrow_mut();
            let depth = match shield {
                Shield::User => &mut scopes.shield,
                Shield::Lending => &mut scopes.lending,
            };
            *depth = depth.checked_add_signed(by).expect("shields are raised and lowered in pairs");
        });
    }
    struct Lower(Shield);
    impl Drop for Lower {
        fn drop(&mut self) {
            raise(self.0, -1);
        }
    }
    raise(shield, 1);
    let _lower = Lower(shield);
    f()
}

/// Runs `f` with cancellation and timeout scopes held off: see [`uncancellable`](crate::uncancellable).
pub(crate) fn shielded<R>(f: impl FnOnce() -> R) -> R {
    with_shield(Shield::User, f)
}

/// Runs the wait `f` of a frame that has lent borrows to other threads: nothing interrupts a park inside it,
/// not cancellation, not a timeout, not runtime shutdown, so the frame cannot end before the borrowers are
/// gone (see the module docs). `f` must only wait for something that ends by itself. Also used for the drop
/// of a closure that never ran (cancelled before start): destructor code, which nothing interrupts.
pub(crate) fn lending<R>(f: impl FnOnce() -> R) -> R {
    with_shield(Shield::Lending, f)
}
