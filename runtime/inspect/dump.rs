//! [`Dump`]: every live green thread of a runtime, where and why it waits — Go's SIGQUIT dump, without stopping
//! anything.
//!
//! # How a dump is taken
//! The list of a worker's green threads belongs to the worker's OS thread (its task slab and run queue are
//! not shared), so the dumping thread *asks* each worker ([`Watch::request_dump`](super::watch::Watch)) and
//! wakes it; between two batches the worker describes its green threads — started ones from its slab, queued
//! ones from its run queue, ring and injectors — and sends the list back on a channel. The caller's own
//! worker (when a green thread dumps its own runtime) is described directly. Nothing is added to the
//! scheduling path for this: a dump costs nothing until someone asks.
//!
//! Workers answer one after the other, not at one instant. Green threads that have started never move, but
//! not-yet-started ones can be stolen by another worker between two answers; so idle workers do not steal
//! while a dump is taken, and a green thread whose steal was already under way is listed once, in its later
//! state. Green threads spawned meanwhile may or may not be listed.
//!
//! A worker that does not answer within [`ANSWER_TIMEOUT`] is held by one of its green threads (a CPU loop,
//! a blocking system call): the dump names that green thread from what the worker published when it switched
//! to it ([`Watch::running`](super::watch::Watch)), and says the worker's other green threads are not listed.
//!
//! # What each entry says
//! A started green thread's state is read from its parker word: PARKED is *parked* (with the reason, the
//! `#[track_caller]` location of the user's blocking call and how long ago the park began), anything else
//! *runnable* (woken, waiting for its turn), or *running* for the one the worker is in. The names of states
//! and wait reasons are the ones the `log` trace uses.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::WaitReason;
use crate::channel::{self, Sender};
use crate::runtime::RuntimeShared;
use crate::thread::{Thread, ThreadId};

/// How long a dump waits for a worker to describe its green threads.
pub const ANSWER_TIMEOUT: Duration = Duration::from_millis(250);

/// What a green thread is doing at the time of a [`Dump`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadState {
    /// It holds its worker now (it is the dumping green thread, or its worker did not answer).
    Running {
        /// Where it had parked before this turn (`None`: it started in this turn).
        resumed_at: Option<&'static Location<'static>>,
    },
    /// Woken or yielded: queued to run on its worker.
    Runnable,
    /// Parked in a blocking call.
    Parked {
        /// What it waits for.
        reason: WaitReason,
        /// Where: the `#[track_caller]` location of the blocking call in the user's code.
        at: &'static Location<'static>,
        /// How long ago the park began (to the coarse clock's few milliseconds).
        duration: Duration,
    },
    /// Spawned, queued on a worker, not started yet.
    NotStarted,
}

impl ThreadState {
    /// The state's name as the dump and the trace print it: `running`, `runnable`, `parked`, `not started`.
    pub fn name(&self) -> &'static str {
        match self {
            ThreadState::Running { .. } => "running",
            ThreadState::Runnable => "runnable",
            ThreadState::Parked { .. } => "parked",
            ThreadState::NotStarted => "not started",
        }
    }
}

/// One green thread in a [`Dump`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThreadInfo {
    /// Its id (`#17` in the dump).
    pub id: ThreadId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The worker it runs on, or is queued on.
    pub worker: usize,
    /// What it does.
    pub state: ThreadState,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
}

impl ThreadInfo {
    /// The entry of `thread`, on `worker`, in `state`.
    pub(crate) fn new(thread: &Thread, worker: usize, state: ThreadState) -> ThreadInfo {
        ThreadInfo {
            id: thread.id(),
            name: thread.name().map(String::from),
            worker,
            state,
            spawned_at: thread.spawned_at(),
        }
    }

    /// The entry of a started green thread that is not running: parked or runnable, from its parker.
    pub(crate) fn of_suspended(thread: &Thread, worker: usize) -> ThreadInfo {
        let state = match (thread.is_parked(), thread.waiting(), thread.parked_at()) {
            (true, Some((reason, duration)), Some(at)) => ThreadState::Parked { reason, at, duration },
            _ => ThreadState::Runnable,
        };
        ThreadInfo::new(thread, worker, state)
    }

    /// `green thread #7 'name'`.
    fn title(&self) -> String {
        match &self.name {
            Some(name) => format!("green thread #{} '{name}'", self.id.as_u64()),
            None => format!("green thread #{}", self.id.as_u64()),
        }
    }
}

/// A worker that did not describe its green threads in time (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unanswered {
    /// The worker.
    pub worker: usize,
    /// The green thread that holds it, if one was running when the dump gave up waiting.
    pub running: Option<ThreadInfo>,
}

/// Every live green thread of a runtime at one moment: [`Runtime::dump`](crate::Runtime::dump),
/// [`green::dump`](crate::dump()).
///
/// `Display` prints the thread dump; the fields give the same facts to programs.
///
/// ```
/// use std::time::Duration;
/// use green::inspect::{ThreadState, WaitReason};
///
/// green::run(|| {
///     let line = line!() + 2;
///     let sleeper = green::Builder::new().name("sleeper".into());
///     let sleeper = sleeper.spawn(|| green::sleep(Duration::from_secs(60))).unwrap();
///     while sleeper.thread().parked_at().is_none() {
///         green::yield_now();
///     }
///     let dump = green::dump();
///     let entry = dump.thread(sleeper.thread().id()).unwrap();
///     assert!(matches!(entry.state, ThreadState::Parked { reason: WaitReason::Sleep, .. }));
///     assert_eq!(entry.spawned_at.line(), line);
///     println!("{dump}");
///     sleeper.cancel();
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dump {
    /// The runtime's worker count.
    pub workers: usize,
    /// Every green thread the workers described, by id.
    pub threads: Vec<ThreadInfo>,
    /// Workers that did not answer (their other green threads are not listed).
    pub unanswered: Vec<Unanswered>,
}

impl Dump {
    /// The entry of the green thread `id`, if it was listed.
    pub fn thread(&self, id: ThreadId) -> Option<&ThreadInfo> {
        self.threads.iter().find(|thread| thread.id == id)
    }

    /// How many listed green threads are in the state named `state` (see [`ThreadState::name`]).
    pub fn count(&self, state: &str) -> usize {
        self.threads.iter().filter(|thread| thread.state.name() == state).count()
    }
}

/// `1.204 s` or `350 ms`.
pub(crate) fn human(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        format!("{:.3} s", duration.as_secs_f64())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "green thread dump: {} green threads on {} workers ({} running, {} runnable, {} parked, {} not started)",
            self.threads.len(),
            self.workers,
            self.count("running"),
            self.count("runnable"),
            self.count("parked"),
            self.count("not started"),
        )?;
        for thread in &self.threads {
            writeln!(f)?;
            let title = thread.title();
            match thread.state {
                ThreadState::Running { resumed_at } => {
                    writeln!(f, "{title}: running on worker {}", thread.worker)?;
                    if let Some(at) = resumed_at {
                        writeln!(f, "    resumed at {at}")?;
                    }
                }
                ThreadState::Parked { reason, at, duration } => {
                    writeln!(f, "{title}: parked on worker {} for {}: {reason}", thread.worker, human(duration))?;
                    writeln!(f, "    at {at}")?;
                }
                ThreadState::Runnable => writeln!(f, "{title}: runnable on worker {}", thread.worker)?,
                ThreadState::NotStarted => writeln!(f, "{title}: not started, queued on worker {}", thread.worker)?,
            }
            writeln!(f, "    spawned at {}", thread.spawned_at)?;
        }
        for unanswered in &self.unanswered {
            writeln!(f)?;
            write!(
                f,
                "worker {} did not answer within {}: its green threads are not listed",
                unanswered.worker,
                human(ANSWER_TIMEOUT)
            )?;
            match &unanswered.running {
                Some(thread) => {
                    writeln!(f, "; {} holds it", thread.title())?;
                    if let ThreadState::Running { resumed_at: Some(at) } = thread.state {
                        writeln!(f, "    resumed at {at}")?;
                    }
                    writeln!(f, "    spawned at {}", thread.spawned_at)?;
                }
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// A request for one worker's list of green threads (see the module docs).
pub(crate) struct DumpRequest {
    /// Where the worker sends its index and list.
    answer: Sender<(usize, Vec<ThreadInfo>)>,
}

impl DumpRequest {
    /// Sends the worker's answer (never blocks: the channel is unbounded).
    pub(crate) fn answer(self, worker: usize, threads: Vec<ThreadInfo>) {
        // The dumper may have given up and gone: then nobody needs the answer.
        let _ = self.answer.send((worker, threads));
    }
}

/// Takes a dump of `runtime` (see the module docs).
pub(crate) fn take(runtime: &Arc<RuntimeShared>) -> Dump {
    let _dumping = runtime.begin_dump();
    let workers = runtime.workers();
    let here = crate::context::with_worker(|worker| match worker {
        Some(worker) if Arc::ptr_eq(worker.runtime(), runtime) => Some(worker.index()),
        _ => None,
    });
    let (sender, receiver) = channel::unbounded();
    let mut threads = Vec::new();
    let mut answered = vec![false; workers.len()];
    for worker in workers.iter().filter(|worker| Some(worker.index()) != here) {
        worker.watch().request_dump(DumpRequest { answer: sender.clone() });
        worker.notify();
    }
    drop(sender);
    if let Some(index) = here {
        crate::context::with_worker(|worker| worker.expect("on this worker").describe_threads(&mut threads));
        answered[index] = true;
    }
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while answered.iter().any(|done| !done) {
        match receiver.recv_deadline(deadline) {
            Ok((index, list)) => {
                answered[index] = true;
                threads.extend(list);
            }
            Err(_) => break,
        }
    }
    let unanswered = answered
        .iter()
        .enumerate()
        .filter(|(_, done)| !**done)
        .map(|(worker, _)| Unanswered {
            worker,
            running: workers[worker]
                .watch()
                .running()
                .map(|(thread, resumed_at)| ThreadInfo::new(&thread, worker, ThreadState::Running { resumed_at })),
        })
        .collect();
    // A green thread stolen by a worker that answered after its first one (the steal was decided before the dump
    // began) is listed by both: keep the later state (started, if either says so).
    threads.sort_by_key(|thread| (thread.id, thread.state == ThreadState::NotStarted));
    threads.dedup_by_key(|thread| thread.id);
    log::debug!(target: "green::inspect", "thread dump: {} green threads listed", threads.len());
    Dump { workers: workers.len(), threads, unanswered }
}
