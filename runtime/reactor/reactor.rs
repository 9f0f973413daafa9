//! [`Reactor`]: the owned side of a worker's event loop.

use std::io;
use std::time::Duration;

use mio::{Events, Poll, Token};

/// The token of the worker's `mio::Waker`.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Events handled per `epoll_wait`.
const EVENTS: usize = 1024;

/// A worker's mio `Poll` and its event buffer.
pub(crate) struct Reactor {
    /// The epoll instance.
    poll: Poll,
    /// Reused event buffer.
    events: Events,
}

impl Reactor {
    /// A new reactor and the waker other threads use to interrupt it.
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        Ok((Reactor { poll, events: Events::with_capacity(EVENTS) }, waker))
    }

    /// The registry sources are registered with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// Waits up to `timeout` (forever for `None`) for events and dispatches them. Returns the number of events.
    pub(crate) fn turn(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(error) => return Err(error),
        }
        let mut count = 0;
        for event in self.events.iter() {
            count += 1;
            if event.token() == WAKER_TOKEN {
                continue;
            }
        }
        Ok(count)
    }
}
