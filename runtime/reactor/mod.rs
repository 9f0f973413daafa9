//! The reactor: each worker's mio `Poll`, turned by the worker loop.
//!
//! A `turn` waits in `epoll_wait` (or returns at once when the worker is busy), then hands each readiness
//! event to whoever registered the source, which unparks the green threads waiting for it.

mod reactor;

pub(crate) use reactor::Reactor;
