//! [`Builder`] and the `spawn` functions: how a closure becomes a [`NewTask`] and a [`JoinHandle`].

use std::io;
use std::panic::{self, Location};
use std::ptr::NonNull;
use std::sync::Arc;

use super::join_handle::GreenBody;
use super::scope::ScopeData;
use super::{JoinHandle, Thread};
use crate::context;
use crate::coroutine::NewTask;
use crate::runtime::{self, RuntimeShared};

/// Configures a green thread before spawning it, like [`std::thread::Builder`].
///
/// ```
/// let handle = green::Builder::new()
///     .name("worker".into())
///     .stack_size(64 * 1024)
///     .spawn(|| green::current().name().map(String::from))
///     .unwrap();
/// assert_eq!(handle.join().unwrap().as_deref(), Some("worker"));
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    /// Shown in logs, overflow reports and panic reports.
    name: Option<String>,
    /// Usable stack bytes; `None` takes the runtime's default.
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    ///
    /// ```
    /// let handle = green::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(handle.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the green thread.
    ///
    /// ```
    /// let handle = green::Builder::new().name("parser".into()).spawn(|| green::current().name().unwrap().len()).unwrap();
    /// assert_eq!(handle.join().unwrap(), 6);
    /// ```
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// Usable stack size in bytes (rounded up to whole pages; a guard page is added below it).
    ///
    /// ```
    /// fn depth(n: u32) -> u32 {
    ///     let frame = std::hint::black_box([0u8; 256]); // some stack per call
    ///     if n == 0 { 0 } else { 1 + depth(n - 1) + u32::from(frame[0]) }
    /// }
    /// let deep = green::Builder::new().stack_size(4 * 1024 * 1024).spawn(|| depth(5_000)).unwrap();
    /// assert_eq!(deep.join().unwrap(), 5_000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the green thread on the current runtime (the default runtime outside any), on whichever worker
    /// is best placed: it may start on another OS thread, hence `Send`. Once started it never moves.
    ///
    /// # Errors
    /// When the runtime is shutting down (from outside it: its own green threads may still spawn, see
    /// [`Runtime`](crate::Runtime)), or when the process cannot hold another green thread stack (the message
    /// names the limit: `vm.max_map_count`, or memory). A stack is taken when the green thread first runs; if
    /// that fails later, `join` returns the `io::Error` as the payload.
    ///
    /// ```
    /// green::run(|| -> std::io::Result<()> {
    ///     let handle = green::Builder::new().name("loader".into()).spawn(|| "loaded")?;
    ///     assert_eq!(handle.join().unwrap(), "loaded");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_on(&runtime::current(), f)
    }

    /// Spawns onto a given runtime (`Runtime::spawn`).
    #[track_caller]
    pub(crate) fn spawn_on<F, T>(self, runtime: &Arc<RuntimeShared>, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: F and T are 'static, so nothing the closure or result borrows can end early.
        let (task, handle) = unsafe { self.build_at(Location::caller(), runtime.stack_size(), f, None, true) }?;
        runtime.place(task)?;
        Ok(handle)
    }

    /// Spawns the green thread on the current worker, where it stays: no `Send` needed.
    ///
    /// # Errors
    /// When called outside a green thread's worker, or for the reasons of [`Builder::spawn`].
    ///
    /// ```
    /// use std::rc::Rc;
    ///
    /// green::run(|| -> std::io::Result<()> {
    ///     let shared = Rc::new(5); // not `Send`: only a local spawn may take it
    ///     let handle = green::Builder::new().name("local".into()).spawn_local(move || *shared * 2)?;
    ///     assert_eq!(handle.join().unwrap(), 10);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_local<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let spawned_at = Location::caller();
        context::with_worker(|worker| {
            let worker = worker
                .ok_or_else(|| io::Error::other("spawn_local needs a green worker: call it from a green thread"))?;
            // SAFETY: 'static as above. `sendable` is false: the task goes to this worker's local queue and
            // never leaves this OS thread.
            let (task, handle) = unsafe { self.build_at(spawned_at, worker.runtime().stack_size(), f, None, false) }?;
            log::trace!(target: "green::runtime", "spawn_local {} on worker {} (the spawner's own, for good: its closure need not be Send)", task.thread().describe(), worker.index());
            worker.handle().counters().spawned.bump();
            worker.push_new(task);
            Ok(handle)
        })
    }

    /// Spawns a green thread that may borrow from `scope`'s environment (see [`crate::scope`]).
    ///
    /// ```
    /// let data = vec![1, 2, 3];
    /// green::scope(|s| {
    ///     let handle = green::Builder::new().name("summer".into()).spawn_scoped(s, || data.iter().sum::<i32>()).unwrap();
    ///     assert_eq!(handle.join().unwrap(), 6);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope super::Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<super::ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let (runtime, data) = (runtime::current(), Some(scope.data().clone()));
        // SAFETY: the scope waits (uninterruptibly) until every child's packet is dropped, which is after the child's
        // closure and result are: nothing borrowed for 'scope is used after 'scope ends. F, T: Send (`sendable`).
        let built = unsafe { self.build_at(Location::caller(), runtime.stack_size(), f, data, true) };
        let (task, handle) = built?;
        scope.data().add_child(handle.thread().clone());
        runtime.place(task)?;
        Ok(super::ScopedJoinHandle::new(handle))
    }

    /// Turns `f`, spawned at `spawned_at`, into a task and its handle.
    ///
    /// # Safety
    /// What `f` and `T` borrow must outlive the green thread's use of them, and if `sendable` is true, `F` and
    /// `T` must be `Send` (the task may start on another OS thread).
    unsafe fn build_at<'a, F, T>(
        self,
        spawned_at: &'static Location<'static>,
        default_stack_size: usize,
        f: F,
        scope: Option<Arc<ScopeData>>,
        sendable: bool,
    ) -> io::Result<(NewTask, JoinHandle<T>)>
    where
        F: FnOnce() -> T + 'a,
        T: 'a,
    {
        if self.name.as_deref().is_some_and(|name| name.contains('\0')) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "green thread name contains a NUL byte"));
        }
        let stack_size = self.stack_size.unwrap_or(default_stack_size);
        crate::coroutine::stack::check_capacity(stack_size)?;
        // SAFETY: the caller guarantees the borrows of `f` and `T` outlive their use, and `Send` when
        // `sendable`; the body takes its borrowing parts out before the scope is told (join_handle.rs).
        let (thread, body) =
            unsafe { Thread::new_green(self.name, spawned_at, stack_size, sendable, GreenBody::new(f, scope)) };
        // SAFETY: `body` points into `thread`'s record, alive as long as the clone the handle keeps; this is the
        // one handle its owner count reserved.
        let handle = unsafe { JoinHandle::new(thread.clone(), NonNull::from(body.as_ref().packet())) };
        Ok((NewTask::new(thread), handle))
    }
}

/// Drops the green thread's `green::thread_local!` values before its result is delivered (so they are gone
/// when `join` returns); a destructor's panic becomes the green thread's result if it had none. Costs one look
/// at the context for a green thread that used none.
#[inline]
pub(super) fn destroy_locals<T>(result: &mut std::thread::Result<T>) {
    if super::local::current_has_values() {
        destroy_locals_slow(result);
    }
}

#[cold]
fn destroy_locals_slow<T>(result: &mut std::thread::Result<T>) {
    // Like destructors during unwinding, nothing interrupts them: a pending cancellation has nothing left to stop.
    if let Err(payload) = panic::catch_unwind(|| crate::park::lending(super::local::destroy_current)) {
        if result.is_ok() {
            *result = Err(payload);
        }
    }
}

/// Spawns a green thread, like [`std::thread::spawn`].
///
/// Called from a green thread it uses that green thread's runtime; from a plain OS thread, the default runtime
/// (started on first use). The closure must be `Send` because the green thread may start on another worker;
/// once started it stays on that worker's OS thread (use [`spawn_local`] for `!Send` closures). Dropping the
/// [`JoinHandle`] detaches the green thread.
///
/// ```
/// use std::time::Duration;
///
/// green::run(|| {
///     let handles: Vec<_> = (0..10)
///         .map(|i| {
///             green::spawn(move || {
///                 green::sleep(Duration::from_millis(10)); // all ten sleep at once, on a few OS threads
///                 i * i
///             })
///         })
///         .collect();
///     let squares: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
///     assert_eq!(squares.iter().sum::<i32>(), 285);
/// });
/// ```
///
/// # What the green thread must not do
/// It shares its worker OS thread with other green threads, so a call that blocks the OS thread — a
/// `std::thread::sleep`, a `std::sync::mpsc` or `std::net` call, a blocking C library — stalls them all: use the
/// `green::` mirrors, or [`offload`](fn@crate::offload) the call. A `std::thread_local!` is shared by every green
/// thread of its worker; [`green::thread_local!`](crate::thread_local) gives each green thread its own value. The
/// [caveats](crate#caveats) list the rest (fixed-size stacks, cancellation by unwinding).
///
/// # Panics
/// When [`Builder::spawn`] would return an error.
///
/// The type system keeps `!Send` values off other workers:
///
/// ```compile_fail
/// let shared = std::rc::Rc::new(5);
/// green::spawn(move || println!("{shared}"));
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(handle) => handle,
        Err(error) => panic!("{error}"),
    }
}

/// Spawns a green thread on the current worker, where it stays; the closure need not be `Send`.
///
/// ```
/// green::run(|| {
///     let shared = std::rc::Rc::new(5);
///     let local = green::spawn_local(move || *shared + 1);
///     assert_eq!(local.join().unwrap(), 6);
/// });
/// ```
///
/// # Panics
/// Outside a green thread, or when [`Builder::spawn_local`] would return an error.
#[track_caller]
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    match Builder::new().spawn_local(f) {
        Ok(handle) => handle,
        Err(error) => panic!("{error}"),
    }
}

/// `Runtime::block_on`: runs `f` on `runtime` and waits for it without being interruptible, so `f` may borrow.
/// The green thread is the runtime's *main* green thread meanwhile: the one the deadlock report panics in.
#[track_caller]
pub(crate) fn block_on<F, T>(runtime: &Arc<RuntimeShared>, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let builder = Builder::new().name("main".into());
    // SAFETY: we wait below, in a lending wait nothing interrupts (not cancellation, timeouts or shutdown), until
    // the green thread has finished and its result is taken: the borrows of `f` and `T` outlive their use; Send.
    let built = unsafe { builder.build_at(Location::caller(), runtime.stack_size(), f, None, true) };
    let (task, handle) = built.unwrap_or_else(|error| panic!("{error}"));
    let _main = runtime.register_main(handle.thread());
    runtime.place(task).unwrap_or_else(|error| panic!("{error}"));
    let result = handle.join_lending();
    match result {
        Ok(value) => value,
        Err(payload) => context::resume_unwind(payload),
    }
}
