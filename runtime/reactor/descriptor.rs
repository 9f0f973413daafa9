//! The raw descriptor calls `green` needs beyond std and mio: switching `O_NONBLOCK`, reading a socket's
//! timeout option, and `poll(2)` for plain OS threads that wait on a socket.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

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

/// The socket's `SO_RCVTIMEO` (for [`Interest::Read`]) or `SO_SNDTIMEO` (for [`Interest::Write`]), read as
/// std's `read_timeout` and `write_timeout` read it: `None` when unset (zero).
pub(crate) fn socket_timeout(fd: RawFd, interest: Interest) -> io::Result<Option<Duration>> {
    let option = match interest {
        Interest::Read => libc::SO_RCVTIMEO,
        Interest::Write => libc::SO_SNDTIMEO,
    };
    let mut value = libc::timeval { tv_sec: 0, tv_usec: 0 };
    let mut length = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `length` bytes (the size of the live local `value`) through the pointer
    // and the new length through the other; a bad `fd` is reported as an error.
    let result = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            std::ptr::addr_of_mut!(value).cast::<libc::c_void>(),
            &mut length,
        )
    };
    if result == -1 {
        return Err(io::Error::last_os_error());
    }
    if value.tv_sec == 0 && value.tv_usec == 0 {
        return Ok(None);
    }
    // The kernel never reports a negative time; treat one as zero rather than wrapping.
    let seconds = u64::try_from(value.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(value.tv_usec).unwrap_or(0) * 1_000;
    Ok(Some(Duration::new(seconds, nanos)))
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
