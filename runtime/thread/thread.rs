//! [`Thread`]: the handle to a green thread or an OS thread, and the raw park/unpark under [`crate::park`](mod@crate::park).

use std::fmt;
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::context;
use crate::coroutine::task::Start;
use crate::coroutine::{self, Suspend};
use crate::park::{self, Parker};
use crate::scheduler::WorkerHandle;

/// A unique identifier for a running thread of execution, green or OS.
///
/// Ids are never reused within a process.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    fn next() -> ThreadId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        ThreadId(NonZeroU64::new(id).expect("thread ids never wrap"))
    }

    /// The id as a number, as printed in logs and overflow reports (`#17`).
    ///
    /// ```
    /// let id = green::spawn(|| green::current().id()).join().unwrap();
    /// assert!(id.as_u64() > 0);
    /// ```
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

/// A handle to a thread of execution: a green thread, or a plain OS thread that uses `green` primitives.
///
/// Mirrors [`std::thread::Thread`]: get one with [`current`] or
/// [`JoinHandle::thread`](crate::JoinHandle::thread), and wake it with [`unpark`](Thread::unpark) from any
/// thread. Cloning is cheap (a reference count).
#[derive(Clone)]
pub struct Thread {
    /// Shared with every clone; the record wakers use. For a green thread the same allocation also holds its
    /// closure and result slot (its [`Body`]): one allocation per green thread.
    inner: Arc<Inner<dyn Body>>,
}

/// The shared record behind a [`Thread`]: a header every thread has, then its body.
///
/// ```text
///   Arc counts │ id │ name │ parker │ home (worker, slot, stack size) │ body: result slot, scope, closure
///   ◄──────────────────────── header ────────────────────────────────► ◄──── green threads only ─────►
/// ```
struct Inner<B: ?Sized> {
    /// Never reused.
    id: ThreadId,
    /// Set at spawn, never changed.
    name: Option<Box<str>>,
    /// The parker word, cancellation flag and park location (see [`crate::park`](mod@crate::park)).
    parker: Parker,
    /// Where an unpark must send the thread.
    home: Home,
    /// What only green threads have: the closure to run and the slot its result goes to (`()` for an OS
    /// thread). Last, so the record can be unsized to `Inner<dyn Body>`.
    body: B,
}

/// The part of a thread's record that depends on its closure's type, seen without that type.
///
/// Implemented by `()` for OS threads and by the green thread cell of `join_handle.rs` (closure + result).
pub(crate) trait Body: Send + Sync {
    /// Runs the closure with `start` (or drops it unrun when `start` is `Err`), stores the result and wakes
    /// the joiner. Called once per green thread: by the green thread itself, or, if no stack could be had, by
    /// its worker's loop, or, if its task was dropped unplaced, where that happened.
    fn run(&self, thread: &Thread, start: Start);
}

impl Body for () {
    fn run(&self, _thread: &Thread, _start: Start) {
        unreachable!("an OS thread has no body to run")
    }
}

/// Where a thread runs, and so how an unpark reaches it.
enum Home {
    /// A plain OS thread: unpark it with `std::thread::Thread::unpark`.
    Os(std::thread::Thread),
    /// A green thread.
    Green {
        /// Its worker's handle and its slot there: set once when it starts, never changed after, because a
        /// started green thread never moves (DESIGN.md, soundness). Unset while it waits to start, when nobody
        /// can have seen it park.
        home: OnceLock<(Arc<WorkerHandle>, usize)>,
        /// Usable stack bytes it asked for.
        stack_size: usize,
        /// True when its closure may cross to another OS thread (spawned with a `Send` closure); false for
        /// `spawn_local`, whose task stays in its worker's local queue.
        sendable: bool,
    },
}

impl Thread {
    /// The record of a green thread about to be spawned, with its `body` in the same allocation; also returns
    /// where the body lies, valid as long as a clone of the `Thread` is alive.
    ///
    /// # Safety
    /// `B` may borrow data that does not live for `'static` (a scoped closure): the caller guarantees that
    /// nothing borrowed is used or dropped after the borrow ends, although the record itself may outlive it
    /// (`join_handle.rs` takes the borrowing parts out and drops them before it tells the scope the child is
    /// gone). If `sendable` is true, the body must be safe to run on another OS thread.
    pub(crate) unsafe fn new_green<'a, B: Body + 'a>(
        name: Option<String>,
        stack_size: usize,
        sendable: bool,
        body: B,
    ) -> (Thread, NonNull<B>) {
        let home = Home::Green { home: OnceLock::new(), stack_size, sendable };
        let name = name.map(String::into_boxed_str);
        let inner = Arc::new(Inner { id: ThreadId::next(), name, parker: Parker::new(), home, body });
        let body = NonNull::from(&inner.body);
        let inner: Arc<Inner<dyn Body + 'a>> = inner;
        // SAFETY: only the trait object's lifetime bound changes (same layout, same vtable); the caller
        // guarantees nothing borrowed is used past its lifetime (see above).
        let inner = unsafe { std::mem::transmute::<Arc<Inner<dyn Body + 'a>>, Arc<Inner<dyn Body>>>(inner) };
        (Thread { inner }, body)
    }

    /// The record of the calling OS thread.
    pub(crate) fn new_os() -> Thread {
        let os = std::thread::current();
        let name = os.name().map(Box::from);
        let inner = Arc::new(Inner { id: ThreadId::next(), name, parker: Parker::new(), home: Home::Os(os), body: () });
        Thread { inner }
    }

    /// Runs the green thread's closure (see [`Body::run`]).
    pub(crate) fn run_body(&self, start: Start) {
        self.inner.body.run(self, start);
    }

    /// Usable stack bytes the green thread asked for (0 for an OS thread).
    pub(crate) fn stack_size(&self) -> usize {
        match &self.inner.home {
            Home::Green { stack_size, .. } => *stack_size,
            Home::Os(_) => 0,
        }
    }

    /// Whether the green thread may start on another OS thread than the one that spawned it.
    pub(crate) fn is_sendable(&self) -> bool {
        matches!(self.inner.home, Home::Green { sendable: true, .. })
    }

    /// The thread's unique id.
    ///
    /// ```
    /// green::run(|| {
    ///     let handle = green::spawn(|| green::current().id());
    ///     let seen_inside = handle.thread().id();
    ///     assert_eq!(handle.join().unwrap(), seen_inside);
    ///     assert_ne!(seen_inside, green::current().id()); // ids are unique
    /// });
    /// ```
    pub fn id(&self) -> ThreadId {
        self.inner.id
    }

    /// The thread's name, if it was given one (for an OS thread: its `std::thread` name).
    ///
    /// ```
    /// let handle = green::Builder::new().name("named".into()).spawn(|| green::current().name().map(String::from)).unwrap();
    /// assert_eq!(handle.thread().name(), Some("named"));
    /// assert_eq!(handle.join().unwrap().as_deref(), Some("named"));
    /// assert_eq!(green::spawn(|| ()).thread().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// Whether this is a green thread (false for a plain OS thread).
    ///
    /// ```
    /// assert!(!green::current().is_green()); // a plain OS thread
    /// assert!(green::spawn(|| green::current().is_green()).join().unwrap());
    /// ```
    pub fn is_green(&self) -> bool {
        matches!(self.inner.home, Home::Green { .. })
    }

    /// Wakes the thread if it is parked, or makes its next [`park`](fn@park) return at once.
    ///
    /// Callable from any thread, green or OS, of any runtime. Never blocks.
    ///
    /// ```
    /// use green::sync::atomic::{AtomicBool, Ordering};
    /// use green::sync::Arc;
    ///
    /// green::run(|| {
    ///     let flag = Arc::new(AtomicBool::new(false));
    ///     let parked = {
    ///         let flag = flag.clone();
    ///         green::spawn(move || {
    ///             while !flag.load(Ordering::Acquire) {
    ///                 green::park(); // returns on unpark (or spuriously: hence the loop)
    ///             }
    ///         })
    ///     };
    ///     flag.store(true, Ordering::Release);
    ///     parked.thread().unpark();
    ///     parked.join().unwrap();
    /// });
    /// ```
    pub fn unpark(&self) {
        if self.inner.parker.notify() {
            self.schedule();
        }
    }

    /// Where the thread is parked right now (the `#[track_caller]` location of the blocking call: a `sleep`,
    /// a `recv`, a `lock`, ...), or `None` while it runs. A snapshot: it may change as soon as it is read.
    ///
    /// ```
    /// green::run(|| {
    ///     let line = line!() + 1;
    ///     let sleeper = green::spawn(|| green::sleep(std::time::Duration::from_secs(60)));
    ///     while sleeper.thread().parked_at().is_none() {
    ///         green::yield_now();
    ///     }
    ///     assert_eq!(sleeper.thread().parked_at().unwrap().line(), line);
    ///     sleeper.cancel();
    /// });
    /// ```
    pub fn parked_at(&self) -> Option<&'static std::panic::Location<'static>> {
        self.inner.parker.location()
    }

    /// `green thread 'name'` or `green thread #id` (`thread` for an OS thread), for logs and messages.
    pub(crate) fn describe(&self) -> String {
        let kind = if self.is_green() { "green thread" } else { "thread" };
        match self.name() {
            Some(name) => format!("{kind} '{name}'"),
            None => format!("{kind} #{}", self.id().as_u64()),
        }
    }

    pub(crate) fn parker(&self) -> &Parker {
        &self.inner.parker
    }

    /// Puts a thread that was parked back to work: only the waker that won the parker word calls this.
    fn schedule(&self) {
        match &self.inner.home {
            Home::Os(thread) => thread.unpark(),
            Home::Green { home, .. } => {
                let (worker, key) = home.get().expect("a parked green thread has started on a worker");
                log::trace!(target: "green::park", "unpark {} (worker {}, slot {key})", self.describe(), worker.index());
                worker.wake(*key);
            }
        }
    }

    /// Records where a green thread runs; called once by its worker before it first runs.
    pub(crate) fn set_home(&self, worker: Arc<WorkerHandle>, key: usize) {
        if let Home::Green { home, .. } = &self.inner.home {
            let fresh = home.set((worker, key)).is_ok();
            debug_assert!(fresh, "a green thread starts once");
        }
    }

    /// Whether `cancel` was requested for this thread.
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.inner.parker.is_cancel_requested()
    }

    /// Requests cancellation and wakes the thread so it notices (see [`crate::park`](mod@crate::park)).
    pub(crate) fn cancel(&self) {
        if self.inner.parker.request_cancel() {
            log::debug!(target: "green::park", "cancel {}", self.describe());
            self.unpark();
        }
    }

    /// Asks the thread to stop because its runtime shuts down, and wakes it so it notices (see
    /// [`crate::park`](mod@crate::park)).
    pub(crate) fn request_shutdown(&self) {
        if self.inner.parker.request_shutdown() {
            self.unpark();
        }
    }

    /// Whether the thread's runtime asked it to stop.
    pub(crate) fn is_shutdown_requested(&self) -> bool {
        self.inner.parker.is_shutdown_requested()
    }

    /// The raw wait under [`park::park_until`]: switches out (green) or blocks (OS) until unparked or until
    /// `deadline`. Returns true when an unpark ended it. Only the thread itself calls this.
    pub(crate) fn park_raw(&self, deadline: Option<Instant>) -> bool {
        let parker = &self.inner.parker;
        if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
            return parker.take_token();
        }
        // A pending token is consumed by `begin_park` below (one atomic operation instead of two).
        match &self.inner.home {
            Home::Green { home, .. } => {
                let (_, key) = home.get().expect("a running green thread has a home");
                park_green(parker, *key, deadline)
            }
            Home::Os(_) => park_os(parker, deadline),
        }
    }
}

/// Switches the current green thread out until an unpark or its timer puts it back on the run queue.
fn park_green(parker: &Parker, key: usize, deadline: Option<Instant>) -> bool {
    /// Removes the timer however the park ends, also when the switch-out unwinds (runtime shutdown).
    struct Timer(Option<crate::time::TimerKey>);
    impl Drop for Timer {
        fn drop(&mut self) {
            if let Some(timer) = self.0.take() {
                context::with_worker(|worker| {
                    if let Some(worker) = worker {
                        worker.cancel_timer(timer);
                    }
                });
            }
        }
    }
    if !parker.begin_park() {
        return true;
    }
    // Armed after PARKED is published, which is safe: only this worker's loop fires its timers, and it runs
    // only once we have switched out. A park that finds a token so arms no timer at all.
    let timer = Timer(deadline.map(|deadline| {
        context::with_worker(|worker| worker.expect("a green thread runs on a worker").add_timer(deadline, key))
    }));
    coroutine::suspend(Suspend::Park);
    drop(timer);
    parker.end_park()
}

/// Blocks the current OS thread until an unpark or `deadline`.
fn park_os(parker: &Parker, deadline: Option<Instant>) -> bool {
    if !parker.begin_park() {
        return true;
    }
    loop {
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    // Withdraw; an unpark that raced us leaves NOTIFIED, which `end_park` reports.
                    return parker.end_park();
                }
                std::thread::park_timeout(deadline - now);
            }
        }
        if parker.state.load(Ordering::Acquire) == park::NOTIFIED {
            return parker.end_park();
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("green", &self.is_green())
            .field("parked_at", &self.parked_at())
            .finish()
    }
}

/// The handle of the caller: its green thread, or its OS thread when called outside any green thread.
///
/// ```
/// green::run(|| {
///     let handle = green::Builder::new().name("worker".into()).spawn(|| green::current()).unwrap();
///     let inside = handle.thread().clone();
///     let returned = handle.join().unwrap();
///     assert_eq!(returned.id(), inside.id());
///     assert_eq!(returned.name(), Some("worker"));
/// });
/// ```
pub fn current() -> Thread {
    context::with_local(|local| local.thread.clone())
}

/// Whether the current thread of execution is unwinding (a panic, or a cancellation), like
/// [`std::thread::panicking`] but for the green thread itself.
///
/// `std::thread::panicking` answers for the worker OS thread: while one green thread waits in a destructor in
/// the middle of its unwinding, it is true for every other green thread of that worker too. `green`'s own
/// lock poisoning and cancellation use this function instead. Outside a green thread it is
/// `std::thread::panicking`.
///
/// ```
/// struct Check;
/// impl Drop for Check {
///     fn drop(&mut self) {
///         assert!(green::thread::panicking());
///     }
/// }
/// green::run(|| {
///     let failed = green::spawn(|| {
///         let _check = Check;
///         panic!("unwinds through Check");
///     });
///     assert!(failed.join().is_err());
///     assert!(!green::thread::panicking());
/// });
/// ```
pub fn panicking() -> bool {
    context::with_local(|local| local.is_unwinding())
}

/// Blocks the current thread (only the green thread, on a worker) until [`Thread::unpark`] is called.
///
/// Like [`std::thread::park`], it may return spuriously: call it in a loop that checks a condition. It is a
/// cancellation point (see [`JoinHandle::cancel`](crate::JoinHandle::cancel)).
///
/// ```
/// use std::time::Duration;
/// use green::sync::atomic::{AtomicBool, Ordering};
/// use green::sync::Arc;
///
/// green::run(|| {
///     let done = Arc::new(AtomicBool::new(false));
///     let waiter = {
///         let done = done.clone();
///         green::spawn(move || {
///             while !done.load(Ordering::Acquire) {
///                 green::park(); // only this green thread waits
///             }
///         })
///     };
///     green::sleep(Duration::from_millis(5));
///     done.store(true, Ordering::Release);
///     waiter.thread().unpark();
///     waiter.join().unwrap();
/// });
/// ```
#[track_caller]
pub fn park() {
    park::park_until(None);
}

/// Like [`park`](fn@park), but returns at the latest after `timeout`.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// green::run(|| {
///     let start = Instant::now();
///     green::park_timeout(Duration::from_millis(10)); // nobody unparks: returns after the timeout
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn park_timeout(timeout: Duration) {
    park::park_until(Instant::now().checked_add(timeout));
}

/// Gives up the rest of this turn: other runnable green threads on this worker run first.
///
/// Like [`std::thread::yield_now`] it never unwinds for a cancellation or a timeout (a lock held across it
/// stays consistent), with one exception: when the runtime shuts down, a green thread unwinds at its next
/// yield, so a loop that only yields cannot keep [`Runtime`](crate::Runtime)'s drop waiting. Outside a green
/// thread it is [`std::thread::yield_now`].
///
/// ```
/// use green::sync::atomic::{AtomicUsize, Ordering};
/// use green::sync::Arc;
///
/// let runtime = green::Runtime::builder().workers(1).build().unwrap();
/// runtime.block_on(|| {
///     let turns = Arc::new(AtomicUsize::new(0));
///     let other = {
///         let turns = turns.clone();
///         green::spawn(move || turns.fetch_add(1, Ordering::SeqCst))
///     };
///     while turns.load(Ordering::SeqCst) == 0 {
///         green::yield_now(); // one worker: the other green thread runs only when we yield
///     }
///     other.join().unwrap();
/// });
/// ```
pub fn yield_now() {
    if context::in_green_thread() {
        coroutine::suspend(Suspend::Yield);
        park::shutdown_point();
    } else {
        std::thread::yield_now();
    }
}

/// Like [`park_timeout`] with a timeout in milliseconds; deprecated as `std`'s is.
///
/// ```
/// #[allow(deprecated)]
/// green::thread::park_timeout_ms(1);
/// ```
#[deprecated(note = "replaced by `green::thread::park_timeout`, as in std")]
#[track_caller]
pub fn park_timeout_ms(ms: u32) {
    park_timeout(Duration::from_millis(u64::from(ms)));
}

/// Like [`sleep`](crate::sleep) with a duration in milliseconds; deprecated as `std`'s is.
///
/// ```
/// #[allow(deprecated)]
/// green::thread::sleep_ms(1);
/// ```
#[deprecated(note = "replaced by `green::thread::sleep`, as in std")]
#[track_caller]
pub fn sleep_ms(ms: u32) {
    crate::sleep(Duration::from_millis(u64::from(ms)));
}
