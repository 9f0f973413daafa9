//! [`Runtime`]: the workers wired together, and the default runtime behind `green::spawn` and `green::run`.
//!
//! A runtime owns N workers (default: `std::thread::available_parallelism`), each an OS thread named
//! `green-worker-<i>` running `Worker::run`. The `RuntimeShared` part is what green threads and handles
//! keep: the workers' handles for placement, the shutdown flag and the configuration.
//!
//! # Placement
//! A new green thread whose closure is `Send` goes to the spawning worker's lock-free ring (or, from outside
//! the runtime, to the injector of the next worker in round-robin order). An idle worker steals half of
//! another's ring or injector, so new work spreads while started green threads never move. The green thread
//! spawned right after an accept (one per connection, long-lived) is placed round-robin instead, where no idle
//! worker steals it: see `net/accept.rs`. `spawn_local` puts it on the current worker's
//! local queue, where nobody can steal it.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use crate::coroutine::{NewTask, DEFAULT_STACK_SIZE};
use crate::inspect::monitor::{self, Monitor};
use crate::inspect::{Dump, Stats};
use crate::reactor::Reactor;
use crate::scheduler::{Worker, WorkerHandle};
use crate::sync::WaitGroup;
use crate::thread::{JoinHandle, Thread};

/// The part of a runtime that green threads, handles and workers share.
pub(crate) struct RuntimeShared {
    /// Every worker's shared side, by index.
    workers: Box<[Arc<WorkerHandle>]>,
    /// Set once by `Runtime::drop`.
    shut_down: AtomicBool,
    /// Round-robin cursor for spawns from outside the runtime.
    next_worker: AtomicUsize,
    /// Default usable stack bytes of a green thread.
    stack_size: usize,
    /// The main green threads of the `block_on`s waiting now (the deadlock report is raised in them).
    mains: Mutex<Vec<Thread>>,
    /// Green threads spawned onto this runtime from outside it (OS threads, other runtimes, `block_on`).
    spawned_outside: AtomicU64,
    /// Thread dumps being taken now: idle workers do not steal meanwhile (`inspect/dump.rs`).
    dumps_in_progress: AtomicUsize,
}

/// Takes `block_on`'s main green thread off the runtime's list when the `block_on` ends.
pub(crate) struct MainGuard<'a> {
    /// The runtime.
    runtime: &'a RuntimeShared,
    /// The main green thread.
    thread: Thread,
}

impl Drop for MainGuard<'_> {
    fn drop(&mut self) {
        let mut mains = self.runtime.mains.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(position) = mains.iter().position(|main| main.id() == self.thread.id()) {
            mains.swap_remove(position);
        }
    }
}

impl RuntimeShared {
    /// Records `thread` as a main green thread until the guard is dropped.
    pub(crate) fn register_main(&self, thread: &Thread) -> MainGuard<'_> {
        self.mains.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(thread.clone());
        MainGuard { runtime: self, thread: thread.clone() }
    }

    /// Whether a `block_on` waits for its main green thread now.
    pub(crate) fn has_main(&self) -> bool {
        !self.mains.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_empty()
    }

    /// The main green threads of the `block_on`s waiting now.
    pub(crate) fn mains(&self) -> Vec<Thread> {
        self.mains.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Marks a thread dump in progress until the guard is dropped (see `inspect/dump.rs`).
    pub(crate) fn begin_dump(&self) -> impl Drop + '_ {
        /// Ends the dump's mark.
        struct Dumping<'a>(&'a AtomicUsize);
        impl Drop for Dumping<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.dumps_in_progress.fetch_add(1, Ordering::SeqCst);
        Dumping(&self.dumps_in_progress)
    }

    /// Whether a thread dump is being taken now.
    pub(crate) fn is_dumping(&self) -> bool {
        self.dumps_in_progress.load(Ordering::SeqCst) != 0
    }

    /// Counters of every worker, summed (see [`Runtime::stats`]).
    pub(crate) fn stats(&self) -> Stats {
        let workers = self.workers.iter().map(|worker| worker.counters().snapshot(worker.index())).collect();
        Stats::from_workers(workers, self.spawned_outside.load(Ordering::Relaxed))
    }

    pub(crate) fn workers(&self) -> &[Arc<WorkerHandle>] {
        &self.workers
    }

    pub(crate) fn stack_size(&self) -> usize {
        self.stack_size
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Places a `Send` green thread (see the module docs).
    ///
    /// From one of this runtime's own green threads it always succeeds, also during shutdown (the worker then
    /// only drops the closure, as a green thread, and the join reports `Cancelled`): a destructor run by the
    /// shutdown may spawn. From anywhere else it fails once shutdown has begun.
    pub(crate) fn place(self: &Arc<Self>, task: NewTask) -> io::Result<()> {
        let task = crate::context::with_worker(|worker| match worker {
            Some(worker) if Arc::ptr_eq(worker.runtime(), self) => {
                if crate::net::take_spread_hint() {
                    // The green thread of a connection just accepted: the next worker in turn, for good (see
                    // net/accept.rs).
                    let index = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
                    log::trace!(
                        target: "green::runtime",
                        "spawn {} on worker {index}: a connection just accepted, placed in turn for balance",
                        task.thread().describe()
                    );
                    worker.handle().counters().spawned.bump();
                    self.workers[index].inject_placed(task);
                } else {
                    log::trace!(
                        target: "green::runtime",
                        "spawn {} on worker {} (the spawner's own): an idle worker may steal it before it starts",
                        task.thread().describe(),
                        worker.index()
                    );
                    worker.handle().counters().spawned.bump();
                    worker.handle().push_new_local(task);
                    self.notify_idle(worker.index());
                }
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            if self.is_shut_down() {
                return Err(io::Error::other("cannot spawn a green thread: its runtime is shut down"));
            }
            self.spawned_outside.fetch_add(1, Ordering::Relaxed);
            let index = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
            log::trace!(
                target: "green::runtime",
                "spawn {} on worker {index}: from outside the runtime, workers in turn",
                task.thread().describe()
            );
            self.workers[index].inject(task);
        }
        Ok(())
    }

    /// Wakes one sleeping worker other than `except`, so it can steal the work just queued. The fence orders
    /// the push before the reads of the `sleeping` flags (the other half of the handle's wake-up protocol).
    fn notify_idle(&self, except: usize) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(idle) = self.workers.iter().find(|w| w.index() != except && w.is_sleeping()) {
            idle.notify();
        }
    }
}

/// A set of worker threads running green threads.
///
/// Dropping it shuts it down and waits until that is done: every green thread that has not finished unwinds
/// with [`Cancelled`](crate::Cancelled) from its current or next blocking call (its destructors run, and may
/// block as usual); those that never started never will; then the worker threads are joined. A frame that
/// lent borrows to other threads (a [`scope`](crate::scope)'s join, [`block_on`](Runtime::block_on)) is never
/// unwound before they are done. See `scheduler/worker.rs` for the steps and DESIGN.md for the rules.
/// From a green thread of another runtime, the drop parks only that green thread.
///
/// ```
/// let runtime = green::Runtime::builder().workers(2).build().unwrap();
/// let answer = runtime.block_on(|| {
///     let child = green::spawn(|| 6 * 7);
///     child.join().unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    /// Shared with workers and green threads.
    shared: Arc<RuntimeShared>,
    /// The worker OS threads, joined on drop.
    threads: Vec<thread::JoinHandle<()>>,
    /// Each worker thread holds a clone until its loop has stopped; `drop` waits on it, so a green thread
    /// dropping a runtime parks instead of blocking its worker. `None` only inside `drop`.
    stopped: Option<WaitGroup>,
    /// The monitor thread: stall detector, deadlock detector, SIGQUIT dumps (`inspect/monitor.rs`).
    monitor: Option<Monitor>,
}

/// Configures a [`Runtime`]: `Runtime::builder().workers(2).stack_size(64 * 1024).build()`.
#[derive(Debug, Clone)]
pub struct Builder {
    /// Worker count; `None` means `available_parallelism`.
    workers: Option<usize>,
    /// Default usable stack bytes per green thread.
    stack_size: usize,
    /// What the monitor thread does.
    monitor: monitor::Config,
}

/// The default [`Builder::stall_threshold`].
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(100);

impl Builder {
    /// Number of worker OS threads (at least 1). Default: `std::thread::available_parallelism()`.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().workers(1).build().unwrap();
    /// let worker = runtime.block_on(|| std::thread::current().name().map(String::from));
    /// assert_eq!(worker.as_deref(), Some("green-worker-0"));
    /// ```
    pub fn workers(mut self, workers: usize) -> Builder {
        self.workers = Some(workers.max(1));
        self
    }

    /// Default usable stack size of green threads spawned on this runtime, in bytes (rounded up to pages).
    ///
    /// Default: 256 KiB of address space, of which only the pages a green thread touches use memory. Stacks do
    /// not grow: see DESIGN.md for how to choose.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().stack_size(1 << 20).build().unwrap();
    /// // Deep recursion that would not fit in the default 256 KiB.
    /// fn depth(n: u32) -> u32 { let pad = [n as u8; 512]; if n == 0 { pad[0] as u32 } else { depth(n - 1) + 1 } }
    /// assert_eq!(runtime.block_on(|| depth(1000)), 1000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// Warn (`log::warn!`, target `green::inspect`) when a green thread keeps its worker longer than
    /// `threshold` without parking or yielding — a CPU loop, a `std::thread::sleep`, a blocking `std` call —
    /// naming it, where it was spawned and where it resumed; and again when it lets go, with the total.
    /// `None` turns the warnings off. Default: [`DEFAULT_STALL_THRESHOLD`] (100 ms).
    ///
    /// A monitor thread watches the workers from outside, a few times per threshold (DESIGN.md, "Seeing
    /// inside"); nothing interrupts the green thread.
    ///
    /// ```
    /// use std::time::Duration;
    /// let runtime = green::Runtime::builder().stall_threshold(Some(Duration::from_millis(20))).build().unwrap();
    /// runtime.block_on(|| std::thread::sleep(Duration::from_millis(50))); // logs a warning: blocks its worker
    /// ```
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.monitor.stall_threshold = threshold;
        self
    }

    /// Print a thread dump ([`Runtime::dump`]) to stderr when the process receives SIGQUIT (Ctrl-\ in a
    /// terminal); the process goes on (unlike Go's, which exits). Off by default: it replaces the signal's
    /// action (by default, a core dump) for the whole process while such a runtime lives; the last one to be
    /// dropped puts the previous action back.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().dump_on_sigquit(true).build().unwrap();
    /// # drop(runtime);
    /// ```
    pub fn dump_on_sigquit(mut self, enabled: bool) -> Builder {
        self.monitor.dump_on_sigquit = enabled;
        self
    }

    /// Report deadlocks: when [`block_on`](Runtime::block_on)'s main green thread waits and nothing can ever
    /// wake any green thread of the runtime, it panics with `all green threads are asleep - deadlock!` and a
    /// thread dump. On by default; DESIGN.md ("Seeing inside") says exactly what is detected.
    pub fn detect_deadlocks(mut self, enabled: bool) -> Builder {
        self.monitor.detect_deadlocks = enabled;
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    /// When an OS thread or an epoll instance cannot be created.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().workers(2).build().expect("two workers");
    /// assert_eq!(runtime.block_on(|| 1 + 1), 2);
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        crate::coroutine::overflow::install();
        crate::thread::panic_hook::install();
        let count = match self.workers {
            Some(count) => count,
            None => thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let mut reactors = Vec::with_capacity(count);
        let mut handles = Vec::with_capacity(count);
        for index in 0..count {
            let (reactor, waker) = Reactor::new()?;
            reactors.push(reactor);
            handles.push(Arc::new(WorkerHandle::new(index, waker)));
        }
        let shared = Arc::new(RuntimeShared {
            workers: handles.into_boxed_slice(),
            shut_down: AtomicBool::new(false),
            next_worker: AtomicUsize::new(0),
            stack_size: self.stack_size,
            mains: Mutex::new(Vec::new()),
            spawned_outside: AtomicU64::new(0),
            dumps_in_progress: AtomicUsize::new(0),
        });
        let stopped = WaitGroup::new();
        let mut runtime = Runtime {
            shared: shared.clone(),
            threads: Vec::with_capacity(count),
            stopped: Some(stopped.clone()),
            monitor: None,
        };
        for (index, reactor) in reactors.into_iter().enumerate() {
            let handle = shared.workers[index].clone();
            let shared = shared.clone();
            let stopped = stopped.clone();
            let thread = thread::Builder::new().name(format!("green-worker-{index}")).spawn(move || {
                Worker::new(handle, shared, reactor).run();
                drop(stopped);
            })?;
            runtime.threads.push(thread);
        }
        runtime.monitor = Some(Monitor::start(shared.clone(), self.monitor)?);
        log::debug!(target: "green::runtime", "runtime started with {count} workers");
        Ok(runtime)
    }
}

impl Runtime {
    /// A runtime with the default configuration.
    ///
    /// ```
    /// let runtime = green::Runtime::new().unwrap();
    /// let handle = runtime.spawn(|| "hello");
    /// assert_eq!(handle.join().unwrap(), "hello"); // joined from this OS thread: it blocks
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().workers(1).stack_size(64 * 1024).build().unwrap();
    /// drop(runtime); // shuts the workers down
    /// ```
    pub fn builder() -> Builder {
        Builder {
            workers: None,
            stack_size: DEFAULT_STACK_SIZE,
            monitor: monitor::Config {
                stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
                detect_deadlocks: true,
                dump_on_sigquit: false,
            },
        }
    }

    /// Spawns a green thread on this runtime, from any thread.
    ///
    /// # Panics
    /// When the green thread cannot be created (see [`crate::Builder::spawn`]).
    ///
    /// ```
    /// let runtime = green::Runtime::builder().workers(2).build().unwrap();
    /// let handles: Vec<_> = (0..4).map(|i| runtime.spawn(move || i * 10)).collect();
    /// let total: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(total, 60);
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::Builder::new().spawn_on(&self.shared, f).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Runs `f` as a green thread on this runtime and blocks the caller until it returns; returns its value
    /// and re-raises its panic.
    ///
    /// `f` may borrow from the caller: it is finished before `block_on` returns, even when the caller is
    /// interrupted (the wait cannot be cancelled).
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        crate::thread::block_on(&self.shared, f)
    }

    /// A thread dump: every live green thread of this runtime, where and why it waits (see [`Dump`]).
    ///
    /// Callable from any thread; it does not stop the runtime (each worker describes its own green threads
    /// between two batches) and returns within [`ANSWER_TIMEOUT`](crate::inspect::ANSWER_TIMEOUT) even if a
    /// worker is held by a green thread that never yields.
    ///
    /// ```
    /// let runtime = green::Runtime::builder().workers(2).build().unwrap();
    /// let (sender, receiver) = green::channel::bounded::<()>(0);
    /// let waiter = runtime.spawn(move || receiver.recv());
    /// while waiter.thread().parked_at().is_none() {
    ///     std::thread::yield_now();
    /// }
    /// let dump = runtime.dump();
    /// assert_eq!(dump.count("parked"), 1);
    /// println!("{dump}"); // ...: parked on worker 1 for 0 ms: channel recv
    /// drop(sender);
    /// waiter.join().unwrap().unwrap_err();
    /// ```
    pub fn dump(&self) -> Dump {
        crate::inspect::dump::take(&self.shared)
    }

    /// Counters of this runtime, per worker and in total: green threads spawned, finished, live, parked;
    /// switches, parks by kind, remote wake-ups, steals, timers, I/O events, stacks, the offload pool.
    /// See [`Stats`]; reading them never slows the workers down.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    pub(crate) fn shared(&self) -> &Arc<RuntimeShared> {
        &self.shared
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let inside = crate::context::with_worker(|w| w.is_some_and(|w| Arc::ptr_eq(w.runtime(), &self.shared)));
        if inside {
            // Joining our own worker from itself would never return.
            log::error!(target: "green::runtime", "a Runtime was dropped from one of its own green threads");
            panic!("a green Runtime cannot be dropped from one of its own green threads");
        }
        log::debug!(target: "green::runtime", "runtime shutting down");
        self.shared.shut_down.store(true, Ordering::Release);
        for worker in self.shared.workers.iter() {
            // Wake it whether or not it sleeps: the flag is checked after every batch and every wake.
            let _ = worker.notify_always();
        }
        if let Some(stopped) = self.stopped.take() {
            // Uninterruptible: returning early would leave the workers running behind a dropped handle.
            crate::park::lending(|| stopped.wait());
        }
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                log::error!(target: "green::runtime", "a worker thread panicked");
            }
        }
        // Last: it watches the shutdown too (a destructor that holds its worker is reported).
        if let Some(mut monitor) = self.monitor.take() {
            monitor.stop();
        }
    }
}

/// The runtime `green::spawn` uses when called outside any runtime, started on first use with the default
/// configuration and never shut down.
pub(crate) fn global() -> &'static Runtime {
    GLOBAL.get_or_init(|| Runtime::new().expect("cannot start the default green runtime"))
}

/// The default runtime, once started.
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The runtime of the calling green thread or worker, else the global one if it has been started (looking
/// does not start it).
pub(crate) fn current_if_started() -> Option<Arc<RuntimeShared>> {
    crate::context::with_worker(|worker| worker.map(|worker| worker.runtime().clone()))
        .or_else(|| GLOBAL.get().map(|runtime| runtime.shared().clone()))
}

/// The runtime of the calling green thread or worker, else the global one.
pub(crate) fn current() -> Arc<RuntimeShared> {
    crate::context::with_worker(|worker| worker.map(|worker| worker.runtime().clone()))
        .unwrap_or_else(|| global().shared().clone())
}

/// Runs `f` as the main green thread of a new default runtime, returns its value (re-raising its panic), then
/// shuts the runtime down.
///
/// ```
/// let sum = green::run(|| {
///     let handles: Vec<_> = (0..10).map(|i| green::spawn(move || i * i)).collect();
///     handles.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
/// });
/// assert_eq!(sum, 285);
/// ```
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    Runtime::new().expect("cannot start a green runtime").block_on(f)
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.shared.workers().len())
            .field("stack_size", &self.shared.stack_size())
            .field("shut_down", &self.shared.is_shut_down())
            .finish_non_exhaustive()
    }
}
