//! [`Registration`]: a socket's link to the reactor, and [`Registration::io`], the one readiness-and-retry
//! path every socket call takes (steps 2–7 of the read traced in the [module docs](super)).

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use mio::Token;

use super::{descriptor, Interest, ReactorHandle, ScheduledIo, Wait};
use crate::context;
use crate::inspect::WaitReason;

/// Where a socket is registered now.
struct Home {
    /// The reactor whose `Poll` holds the descriptor.
    reactor: Arc<ReactorHandle>,
    /// Its token there.
    token: Token,
}

/// One socket descriptor's registration state; owned by the socket (see the [module docs](super)).
///
/// The socket must declare it *before* the field that owns the descriptor: it deregisters in `Drop`, which
/// needs the descriptor still open.
pub(crate) struct Registration {
    /// The socket's descriptor (owned by the socket, not by us).
    fd: RawFd,
    /// Readiness and waiters; the same for the socket's whole life, whichever reactor holds it.
    io: Arc<ScheduledIo>,
    /// The reactor holding the descriptor, if any. Locked only for (re)registration, never across a park.
    home: Mutex<Option<Home>>,
    /// The id of `home`'s reactor, or [`NO_HOME`]: written under the `home` lock, read without it by the
    /// check every wait starts with (is the registration with the calling green thread's worker?). Reactor ids
    /// are never reused, and the current worker's reactor is live while its green thread runs, so an equal id
    /// means "here, live".
    home_id: AtomicUsize,
}

/// `home_id` of a registration that no reactor holds.
const NO_HOME: usize = usize::MAX;

impl Registration {
    /// The registration of `fd`, which must be in non-blocking mode. Nothing is registered until a green thread
    /// first has to wait on it.
    pub(crate) fn new(fd: RawFd) -> Registration {
        Registration { fd, io: Arc::default(), home: Mutex::new(None), home_id: AtomicUsize::new(NO_HOME) }
    }

    fn home(&self) -> MutexGuard<'_, Option<Home>> {
        self.home.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs the non-blocking system call `op` until it does not fail with `WouldBlock`, waiting for `interest`
    /// in between: parks a green thread on its worker's reactor, blocks an OS thread in `poll(2)`.
    ///
    /// `deadline` is asked once, at the first `WouldBlock` (reading a socket's timeout costs a system call the
    /// fast path should not pay). When it passes, returns `EAGAIN` (kind `WouldBlock`), which is what std's
    /// socket timeouts return on Unix. A cancellation point (while waiting).
    #[track_caller]
    pub(crate) fn io<R>(
        &self,
        interest: Interest,
        deadline: impl FnOnce() -> io::Result<Option<Instant>>,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_drain(interest, deadline, op, |_| false)
    }

    /// [`Registration::io`] for calls that can tell from their result that they drained the socket (a stream
    /// read that filled less than its buffer): then the ready bit is cleared at once (if no event arrived
    /// meanwhile, the same tick check as after `EAGAIN`), so the next call parks without first paying for a
    /// system call that would fail. Edge-triggered epoll reports any data that arrives later as a new event.
    #[track_caller]
    pub(crate) fn io_drain<R>(
        &self,
        interest: Interest,
        deadline: impl FnOnce() -> io::Result<Option<Instant>>,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> io::Result<R> {
        let mut deadline_source = Some(deadline);
        let mut deadline = None;
        let mut first = true;
        loop {
            let observed = self.io.readiness();
            // A registered socket whose bit is clear would fail with EAGAIN: skip that system call and wait
            // (only on the first try, only where this worker's reactor keeps the bit up to date).
            let known_not_ready = first && !observed.is_ready(interest) && self.is_home_here();
            first = false;
            if !known_not_ready {
                match op() {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Ok(result) => {
                        if drained(&result) {
                            self.io.clear(observed, interest);
                        }
                        return Ok(result);
                    }
                    result => return result,
                }
            }
            if let Some(source) = deadline_source.take() {
                deadline = source()?;
            }
            let outcome = if context::in_green_thread() {
                self.io.clear(observed, interest);
                let reason = match interest {
                    Interest::Read => WaitReason::SocketRead { fd: self.fd },
                    Interest::Write => WaitReason::SocketWrite { fd: self.fd },
                };
                if self.is_home_here() {
                    // The usual case, without a lock: this worker's reactor, live while we run.
                    log::trace!(target: "green::reactor", "fd {}: wait for {interest:?} here", self.fd);
                    self.io.wait(interest, reason, deadline, None)
                } else {
                    let reactor = self.ensure_home()?;
                    log::trace!(target: "green::reactor", "fd {}: wait for {interest:?} on reactor {}", self.fd, reactor.id());
                    self.io.wait(interest, reason, deadline, Some(&reactor))
                }
            } else {
                descriptor::poll(self.fd, interest, deadline)?
            };
            log::trace!(target: "green::reactor", "fd {}: {interest:?} wait ended: {outcome:?}", self.fd);
            match outcome {
                Wait::Ready => {}
                Wait::TimedOut => return Err(io::Error::from_raw_os_error(libc::EAGAIN)),
                Wait::Closed => {
                    return Err(io::Error::new(io::ErrorKind::NotConnected, "the socket was closed while waiting"))
                }
            }
        }
    }

    /// Whether the calling green thread's worker holds this registration (its reactor is live while the green
    /// thread runs), so the ready bits are kept up to date by events this worker polls. No lock: see `home_id`.
    fn is_home_here(&self) -> bool {
        let home_id = self.home_id.load(Ordering::Acquire);
        home_id != NO_HOME
            && context::in_green_thread()
            && context::with_worker(|worker| {
                worker.is_some_and(|worker| worker.with_reactor(|reactor| reactor.handle().id() == home_id))
            })
    }

    /// Makes sure the descriptor is registered with a live reactor the current green thread's worker turns,
    /// and returns that reactor (step 4 of the module docs):
    ///
    /// - not registered yet: register with this worker;
    /// - registered here: nothing to do;
    /// - registered with another worker's reactor that shut down: move here;
    /// - registered with another live worker: move here if nobody waits on it there (the socket moved), stay
    ///   otherwise (the socket is shared right now; its events wake us across workers).
    fn ensure_home(&self) -> io::Result<Arc<ReactorHandle>> {
        let here = context::with_worker(|worker| {
            worker.expect("a green thread runs on a worker").with_reactor(|reactor| reactor.handle().clone())
        });
        let mut home = self.home();
        if let Some(current) = home.as_ref() {
            if Arc::ptr_eq(&current.reactor, &here) {
                return Ok(here);
            }
            if !current.reactor.is_closed() && self.io.has_waiters() {
                return Ok(current.reactor.clone());
            }
            log::trace!(
                target: "green::reactor",
                "move fd {} from reactor {} to reactor {}",
                self.fd,
                current.reactor.id(),
                here.id()
            );
            current.reactor.deregister(self.fd, current.token);
            *home = None;
            self.home_id.store(NO_HOME, Ordering::Release);
        }
        // Registering reports the current readiness as an event: nothing that happened before is lost.
        let token = here.register(self.fd, self.io.clone())?;
        self.home_id.store(here.id(), Ordering::Release);
        *home = Some(Home { reactor: here.clone(), token });
        Ok(here)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let home = self.home.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(home) = home {
            home.reactor.deregister(self.fd, home.token);
        }
        let woken = self.io.close();
        if woken > 0 {
            log::trace!(target: "green::reactor", "fd {} closed: woke {woken} waiters", self.fd);
        }
    }
}
