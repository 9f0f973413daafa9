//! [`Thread`]: the handle to a green thread or an OS thread, and the raw park/unpark under [`crate::park`](mod@crate::park).

use std::alloc::Layout;
use std::cell::{RefCell, UnsafeCell};
use std::fmt;
use std::num::NonZeroU64;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context;
use crate::coroutine::task::Start;
use crate::coroutine::{self, Suspend};
use crate::inspect::WaitReason;
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

    /// The id whose [`as_u64`](Self::as_u64) is `id` (decoding a stored [`WaitReason::Join`]).
    pub(crate) fn from_u64(id: NonZeroU64) -> ThreadId {
        ThreadId(id)
    }
}

/// A handle to a thread of execution: a green thread, or a plain OS thread that uses `green` primitives.
///
/// Mirrors [`std::thread::Thread`]: get one with [`current`] or
/// [`JoinHandle::thread`](crate::JoinHandle::thread), and wake it with [`unpark`](Thread::unpark) from any
/// thread. Cloning is cheap (a reference count).
pub struct Thread {
    /// The shared record, reference-counted by the `Thread`s pointing to it. For a green thread the same
    /// allocation also holds its closure and result slot (its [`Body`]): one allocation per green thread.
    header: NonNull<Header>,
}

// SAFETY: the header is shared through atomics (parker, reference count), written once before it can be read
// (home: see `Home::Green`) or never changes (id, name); the body is `Send + Sync` (the `Body` bound), and is reached only through its vtable.
unsafe impl Send for Thread {}
// SAFETY: see `Send`.
unsafe impl Sync for Thread {}

/// The shared record behind a [`Thread`]: a header every thread has, then its body, in one allocation.
///
/// ```text
///   Record<B> (repr C): │ references │ vtable │ id │ name │ parker │ home │ body: B                       │
///                       ◄──────────────────── Header ─────────────────────► ◄ green: result slot, closure ►
/// ```
///
/// A `Thread` is a thin pointer to the header (the first field, so the record's address), rather than an
/// `Arc<dyn ...>`: a fat pointer would find the header's fields only after computing the body's alignment
/// from the vtable, at every access (measured: ~10% of a park/unpark round trip).
#[repr(C)]
struct Record<B> {
    /// What every thread has; first, so a pointer to it is a pointer to the record.
    header: Header,
    /// What only green threads have: the closure to run and the slot its result goes to (`()` for an OS
    /// thread).
    body: B,
}

/// The part of the record that does not depend on the body's type.
struct Header {
    /// `Thread`s pointing here; the last one to go frees the record.
    references: AtomicUsize,
    /// The body's type-erased operations.
    vtable: &'static BodyVtable,
    /// Never reused.
    id: ThreadId,
    /// Set at spawn, never changed.
    name: Option<Box<str>>,
    /// Where it was spawned (the `#[track_caller]` location of the spawn call; for an OS thread, where green
    /// first saw it), for thread dumps and the stall warning.
    spawned_at: &'static Location<'static>,
    /// The parker word, cancellation flag and park location (see [`crate::park`](mod@crate::park)).
    parker: Parker,
    /// Where an unpark must send the thread.
    home: Home,
}

/// The operations on a record that need its body's type.
struct BodyVtable {
    /// [`Body::run`] on the record's body.
    run: unsafe fn(NonNull<Header>, &Thread, Start),
    /// Frees the record.
    free: unsafe fn(NonNull<Header>),
}

/// The vtable of records whose body is a `B`.
struct VtableOf<B>(std::marker::PhantomData<B>);

impl<B: Body> VtableOf<B> {
    /// Promoted to a `'static` by `&VtableOf::<B>::VTABLE`.
    const VTABLE: BodyVtable = BodyVtable { run: run_body::<B>, free: free_record::<B> };
}

/// # Safety
/// `header` must be the header of a live `Record<B>`.
unsafe fn run_body<B: Body>(header: NonNull<Header>, thread: &Thread, start: Start) {
    // SAFETY: `Record` is `repr(C)` with the header first, and the caller guarantees it is a `Record<B>`.
    let record = unsafe { header.cast::<Record<B>>().as_ref() };
    record.body.run(thread, start);
}

/// # Safety
/// `header` must be the header of a `Record<B>` made by `Thread::with_record`, that nobody uses any more.
unsafe fn free_record<B>(header: NonNull<Header>) {
    let record = header.cast::<Record<B>>();
    // SAFETY: see above; the cast is valid because `Record` is `repr(C)` with the header first. Dropped before
    // the memory goes back: the drop may run arbitrary code (a worker handle's last reference), which may
    // spawn and so use the spare records.
    unsafe { std::ptr::drop_in_place(record.as_ptr()) };
    // SAFETY: allocated by `SpareRecords::allocate` with this layout, and its value is dropped.
    unsafe { SpareRecords::deallocate(record.cast(), Layout::new::<Record<B>>()) };
}

/// Record sizes this OS thread keeps spare memory for.
const SPARE_LAYOUTS: usize = 4;
/// Spare records kept per size.
const SPARE_PER_LAYOUT: usize = 1024;

thread_local! {
    /// This OS thread's [`SpareRecords`].
    static SPARE_RECORDS: RefCell<SpareRecords> = const { RefCell::new(SpareRecords { layouts: Vec::new() }) };
}

/// Memory of freed thread records, kept by the OS thread that freed them for its next spawns, by layout (a
/// record's size depends on its closure's type): Go's per-processor free list of goroutine records. A burst
/// of spawns and joins then reuses the same blocks instead of going through malloc's bins, which cost about a
/// quarter of a spawn+join when a batch outgrows malloc's small per-thread cache (measured with callgrind in
/// batches of 1,000: ~380 of ~1,480 instructions). Bounded: [`SPARE_LAYOUTS`] sizes of [`SPARE_PER_LAYOUT`]
/// blocks each, freed when the OS thread exits.
struct SpareRecords {
    /// Up to [`SPARE_LAYOUTS`] layouts, each with its spare blocks (allocated with that layout, holding no value).
    layouts: Vec<(Layout, Vec<NonNull<u8>>)>,
}

impl SpareRecords {
    /// Memory for a record of `layout`: a spare block of this thread, or a new allocation.
    fn allocate(layout: Layout) -> NonNull<u8> {
        let spare = SPARE_RECORDS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            spare.layouts.iter_mut().find(|(known, _)| *known == layout).and_then(|(_, blocks)| blocks.pop())
        });
        if let Ok(Some(block)) = spare {
            return block;
        }
        // SAFETY: a record's layout is never zero-sized (the header is not).
        let block = unsafe { std::alloc::alloc(layout) };
        NonNull::new(block).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
    }

    /// Gives back the memory of a record: kept as a spare if there is room, else freed.
    ///
    /// # Safety
    /// `block` was returned by [`allocate`](Self::allocate) for `layout`, holds no value any more, and is not
    /// used after this call.
    unsafe fn deallocate(block: NonNull<u8>, layout: Layout) {
        let kept = SPARE_RECORDS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if !spare.layouts.iter().any(|(known, _)| *known == layout) && spare.layouts.len() < SPARE_LAYOUTS {
                spare.layouts.push((layout, Vec::new()));
            }
            match spare.layouts.iter_mut().find(|(known, _)| *known == layout) {
                Some((_, blocks)) if blocks.len() < SPARE_PER_LAYOUT => {
                    blocks.push(block);
                    true
                }
                _ => false,
            }
        });
        if kept != Ok(true) {
            // SAFETY: the caller guarantees `block` came from `allocate` with `layout`, i.e. from `alloc`.
            unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
        }
    }
}

impl Drop for SpareRecords {
    fn drop(&mut self) {
        for (layout, blocks) in self.layouts.drain(..) {
            for block in blocks {
                // SAFETY: spare blocks come from `alloc` with their layout and hold no value.
                unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
            }
        }
    }
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
        /// Its worker's handle, with `slot`: where it runs. Written once, by its worker before it first runs
        /// (`set_home`), never changed after, because a started green thread never moves (DESIGN.md,
        /// soundness). Read only by the green thread itself and by a waker that took it out of PARKED: its
        /// park was published (AcqRel on the parker word) after the write, so no lock or `OnceLock` is needed.
        worker: UnsafeCell<Option<Arc<WorkerHandle>>>,
        /// Its slot in its worker's task slab, valid once `worker` is set (same rules).
        slot: UnsafeCell<u32>,
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
        spawned_at: &'static Location<'static>,
        stack_size: usize,
        sendable: bool,
        body: B,
    ) -> (Thread, NonNull<B>) {
        let home = Home::Green { worker: UnsafeCell::new(None), slot: UnsafeCell::new(0), stack_size, sendable };
        let thread = Thread::with_record(name.map(String::into_boxed_str), spawned_at, home, body);
        // SAFETY: the record is a `Record<B>` (just made), alive while `thread` is.
        let body = unsafe { NonNull::from(&thread.header.cast::<Record<B>>().as_ref().body) };
        (thread, body)
    }

    /// The record of the calling OS thread.
    #[track_caller]
    pub(crate) fn new_os() -> Thread {
        let os = std::thread::current();
        let name = os.name().map(Box::from);
        Thread::with_record(name, Location::caller(), Home::Os(os), ())
    }

    fn with_record<B: Body>(
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
        home: Home,
        body: B,
    ) -> Thread {
        let header = Header {
            references: AtomicUsize::new(1),
            vtable: &VtableOf::<B>::VTABLE,
            id: ThreadId::next(),
            name,
            spawned_at,
            parker: Parker::new(),
            home,
        };
        let record = SpareRecords::allocate(Layout::new::<Record<B>>()).cast::<Record<B>>();
        // SAFETY: the block is valid for writes of a `Record<B>` (allocated with its layout) and holds no value.
        unsafe { record.as_ptr().write(Record { header, body }) };
        // The header is the record's first field (`repr(C)`).
        Thread { header: record.cast() }
    }

    /// The record's address: an identity that can be published without a reference (see `inspect/watch.rs`).
    pub(crate) fn as_raw(&self) -> *const () {
        self.header.as_ptr() as *const ()
    }

    /// A new reference to the record at `raw`.
    ///
    /// # Safety
    /// `raw` came from [`as_raw`](Self::as_raw) of a `Thread` whose record is still alive (some `Thread` keeps
    /// it for the duration of this call).
    pub(crate) unsafe fn clone_from_raw(raw: *const ()) -> Thread {
        let borrowed = std::mem::ManuallyDrop::new(Thread {
            // SAFETY: from `as_raw`, so non-null and pointing to a live header (the caller's guarantee).
            header: unsafe { NonNull::new_unchecked(raw as *mut Header) },
        });
        (*borrowed).clone()
    }

    /// Whether the thread is switched out (or blocked) in a park now: its parker word says PARKED.
    pub(crate) fn is_parked(&self) -> bool {
        self.header().parker.state.load(Ordering::Relaxed) == park::PARKED
    }

    fn header(&self) -> &Header {
        // SAFETY: the record lives as long as a `Thread` points to it (the reference count).
        unsafe { self.header.as_ref() }
    }

    /// Runs the green thread's closure (see [`Body::run`]).
    pub(crate) fn run_body(&self, start: Start) {
        // SAFETY: the vtable was made for this record's body type (`with_record`).
        unsafe { (self.header().vtable.run)(self.header, self, start) }
    }

    /// Usable stack bytes the green thread asked for (0 for an OS thread).
    pub(crate) fn stack_size(&self) -> usize {
        match &self.header().home {
            Home::Green { stack_size, .. } => *stack_size,
            Home::Os(_) => 0,
        }
    }

    /// Whether the green thread may start on another OS thread than the one that spawned it.
    pub(crate) fn is_sendable(&self) -> bool {
        matches!(self.header().home, Home::Green { sendable: true, .. })
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
        self.header().id
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
        self.header().name.as_deref()
    }

    /// Whether this is a green thread (false for a plain OS thread).
    ///
    /// ```
    /// assert!(!green::current().is_green()); // a plain OS thread
    /// assert!(green::spawn(|| green::current().is_green()).join().unwrap());
    /// ```
    pub fn is_green(&self) -> bool {
        matches!(self.header().home, Home::Green { .. })
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
        if self.header().parker.notify() {
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
        self.header().parker.location()
    }

    /// Where the green thread was spawned: the location of the `spawn` call (of `block_on` for a runtime's
    /// main green thread). For an OS thread, where `green` first saw it.
    ///
    /// ```
    /// let line = line!() + 1;
    /// let handle = green::spawn(|| ());
    /// assert_eq!(handle.thread().spawned_at().line(), line);
    /// # handle.join().unwrap();
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.header().spawned_at
    }

    /// Where the thread last parked, parked now or not: for a running green thread, where it resumed.
    pub(crate) fn last_parked_at(&self) -> Option<&'static Location<'static>> {
        self.header().parker.last_location()
    }

    /// Why the thread is parked and for how long, if it is parked (a snapshot, like
    /// [`parked_at`](Self::parked_at)).
    pub(crate) fn waiting(&self) -> Option<(WaitReason, Duration)> {
        let (reason, since) = self.header().parker.waiting()?;
        Some((reason, crate::inspect::clock::since(since)))
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
        &self.header().parker
    }

    /// Puts a thread that was parked back to work: only the waker that won the parker word calls this.
    fn schedule(&self) {
        match &self.header().home {
            Home::Os(thread) => {
                crate::inspect::deadlock::os_waiter_woken(&self.header().parker);
                thread.unpark();
            }
            Home::Green { .. } => {
                // SAFETY: we took the thread out of PARKED, so it has started and published its home.
                let (worker, key) = unsafe { self.green_home() };
                log::trace!(target: "green::park", "unpark {} (worker {}, slot {key})", self.describe(), worker.index());
                worker.wake(key);
            }
        }
    }

    /// The worker and slot of a started green thread.
    ///
    /// # Safety
    /// The caller is the green thread itself, or took it out of PARKED (see `Home::Green`).
    unsafe fn green_home(&self) -> (&Arc<WorkerHandle>, usize) {
        match &self.header().home {
            Home::Green { worker, slot, .. } => {
                // SAFETY: written before the thread first ran and never again; the caller's access is ordered
                // after that write (see above).
                let (worker, slot) = unsafe { (&*worker.get(), *slot.get()) };
                (worker.as_ref().expect("a started green thread has a home"), slot as usize)
            }
            Home::Os(_) => unreachable!("an OS thread has no worker"),
        }
    }

    /// Records where a green thread runs.
    ///
    /// # Safety
    /// Called once, by the worker that will run the green thread, before it first runs (nobody can read the
    /// home before: see `Home::Green`).
    pub(crate) unsafe fn set_home(&self, handle: Arc<WorkerHandle>, key: usize) {
        if let Home::Green { worker, slot, .. } = &self.header().home {
            let key = u32::try_from(key).expect("fewer than 2^32 green threads per worker");
            // SAFETY: the caller guarantees no one else reads or writes these cells now.
            unsafe {
                debug_assert!((*worker.get()).is_none(), "a green thread starts once");
                *worker.get() = Some(handle);
                *slot.get() = key;
            }
        }
    }

    /// Whether `cancel` was requested for this thread.
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.header().parker.is_cancel_requested()
    }

    /// Requests cancellation and wakes the thread so it notices (see [`crate::park`](mod@crate::park)).
    pub(crate) fn cancel(&self) {
        if self.header().parker.request_cancel() {
            log::debug!(target: "green::park", "cancel {}", self.describe());
            self.unpark();
        }
    }

    /// Asks the thread to stop because its runtime shuts down, and wakes it so it notices (see
    /// [`crate::park`](mod@crate::park)).
    pub(crate) fn request_shutdown(&self) {
        if self.header().parker.request_shutdown() {
            self.unpark();
        }
    }

    /// Whether the thread's runtime asked it to stop.
    pub(crate) fn is_shutdown_requested(&self) -> bool {
        self.header().parker.is_shutdown_requested()
    }

    /// The raw wait under [`park::park_until`]: switches out (green) or blocks (OS) until unparked or until
    /// `deadline`. Returns true when an unpark ended it. Only the thread itself calls this.
    pub(crate) fn park_raw(&self, deadline: Option<Instant>) -> bool {
        let parker = &self.header().parker;
        if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
            return parker.take_token();
        }
        // A pending token is consumed by `begin_park` below (one atomic operation instead of two).
        match &self.header().home {
            Home::Green { .. } => {
                // SAFETY: only the thread itself calls `park_raw`.
                let (_, key) = unsafe { self.green_home() };
                park_green(parker, key, deadline)
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
    parker.stamp(crate::inspect::clock::coarse_millis());
    // Counted while it waits with nothing but an unpark to end it (see `inspect/deadlock.rs`).
    let _counted = deadline.is_none().then(|| crate::inspect::deadlock::OsWaiter::begin(parker));
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

impl Clone for Thread {
    fn clone(&self) -> Thread {
        // Relaxed, as `Arc::clone`: a new reference is made from an existing one, which keeps the record.
        let old = self.header().references.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort(); // a leak of 2^63 clones: as `Arc`, refuse to wrap around
        }
        Thread { header: self.header }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if self.header().references.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // As `Arc`: every other clone's uses happen before the free.
        std::sync::atomic::fence(Ordering::Acquire);
        let free = self.header().vtable.free;
        // SAFETY: this was the last reference; the vtable was made for this record's body type.
        unsafe { free(self.header) };
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
    park::park_until(WaitReason::Park, None);
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
    park::park_until(WaitReason::Park, Instant::now().checked_add(timeout));
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
    let running = context::running();
    if running.is_null() {
        std::thread::yield_now();
        return;
    }
    // SAFETY: a non-null `running` is the record of the green thread executing this code, on its own stack
    // below this frame (context.rs), so it stays valid across the switch.
    let running = unsafe { &*running };
    coroutine::task::suspend_running(running, Suspend::Yield);
    park::check_shutdown(&running.local);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thread::join_handle::GreenBody;

    /// Where a green thread's bytes go, besides its stack (DESIGN.md, "Performance"): run with `--nocapture`.
    #[test]
    fn record_sizes() {
        use std::mem::size_of;
        type Closure = Box<dyn FnOnce() -> u64>;
        let record = size_of::<Record<GreenBody<Closure, u64>>>();
        println!("Thread handle: {} bytes", size_of::<Thread>());
        println!("record header: {} bytes", size_of::<Header>());
        println!(
            "  id {}, name {}, parker {}, home {}",
            size_of::<ThreadId>(),
            size_of::<Option<Box<str>>>(),
            size_of::<Parker>(),
            size_of::<Home>()
        );
        println!("green body (boxed closure, u64 result): {} bytes", size_of::<GreenBody<Closure, u64>>());
        println!("record: {record} bytes");
        println!("task in the slab: {} bytes", size_of::<crate::coroutine::Task>());
        println!("running record on the stack: {} bytes", size_of::<crate::context::Running>());
        assert_eq!(size_of::<Thread>(), 8);
    }
}
