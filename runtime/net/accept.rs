//! What the accept loops of [`TcpListener`](super::TcpListener) and [`UnixListener`](super::unix::UnixListener)
//! share: where the green thread serving an accepted connection starts, and the error policy.
//!
//! # Spreading connections over workers
//! A started green thread never moves (DESIGN.md, "Soundness"), so the worker a connection's green thread
//! starts on serves that connection for its whole life: placement at accept time is the whole load balance of
//! a server. A spawn from a green thread goes to its own worker's injector, where an idle worker may steal it
//! before it starts; that suits spawn-then-join, but an accept loop's worker is busy and starts its new green
//! threads within microseconds, before an idle worker wakes up to steal. Measured with the echo bench at 100
//! connections (one green thread per connection, 2 workers): 86–99 connections on the accepting worker, the
//! rest on the other, which spent its time polling an almost empty reactor (at 1,000: 607 and 393).
//!
//! So a successful accept marks the accepting green thread ([`note_accepted`]), and its next spawn is placed
//! round-robin over the runtime's workers instead, *for good*: on a queue of the chosen worker that idle
//! workers do not steal from ([`take_spread_hint`], read by `RuntimeShared::place`; `WorkerHandle::
//! inject_placed`). Round-robin alone was not enough: the accepting worker, idle for a moment between two
//! connections, stole back what it had placed on a sleeping worker before that one woke up (on the loaded
//! machine, 59–98 of 100 connections still ended on the accepting worker). With both, the idiomatic
//! `for stream in listener.incoming() { green::spawn(...) }` spreads its connections evenly (50/50 and 500/500 measured),
//! and every other spawn keeps its locality and stays stealable. The mark is a hint about placement only: a
//! green thread that accepts without spawning leaves it to be cleared by the next spawn on its worker, which
//! then is spread.
//!
//! # Errors
//!
//! `accept()` itself keeps std's semantics: every error is returned. A server loop that treats every error
//! as fatal dies on a harmless `ECONNABORTED`, and one that ignores errors spins at full speed while the
//! process is out of descriptors (`EMFILE`): the pending connection stays queued, so the listener stays
//! readable and every retry fails at once. [`accept_retrying`] (behind `incoming()` and the listeners'
//! `accept_retrying()`) does what a server wants instead:
//!
//! 1. Errors about one connection that died in the queue (`ECONNABORTED`, `EPROTO` and the network errors
//!    Linux's `accept(2)` page says to treat like `EAGAIN`, and `EINTR`): retry at once, silently.
//! 2. Resource exhaustion (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): log one `warn!` per episode, then sleep
//!    — 10 ms, doubling to 100 ms — and retry, so connections are accepted again as soon as descriptors free
//!    up. The sleep is a cancellation point. When an accept succeeds again, log it at `info!`.
//! 3. Anything else (a closed or invalid listener): return it.

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::io;
use std::time::Duration;

use crate::context;

thread_local! {
    /// The id of the green thread on this OS thread that accepted a connection and has not spawned since
    /// (0: none). Per OS thread, like everything a worker's green threads do between two switches.
    static ACCEPTED_BY: Cell<u64> = const { Cell::new(0) };
}

/// The id of the calling green thread, or `None` on a plain OS thread.
fn current_green_thread() -> Option<u64> {
    context::in_green_thread().then(|| context::with_local(|local| local.thread.id().as_u64()))
}

/// Marks the calling green thread as having just accepted a connection: its next spawn is spread over the
/// workers (see the module docs). Nothing on a plain OS thread, whose spawns are spread anyway.
pub(crate) fn note_accepted() {
    if let Some(id) = current_green_thread() {
        ACCEPTED_BY.with(|accepted| accepted.set(id));
    }
}

/// For placement: whether the spawning green thread accepted a connection since its last spawn. Clears the
/// mark either way, so it applies to one spawn at most.
pub(crate) fn take_spread_hint() -> bool {
    let accepted = ACCEPTED_BY.with(|accepted| accepted.replace(0));
    accepted != 0 && current_green_thread() == Some(accepted)
}

/// The first pause after running out of resources.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause.
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// What to do about an accept error (see the module docs).
enum Policy {
    /// Try again now.
    Retry,
    /// Pause, then try again.
    Pause,
    /// Give the error to the caller.
    Fail,
}

fn policy(error: &io::Error) -> Policy {
    match error.raw_os_error() {
        Some(
            libc::ECONNABORTED
            | libc::EINTR
            | libc::EPROTO
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::ENONET
            | libc::EHOSTUNREACH
            | libc::EOPNOTSUPP
            | libc::ENETUNREACH
            | libc::ENETDOWN,
        ) => Policy::Retry,
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => Policy::Pause,
        _ if error.kind() == io::ErrorKind::Interrupted => Policy::Retry,
        _ => Policy::Fail,
    }
}

/// Calls `accept` until it succeeds or fails with an error worth reporting (see the module docs). `what`
/// names the listener in logs.
#[track_caller]
pub(crate) fn accept_retrying<T>(
    what: &dyn std::fmt::Display,
    mut accept: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    let mut pause = FIRST_PAUSE;
    let mut paused = 0u32;
    loop {
        match accept() {
            Ok(accepted) => {
                if paused > 0 {
                    log::info!(target: "green::net", "{what}: accepting again after {paused} pauses");
                }
                return Ok(accepted);
            }
            Err(error) => match policy(&error) {
                Policy::Retry => {
                    log::debug!(target: "green::net", "{what}: accept: {error}; retrying");
                }
                Policy::Pause => {
                    if paused == 0 {
                        log::warn!(
                            target: "green::net",
                            "{what}: accept: {error}; pausing accepts until resources free up (retrying every \
                             {}-{} ms)",
                            FIRST_PAUSE.as_millis(),
                            LONGEST_PAUSE.as_millis()
                        );
                    }
                    paused += 1;
                    crate::time::sleep(pause);
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
                Policy::Fail => return Err(error),
            },
        }
    }
}
