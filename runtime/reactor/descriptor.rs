//! The two raw descriptor calls `green` needs beyond std and mio: switching `O_NONBLOCK`, and `poll(2)` for
//! plain OS threads that wait on a socket.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

use super::{Interest, Wait};
use crate::park;

/// Sets or clears `O_NONBLOCK` on the open file description behind `fd` (shared by its duplicates).
pub(crate) fn set_nonblocking(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    let mut value = libc::c_int::from(nonblocking);
    // SAFETY: FIONBIO reads one c_int through the pointer, which points to a live local. A bad `fd` is reported
    // as an error, not undefined behaviour.
    let result = unsafe { libc::ioctl(fd, libc::FIONBIO, &mut value) };
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Blocks the calling OS thread in `poll(2)` until `fd` is ready for `interest` or `deadline` passes.
///
/// The wait of a thread that is not a green thread: no reactor is involved, so readiness edges consumed
/// elsewhere do not matter. An enclosing [`timeout`](crate::timeout) scope still interrupts it (the wait is cut
/// at the scope's deadline, where [`park::interruption_point`] unwinds).
pub(crate) fn poll(fd: RawFd, interest: Interest, deadline: Option<Instant>) -> io::Result<Wait> {
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    loop {
        let until = match (deadline, park::interruption_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout_ms = match until {
            None => -1,
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                // Round up: waking before the deadline would only loop again.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let mut pollfd = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: `pollfd` is a live local array of one entry, as the count says.
        let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
        if ready > 0 {
            // Readable/writable, or POLLERR/POLLHUP/POLLNVAL: the retried call reports which.
            return Ok(Wait::Ready);
        }
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        park::interruption_point();
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(Wait::TimedOut);
        }
    }
}
