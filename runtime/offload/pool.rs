//! [`Pool`]: the process-wide pool of OS threads that run offloaded jobs.
//!
//! # State
//! One `std::sync::Mutex` guards the whole [`State`]: the FIFO of queued jobs, the number of live pool threads
//! and how many of them sit idle on the condition variable. Invariants, whenever the lock is free:
//! - `idle <= threads <= max_threads`, except right after [`set_max_threads`] lowered the bound (busy threads
//!   then exit one by one as they finish their job, until `threads <= max_threads` holds again);
//! - a queued job is never stranded: either an idle thread has been notified for it, or every live thread is
//!   busy and will look at the queue before it next waits.
//!
//! # Protocol
//! 1. [`Pool::submit`] pushes the job, then, still under the lock: if an idle thread is left for it (no more
//!    jobs queued than threads idle), it notifies one; otherwise it spawns one more thread if the bound allows
//!    (*grow*), and at the bound the job waits its turn (FIFO) for the next thread to finish a job.
//! 2. A pool thread loops: take the oldest job and run it outside the lock; when the queue is empty, count
//!    itself idle and wait on the condition variable until notified or until it has been idle for the idle
//!    timeout, then exit (*shrink*). A thread that finishes a job while the pool is above its bound exits too.
//!
//! Jobs never unwind into the pool: the closures built by [`offload`](fn@super::offload) and
//! [`spawn`](super::spawn) catch their panic and hand it to the waiting side. The pool still catches whatever
//! escapes, so a thread is never lost without being counted.
//!
//! # Ownership
//! [`Pool`] is a `static`; any thread may submit. The lock is held only for queue and counter updates, never
//! while a job runs, and never by a green thread across a park.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The default bound on live pool threads.
pub(crate) const DEFAULT_MAX_THREADS: usize = 64;
/// The default time an idle pool thread waits for work before it exits.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A unit of work: a type-erased closure that reports its own result.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// The pool every [`offload`](fn@super::offload) and [`spawn`](super::spawn) submits to.
pub(crate) static POOL: Pool = Pool::new();

/// A bounded, growing and shrinking pool of OS threads (see the module docs).
pub(crate) struct Pool {
    /// Queue and counters.
    state: Mutex<State>,
    /// Idle threads wait here for a job.
    available: Condvar,
}

/// What the pool's lock protects.
struct State {
    /// Jobs not yet taken by a thread, oldest first.
    queue: VecDeque<Job>,
    /// Live pool threads (busy or idle), counting a thread from just before it is spawned until it exits.
    threads: usize,
    /// Live pool threads waiting on `available` for a job.
    idle: usize,
    /// The bound on `threads`; at least 1.
    max_threads: usize,
    /// How long a thread stays idle before it exits.
    idle_timeout: Duration,
    /// Source of the `<n>` in thread names `green-offload-<n>`; never reused.
    next_name: u64,
    /// Jobs completed since the process started (for [`Stats`]).
    completed: u64,
}

/// A snapshot of the offload pool, for monitoring and tests.
///
/// ```
/// let before = green::offload::stats();
/// assert!(before.threads <= before.max_threads);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Live pool threads, busy or idle.
    pub threads: usize,
    /// Live pool threads waiting for a job.
    pub idle: usize,
    /// Jobs waiting for a thread (non-zero only at the bound).
    pub queued: usize,
    /// The current bound on live threads.
    pub max_threads: usize,
    /// Jobs completed since the process started.
    pub completed: u64,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                max_threads: DEFAULT_MAX_THREADS,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                next_name: 0,
                completed: 0,
            }),
            available: Condvar::new(),
        }
    }

    /// Locks the state. A panic never happens under this lock (jobs run outside it), but a poisoned lock is
    /// still usable: every update leaves the state consistent before it could unwind.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `job` and makes sure a thread will run it (protocol step 1).
    ///
    /// Returns the job back only when the pool has no thread at all and the OS refused to start one; the caller
    /// then runs it itself.
    pub(crate) fn submit(&'static self, job: Job) -> Result<(), Job> {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.queue.len() <= state.idle {
            drop(state);
            self.available.notify_one();
            return Ok(());
        }
        if state.threads >= state.max_threads {
            log::trace!(target: "green::offload", "pool at its bound ({} threads): job queued", state.threads);
            return Ok(());
        }
        state.threads += 1;
        state.next_name += 1;
        let name = format!("green-offload-{}", state.next_name);
        let threads = state.threads;
        drop(state);
        log::debug!(target: "green::offload", "grow: start {name} ({threads} threads)");
        let spawned = std::thread::Builder::new().name(name.clone()).spawn(move || self.run());
        if let Err(error) = spawned {
            let mut state = self.lock();
            state.threads -= 1;
            log::warn!(target: "green::offload", "could not start {name}: {error}");
            if state.threads == 0 {
                // Nobody will ever look at the queue: hand the newest job (ours, unless another submitter
                // raced us, in which case it is still a job that would otherwise be stranded) back.
                return Err(state.queue.pop_back().expect("the job just queued"));
            }
        }
        Ok(())
    }

    /// The body of a pool thread (protocol step 2).
    fn run(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                log::trace!(target: "green::offload", "{}: job starts", thread_name());
                if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                    log::error!(target: "green::offload", "{}: a job unwound into the pool", thread_name());
                }
                state = self.lock();
                state.completed += 1;
                if state.threads > state.max_threads {
                    state.threads -= 1;
                    log::debug!(target: "green::offload", "shrink: {} exits (above the bound)", thread_name());
                    return;
                }
                continue;
            }
            state.idle += 1;
            let idle_since = Instant::now();
            let exit = loop {
                if !state.queue.is_empty() {
                    break None;
                }
                if state.threads > state.max_threads {
                    break Some("above the bound");
                }
                let waited = idle_since.elapsed();
                if waited >= state.idle_timeout {
                    break Some("idle timeout");
                }
                let remaining = state.idle_timeout - waited;
                state = self.available.wait_timeout(state, remaining).unwrap_or_else(|p| p.into_inner()).0;
            };
            state.idle -= 1;
            if let Some(reason) = exit {
                state.threads -= 1;
                log::debug!(
                    target: "green::offload",
                    "shrink: {} exits ({reason}; {} threads left)",
                    thread_name(),
                    state.threads
                );
                return;
            }
        }
    }

    /// See [`set_max_threads`].
    fn set_max_threads(&self, max_threads: usize) {
        assert!(max_threads > 0, "the offload pool needs at least one thread");
        let mut state = self.lock();
        state.max_threads = max_threads;
        // Idle threads above the new bound leave now; busy ones leave after their job.
        let surplus = state.threads.saturating_sub(max_threads).min(state.idle);
        drop(state);
        if surplus > 0 {
            self.available.notify_all();
        }
    }

    /// See [`set_idle_timeout`].
    fn set_idle_timeout(&self, idle_timeout: Duration) {
        self.lock().idle_timeout = idle_timeout;
        // Waiting threads re-read the timeout when they wake.
        self.available.notify_all();
    }

    /// See [`stats`].
    fn stats(&self) -> Stats {
        let state = self.lock();
        Stats {
            threads: state.threads,
            idle: state.idle,
            queued: state.queue.len(),
            max_threads: state.max_threads,
            completed: state.completed,
        }
    }
}

/// The current thread's name, for logs.
fn thread_name() -> String {
    std::thread::current().name().unwrap_or("green-offload").to_owned()
}

/// Sets the bound on live offload threads (default 64); at the bound, jobs queue in FIFO order.
///
/// Takes effect at once for growth; if the pool is above the new bound, idle threads exit now and busy
/// threads after their current job.
///
/// # Panics
/// If `max_threads` is zero.
///
/// ```
/// green::offload::set_max_threads(64);
/// assert_eq!(green::offload::stats().max_threads, 64);
/// ```
pub fn set_max_threads(max_threads: usize) {
    POOL.set_max_threads(max_threads);
}

/// Sets how long an offload thread waits for a new job before it exits (default 10 s).
///
/// Threads already idle apply the new timeout to the time they have already waited.
///
/// ```
/// green::offload::set_idle_timeout(std::time::Duration::from_secs(5));
/// ```
pub fn set_idle_timeout(idle_timeout: Duration) {
    POOL.set_idle_timeout(idle_timeout);
}

/// A snapshot of the pool's counters.
///
/// ```
/// green::run(|| green::offload(|| ()));
/// let stats = green::offload::stats();
/// assert!(stats.completed >= 1);
/// assert!(stats.threads <= stats.max_threads);
/// ```
pub fn stats() -> Stats {
    POOL.stats()
}
