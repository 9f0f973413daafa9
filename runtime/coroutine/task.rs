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

/// How a green thread's body is started: `Ok(())` to run its closure, `Err(payload)` to finish it with that
/// error without running it (cancelled before start, or no stack): the closure is dropped then, inside the
/// call, and a panic of its drop becomes the result.
pub(crate) type Start = Result<(), Box<dyn Any + Send>>;

/// A green thread that has not started: it may still be placed on any worker (if its closure is `Send`).
///
/// It is the green thread's record itself ([`Thread`]: header, closure and result slot in one allocation),
/// owned as "the green thread" until it starts. Dropping it unstarted finishes the green thread as
/// [`Cancelled`](crate::Cancelled) (its closure is dropped where the task is).
pub(crate) struct NewTask {
    /// The record; `None` only once it was taken to start.
    thread: Option<Thread>,
}

impl NewTask {
    /// The task of the green thread `thread`, which has not run.
    pub(crate) fn new(thread: Thread) -> NewTask {
        NewTask { thread: Some(thread) }
    }

    /// The green thread's handle.
    pub(crate) fn thread(&self) -> &Thread {
        self.thread.as_ref().expect("a task is taken only to start")
    }

    /// Takes the record out to start it: from now on, whoever has it must call [`Thread::run_body`] once.
    pub(crate) fn into_thread(mut self) -> Thread {
        self.thread.take().expect("a task is taken only to start")
    }
}

impl Drop for NewTask {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.run_body(Err(Box::new(crate::Cancelled)));
        }
    }
}

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
    /// Builds the coroutine for the green thread `thread` on `stack`; it will run the body with `start`. It does
    /// not run until the worker resumes it. A green thread cancelled before it started still gets one, so the
    /// drop of its closure runs as a green thread (it may block or panic like any green code).
    pub(crate) fn new(thread: Thread, stack: GuardedStack, start: Start) -> Task {
        let guard = stack.guard_range();
        let record = thread.clone();
        let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), Suspend>, ()| {
            let running = Running { local: Local::new(thread), yielder, guard };
            context::enter(&running);
            let _leave = Leave;
            running.local.thread.run_body(start);
        });
        Task { coroutine, running: false, thread: record }
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
    suspend_running(unsafe { &*running }, reason);
}

/// [`suspend`] for a caller that already holds the current green thread's record (one thread-local read
/// less).
pub(crate) fn suspend_running(running: &Running, reason: Suspend) {
    debug_assert!(std::ptr::eq(context::running(), running), "only the running green thread suspends itself");
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
