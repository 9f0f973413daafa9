//! [`Worker`]: the loop that runs green threads on one OS thread.
//!
//! # The loop
//! ```text
//! loop {
//!     run up to BUDGET runnables from the local queue        (each: switch in, run until park/yield/end);
//!         when it is empty, start the oldest new green thread of this worker's ring
//!     drain wake-ups from other threads; take new green threads from the ring and the injector; steal if idle
//!     fire due timers
//!     busy? poll the reactor without blocking : sleep in epoll_wait until the next timer or a wake
//!         (first, when the reactor's policy says it pays, yield the CPU once and poll again)
//! }
//! ```
//! The budget bounds how long timers and I/O wait while green threads keep yielding to each other.
//!
//! # State
//! - `tasks`: every started, unfinished green thread of this worker, by slot. A slot is reused only after its
//!   green thread finished, and a green thread is in the run queue at most once (the parker word guarantees it),
//!   so a `Resume(slot)` always names the right one.
//! - `run_queue`: FIFO of runnables, local to this OS thread: resumed green threads, `spawn_local`s, and new
//!   green threads moved from the handle's ring and injector (in batches, so a worker whose green threads keep
//!   yielding still starts new ones).
//! - `timers`: deadlines of parked green threads, mapping to their slots.
//!
//! # Ownership
//! Only the worker's OS thread touches a `Worker` (it is created there and is `!Send`). Green threads reach it
//! through [`context::with_worker`](crate::context::with_worker) while they run on that thread; the loop holds no `RefCell` borrow while a
//! green thread runs, so they can.
//!
//! # Shutdown
//! 1. `Runtime::drop` sets the runtime's shutdown flag and wakes every worker.
//! 2. Each worker, after its current batch, asks every green thread it has started to stop
//!    ([`Thread::request_shutdown`](crate::Thread)): each unwinds with [`Cancelled`](crate::Cancelled) from
//!    its current or next park or yield, unless it is unwinding already or in a lending wait (see
//!    [`crate::park`](mod@crate::park)). Green threads that had not started, and any spawned from now on, start only to drop
//!    their closure (as a green thread: that drop may block or panic) and report `Cancelled`.
//! 3. The worker keeps scheduling as usual — timers, I/O, wake-ups — so destructors that block are woken, and
//!    a frame that lent borrows (a scope's join, `block_on`) is left only after its borrowers are gone. When
//!    it holds no green thread, started or not, it stops.
//! 4. `Runtime::drop` waits for every worker to stop, then joins their OS threads. A destructor that waits
//!    forever (for something no green thread or OS thread will ever do) keeps the drop waiting, as a
//!    `std::thread::JoinHandle::join` would.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slab::Slab;

use super::WorkerHandle;
use crate::context::WorkerGuard;
use crate::coroutine::task::Start;
use crate::coroutine::{overflow, NewTask, StackPool, Suspend, Task};
use crate::inspect::{ThreadInfo, ThreadState};
use crate::reactor::Reactor;
use crate::runtime::RuntimeShared;
use crate::time::{TimerKey, Wheel};

/// Runnables run between two looks at timers, I/O and other threads' wake-ups.
const BUDGET: usize = 61;
/// New green threads moved from the injector to the local queue per look.
const INJECT_BATCH: usize = 32;
/// At most this many unused stacks are kept per worker for reuse (the pool trims itself to the recent peak).
const POOLED_STACKS: usize = 1 << 20;
/// Rounds of polling the queues before sleeping (exponential back-off, about 10 µs in all).
const SPIN_ROUNDS: u32 = 24;
/// How often the stack pool trims itself.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// One entry of the run queue.
pub(crate) enum Runnable {
    /// Switch into the started green thread in this slot.
    Resume(usize),
    /// Start a new green thread.
    Start(NewTask),
}

/// The owned side of a worker (see the module docs).
pub(crate) struct Worker {
    /// The shared side, also held by every green thread that started here.
    handle: Arc<WorkerHandle>,
    /// The runtime, for placement and stealing.
    runtime: Arc<RuntimeShared>,
    /// Started, unfinished green threads by slot.
    tasks: RefCell<Slab<Task>>,
    /// Runnables in order.
    run_queue: RefCell<VecDeque<Runnable>>,
    /// Deadlines of parked green threads; values are slots.
    timers: RefCell<Wheel<usize>>,
    /// Stacks to reuse.
    stacks: RefCell<StackPool>,
    /// The mio `Poll` of this worker.
    reactor: RefCell<Reactor>,
    /// True once this worker has asked its green threads to stop (shutdown step 2).
    shutting_down: Cell<bool>,
    /// When the stack pool trims itself next.
    next_trim: Cell<Instant>,
    /// Coarse milliseconds read at the first park of the current batch (0 until then): the time stamped on
    /// the parks of this batch — one clock read per batch instead of one per park, off by at most the batch's
    /// length.
    batch_now: Cell<u32>,
    /// `Runnable::Start` entries in `run_queue` (for the stats' "not started" gauge).
    starts_queued: Cell<usize>,
    /// Records of green threads that finished in this batch, dropped at its end once the watch's lock shows no
    /// observer reads one ([`Worker::release_finished`], `inspect/watch.rs`).
    finished: RefCell<Vec<crate::Thread>>,
    /// Rounds the next pre-sleep spin takes, at most [`SPIN_ROUNDS`]: adapted to whether spinning pays (see
    /// [`Worker::spin_for_work`]).
    spin_rounds: Cell<u32>,
}

impl Worker {
    pub(crate) fn new(handle: Arc<WorkerHandle>, runtime: Arc<RuntimeShared>, reactor: Reactor) -> Worker {
        let stack_size = runtime.stack_size();
        Worker {
            handle,
            runtime,
            tasks: RefCell::new(Slab::new()),
            run_queue: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Wheel::new(Instant::now())),
            stacks: RefCell::new(StackPool::new(stack_size, POOLED_STACKS)),
            reactor: RefCell::new(reactor),
            shutting_down: Cell::new(false),
            next_trim: Cell::new(Instant::now() + TRIM_EVERY),
            batch_now: Cell::new(0),
            starts_queued: Cell::new(0),
            finished: RefCell::new(Vec::new()),
            spin_rounds: Cell::new(SPIN_ROUNDS),
        }
    }

    pub(crate) fn handle(&self) -> &Arc<WorkerHandle> {
        &self.handle
    }

    pub(crate) fn runtime(&self) -> &Arc<RuntimeShared> {
        &self.runtime
    }

    pub(crate) fn index(&self) -> usize {
        self.handle.index()
    }

    /// Queues the parked green thread in `key` to run again (same OS thread only).
    pub(crate) fn push_resume(&self, key: usize) {
        self.run_queue.borrow_mut().push_back(Runnable::Resume(key));
    }

    /// Queues a new green thread on this worker only (`spawn_local`, or one just taken from an injector).
    pub(crate) fn push_new(&self, task: NewTask) {
        self.starts_queued.set(self.starts_queued.get() + 1);
        self.run_queue.borrow_mut().push_back(Runnable::Start(task));
    }

    /// Arms a timer that ends the park of the green thread in `key` at `deadline`.
    pub(crate) fn add_timer(&self, deadline: Instant, key: usize) -> TimerKey {
        self.handle.counters().timers_armed.bump();
        self.timers.borrow_mut().insert(deadline, key)
    }

    /// Disarms a timer (a no-op if it already fired).
    pub(crate) fn cancel_timer(&self, timer: TimerKey) {
        self.timers.borrow_mut().remove(timer);
    }

    /// Runs the reactor with `f`: how `net` registers sockets with this worker's `Poll`.
    pub(crate) fn with_reactor<R>(&self, f: impl FnOnce(&mut Reactor) -> R) -> R {
        f(&mut self.reactor.borrow_mut())
    }

    /// The worker's OS thread body: runs the loop until the runtime shuts down, then unwinds what is left.
    pub(crate) fn run(self) {
        let _current = WorkerGuard::new(&self);
        overflow::ensure_alternate_stack();
        log::debug!(target: "green::scheduler", "worker {} starts", self.index());
        let mut wakeups = Vec::new();
        let mut fresh = Vec::new();
        loop {
            let ran = self.run_batch();
            if self.runtime.is_shut_down() {
                if !self.shutting_down.get() {
                    self.begin_shutdown();
                }
                if self.is_drained() {
                    break;
                }
            }
            self.maintain(ran == BUDGET, &mut wakeups, &mut fresh);
        }
        self.release_finished();
        for request in self.handle.watch().take_dump_requests() {
            request.answer(self.index(), Vec::new());
        }
        let stacks = self.stacks.borrow();
        log::debug!(
            target: "green::scheduler",
            "worker {} stops: {} stacks mapped, {} reused, {} cached",
            self.index(),
            stacks.allocated(),
            stacks.reused(),
            stacks.cached()
        );
    }

    /// Runs up to BUDGET runnables; returns how many ran.
    fn run_batch(&self) -> usize {
        self.batch_now.set(0);
        for ran in 0..BUDGET {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(Runnable::Resume(key)) => self.resume(key),
                Some(Runnable::Start(task)) => {
                    self.starts_queued.set(self.starts_queued.get() - 1);
                    self.start(task)
                }
                // Nothing else to run: start the oldest green thread spawned here, straight from the ring.
                None => match self.handle.pop_new_local() {
                    Some(task) => self.start(task),
                    None => return ran,
                },
            }
        }
        BUDGET
    }

    /// Starts a new green thread: takes a stack, creates its coroutine, switches in. One cancelled before it
    /// started (or during shutdown) runs only to drop its closure.
    fn start(&self, task: NewTask) {
        let thread = task.into_thread();
        let start: Start = if thread.is_cancel_requested() || self.shutting_down.get() {
            log::trace!(target: "green::scheduler", "worker {}: {} cancelled before start", self.index(), thread.describe());
            Err(Box::new(crate::Cancelled))
        } else {
            Ok(())
        };
        let stack = self.stacks.borrow_mut().get(thread.stack_size());
        let stack = match stack {
            Ok(stack) => stack,
            Err(error) => {
                log::error!(target: "green::scheduler", "{} cannot start: {error}", thread.describe());
                // No stack to drop the closure on: it is dropped here, on the worker loop, where a panic is
                // caught by the body (a drop that blocks would block the worker).
                thread.run_body(Err(start.err().unwrap_or_else(|| Box::new(error))));
                return;
            }
        };
        // SAFETY: this worker will run it, and it has not run yet.
        unsafe { thread.set_home(self.handle.clone(), self.tasks.borrow().vacant_key()) };
        let key = self.tasks.borrow_mut().insert(Task::new(thread, stack, start));
        self.handle.counters().started.bump();
        self.handle.counters().live.add(1);
        log::trace!(target: "green::scheduler", "worker {}: start green thread in slot {key}", self.index());
        self.resume(key);
    }

    /// Switches into the green thread in `key` and handles why it came back.
    ///
    /// The coroutine is resumed where it lies in the slab, through a pointer, instead of being moved out and
    /// back (a few dozen bytes copied twice per switch): the slab's storage cannot move meanwhile, because only
    /// this loop inserts into it (`start`) or removes from it (below, after the switch back), and neither runs
    /// while a green thread does.
    fn resume(&self, key: usize) {
        let task: *mut Task = {
            let mut tasks = self.tasks.borrow_mut();
            let task = &mut tasks[key];
            assert!(!task.running, "a runnable green thread is not already running");
            task.running = true;
            self.handle.watch().enter(&task.thread);
            task
        };
        self.handle.counters().switches.bump();
        log::trace!(target: "green::scheduler", "worker {}: switch to slot {key}", self.index());
        // SAFETY: `task` points into the slab, which is neither grown nor shrunk until we are back (see above),
        // and no other reference to this task is used meanwhile: green threads never reach the slab, and the
        // `running` flag keeps a second resume of the same slot out.
        let reason = Task::resume(unsafe { &mut (*task).coroutine });
        self.handle.watch().leave();
        match reason {
            Some(reason) => {
                // SAFETY: as above; the green thread has switched out, so the loop is again the only user.
                unsafe { (*task).running = false };
                log::trace!(target: "green::scheduler", "worker {}: slot {key} {}", self.index(), match reason { Suspend::Park => "parked", Suspend::Yield => "runnable (yielded)" });
                match reason {
                    Suspend::Yield => self.push_resume(key),
                    Suspend::Park => {
                        // SAFETY: as above.
                        let parker = unsafe { (*task).thread.parker() };
                        parker.stamp(self.batch_now());
                        self.handle.counters().parks_by_code[parker.reason_code()].bump();
                    }
                }
            }
            None => {
                let task = self.tasks.borrow_mut().remove(key);
                log::trace!(target: "green::scheduler", "worker {}: {} ended (slot {key})", self.index(), task.thread.describe());
                self.handle.counters().finished.bump();
                self.handle.counters().live.add(u64::MAX); // minus one, wrapping
                let Task { coroutine, thread, .. } = task;
                self.finished.borrow_mut().push(thread);
                self.stacks.borrow_mut().put(coroutine.into_stack());
            }
        }
    }

    /// Between batches: wake-ups, new work, timers, I/O; sleeps when there is nothing to run.
    fn maintain(&self, busy: bool, wakeups: &mut Vec<usize>, fresh: &mut Vec<NewTask>) {
        self.release_finished();
        if self.handle.watch().has_dump_request() {
            self.answer_dump_requests();
        }
        self.handle.take_wakeups(wakeups);
        self.handle.counters().remote_wakeups.add(wakeups.len() as u64);
        for key in wakeups.drain(..) {
            self.push_resume(key);
        }
        self.handle.take_new(INJECT_BATCH, fresh);
        if fresh.is_empty() && self.run_queue.borrow().is_empty() {
            self.steal(fresh);
        }
        for task in fresh.drain(..) {
            self.push_new(task);
        }
        self.fire_timers();
        if busy || !self.run_queue.borrow().is_empty() {
            // Without a registered socket a non-blocking poll can only find wake-ups, drained above anyway.
            if self.reactor.borrow().has_sources() {
                self.turn_reactor(Some(Duration::ZERO));
            }
            return;
        }
        if self.spin_for_work() || self.yield_for_readiness() || !self.handle.prepare_sleep() {
            return;
        }
        if self.others_have_new() {
            // Work placed on another worker after our spin: it saw us awake and did not wake us, so we must
            // look (protocol step 2 covers the other workers' injectors too).
            self.handle.end_sleep();
            return;
        }
        let now = Instant::now();
        let trim_at = self.trim_stacks(now);
        let wake_at = match (self.timers.borrow().next_deadline(), trim_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = wake_at.map(|at| at.saturating_duration_since(now));
        log::trace!(target: "green::scheduler", "worker {} idle (timeout {timeout:?})", self.index());
        self.publish_gauges();
        let forever = self.timers.borrow().is_empty() && !self.reactor.borrow().has_sources();
        self.handle.watch().set_asleep(forever);
        self.handle.counters().sleeps.bump();
        let woken_by_other_thread = self.turn_reactor(timeout);
        self.adapt_spin(woken_by_other_thread);
        self.handle.watch().set_asleep(false);
        self.handle.end_sleep();
        log::trace!(target: "green::scheduler", "worker {} awake", self.index());
        self.fire_timers();
    }

    /// Whether another worker holds new green threads this one could steal.
    fn others_have_new(&self) -> bool {
        self.runtime.workers().iter().any(|w| w.index() != self.index() && w.has_new())
    }

    /// Spins a few microseconds for work from other threads before the worker pays for a sleep and a wake-up.
    ///
    /// It never polls the reactor: the `epoll_wait` the worker then sleeps in returns at once for readiness
    /// that arrived during the spin, so an idle spell costs one system call. (Polling every few rounds, as it
    /// did, cost up to six non-blocking `epoll_wait`s per idle spell: measured on the echo bench at 100
    /// connections, 0.4 per request, four fifths of the server's `epoll_wait`s.) So a spin can only catch work
    /// that another thread hands over, and it is as long as such hand-offs have lately been worth waiting for
    /// ([`Worker::adapt_spin`]): a server whose workers are woken by readiness alone stops spinning (it cost
    /// an echo server ~0.4 µs of CPU per request, a tenth of its user-space time, for nothing).
    fn spin_for_work(&self) -> bool {
        let rounds = self.spin_rounds.get();
        for round in 0..rounds {
            if self.handle.has_work() || self.others_have_new() {
                return true;
            }
            for _ in 0..(1 << round.min(6)) {
                std::hint::spin_loop();
            }
        }
        false
    }

    /// Gives the CPU away once and polls the reactor without blocking, when the reactor's policy says it pays
    /// (its waits have lately been sleeping: `reactor/yield_policy.rs`): the thread about to send to our
    /// sockets is often runnable on this CPU, and a sleep would be ended by its wake-up, which costs far more.
    /// Returns whether there is work now, or a wake-up from another thread came in: the poll consumed it (a
    /// shutdown, a dump request), so the worker must not go to sleep on it but look again.
    fn yield_for_readiness(&self) -> bool {
        let Some(started) = self.reactor.borrow_mut().begin_yield() else { return false };
        std::thread::yield_now();
        let woken = self.turn_reactor(Some(Duration::ZERO));
        let found = woken || !self.run_queue.borrow().is_empty() || self.handle.has_work();
        self.reactor.borrow_mut().end_yield(started, found);
        found
    }

    /// After a sleep: a wake-up by another thread is what a spin catches, so the next spins are full length;
    /// readiness or a timer is not, so each such sleep halves them (to none after five).
    fn adapt_spin(&self, woken_by_other_thread: bool) {
        let rounds = if woken_by_other_thread { SPIN_ROUNDS } else { self.spin_rounds.get() / 2 };
        self.spin_rounds.set(rounds);
    }

    /// Trims the stack pool when due; returns when the next trim is due if the pool holds more than it needs.
    fn trim_stacks(&self, now: Instant) -> Option<Instant> {
        let mut stacks = self.stacks.borrow_mut();
        if now >= self.next_trim.get() {
            stacks.trim();
            self.next_trim.set(now + TRIM_EVERY);
        }
        stacks.has_excess().then(|| self.next_trim.get())
    }

    /// Takes half of another worker's not-yet-started green threads.
    fn steal(&self, into: &mut Vec<NewTask>) {
        if self.runtime.is_dumping() {
            return; // a thread dump asks the workers one by one: a stolen green thread would move between answers
        }
        let workers = self.runtime.workers();
        for offset in 1..workers.len() {
            let victim = &workers[(self.index() + offset) % workers.len()];
            victim.steal_half(&self.handle, into);
            if !into.is_empty() {
                self.handle.counters().steals.bump();
                self.handle.counters().stolen.add(into.len() as u64);
                log::trace!(target: "green::scheduler", "worker {} stole {} from worker {}", self.index(), into.len(), victim.index());
                return;
            }
        }
    }

    /// Ends the parks whose deadline has passed.
    fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = Instant::now();
        let tasks = self.tasks.borrow();
        let mut run_queue = self.run_queue.borrow_mut();
        self.timers.borrow_mut().poll(now, |key| {
            if let Some(task) = tasks.get(key) {
                if task.thread.parker().expire() {
                    self.handle.counters().timers_fired.bump();
                    log::trace!(target: "green::time", "worker {}: timer wakes slot {key}", self.index());
                    run_queue.push_back(Runnable::Resume(key));
                }
            }
        });
    }

    /// One reactor iteration; I/O readiness unparks the green threads waiting for it. Returns whether another
    /// thread's wake-up was among the events.
    fn turn_reactor(&self, timeout: Option<Duration>) -> bool {
        match self.reactor.borrow_mut().turn(timeout) {
            Ok(turned) => {
                // Readiness of sockets only: a wake-up by another thread is not I/O.
                self.handle.counters().io_events.add((turned.events - usize::from(turned.woken)) as u64);
                turned.woken
            }
            Err(error) => {
                log::error!(target: "green::reactor", "worker {}: poll failed: {error}", self.index());
                false
            }
        }
    }

    /// The time stamped on this batch's parks (see `batch_now`).
    #[inline]
    fn batch_now(&self) -> u32 {
        match self.batch_now.get() {
            0 => {
                // (A clock reading of 0 — once every 49 days — is read again at the next park: harmless.)
                let now = crate::inspect::clock::coarse_millis();
                self.batch_now.set(now);
                now
            }
            now => now,
        }
    }

    /// Drops this worker's references to the records of green threads that finished, once no observer can be
    /// reading one (`inspect/watch.rs`). Outside the watch's lock and any borrow: the drops may run user
    /// destructors. The emptied list goes back, with its capacity.
    fn release_finished(&self) {
        if self.finished.borrow().is_empty() {
            return;
        }
        self.handle.watch().clear_current();
        let mut finished = self.finished.take();
        finished.clear();
        self.finished.replace(finished);
    }

    /// Publishes the gauges of [`Runtime::stats`](crate::Runtime::stats) (runnable, not started, stacks).
    fn publish_gauges(&self) {
        let counters = self.handle.counters();
        let queued = self.run_queue.borrow().len();
        counters.runnable.set((queued - self.starts_queued.get()) as u64);
        counters.not_started.set((self.starts_queued.get() + self.handle.unstarted_len()) as u64);
        let stacks = self.stacks.borrow();
        counters.stacks_mapped.set(stacks.allocated());
        counters.stacks_reused.set(stacks.reused());
        counters.stacks_pooled.set(stacks.cached() as u64);
    }

    /// Describes every green thread of this worker, started or queued, for a thread dump. Called between
    /// batches, or by a green thread of this worker (the loop holds no borrow while one runs).
    pub(crate) fn describe_threads(&self, into: &mut Vec<ThreadInfo>) {
        let index = self.index();
        for (_, task) in self.tasks.borrow().iter() {
            into.push(if task.running {
                let resumed_at = task.thread.last_parked_at();
                ThreadInfo::new(&task.thread, index, ThreadState::Running { resumed_at })
            } else {
                ThreadInfo::of_suspended(&task.thread, index)
            });
        }
        for runnable in self.run_queue.borrow().iter() {
            if let Runnable::Start(task) = runnable {
                into.push(ThreadInfo::new(task.thread(), index, ThreadState::NotStarted));
            }
        }
        self.handle.for_each_unstarted(|thread| into.push(ThreadInfo::new(thread, index, ThreadState::NotStarted)));
    }

    /// Answers the dump requests queued for this worker (see `inspect/dump.rs`).
    #[cold]
    fn answer_dump_requests(&self) {
        for request in self.handle.watch().take_dump_requests() {
            let mut threads = Vec::new();
            self.describe_threads(&mut threads);
            request.answer(self.index(), threads);
        }
    }

    /// Shutdown step 2 (see the module docs).
    fn begin_shutdown(&self) {
        self.shutting_down.set(true);
        let threads: Vec<_> = self.tasks.borrow().iter().map(|(_, task)| task.thread.clone()).collect();
        log::debug!(target: "green::scheduler", "worker {}: shutdown: stopping {} green threads", self.index(), threads.len());
        for thread in threads {
            thread.request_shutdown();
        }
    }

    /// Shutdown step 3's end: no green thread left here, started or not.
    fn is_drained(&self) -> bool {
        self.tasks.borrow().is_empty() && self.run_queue.borrow().is_empty() && !self.handle.has_unstarted()
    }
}
