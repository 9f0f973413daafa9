//! [`ReactorHandle`]: the shared side of a worker's reactor — its registry and its table of registrations.
//!
//! # State
//! - `registry`: a clone of the worker's mio `Registry` (a duplicate of the epoll descriptor), so any thread
//!   can deregister a socket, e.g. one dropped on another worker.
//! - `registrations`: a slab of [`ScheduledIo`]s. A socket's mio token packs its slab key (low half) and a
//!   generation (high half, top bit clear so no token equals the waker's `usize::MAX`). A key is reused after
//!   deregistration, the generation is not (until it wraps): an event that was already fetched by
//!   `epoll_wait` when another thread deregistered the socket finds a different generation and is dropped.
//! - `closed`: set once when the worker's reactor is dropped (runtime shut down); no registration is accepted
//!   after that, and every registered socket's waiters are woken to re-register elsewhere.
//!
//! # Ownership
//! Registering happens only on the worker's own OS thread (a green thread registers with its own worker);
//! deregistering and the `closed` check may happen anywhere. Event dispatch locks the slab once per `turn`.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mio::unix::SourceFd;
use mio::{Interest as MioInterest, Token};
use slab::Slab;

use super::ScheduledIo;

/// Bits of a token holding the slab key.
const KEY_BITS: u32 = usize::BITS / 2;
/// Mask of the slab key.
const KEY_MASK: usize = (1 << KEY_BITS) - 1;
/// Generations wrap within this mask, which keeps the token's top bit clear.
const GENERATION_MASK: usize = usize::MAX >> (KEY_BITS + 1);

/// One registered socket.
struct Entry {
    /// The generation its token carries.
    generation: usize,
    /// Its readiness and waiters, shared with the socket.
    io: Arc<ScheduledIo>,
}

/// The slab and the generation counter, under one lock.
#[derive(Default)]
struct Registrations {
    /// Registered sockets by key.
    slab: Slab<Entry>,
    /// The generation the next registration gets.
    next_generation: usize,
}

/// The shared side of one worker's reactor (see the module docs).
pub(crate) struct ReactorHandle {
    /// Numbers reactors in logs.
    id: usize,
    /// The worker's registry, cloned.
    registry: mio::Registry,
    /// Registered sockets.
    registrations: Mutex<Registrations>,
    /// The number of registered sockets (the worker skips non-blocking polls when it is 0).
    count: AtomicUsize,
    /// True once the reactor is dropped.
    closed: AtomicBool,
}

/// Splits a token into slab key and generation.
fn unpack(token: Token) -> (usize, usize) {
    (token.0 & KEY_MASK, token.0 >> KEY_BITS)
}

impl ReactorHandle {
    pub(crate) fn new(registry: mio::Registry) -> ReactorHandle {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        ReactorHandle {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry,
            registrations: Mutex::new(Registrations::default()),
            count: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registrations> {
        self.registrations.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The reactor's number in logs.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Whether the reactor is gone (its worker stopped): registrations here no longer get events.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Whether any socket is registered.
    pub(crate) fn has_sources(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Registers `fd` edge-triggered for both directions; events for it go to `io`. Returns its token.
    pub(crate) fn register(&self, fd: RawFd, io: Arc<ScheduledIo>) -> io::Result<Token> {
        let token = {
            let mut registrations = self.lock();
            if self.is_closed() {
                return Err(io::Error::other("the worker's reactor has shut down"));
            }
            let generation = registrations.next_generation;
            registrations.next_generation = (generation + 1) & GENERATION_MASK;
            let entry = registrations.slab.vacant_entry();
            let key = entry.key();
            if key > KEY_MASK {
                return Err(io::Error::other("too many sockets registered with one worker"));
            }
            entry.insert(Entry { generation, io });
            Token(generation << KEY_BITS | key)
        };
        let interest = MioInterest::READABLE | MioInterest::WRITABLE;
        if let Err(error) = self.registry.register(&mut SourceFd(&fd), token, interest) {
            self.lock().slab.remove(unpack(token).0);
            return Err(error);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        log::trace!(target: "green::reactor", "reactor {}: register fd {fd} as token {:#x}", self.id, token.0);
        Ok(token)
    }

    /// Removes `fd` (registered as `token`) from the `Poll` and the slab. Any thread may call it.
    pub(crate) fn deregister(&self, fd: RawFd, token: Token) {
        if self.is_closed() {
            // Nobody polls that epoll instance any more; its slab is already empty.
            return;
        }
        if let Err(error) = self.registry.deregister(&mut SourceFd(&fd)) {
            log::debug!(target: "green::reactor", "reactor {}: deregister fd {fd}: {error}", self.id);
        }
        let (key, generation) = unpack(token);
        let mut registrations = self.lock();
        if registrations.slab.get(key).is_some_and(|entry| entry.generation == generation) {
            registrations.slab.remove(key);
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        log::trace!(target: "green::reactor", "reactor {}: deregister fd {fd} (token {:#x})", self.id, token.0);
    }

    /// Looks up the sockets of a batch of events; `f` gets each live one with its event. Stale tokens (the
    /// socket was deregistered after `epoll_wait` fetched the event) are skipped.
    pub(crate) fn dispatch<'e>(
        &self,
        events: impl Iterator<Item = &'e mio::event::Event>,
        mut f: impl FnMut(&Arc<ScheduledIo>, &mio::event::Event),
    ) {
        let registrations = self.lock();
        for event in events {
            let (key, generation) = unpack(event.token());
            match registrations.slab.get(key) {
                Some(entry) if entry.generation == generation => f(&entry.io, event),
                _ => log::trace!(target: "green::reactor", "reactor {}: stale token {:#x}", self.id, event.token().0),
            }
        }
    }

    /// Shuts the table down (the reactor is being dropped): refuses new registrations and wakes every waiter
    /// so it re-registers wherever it runs now.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let entries: Vec<Entry> = self.lock().slab.drain().collect();
        self.count.store(0, Ordering::Relaxed);
        for entry in entries {
            entry.io.wake_all();
        }
        log::trace!(target: "green::reactor", "reactor {} closed", self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_collide_with_the_waker_and_stale_generations_are_ignored() {
        let poll = mio::Poll::new().unwrap();
        let handle = ReactorHandle::new(poll.registry().try_clone().unwrap());
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        let first = handle.register(a.as_raw_fd(), Arc::default()).unwrap();
        handle.deregister(a.as_raw_fd(), first);
        let second = handle.register(b.as_raw_fd(), Arc::default()).unwrap();
        let (first_key, first_generation) = unpack(first);
        let (second_key, second_generation) = unpack(second);
        assert_eq!(first_key, second_key, "the slab key is reused");
        assert_ne!(first_generation, second_generation, "the generation is not");
        assert!(handle.has_sources());
        // A stale token, as an event fetched before the deregistration would carry, finds nothing.
        assert!(handle.lock().slab.get(first_key).is_some_and(|entry| entry.generation != first_generation));
        let wrapped = Token(GENERATION_MASK << KEY_BITS | KEY_MASK);
        assert_ne!(wrapped, crate::reactor::reactor::WAKER_TOKEN);
        assert_eq!(unpack(wrapped), (KEY_MASK, GENERATION_MASK));
        handle.deregister(b.as_raw_fd(), second);
        assert!(!handle.has_sources());
    }
}
