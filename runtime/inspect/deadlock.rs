//! The deadlock report: `all green threads are asleep - deadlock!`, raised in the main green thread of a
//! `block_on` (or `green::run`) when nothing can ever wake any green thread of its runtime.
//!
//! # What is detected
//! The monitor thread (`monitor.rs`) looks a few times per second. A runtime is deadlocked when, at two
//! consecutive looks with nothing changed in between, all of this holds:
//! 1. a `block_on` is waiting for its main green thread, which has not finished;
//! 2. every worker sleeps in `epoll_wait` with no timer armed, no socket registered with its reactor, and
//!    nothing queued for it (no wake-up, no new green thread, no dump request): so none of its green threads
//!    is running or runnable, and neither time nor the network can wake one;
//! 3. the offload pool runs and queues no job (a job's end wakes its caller);
//! 4. every OS thread of the process is accounted for as one of: this runtime's workers, its monitor, an
//!    idle offload pool thread, or an OS thread blocked in a `green` primitive with no deadline (a channel
//!    `recv`, a `join`, a `Mutex::lock`..., `block_on`'s own caller among them). Such a thread is asleep in
//!    the same sense as a parked green thread: only an unpark ends its wait.
//!
//! "Nothing changed in between" means: no worker switched to a green thread or woke up, and no OS thread
//! began a wait, between the two looks. Each condition is read as a snapshot, and any activity between the
//! reads of one look — a waker running while it is read, a thread starting — moves at least one of those
//! counters, or leaves the queue or the thread count that the second look reads, so the second look refutes
//! the first. The counts are exact: an OS thread stops being counted as waiting at the moment an unpark
//! takes it out of its park (the waker uncounts it), not when it gets to run.
//!
//! # What is not detected (no false positive, by construction)
//! - Any other OS thread alive in the process — a test harness's, a thread blocked in `std::sync` or
//!   `std::thread::sleep`, a worker of another runtime — may still wake a green thread (it may hold a
//!   channel's other end), so the report never fires while one exists. In particular it does not fire under
//!   `cargo test`'s harness, whose main thread waits on a `std` channel: test it in a binary of its own (as
//!   `tests/deadlock.rs` does).
//! - A deadlock among some green threads while others keep running, or while any timer or socket could
//!   still wake someone: the runtime as a whole is not asleep. A thread dump (`green::dump()`, SIGQUIT with
//!   `dump_on_sigquit`) shows those.
//! - A runtime without a `block_on` waiting: there is no thread to report in.
//!
//! # How it is reported
//! The monitor asks the main green thread to panic (a bit of its cancel word, like a cancellation) and
//! unparks it; at its park the main green thread takes a thread dump and panics with the message and the
//! dump, which `block_on` re-raises in its caller. If the main green thread waits where it must not unwind —
//! a lending wait (a scope's join: the scoped green threads still borrow its frame) or a destructor during
//! unwinding — the report is printed to stderr and the process aborts instead.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::park::Parker;

/// OS threads blocked in a park with no deadline (see the module docs).
static OS_WAITERS: AtomicUsize = AtomicUsize::new(0);
/// Parks with no deadline begun by OS threads, ever: the "nothing changed" check of the detector.
static OS_WAITS_BEGUN: AtomicU64 = AtomicU64::new(0);

/// The message the main green thread panics with, before the dump.
pub const MESSAGE: &str = "all green threads are asleep - deadlock!";

/// Counts an OS thread's park with no deadline while it lasts.
pub(crate) struct OsWaiter<'a> {
    /// The parking thread's parker.
    parker: &'a Parker,
}

impl<'a> OsWaiter<'a> {
    /// The current OS thread begins a park with no deadline.
    pub(crate) fn begin(parker: &'a Parker) -> OsWaiter<'a> {
        OS_WAITS_BEGUN.fetch_add(1, Ordering::SeqCst);
        OS_WAITERS.fetch_add(1, Ordering::SeqCst);
        parker.os_waiting.store(true, Ordering::SeqCst);
        OsWaiter { parker }
    }
}

impl Drop for OsWaiter<'_> {
    fn drop(&mut self) {
        os_waiter_woken(self.parker);
    }
}

/// Uncounts the OS thread of `parker` if it is still counted (by its waker, or by itself as it returns).
pub(crate) fn os_waiter_woken(parker: &Parker) {
    if parker.os_waiting.load(Ordering::Relaxed) && parker.os_waiting.swap(false, Ordering::SeqCst) {
        OS_WAITERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// OS threads blocked in a `green` park with no deadline now, and how many such parks ever began.
pub(crate) fn os_waiters() -> (usize, u64) {
    (OS_WAITERS.load(Ordering::SeqCst), OS_WAITS_BEGUN.load(Ordering::SeqCst))
}

/// The OS threads of this process now, from `/proc/self/stat` (field 20, `num_threads`).
pub(crate) fn process_threads() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(17)?.parse().ok()
}

/// Raises the report in the current thread, the main green thread the monitor found deadlocked: panics with
/// [`MESSAGE`] and a thread dump, or, when it must not unwind (`unwindable` false), prints them and aborts.
pub(crate) fn report(unwindable: bool) {
    let me = crate::current();
    let waits = match (me.parked_at(), me.waiting()) {
        (Some(at), Some((reason, _))) => format!("{} waits at {at}: {reason}\n", me.describe()),
        _ => String::new(),
    };
    let dump = crate::inspect::dump();
    let report = format!("{MESSAGE}\n{waits}\n{dump}");
    log::error!(target: "green::inspect", "{MESSAGE}");
    if unwindable {
        panic!("{report}");
    }
    eprintln!(
        "{report}\nthe main green thread waits where it cannot unwind (a scope's join or a destructor): aborting"
    );
    std::process::abort();
}
