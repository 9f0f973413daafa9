//! [`Socket`]: a std or mio socket in non-blocking mode with its [`Registration`] and its timeouts; every
//! `green::net` type is one of these plus the std-shaped methods.
//!
//! # Timeouts
//! std keeps a socket's read and write timeouts in the kernel (`SO_RCVTIMEO`, `SO_SNDTIMEO`), where its
//! blocking calls find them. Our descriptors never block, so the kernel options do nothing for us but still
//! have to be read to compute a deadline: one `getsockopt` each time a call must wait, which was one system
//! call per request for an echo server. So [`Timeouts`] keeps them in the socket, shared with its clones (the
//! kernel options belong to the socket, not to one descriptor):
//!
//! - the setters still set the kernel option, as std does, then the cached value: code holding the raw
//!   descriptor (`into_raw_fd`, `as_fd`) sees what the user set, and the getters keep reading the kernel so
//!   they return exactly what std's return (rounded to the kernel's microseconds);
//! - a socket starts with both timeouts *unknown* and reads the kernel once, the first time a call has to
//!   wait: an adopted std socket (`From`, `from_raw_fd`) or an accepted one (Linux copies the listener's
//!   options) may already have one. After that, only our setters change the cache; an option set behind our
//!   back on the raw descriptor (`setsockopt` on `as_raw_fd()`) is not seen by calls that already cached one.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accept;
use crate::reactor::{self, Interest, Registration};

/// A timeout slot that has not read the kernel's option yet.
const UNKNOWN: u64 = u64::MAX;
/// A timeout slot holding "no timeout".
const NO_TIMEOUT: u64 = u64::MAX - 1;

/// A socket's read and write timeouts, cached (see the module docs).
///
/// Each slot holds nanoseconds, or [`NO_TIMEOUT`], or [`UNKNOWN`]. A timeout longer than ~584 years is
/// stored as 584 years.
struct Timeouts {
    /// The read timeout.
    read: AtomicU64,
    /// The write timeout.
    write: AtomicU64,
}

impl Timeouts {
    /// Both unknown.
    fn new() -> Timeouts {
        Timeouts { read: AtomicU64::new(UNKNOWN), write: AtomicU64::new(UNKNOWN) }
    }

    fn slot(&self, interest: Interest) -> &AtomicU64 {
        match interest {
            Interest::Read => &self.read,
            Interest::Write => &self.write,
        }
    }

    fn encode(timeout: Option<Duration>) -> u64 {
        timeout.map_or(NO_TIMEOUT, |timeout| u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX).min(NO_TIMEOUT - 1))
    }

    /// Records what a setter just set.
    fn set(&self, interest: Interest, timeout: Option<Duration>) {
        self.slot(interest).store(Timeouts::encode(timeout), Ordering::Relaxed);
    }

    /// The timeout of `interest`, reading the kernel's option of `fd` the first time.
    fn get(&self, interest: Interest, fd: RawFd) -> io::Result<Option<Duration>> {
        let slot = self.slot(interest);
        let mut value = slot.load(Ordering::Relaxed);
        if value == UNKNOWN {
            let kernel = Timeouts::encode(reactor::socket_timeout(fd, interest)?);
            // A setter that ran meanwhile wins: its value is newer than what we read.
            value = match slot.compare_exchange(UNKNOWN, kernel, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => kernel,
                Err(set) => set,
            };
        }
        Ok((value != NO_TIMEOUT).then(|| Duration::from_nanos(value)))
    }
}

/// The most buffers one `readv`/`writev` takes (Linux's `IOV_MAX`); std passes only that many.
const MAX_BUFFERS: usize = 1024;

/// The `len` of [`Socket::transfer`] for a vectored call: the buffers' total, or 0 ("cannot tell it
/// drained") when there are more buffers than one system call takes, since it then moves only the first ones.
pub(crate) fn vectored_len(lengths: impl ExactSizeIterator<Item = usize>) -> usize {
    if lengths.len() > MAX_BUFFERS {
        0
    } else {
        lengths.sum()
    }
}

/// A socket whose descriptor is always in non-blocking mode; blocking is emulated by [`Socket::io`].
pub(crate) struct Socket<S: AsRawFd> {
    /// Declared before `inner`: it deregisters the descriptor before `inner` closes it.
    registration: Registration,
    /// The std (or mio) socket owning the descriptor.
    inner: S,
    /// The user's `set_nonblocking(true)`: calls then fail with `WouldBlock` instead of waiting.
    nonblocking: AtomicBool,
    /// The read and write timeouts, shared with clones.
    timeouts: Arc<Timeouts>,
}

impl<S: AsRawFd> Socket<S> {
    /// Wraps `inner`, switching its descriptor to non-blocking mode.
    pub(crate) fn new(inner: S) -> io::Result<Socket<S>> {
        reactor::set_nonblocking(inner.as_raw_fd(), true)?;
        Ok(Socket::from_nonblocking(inner))
    }

    /// Wraps `inner`, whose descriptor is already in non-blocking mode (made by mio, or by `accept4`).
    pub(crate) fn from_nonblocking(inner: S) -> Socket<S> {
        Socket {
            registration: Registration::new(inner.as_raw_fd()),
            inner,
            nonblocking: AtomicBool::new(false),
            timeouts: Arc::new(Timeouts::new()),
        }
    }

    /// Wraps `inner` in an infallible conversion (`FromRawFd`, `From<OwnedFd>`). Switching to non-blocking
    /// mode fails only for a descriptor that is not a valid socket, on which every call fails anyway.
    pub(crate) fn adopt(inner: S) -> Socket<S> {
        if let Err(error) = reactor::set_nonblocking(inner.as_raw_fd(), true) {
            log::warn!(target: "green::net", "fd {}: cannot switch to non-blocking mode: {error}", inner.as_raw_fd());
        }
        Socket::from_nonblocking(inner)
    }

    /// The wrapped socket, for calls that never block.
    pub(crate) fn get(&self) -> &S {
        &self.inner
    }

    /// The descriptor.
    pub(crate) fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }

    /// The deadline of a call that starts waiting now, from the socket's timeout for `interest`.
    fn deadline(&self, interest: Interest) -> io::Result<Option<Instant>> {
        let timeout = self.timeouts.get(interest, self.inner.as_raw_fd())?;
        Ok(timeout.and_then(|timeout| Instant::now().checked_add(timeout)))
    }

    /// Runs `op` as a blocking call would: waits for `interest` while it fails with `WouldBlock`, at most the
    /// socket's timeout for that direction (looked at only if it has to wait). With `set_nonblocking(true)`,
    /// runs it once.
    #[track_caller]
    pub(crate) fn io<R>(&self, interest: Interest, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(&self.inner);
        }
        self.registration.io(interest, || self.deadline(interest), || op(&self.inner))
    }

    /// [`Socket::io`] for a stream read or write of `len` bytes (`interest` tells which): one that moves fewer
    /// bytes (but not zero: end-of-file) drained the receive queue or filled the send buffer, which lets the
    /// next call park without a failing system call first (`len` 0: never treated as drained).
    #[track_caller]
    pub(crate) fn transfer(
        &self,
        interest: Interest,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(&self.inner);
        }
        let drained = |&moved: &usize| moved > 0 && moved < len;
        self.registration.io_drain(interest, || self.deadline(interest), || op(&self.inner), drained)
    }

    /// Waits for a connection: [`Socket::io`] without a timeout (std's listeners have none), and the accepting
    /// green thread's next spawn is spread over the workers (see `accept`'s module docs).
    #[track_caller]
    pub(crate) fn accept<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let accepted = if self.nonblocking.load(Ordering::Relaxed) {
            op(&self.inner)
        } else {
            self.registration.io(Interest::Read, || Ok(None), || op(&self.inner))
        };
        if accepted.is_ok() {
            accept::note_accepted();
        }
        accepted
    }

    /// Like [`Socket::io`] with an absolute deadline (connect with a timeout) instead of the socket's timeout.
    #[track_caller]
    pub(crate) fn io_until<R>(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.io(interest, || Ok(deadline), || op(&self.inner))
    }

    /// Sets the timeout of `interest` with `set` (std's setter: it validates and sets the kernel option), then
    /// caches it for the waits.
    pub(crate) fn set_timeout(
        &self,
        interest: Interest,
        timeout: Option<Duration>,
        set: impl FnOnce(&S, Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        set(&self.inner, timeout)?;
        self.timeouts.set(interest, timeout);
        Ok(())
    }

    /// The user's non-blocking switch (see the `set_nonblocking` methods).
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    /// A second handle on a duplicate descriptor made by `duplicate`, with its own registration. It starts
    /// with this handle's non-blocking switch, as a duplicate shares `O_NONBLOCK` in std, and shares its timeouts.
    pub(crate) fn try_clone(&self, duplicate: impl FnOnce(&S) -> io::Result<S>) -> io::Result<Socket<S>> {
        let mut clone = Socket::from_nonblocking(duplicate(&self.inner)?);
        clone.set_nonblocking(self.nonblocking.load(Ordering::Relaxed));
        clone.timeouts = self.timeouts.clone();
        Ok(clone)
    }

    /// Deregisters and hands back the socket; its descriptor stays in non-blocking mode (a duplicate may still
    /// be in use by a green thread, which must never block its worker).
    pub(crate) fn into_inner(self) -> S {
        let Socket { registration, inner, nonblocking: _, timeouts: _ } = self;
        drop(registration);
        inner
    }
}
