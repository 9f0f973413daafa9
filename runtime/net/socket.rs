//! [`Socket`]: a std or mio socket in non-blocking mode with its [`Registration`]; every `green::net` type is
//! one of these plus the std-shaped methods.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::reactor::{self, Interest, Registration};

/// A socket whose descriptor is always in non-blocking mode; blocking is emulated by [`Socket::io`].
pub(crate) struct Socket<S: AsRawFd> {
    /// Declared before `inner`: it deregisters the descriptor before `inner` closes it.
    registration: Registration,
    /// The std (or mio) socket owning the descriptor.
    inner: S,
    /// The user's `set_nonblocking(true)`: calls then fail with `WouldBlock` instead of waiting.
    nonblocking: AtomicBool,
}

impl<S: AsRawFd> Socket<S> {
    /// Wraps `inner`, switching its descriptor to non-blocking mode.
    pub(crate) fn new(inner: S) -> io::Result<Socket<S>> {
        reactor::set_nonblocking(inner.as_raw_fd(), true)?;
        Ok(Socket::from_nonblocking(inner))
    }

    /// Wraps `inner`, whose descriptor is already in non-blocking mode (made by mio, or by `accept4`).
    pub(crate) fn from_nonblocking(inner: S) -> Socket<S> {
        Socket { registration: Registration::new(inner.as_raw_fd()), inner, nonblocking: AtomicBool::new(false) }
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

    /// Runs `op` as a blocking call would: waits for `interest` while it fails with `WouldBlock`, at most
    /// `timeout(&inner)` (read only if it has to wait). With `set_nonblocking(true)`, runs it once.
    #[track_caller]
    pub(crate) fn io<R>(
        &self,
        interest: Interest,
        timeout: impl FnOnce(&S) -> io::Result<Option<Duration>>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(&self.inner);
        }
        let deadline = || Ok(timeout(&self.inner)?.and_then(|timeout| Instant::now().checked_add(timeout)));
        self.registration.io(interest, deadline, || op(&self.inner))
    }

    /// [`Socket::io`] for a stream read into `len` bytes: a read that returns fewer (but not end-of-file)
    /// drained the socket, which lets the next read park without a failing system call first.
    #[track_caller]
    pub(crate) fn read(
        &self,
        timeout: impl FnOnce(&S) -> io::Result<Option<Duration>>,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return op(&self.inner);
        }
        let deadline = || Ok(timeout(&self.inner)?.and_then(|timeout| Instant::now().checked_add(timeout)));
        self.registration.io_drain(Interest::Read, deadline, || op(&self.inner), |&read| read > 0 && read < len)
    }

    /// Like [`Socket::io`] with an absolute deadline (connect with a timeout).
    #[track_caller]
    pub(crate) fn io_until<R>(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.registration.io(interest, || Ok(deadline), || op(&self.inner))
    }

    /// The user's non-blocking switch (see the `set_nonblocking` methods).
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    /// A second handle on a duplicate descriptor made by `duplicate`, with its own registration. It starts
    /// with this handle's non-blocking switch, as a duplicate shares `O_NONBLOCK` in std.
    pub(crate) fn try_clone(&self, duplicate: impl FnOnce(&S) -> io::Result<S>) -> io::Result<Socket<S>> {
        let clone = Socket::from_nonblocking(duplicate(&self.inner)?);
        clone.set_nonblocking(self.nonblocking.load(Ordering::Relaxed));
        Ok(clone)
    }

    /// Deregisters and hands back the socket; its descriptor stays in non-blocking mode (a duplicate may still
    /// be in use by a green thread, which must never block its worker).
    pub(crate) fn into_inner(self) -> S {
        let Socket { registration, inner, nonblocking: _ } = self;
        drop(registration);
        inner
    }
}
