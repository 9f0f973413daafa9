//! [`Stats`]: counters of a runtime, per worker and in total.
//!
//! # Cost
//! Each worker owns a [`WorkerCounters`] in its shared handle, on cache lines of its own (no other thread
//! writes them, so a reader never slows the worker down by stealing its line for writing). Only the worker's
//! OS thread writes them — its loop, or one of its green threads counting its own park or spawn — so an
//! increment is a relaxed load and store (no locked instruction). [`Runtime::stats`](crate::Runtime::stats)
//! reads them with relaxed loads from any thread: a snapshot that may be a few events behind the worker, and
//! whose fields are not read at one instant.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::WaitReason;

/// A counter written by one OS thread only (its worker's), read by any.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `by` (owner only: not atomic against another writer).
    #[inline]
    pub(crate) fn add(&self, by: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(by), Ordering::Relaxed);
    }

    /// Adds one (owner only).
    #[inline]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    /// Replaces the value (owner only): for gauges such as the number of live green threads.
    #[inline]
    pub(crate) fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// The value, from any thread.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters one worker keeps (see the module docs); aligned so that they share no cache line with the
/// parts of the worker's handle that other threads write.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct WorkerCounters {
    /// Green threads spawned by this worker's green threads (the spawner's worker counts them).
    pub(crate) spawned: Counter,
    /// Green threads started here.
    pub(crate) started: Counter,
    /// Green threads that finished here.
    pub(crate) finished: Counter,
    /// Started, unfinished green threads of this worker (kept exact: counted at start and finish).
    pub(crate) live: Counter,
    /// Gauge: of those, how many were runnable (queued to run) at the worker's last look.
    pub(crate) runnable: Counter,
    /// Gauge: green threads queued here that have not started, at the worker's last look.
    pub(crate) not_started: Counter,
    /// Switches into a green thread.
    pub(crate) switches: Counter,
    /// Parks, by the parker's stored code ([`WaitReason::kind_index`] + 1; 0: none): 32 entries, so that the
    /// worker indexes with a masked code and no bounds check.
    pub(crate) parks_by_code: [Counter; 32],
    /// Green threads of this worker woken by another OS thread (through its wake-up queue).
    pub(crate) remote_wakeups: Counter,
    /// Steals this worker made from other workers (each takes a batch).
    pub(crate) steals: Counter,
    /// Green threads taken by those steals.
    pub(crate) stolen: Counter,
    /// Timers armed (a park with a deadline).
    pub(crate) timers_armed: Counter,
    /// Timers that fired (ended a park).
    pub(crate) timers_fired: Counter,
    /// Readiness events delivered by this worker's `epoll_wait`.
    pub(crate) io_events: Counter,
    /// Times the worker slept in `epoll_wait`.
    pub(crate) sleeps: Counter,
    /// Gauge: stacks this worker has mapped (from the kernel or an arena) since it started.
    pub(crate) stacks_mapped: Counter,
    /// Gauge: stacks this worker has reused from its pool since it started.
    pub(crate) stacks_reused: Counter,
    /// Gauge: unused stacks in its pool now.
    pub(crate) stacks_pooled: Counter,
}

impl WorkerCounters {
    /// A snapshot of worker `index`.
    pub(crate) fn snapshot(&self, index: usize) -> WorkerStats {
        let live = self.live.get();
        let runnable = self.runnable.get().min(live);
        WorkerStats {
            worker: index,
            spawned: self.spawned.get(),
            started: self.started.get(),
            finished: self.finished.get(),
            live,
            runnable,
            parked: live - runnable,
            not_started: self.not_started.get(),
            switches: self.switches.get(),
            parks: std::array::from_fn(|kind| self.parks_by_code[kind + 1].get()),
            remote_wakeups: self.remote_wakeups.get(),
            steals: self.steals.get(),
            stolen: self.stolen.get(),
            timers_armed: self.timers_armed.get(),
            timers_fired: self.timers_fired.get(),
            io_events: self.io_events.get(),
            sleeps: self.sleeps.get(),
            stacks_mapped: self.stacks_mapped.get(),
            stacks_reused: self.stacks_reused.get(),
            stacks_pooled: self.stacks_pooled.get(),
        }
    }
}

/// Counters of one worker: what [`Runtime::stats`](crate::Runtime::stats) returns per worker.
///
/// Counts since the worker started; `live` is exact at any time; the gauges (runnable, parked, not started,
/// stacks) are as of the worker's last sleep.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's index (its OS thread is `green-worker-<index>`).
    pub worker: usize,
    /// Green threads spawned by this worker's green threads (wherever they started).
    pub spawned: u64,
    /// Green threads started on this worker.
    pub started: u64,
    /// Green threads that finished on this worker.
    pub finished: u64,
    /// Started, unfinished green threads of this worker.
    pub live: u64,
    /// Of the live ones, those queued to run.
    pub runnable: u64,
    /// Of the live ones, those parked (live − runnable; the one running, if any, counts here).
    pub parked: u64,
    /// Green threads queued on this worker that have not started.
    pub not_started: u64,
    /// Switches into a green thread.
    pub switches: u64,
    /// Parks by kind, in the order of [`WaitReason::KIND_NAMES`].
    pub parks: [u64; WaitReason::KINDS],
    /// Green threads woken by another OS thread (a remote wake-up; local ones are not counted).
    pub remote_wakeups: u64,
    /// Steals made by this worker (each takes a batch of not-yet-started green threads).
    pub steals: u64,
    /// Green threads taken by those steals.
    pub stolen: u64,
    /// Timers armed by parks with a deadline.
    pub timers_armed: u64,
    /// Timers that fired.
    pub timers_fired: u64,
    /// Socket readiness events delivered by the worker's `epoll_wait`.
    pub io_events: u64,
    /// Times the worker slept in `epoll_wait`.
    pub sleeps: u64,
    /// Stacks mapped since the worker started.
    pub stacks_mapped: u64,
    /// Stacks reused from the worker's pool since it started.
    pub stacks_reused: u64,
    /// Unused stacks in the worker's pool now.
    pub stacks_pooled: u64,
}

impl WorkerStats {
    /// The parks of the kind named `kind` (one of [`WaitReason::KIND_NAMES`]); 0 for an unknown name.
    pub fn parks_of(&self, kind: &str) -> u64 {
        WaitReason::KIND_NAMES.iter().position(|name| *name == kind).map_or(0, |index| self.parks[index])
    }
}

/// Counters of a runtime, per worker and in total: [`Runtime::stats`](crate::Runtime::stats).
///
/// ```
/// let runtime = green::Runtime::builder().workers(2).build().unwrap();
/// runtime.block_on(|| {
///     let handles: Vec<_> = (0..10).map(|i| green::spawn(move || i)).collect();
///     for handle in handles {
///         handle.join().unwrap();
///     }
/// });
/// let stats = runtime.stats();
/// assert_eq!(stats.workers.len(), 2);
/// assert_eq!(stats.spawned, 11); // ten, and block_on's main green thread
/// // A worker counts a green thread as finished when it switches back from it, just after its joiner woke.
/// assert!(stats.finished >= 10 && stats.finished + stats.live + stats.not_started <= 11);
/// println!("{stats}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Each worker's counters, by index.
    pub workers: Vec<WorkerStats>,
    /// Green threads spawned on this runtime: by its green threads, plus those spawned from outside it (OS
    /// threads, other runtimes, `block_on`).
    pub spawned: u64,
    /// Green threads that finished.
    pub finished: u64,
    /// Green threads started and not finished.
    pub live: u64,
    /// Of the live ones, those parked.
    pub parked: u64,
    /// Of the live ones, those queued to run.
    pub runnable: u64,
    /// Green threads spawned and not started yet.
    pub not_started: u64,
    /// Switches into a green thread, all workers.
    pub switches: u64,
    /// Parks by kind, all workers, in the order of [`WaitReason::KIND_NAMES`].
    pub parks: [u64; WaitReason::KINDS],
    /// Remote wake-ups, all workers.
    pub remote_wakeups: u64,
    /// Steals, all workers.
    pub steals: u64,
    /// Timers armed, all workers.
    pub timers_armed: u64,
    /// Timers fired, all workers.
    pub timers_fired: u64,
    /// Socket readiness events, all workers.
    pub io_events: u64,
    /// Stacks mapped, all workers.
    pub stacks_mapped: u64,
    /// Unused stacks pooled now, all workers.
    pub stacks_pooled: u64,
    /// The process-wide offload pool (shared by every runtime).
    pub offload: crate::offload::Stats,
}

impl Stats {
    /// Sums the workers' snapshots; `spawned_outside` counts spawns from outside the runtime.
    pub(crate) fn from_workers(workers: Vec<WorkerStats>, spawned_outside: u64) -> Stats {
        let sum = |field: fn(&WorkerStats) -> u64| workers.iter().map(field).sum::<u64>();
        Stats {
            spawned: sum(|w| w.spawned) + spawned_outside,
            finished: sum(|w| w.finished),
            live: sum(|w| w.live),
            parked: sum(|w| w.parked),
            runnable: sum(|w| w.runnable),
            not_started: sum(|w| w.not_started),
            switches: sum(|w| w.switches),
            parks: std::array::from_fn(|kind| workers.iter().map(|w| w.parks[kind]).sum()),
            remote_wakeups: sum(|w| w.remote_wakeups),
            steals: sum(|w| w.steals),
            timers_armed: sum(|w| w.timers_armed),
            timers_fired: sum(|w| w.timers_fired),
            io_events: sum(|w| w.io_events),
            stacks_mapped: sum(|w| w.stacks_mapped),
            stacks_pooled: sum(|w| w.stacks_pooled),
            offload: crate::offload::stats(),
            workers,
        }
    }

    /// The parks of the kind named `kind` (one of [`WaitReason::KIND_NAMES`]), all workers.
    pub fn parks_of(&self, kind: &str) -> u64 {
        WaitReason::KIND_NAMES.iter().position(|name| *name == kind).map_or(0, |index| self.parks[index])
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "green threads: {} spawned, {} finished, {} live ({} parked, {} runnable), {} not started",
            self.spawned, self.finished, self.live, self.parked, self.runnable, self.not_started
        )?;
        writeln!(
            f,
            "switches {}, remote wake-ups {}, steals {}, timers armed {} / fired {}, I/O events {}",
            self.switches, self.remote_wakeups, self.steals, self.timers_armed, self.timers_fired, self.io_events
        )?;
        write!(f, "parks:")?;
        for (name, count) in WaitReason::KIND_NAMES.iter().zip(self.parks) {
            if count > 0 {
                write!(f, " {name} {count},")?;
            }
        }
        writeln!(f)?;
        writeln!(f, "stacks: {} mapped, {} pooled", self.stacks_mapped, self.stacks_pooled)?;
        writeln!(
            f,
            "offload pool: {} threads ({} idle), {} queued, {} completed",
            self.offload.threads, self.offload.idle, self.offload.queued, self.offload.completed
        )?;
        for worker in &self.workers {
            writeln!(
                f,
                "  worker {}: {} started, {} finished, {} live ({} parked), {} switches, {} remote wake-ups, {} sleeps",
                worker.worker,
                worker.started,
                worker.finished,
                worker.live,
                worker.parked,
                worker.switches,
                worker.remote_wakeups,
                worker.sleeps
            )?;
        }
        Ok(())
    }
}
