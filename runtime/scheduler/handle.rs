//! [`WorkerHandle`]: the side of a worker that other threads use to wake it.
//!
//! # Wake-up protocol
//! A worker about to sleep in `epoll_wait` and a thread pushing work to it must not miss each other:
//!
//! 1. The pusher adds to a queue (under its mutex, publishing the queue's new length with a release store; or
//!    a release store of a ring's tail), then issues a SeqCst fence and reads `sleeping`.
//! 2. The worker stores `sleeping = true`, issues a SeqCst fence, then re-checks the lengths of its own queues and the
//!    injectors of the other workers (work placed there may be meant for it to steal: the placing thread
//!    wakes an idle worker only if it sees it sleeping, see `RuntimeShared::place`).
//! 3. If the pusher saw `sleeping == true`, it swaps it to false and, if it won that swap, writes the
//!    `mio::Waker` (an eventfd) so `epoll_wait` returns. Otherwise the worker's re-check (step 2) is ordered
//!    after the push and finds the work. Only one pusher per sleep pays for the write.
//!
//! While the worker runs, pushes from other threads cost a mutex and no system call; its own green threads'
//! spawns go to its lock-free ring (`local_queue.rs`). Before it sleeps, a worker spins briefly on
//! its queues (`Worker::maintain`), because the eventfd write and the wake-up cost far more than a few
//! microseconds of polling when work arrives in quick succession (spawn/join loops, ping-pong across workers).

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::local_queue::LocalQueue;
use crate::context;
use crate::coroutine::NewTask;
use crate::inspect::{Watch, WorkerCounters};
use crate::thread::Thread;

/// The shared side of one worker.
pub(crate) struct WorkerHandle {
    /// Its position in the runtime's worker list; also its name (`green-worker-<index>`).
    index: usize,
    /// Slots of this worker's green threads unparked by other OS threads; drained by the worker.
    wakeups: LockedQueue<Vec<usize>>,
    /// Not-yet-started green threads spawned on this worker by its own green threads: a lock-free ring only
    /// the worker pushes to and pops from, and idle workers steal half of (`local_queue.rs`).
    new_tasks: LocalQueue<NewTask>,
    /// Not-yet-started green threads placed here from other threads, and what overflows `new_tasks`; idle
    /// workers may steal from here too.
    injector: LockedQueue<VecDeque<NewTask>>,
    /// Green threads placed on this worker on purpose, that no other worker steals: those serving an accepted
    /// connection, spread over the workers at accept time (see `net/accept.rs`). Started before the injector's.
    placed: LockedQueue<VecDeque<NewTask>>,
    /// True while the worker is (about to be) blocked in `epoll_wait`.
    sleeping: AtomicBool,
    /// Interrupts the worker's `epoll_wait`.
    waker: mio::Waker,
    /// What the worker counts for [`Runtime::stats`](crate::Runtime::stats) (written by its OS thread only).
    counters: WorkerCounters,
    /// What the worker publishes for the monitor thread and thread dumps (see `inspect/watch.rs`).
    watch: Watch,
}

/// A poisoned queue lock only means a panic happened while pushing a plain value; the queue is still valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WorkerHandle {
    pub(crate) fn new(index: usize, waker: mio::Waker) -> WorkerHandle {
        WorkerHandle {
            index,
            wakeups: LockedQueue::new(Vec::new()),
            new_tasks: LocalQueue::new(),
            injector: LockedQueue::new(VecDeque::new()),
            placed: LockedQueue::new(VecDeque::new()),
            sleeping: AtomicBool::new(false),
            waker,
            counters: WorkerCounters::default(),
            watch: Watch::new(),
        }
    }

    /// The worker's counters (see `inspect/stats.rs`).
    pub(crate) fn counters(&self) -> &WorkerCounters {
        &self.counters
    }

    /// What the worker publishes for observers (see `inspect/watch.rs`).
    pub(crate) fn watch(&self) -> &Watch {
        &self.watch
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Makes the green thread in `key` runnable again. From its own worker's OS thread this is a push onto the
    /// local run queue; from anywhere else it goes through `wakeups` and may wake the worker.
    pub(crate) fn wake(&self, key: usize) {
        let local = context::with_worker(|worker| match worker {
            Some(worker) if std::ptr::eq(Arc::as_ptr(worker.handle()), self) => {
                worker.push_resume(key);
                true
            }
            _ => false,
        });
        if !local {
            self.wakeups.update(|wakeups| wakeups.push(key));
            self.notify();
        }
    }

    /// Places a new green thread on this worker from another thread (it may be stolen before it starts).
    pub(crate) fn inject(&self, task: NewTask) {
        debug_assert!(task.thread().is_sendable(), "only Send green threads cross OS threads");
        self.injector.update(|injector| injector.push_back(task));
        self.notify();
    }

    /// Places a new green thread on this worker for good: unlike [`inject`](Self::inject), no idle worker
    /// steals it. Where a long-lived green thread starts is where it runs, so a placement made for balance must
    /// not be undone by a worker that happens to be idle for a moment.
    pub(crate) fn inject_placed(&self, task: NewTask) {
        debug_assert!(task.thread().is_sendable(), "only Send green threads cross OS threads");
        self.placed.update(|placed| placed.push_back(task));
        self.notify();
    }

    /// Queues a new green thread spawned by one of this worker's own green threads, without a lock (it may
    /// be stolen before it starts). Only this worker's OS thread may call it; it never needs a wake-up.
    pub(crate) fn push_new_local(&self, task: NewTask) {
        debug_assert!(task.thread().is_sendable(), "only Send green threads may be stolen");
        self.push_new_local_any(task);
    }

    /// [`push_new_local`](Self::push_new_local) without its check.
    fn push_new_local_any(&self, task: NewTask) {
        if let Err(overflow) = self.new_tasks.push(task) {
            self.injector.update(|injector| injector.extend(overflow));
        }
    }

    /// Takes the oldest of the green threads queued by [`push_new_local`](Self::push_new_local) (owner only).
    pub(crate) fn pop_new_local(&self) -> Option<NewTask> {
        self.new_tasks.pop()
    }

    /// Interrupts the worker if it sleeps (protocol step 1 and 3).
    pub(crate) fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            log::trace!(target: "green::scheduler", "wake worker {}", self.index);
            if let Err(error) = self.waker.wake() {
                log::error!(target: "green::scheduler", "cannot wake worker {}: {error}", self.index);
            }
        }
    }

    /// Interrupts the worker's `epoll_wait` unconditionally (shutdown).
    pub(crate) fn notify_always(&self) -> std::io::Result<()> {
        self.waker.wake()
    }

    /// Whether the worker is asleep in `epoll_wait`.
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Relaxed)
    }

    /// Protocol step 2: announces sleep; returns false (and cancels it) if work arrived meanwhile.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.has_work() {
            self.sleeping.store(false, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whether another thread pushed work since the last look (a cheap check for the spin before sleeping).
    pub(crate) fn has_work(&self) -> bool {
        !self.wakeups.is_empty() || self.has_new() || !self.placed.is_empty() || self.watch.has_dump_request()
    }

    /// How many not-yet-started green threads wait in this worker's ring and injectors (a snapshot).
    pub(crate) fn unstarted_len(&self) -> usize {
        self.new_tasks.len() + self.injector.length.load(Ordering::Relaxed) + self.placed.length.load(Ordering::Relaxed)
    }

    /// Calls `f` with every not-yet-started green thread queued here (owner only: the ring is emptied and
    /// refilled in the same order, which keeps thieves away from the tasks while they are looked at).
    pub(crate) fn for_each_unstarted(&self, mut f: impl FnMut(&Thread)) {
        let mut ring = Vec::with_capacity(self.new_tasks.len());
        while let Some(task) = self.new_tasks.pop() {
            f(task.thread());
            ring.push(task);
        }
        for task in ring {
            self.push_new_local_any(task);
        }
        for queue in [&self.placed, &self.injector] {
            queue.update(|queue| queue.iter().for_each(|task| f(task.thread())));
        }
    }

    /// Whether not-yet-started green threads wait here (that an idle worker could steal).
    pub(crate) fn has_new(&self) -> bool {
        !self.new_tasks.is_empty() || !self.injector.is_empty()
    }

    /// Whether any not-yet-started green thread waits here, stealable or placed for good.
    pub(crate) fn has_unstarted(&self) -> bool {
        self.has_new() || !self.placed.is_empty()
    }

    /// Ends a sleep.
    pub(crate) fn end_sleep(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }

    /// Moves the pending wake-ups into `into`.
    pub(crate) fn take_wakeups(&self, into: &mut Vec<usize>) {
        if !self.wakeups.is_empty() {
            self.wakeups.update(|wakeups| std::mem::swap(wakeups, into));
        }
    }

    /// Takes up to `max` not-yet-started green threads (owner only): those placed for good first, then the
    /// oldest of the ring, then from the front of the injector.
    pub(crate) fn take_new(&self, max: usize, into: &mut Vec<NewTask>) {
        if !self.placed.is_empty() {
            self.placed.update(|placed| {
                let n = placed.len().min(max);
                into.extend(placed.drain(..n));
            });
        }
        while into.len() < max {
            match self.new_tasks.pop() {
                Some(task) => into.push(task),
                None => break,
            }
        }
        if into.len() < max && !self.injector.is_empty() {
            self.injector.update(|injector| {
                let n = injector.len().min(max - into.len());
                into.extend(injector.drain(..n));
            });
        }
    }

    /// For the idle worker `thief` (called on its OS thread): takes half of this worker's ring into the
    /// thief's own ring and returns one of them, or else half of this worker's injector (at least one).
    pub(crate) fn steal_half(&self, thief: &WorkerHandle, into: &mut Vec<NewTask>) {
        if let Some(task) = self.new_tasks.steal_into(&thief.new_tasks) {
            into.push(task);
            return;
        }
        if self.injector.is_empty() {
            return;
        }
        self.injector.update(|injector| {
            let n = injector.len().div_ceil(2);
            // Steal from the back: the owner takes from the front, so the two rarely want the same tasks.
            let start = injector.len() - n;
            into.extend(injector.drain(start..));
        });
    }
}

/// A queue behind a mutex whose length can be read without the lock: the worker's checks (before a sleep,
/// in its spin, between batches) read the length instead of contending with pushers for the lock.
struct LockedQueue<Q> {
    /// The queue.
    queue: Mutex<Q>,
    /// Its length, stored (release) by every change under the lock.
    length: AtomicUsize,
}

/// The length of a queue.
trait Length {
    fn length(&self) -> usize;
}

impl<T> Length for Vec<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<T> Length for VecDeque<T> {
    fn length(&self) -> usize {
        self.len()
    }
}

impl<Q: Length> LockedQueue<Q> {
    fn new(queue: Q) -> LockedQueue<Q> {
        LockedQueue { length: AtomicUsize::new(queue.length()), queue: Mutex::new(queue) }
    }

    /// Changes the queue under its lock, then publishes its new length.
    fn update<R>(&self, change: impl FnOnce(&mut Q) -> R) -> R {
        let mut queue = lock(&self.queue);
        let result = change(&mut queue);
        self.length.store(queue.length(), Ordering::Release);
        result
    }

    /// Whether the queue was empty at its last change. A push is seen here once its `update` returned and
    /// the pusher's SeqCst fence (protocol step 1) is ordered before this load (step 2's fence).
    fn is_empty(&self) -> bool {
        self.length.load(Ordering::Acquire) == 0
    }
}
