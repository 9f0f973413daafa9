//! The record of a green thread on its worker ([`Task`]), its start ([`NewTask`]) and the switch out
//! ([`suspend`]).

use std::any::Any;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::GuardedStack;
use crate::context::{self, Local, Running};
use crate::thread::Thread;

/// Why a green thread switched back to its worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suspend {
    /// It parked: it leaves the run queue until an unpark or its timer puts it back.
    Park,
    /// It yielded: it goes to the back of the run queue.
    Yield,
}

/// A green thread's body as the scheduler sees it. `Ok(())` runs the user's closure; `Err(payload)` finishes
/// the green thread with that error without running it (cancelled before start, or no stack): the closure is
/// dropped then, inside the call, and a panic of its drop becomes the result. Dropping it uncalled finishes
/// the green thread as [`Cancelled`](crate::Cancelled).
pub(crate) type Main = Box<dyn FnOnce(Start)>;

/// How a green thread's body is started: `Ok(())` to run it, `Err(payload)` to finish it without running.
pub(crate) type Start = Result<(), Box<dyn Any + Send>>;

/// A green thread that has not started: it may still be placed on any worker.
pub(crate) struct NewTask {
    /// Its handle, created at spawn so `JoinHandle::thread` works before it starts.
    pub(crate) thread: Thread,
    /// Its body.
    pub(crate) main: Main,
    /// Usable stack bytes it asked for.
    pub(crate) stack_size: usize,
    /// True when `main` may cross to another OS thread (spawned with a `Send` closure); false for
    /// `spawn_local`, whose tasks stay in their worker's local queue.
    pub(crate) sendable: bool,
}

// SAFETY: a `NewTask` crosses OS threads only through a worker's injector, and `Worker::inject` accepts only
// tasks with `sendable == true`, whose `main` was built from a `Send` closure and `Send` captures by
// `Builder::spawn`. Tasks from `spawn_local` (sendable == false) go to the local run queue of the worker that
// created them and never leave that OS thread.
unsafe impl Send for NewTask {}

/// The coroutine type of every green thread.
pub(crate) type GreenCoroutine = Coroutine<(), Suspend, (), GuardedStack>;

/// A started green thread, owned by its worker's task slab until it finishes.
pub(crate) struct Task {
    /// The coroutine, suspended unless `running`.
    pub(crate) coroutine: GreenCoroutine,
    /// True while the worker has switched into it (a green thread is resumed by one switch at a time).
    pub(crate) running: bool,
    /// Its handle (the timer wheel finds the parker word through it).
    pub(crate) thread: Thread,
}

impl Task {
    /// Builds the coroutine for `task` on `stack`; it will call the body with `start`. It does not run until the
    /// worker resumes it. A green thread cancelled before it started still gets one, so the drop of its closure
    /// runs as a green thread (it may block or panic like any green code).
    pub(crate) fn new(task: NewTask, stack: GuardedStack, start: Start) -> Task {
        let guard = stack.guard_range();
        let thread = task.thread.clone();
        let main = task.main;
        let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Suspend>, ()| {
            let running = Running { local: Local::new(task.thread), yielder, guard };
            context::enter(&running);
            let _leave = Leave;
            main(start);
        });
        Task { coroutine, running: false, thread }
    }

    /// Resumes the coroutine until it suspends (`Some(reason)`) or finishes (`None`).
    pub(crate) fn resume(coroutine: &mut GreenCoroutine) -> Option<Suspend> {
        match coroutine.resume(()) {
            CoroutineResult::Yield(reason) => Some(reason),
            CoroutineResult::Return(()) => None,
        }
    }
}

/// Clears the context when a green thread's body ends, also by unwinding.
struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        context::leave();
    }
}

/// Switches the current green thread out to its worker loop, for `reason`; returns when the worker resumes it.
///
/// A green thread that switches out in the middle of its own unwinding (a destructor that blocks) is counted
/// for [`Local::is_unwinding`](crate::context::Local::is_unwinding) until it is back.
pub(crate) fn suspend(reason: Suspend) {
    let running = context::running();
    assert!(!running.is_null(), "suspend outside a green thread");
    // SAFETY: `running` is the live record of the green thread executing this code (context.rs); it sits on
    // this coroutine's stack below this frame, so it is valid across the switch and after it.
    let running = unsafe { &*running };
    /// Re-enters the context after the switch back in.
    struct Reenter<'a> {
        /// The green thread switching back in.
        running: &'a Running,
        /// Whether it was counted as suspended while unwinding.
        unwinding: bool,
    }
    impl Drop for Reenter<'_> {
        fn drop(&mut self) {
            if self.unwinding {
                context::resumed_unwinding();
            }
            context::enter(self.running);
        }
    }
    let unwinding = running.local.is_unwinding();
    if unwinding {
        context::suspended_unwinding();
    }
    context::leave();
    let _reenter = Reenter { running, unwinding };
    // SAFETY: the yielder lives on this coroutine's stack for its whole life (created by corosensei for the
    // body closure in `Task::new`), and we are running on that coroutine now.
    let yielder = unsafe { &*running.yielder };
    yielder.suspend(reason);
}
