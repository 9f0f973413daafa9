//! Seeing inside a runtime: thread dumps, the deadlock report, the stall detector and counters.
//!
//! - [`dump()`] / [`Runtime::dump`](crate::Runtime::dump): every live green thread — id, name, worker,
//!   state, where it parks (the user's blocking call), what it waits for and for how long, where it was
//!   spawned ([`Dump`], `dump.rs`). With `runtime::Builder::dump_on_sigquit(true)`, SIGQUIT prints one to
//!   stderr and the process goes on.
//! - The deadlock report: when `block_on`'s main green thread waits and nothing can ever wake any green
//!   thread, it panics with `all green threads are asleep - deadlock!` and a dump (`deadlock.rs` says
//!   exactly what is and is not detected).
//! - The stall detector: a green thread that keeps its worker longer than the threshold without parking
//!   gets a `log::warn!` (`monitor.rs`), set with `runtime::Builder::stall_threshold`.
//! - [`Stats`] / [`Runtime::stats`](crate::Runtime::stats): per-worker counters (`stats.rs`).
//!
//! Each park records why it parks ([`WaitReason`]), where and since when: three relaxed stores and a
//! coarse-clock read. Each switch publishes the green thread it enters (`watch.rs`). Everything else happens
//! only when someone asks, on the asking thread or the monitor thread.

pub(crate) mod clock;
pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod monitor;
mod stats;
mod wait_reason;
mod watch;

pub use deadlock::MESSAGE as DEADLOCK_MESSAGE;
pub use dump::{Dump, ThreadInfo, ThreadState, Unanswered, ANSWER_TIMEOUT};
pub(crate) use stats::WorkerCounters;
pub use stats::{Stats, WorkerStats};
pub use wait_reason::WaitReason;
pub(crate) use watch::Watch;

/// A thread dump of the current runtime: the calling green thread's, or, from a plain OS thread, the default
/// runtime's (the one `green::spawn` uses outside any runtime; an empty dump if it has not started: looking
/// does not start it). From a plain OS thread, [`Runtime::dump`](crate::Runtime::dump) dumps a given runtime.
///
/// See [`Dump`] for what it lists and an example; it never stops the runtime, and a worker held by a
/// green thread that does not yield is described by that green thread alone.
pub fn dump() -> Dump {
    match crate::runtime::current_if_started() {
        Some(runtime) => dump::take(&runtime),
        None => Dump { workers: 0, threads: Vec::new(), unanswered: Vec::new() },
    }
}

/// The counters of the current runtime (the calling green thread's, or the default one if it has started;
/// all zero otherwise): see [`Stats`] and [`Runtime::stats`](crate::Runtime::stats).
///
/// ```
/// green::run(|| {
///     green::spawn(|| ()).join().unwrap();
///     let stats = green::inspect::stats();
///     assert!(stats.spawned >= 2 && stats.switches >= 2);
/// });
/// ```
pub fn stats() -> Stats {
    match crate::runtime::current_if_started() {
        Some(runtime) => runtime.stats(),
        None => Stats::from_workers(Vec::new(), 0),
    }
}
