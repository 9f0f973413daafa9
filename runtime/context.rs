//! The only thread-local state of `green`.
//!
//! Two pointers tell every other module where it is running:
//!
//! - [`WORKER`]: the [`Worker`] whose loop runs on this OS thread, or null on a plain OS thread. Set by
//!   [`Worker::run`](crate::scheduler::Worker) for the duration of its loop.
//! - [`GREEN`]: the [`Running`] record of the green thread executing right now, or null when the worker's own
//!   loop (or a plain OS thread) is executing. A green thread sets it each time it is switched in and clears it
//!   each time it switches out ([`Entered`]), so the worker never has to know what a green thread keeps here.
//!
//! Code that is not in a green thread still has a [`Local`]: plain OS threads get one lazily from [`OS_LOCAL`].
//! That is how every primitive works from both kinds of thread (rule 3 of DESIGN.md): it asks for the current
//! [`Local`] and parks whatever that is. In a thread-local destructor that runs after `OS_LOCAL` is gone, a
//! late one ([`late_local`], kept under a pthread key) takes its place, so `green` keeps working there as
//! std's and crossbeam's primitives do.
//!
//! # Whose unwinding
//! `std::thread::panicking()` is per OS thread, so while one green thread is suspended in the middle of its
//! unwinding (a destructor that blocks), it is true for every green thread of that worker. [`Local::is_unwinding`]
//! answers for the green thread itself: [`SUSPENDED_UNWINDING`] counts the suspended green threads of this OS
//! thread that were unwinding when they switched out. While it is zero, `panicking()` is exact; otherwise the
//! thread's own record decides, which green sets when the thread starts unwinding through green (its panic
//! hook, a cancellation) and refreshes whenever the answer is exact.
//!
//! # Ownership
//! Everything reached from here belongs to the current OS thread; nothing is `Send`. The raw pointers are valid
//! exactly while the value they point to is alive on this thread, which the setters guarantee (see each SAFETY).

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::ptr;
use std::sync::Arc;

use corosensei::Yielder;

use crate::coroutine::{overflow, Suspend};
use crate::park::Scopes;
use crate::scheduler::Worker;
use crate::sync::wait_queue::Waiter;
use crate::thread::Thread;

thread_local! {
    /// The worker running its loop on this OS thread; null elsewhere.
    static WORKER: Cell<*const Worker> = const { Cell::new(ptr::null()) };
    /// The green thread running right now on this OS thread; null when none is.
    static GREEN: Cell<*const Running> = const { Cell::new(ptr::null()) };
    /// The [`Local`] of this OS thread when it is not running a green thread, created on first use.
    static OS_LOCAL: Local = Local::new(Thread::new_os());
    /// Suspended green threads of this OS thread that were unwinding when they switched out.
    static SUSPENDED_UNWINDING: Cell<usize> = const { Cell::new(0) };
}

/// What every thread of execution (green or OS) keeps about itself while it runs.
pub(crate) struct Local {
    /// The handle others use to unpark this thread.
    pub(crate) thread: Thread,
    /// Deadlines and cancellation shields active on this thread (see [`crate::park`]).
    pub(crate) scopes: RefCell<Scopes>,
    /// A waiter for this thread that no wait queue holds any more, kept for its next blocking call
    /// ([`Waiter::current`](crate::sync::wait_queue::Waiter::current), [`Waiter::recycle`]).
    ///
    /// [`Waiter::recycle`]: crate::sync::wait_queue::Waiter::recycle
    pub(crate) spare_waiter: Cell<Option<Arc<Waiter>>>,
    /// Whether this thread was unwinding when that could last be told exactly (see the module docs).
    unwinding: Cell<bool>,
    /// Its `green::thread_local!` values ([`crate::thread::local`]); destroyed when a green thread ends.
    pub(crate) locals: crate::thread::LocalStorage,
}

impl Local {
    pub(crate) fn new(thread: Thread) -> Local {
        Local {
            thread,
            scopes: RefCell::new(Scopes::default()),
            spare_waiter: Cell::new(None),
            unwinding: Cell::new(false),
            locals: Default::default(),
        }
    }

    /// Whether this thread of execution is unwinding: for a green thread its own unwinding, not that of
    /// another green thread suspended on the same worker (see the module docs).
    pub(crate) fn is_unwinding(&self) -> bool {
        if !std::thread::panicking() {
            self.unwinding.set(false);
            return false;
        }
        if !self.thread.is_green() || SUSPENDED_UNWINDING.with(Cell::get) == 0 {
            self.unwinding.set(true);
            return true;
        }
        self.unwinding.get()
    }

    /// Records that this thread starts unwinding (green's panic hook, a cancellation).
    pub(crate) fn start_unwinding(&self) {
        self.unwinding.set(true);
    }
}

/// Starts unwinding with `payload` without running the panic hook (nothing is printed: a cancellation is
/// control flow, a re-raised panic was reported already), recording it as this thread's own unwinding (see
/// the module docs). Every unwinding green starts goes through here.
pub(crate) fn resume_unwind(payload: Box<dyn std::any::Any + Send>) -> ! {
    with_local(Local::start_unwinding);
    std::panic::resume_unwind(payload)
}

/// `std::panic::catch_unwind` that also restores this thread's unwinding record when it catches: after the
/// catch the thread unwinds exactly as much as before the call.
pub(crate) fn catch_unwind<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let before = with_local(|local| local.unwinding.get());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if result.is_err() {
        with_local(|local| local.unwinding.set(before));
    }
    result
}

/// Counts a green thread that switches out while unwinding, until [`resumed_unwinding`].
pub(crate) fn suspended_unwinding() {
    SUSPENDED_UNWINDING.with(|count| count.set(count.get() + 1));
}

/// The green thread counted by [`suspended_unwinding`] runs again.
pub(crate) fn resumed_unwinding() {
    SUSPENDED_UNWINDING.with(|count| count.set(count.get() - 1));
}

/// The record of a running green thread, kept on its own coroutine stack for its whole life.
pub(crate) struct Running {
    /// Its [`Local`] state.
    pub(crate) local: Local,
    /// The switch back to the worker loop; it lives on the same coroutine stack, so it outlives this record.
    pub(crate) yielder: *const Yielder<(), Suspend>,
    /// The guard page below its stack, reported on overflow.
    pub(crate) guard: Range<usize>,
}

/// Marks `running` as the green thread executing on this OS thread.
///
/// A green thread calls it when it starts and after every switch back in, and calls [`leave`] before every
/// switch out and when it ends (also when unwinding), so GREEN is non-null exactly while its code runs.
pub(crate) fn enter(running: &Running) {
    GREEN.with(|green| green.set(running));
    let name = running.local.thread.name();
    // SAFETY: the name lives in the `Thread` inside `running`, which stays alive until the matching `leave`:
    // the record is on the green thread's own stack and `leave` runs before that frame ends or switches out.
    unsafe { overflow::enter(running.guard.clone(), name, running.local.thread.id().as_u64()) };
}

/// Clears the mark set by [`enter`].
pub(crate) fn leave() {
    overflow::leave();
    GREEN.with(|green| green.set(ptr::null()));
}

/// The record of the green thread running on this OS thread, or null.
///
/// The pointer is valid until that green thread switches out; callers use it only before switching.
pub(crate) fn running() -> *const Running {
    GREEN.with(|green| green.get())
}

/// Whether the caller runs inside a green thread.
pub(crate) fn in_green_thread() -> bool {
    !running().is_null()
}

/// Runs `f` with the [`Local`] of whatever is executing: the current green thread, or this OS thread.
pub(crate) fn with_local<R>(f: impl FnOnce(&Local) -> R) -> R {
    let running = running();
    if running.is_null() {
        let mut f = Some(f);
        match OS_LOCAL.try_with(|local| (f.take().expect("called once"))(local)) {
            Ok(result) => result,
            Err(_) => (f.take().expect("not called: OS_LOCAL is destroyed"))(late_local()),
        }
    } else {
        // SAFETY: a non-null GREEN points to the live `Running` of the green thread executing this very code
        // (set by `enter`, cleared by `Entered::drop` before it switches out), so it outlives this call.
        f(unsafe { &(*running).local })
    }
}

/// The [`Local`] of this OS thread once `OS_LOCAL` is destroyed (thread-local destructors at thread exit).
///
/// It lives under a pthread key, whose destructor frees it: glibc runs pthread key destructors after every
/// thread-local destructor of the thread (`__call_tls_dtors` comes before `__nptl_deallocate_tsd`), so it
/// outlives every destructor that may still use green. The returned reference is used only by `with_local`,
/// for the duration of one call inside such a destructor.
fn late_local() -> &'static Local {
    static KEY: std::sync::OnceLock<libc::pthread_key_t> = std::sync::OnceLock::new();
    /// The key's destructor.
    unsafe extern "C" fn free(local: *mut libc::c_void) {
        // SAFETY: the key only ever holds a pointer from `Box::into_raw` below; glibc calls this once per
        // value, after the thread's last thread-local destructor, when nothing uses it any more.
        drop(unsafe { Box::from_raw(local.cast::<Local>()) });
    }
    let key = *KEY.get_or_init(|| {
        let mut key = 0;
        // SAFETY: `key` is a valid out-pointer and `free` has the destructor's signature.
        let created = unsafe { libc::pthread_key_create(&mut key, Some(free)) };
        assert_eq!(created, 0, "pthread_key_create failed: no late thread-local state for green");
        key
    });
    // SAFETY: `key` was created above; reading a key's value has no other precondition.
    let late = unsafe { libc::pthread_getspecific(key) }.cast::<Local>();
    if !late.is_null() {
        // SAFETY: a non-null value is a live `Box<Local>` of this thread, freed only by `free` (see above).
        return unsafe { &*late };
    }
    let late = Box::into_raw(Box::new(Local::new(Thread::new_os())));
    // SAFETY: `key` is valid; the value is a pointer `free` will take back.
    let stored = unsafe { libc::pthread_setspecific(key, late.cast()) };
    assert_eq!(stored, 0, "pthread_setspecific failed: no late thread-local state for green");
    // SAFETY: just allocated; freed only by `free`, after every user of it (see above).
    unsafe { &*late }
}

/// Makes the current green thread look like plain OS-thread code until dropped: its blocking calls block the
/// worker's OS thread instead of switching. Green's panic hook runs the user's hook this way: std aborts on a
/// panic on an OS thread while a hook runs there, so no other green thread may run on this worker until the
/// hook returns.
pub(crate) struct HiddenGreen(*const Running);

impl HiddenGreen {
    pub(crate) fn new() -> HiddenGreen {
        HiddenGreen(GREEN.with(|green| green.replace(ptr::null())))
    }
}

impl Drop for HiddenGreen {
    fn drop(&mut self) {
        GREEN.with(|green| green.set(self.0));
    }
}

/// The worker whose loop runs on this OS thread, if any.
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let worker = WORKER.with(|w| w.get());
    if worker.is_null() {
        f(None)
    } else {
        // SAFETY: a non-null WORKER points to the worker whose `run` frame is below us on this OS thread (set
        // by `WorkerGuard::new`, cleared by its drop when `run` returns), so it outlives this call.
        f(Some(unsafe { &*worker }))
    }
}

/// Makes `worker` the current worker of this OS thread until dropped.
pub(crate) struct WorkerGuard(());

impl WorkerGuard {
    pub(crate) fn new(worker: &Worker) -> WorkerGuard {
        WORKER.with(|w| {
            assert!(w.get().is_null(), "a green worker loop is already running on this OS thread");
            w.set(worker);
        });
        WorkerGuard(())
    }
}

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(ptr::null()));
    }
}
