//! [`Reactor`]: the owned side of a worker's event loop.

#![forbid(unsafe_code)]

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::yield_policy::YieldPolicy;
use super::ReactorHandle;

/// The token of the worker's `mio::Waker`.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Events handled per `epoll_wait`.
const EVENTS: usize = 1024;

/// What one [`Reactor::turn`] found.
pub(crate) struct Turned {
    /// Events handled: socket readiness and wake-ups.
    pub(crate) events: usize,
    /// Whether another thread's wake-up (the worker's `mio::Waker`) was among them: the worker sizes its
    /// pre-sleep spin by it.
    pub(crate) woken: bool,
}

/// A worker's mio `Poll`, its event buffer and the table its sockets are registered in.
pub(crate) struct Reactor {
    /// The epoll instance.
    poll: Poll,
    /// Reused event buffer.
    events: Events,
    /// The shared side: registry clone and registration table.
    handle: Arc<ReactorHandle>,
    /// Whether to give the CPU away once before sleeping (see `yield_policy.rs`).
    yield_policy: YieldPolicy,
}

impl Reactor {
    /// A new reactor and the waker other threads use to interrupt it.
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let handle = Arc::new(ReactorHandle::new(poll.registry().try_clone()?));
        let reactor = Reactor { poll, events: Events::with_capacity(EVENTS), handle, yield_policy: YieldPolicy::new() };
        Ok((reactor, waker))
    }

    /// The shared side, which sockets register with.
    pub(crate) fn handle(&self) -> &Arc<ReactorHandle> {
        &self.handle
    }

    /// Whether any socket is registered here: without one, a non-blocking `turn` can only find wake-ups,
    /// which the worker drains anyway, so it may skip the system call.
    pub(crate) fn has_sources(&self) -> bool {
        self.handle.has_sources()
    }

    /// Before the worker sleeps: whether it should first yield its CPU once and poll again without blocking
    /// (`yield_policy.rs`). Returns when the yield starts, for [`end_yield`](Reactor::end_yield).
    pub(crate) fn begin_yield(&mut self) -> Option<Instant> {
        let has_sources = self.has_sources();
        self.yield_policy.begin(has_sources)
    }

    /// After that yield and poll: whether they gave the worker something to run.
    pub(crate) fn end_yield(&mut self, started: Instant, found: bool) {
        self.yield_policy.end(started, found);
    }

    /// Waits up to `timeout` (forever for `None`) for events and dispatches them: step 6 of the read traced in
    /// the [module docs](super).
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<Turned> {
        let blocking = timeout != Some(Duration::ZERO);
        let started = blocking.then(Instant::now);
        let polled = self.poll.poll(&mut self.events, timeout);
        if let Some(started) = started {
            self.yield_policy.waited(started.elapsed());
        }
        match polled {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(Turned { events: 0, woken: false }),
            Err(error) => return Err(error),
        }
        let mut count = 0;
        let mut woken = false;
        let mut sockets = false;
        for event in self.events.iter() {
            count += 1;
            woken |= event.token() == WAKER_TOKEN;
            sockets |= event.token() != WAKER_TOKEN;
        }
        if sockets {
            let id = self.handle.id();
            let events = self.events.iter().filter(|event| event.token() != WAKER_TOKEN);
            self.handle.dispatch(events, |io, event| {
                let read = event.is_readable() || event.is_read_closed() || event.is_error();
                let write = event.is_writable() || event.is_write_closed() || event.is_error();
                if event.is_read_closed() || event.is_error() {
                    io.mark_read_closed();
                }
                let woken = io.set_ready(read, write);
                log::trace!(
                    target: "green::reactor",
                    "reactor {id}: event token {:#x} read {read} write {write}: woke {woken}",
                    event.token().0
                );
            });
        }
        Ok(Turned { events: count, woken })
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.handle.close();
    }
}
