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
//! [`Local`] and parks whatever that is.
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
    /// Its `green::thread_local!` values ([`crate::thread::local`]); destroyed when a green thread ends.
    pub(crate) locals: crate::thread::LocalStorage,
}

impl Local {
    pub(crate) fn new(thread: Thread) -> Local {
        Local {
            thread,
            scopes: RefCell::new(Scopes::default()),
            spare_waiter: Cell::new(None),
            locals: Default::default(),
        }
    }
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
        OS_LOCAL.with(f)
    } else {
        // SAFETY: a non-null GREEN points to the live `Running` of the green thread executing this very code
        // (set by `enter`, cleared by `Entered::drop` before it switches out), so it outlives this call.
        f(unsafe { &(*running).local })
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
