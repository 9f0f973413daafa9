//! The accept loop's error policy, shared by [`TcpListener`](super::TcpListener) and
//! [`UnixListener`](super::unix::UnixListener).
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

use std::io;
use std::time::Duration;

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
