//! [`ScheduledIo`]: the readiness of one socket and the threads waiting for it.
//!
//! # State
//! One word holds the readiness bits and a tick:
//!
//! ```text
//!   bit:    63 ........................... 8   7 ..... 2    1       0
//!         [ tick: +1 per event, wrapping     | unused | READ_CLOSED | WRITE | READ ]
//! ```
//!
//! - A bit is *set* by an event of the worker whose `Poll` holds the registration (edge-triggered: the kernel
//!   reports a change, not a level), and *cleared* by a thread whose system call returned `EAGAIN`.
//! - The tick tells the clearing thread whether an event arrived since it read the word before its system call.
//!   If one did, the bit may describe data that arrived *after* the `EAGAIN`; clearing it would lose that edge
//!   and the next wait would sleep forever. So [`ScheduledIo::clear`] clears only when the tick is unchanged.
//!   This is tokio's `ScheduledIo` protocol.
//!
//! Next to the word, under a mutex: a [`WaitQueue`] of readers, one of writers, and `closed` (mirrored in an
//! atomic, so a woken waiter learns it without the lock).
//!
//! # The cost of one wait
//! A wait takes the lock once (to queue itself, re-checking the bit) and reuses the thread's spare
//! [`Waiter`] (no allocation). An event pops the waiters it wakes, so a woken waiter is no longer queued and
//! leaves without locking again; only a waiter that stops for another reason (timeout, cancellation, a
//! spurious wake-up) takes the lock to remove itself. (Measured with callgrind on the echo server: an
//! allocation and two lock round trips per request less, about 200 of ~1,550 user-space instructions.)
//!
//! # Waking
//! An event wakes *every* waiter of the ready direction, not one: with edge-triggered readiness a waiter that
//! is not woken now may never see another edge (the woken one might take only part of the data). Waiting is
//! rare enough per socket (usually one reader and one writer) that this costs nothing in practice. It also
//! means a waiter that gives up (timeout, cancellation) never has to pass a wake-up on.
//!
//! # Ownership
//! Shared (`Arc`) by the socket's [`Registration`](super::Registration) and the slab of the reactor that
//! holds the registration. Any thread may read, set, clear and wait.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::ReactorHandle;
use crate::inspect::WaitReason;
use crate::park::{self, Wake};
use crate::sync::wait_queue::{WaitQueue, Waiter};

/// The socket is readable, or its read side is closed, or it has an error.
const READ: usize = 1 << 0;
/// The socket is writable, or its write side is closed, or it has an error.
const WRITE: usize = 1 << 1;
/// The read side is closed (end-of-file pending) or the socket has an error: sticky, never cleared, because no
/// further edge will report it. A stream read that drained the data clears READ; this bit keeps the next read
/// from parking on an end-of-file that already arrived with that data.
const READ_CLOSED: usize = 1 << 2;
/// The bits below the tick.
const READY_MASK: usize = READ | WRITE | READ_CLOSED;
/// Where the tick starts in the word.
const TICK_SHIFT: u32 = 8;

/// Which readiness a socket call waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// `read`, `recv`, `accept`, `peek`: wait until readable.
    Read,
    /// `write`, `send`, `connect`: wait until writable.
    Write,
}

impl Interest {
    /// This direction's bit in the readiness word.
    fn bit(self) -> usize {
        match self {
            Interest::Read => READ,
            Interest::Write => WRITE,
        }
    }
}

/// A snapshot of the readiness word, taken before a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Readiness(usize);

impl Readiness {
    /// The number of events seen (wrapping), to detect an event between two reads of the word.
    fn tick(self) -> usize {
        self.0 >> TICK_SHIFT
    }

    /// Whether the direction is marked ready (for reading, also when the read side is closed).
    pub(crate) fn is_ready(self, interest: Interest) -> bool {
        let bits = match interest {
            Interest::Read => READ | READ_CLOSED,
            Interest::Write => WRITE,
        };
        self.0 & bits != 0
    }
}

/// How a [`ScheduledIo::wait`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Readiness arrived, the registration moved, or a spurious wake-up: retry the system call.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The socket was closed while we waited.
    Closed,
}

/// The parked threads of one socket (see the module docs).
#[derive(Default)]
struct Waiters {
    /// Threads waiting for [`Interest::Read`].
    readers: WaitQueue,
    /// Threads waiting for [`Interest::Write`].
    writers: WaitQueue,
    /// Set once when the socket is closed; no waiter is queued after that.
    closed: bool,
}

impl Waiters {
    fn queue(&mut self, interest: Interest) -> &mut WaitQueue {
        match interest {
            Interest::Read => &mut self.readers,
            Interest::Write => &mut self.writers,
        }
    }
}

/// Readiness and waiters of one socket (see the module docs).
#[derive(Default)]
pub(crate) struct ScheduledIo {
    /// Tick and ready bits (see the module docs).
    readiness: AtomicUsize,
    /// Who waits for which direction; never locked across a park.
    waiters: Mutex<Waiters>,
    /// `waiters.closed`, readable without the lock; set under it, before the waiters are woken.
    closed: AtomicBool,
}

/// A panic while holding the lock cannot leave `Waiters` half-updated in a way that matters: the queues only
/// hold wake-up handles.
fn lock(waiters: &Mutex<Waiters>) -> MutexGuard<'_, Waiters> {
    waiters.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ScheduledIo {
    /// The current word, read before a system call.
    pub(crate) fn readiness(&self) -> Readiness {
        Readiness(self.readiness.load(Ordering::Acquire))
    }

    /// Records an event from the reactor: bumps the tick, sets `read`/`write`, and wakes the waiters of each
    /// direction that became ready. Returns how many threads were woken.
    pub(crate) fn set_ready(&self, read: bool, write: bool) -> usize {
        let bits = if read { READ } else { 0 } | if write { WRITE } else { 0 };
        let mut current = self.readiness.load(Ordering::Relaxed);
        loop {
            let tick = current.wrapping_add(1 << TICK_SHIFT) & !READY_MASK;
            let next = tick | (current & READY_MASK) | bits;
            match self.readiness.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        if bits == 0 {
            return 0;
        }
        let mut waiters = lock(&self.waiters);
        let mut woken = 0;
        if read {
            woken += waiters.readers.wake_all();
        }
        if write {
            woken += waiters.writers.wake_all();
        }
        woken
    }

    /// Records that the read side is closed or the socket failed (sticky; see `READ_CLOSED`). The reactor
    /// calls it before `set_ready`, so the threads that wakes see it.
    pub(crate) fn mark_read_closed(&self) {
        self.readiness.fetch_or(READ_CLOSED, Ordering::AcqRel);
    }

    /// After `EAGAIN`: clears `interest`'s bit unless an event arrived since `observed` was read.
    pub(crate) fn clear(&self, observed: Readiness, interest: Interest) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            if Readiness(current).tick() != observed.tick() {
                return;
            }
            let next = current & !interest.bit();
            if next == current {
                return;
            }
            match self.readiness.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Parks the current thread until `interest` is ready, `deadline` passes, the socket closes, or the reactor
    /// holding the registration shuts down (`reactor`; `None` for the calling green thread's own worker's
    /// reactor, which lives as long as that green thread runs). A cancellation point: may unwind instead of
    /// returning.
    ///
    /// Returns [`Wait::Ready`] also on spurious wake-ups; the caller retries its system call either way.
    #[track_caller]
    pub(crate) fn wait(
        &self,
        interest: Interest,
        reason: WaitReason,
        deadline: Option<Instant>,
        reactor: Option<&ReactorHandle>,
    ) -> Wait {
        let waiter = Waiter::current();
        {
            let mut waiters = lock(&self.waiters);
            let early = if waiters.closed {
                Some(Wait::Closed)
            } else if self.readiness().is_ready(interest) {
                // Under the lock: an event that set the bit before we locked is visible here; one after finds us
                // in the queue.
                Some(Wait::Ready)
            } else {
                None
            };
            if let Some(outcome) = early {
                drop(waiters);
                Waiter::recycle(waiter);
                return outcome;
            }
            waiters.queue(interest).push(waiter.clone(), 0);
        }
        /// Takes the waiter out of its queue however the wait ends (also when the park unwinds), unless an
        /// event already did: a claimed waiter was popped by the `wake_all` that claimed it.
        struct Dequeue<'a> {
            io: &'a ScheduledIo,
            interest: Interest,
            waiter: &'a Arc<Waiter>,
        }
        impl Drop for Dequeue<'_> {
            fn drop(&mut self) {
                if self.waiter.woken_by().is_none() {
                    lock(&self.io.waiters).queue(self.interest).remove(self.waiter);
                }
            }
        }
        let dequeue = Dequeue { io: self, interest, waiter: &waiter };
        let outcome = loop {
            // Checked after queueing: a reactor that shut down before we queued will never wake us.
            if reactor.is_some_and(ReactorHandle::is_closed) {
                break Wait::Ready;
            }
            let wake = park::park_until(reason, deadline);
            if waiter.woken_by().is_some() || self.readiness().is_ready(interest) {
                break if self.closed.load(Ordering::Acquire) { Wait::Closed } else { Wait::Ready };
            }
            if wake == Wake::TimedOut {
                break Wait::TimedOut;
            }
        };
        drop(dequeue);
        Waiter::recycle(waiter);
        outcome
    }

    /// Whether any thread waits on this socket now.
    pub(crate) fn has_waiters(&self) -> bool {
        let waiters = lock(&self.waiters);
        !waiters.readers.is_empty() || !waiters.writers.is_empty()
    }

    /// Wakes every waiter without changing readiness: they retry (the registration's reactor shut down).
    pub(crate) fn wake_all(&self) -> usize {
        let mut waiters = lock(&self.waiters);
        waiters.readers.wake_all() + waiters.writers.wake_all()
    }

    /// Marks the socket closed and wakes every waiter, which then fails with an error instead of hanging.
    pub(crate) fn close(&self) -> usize {
        let mut waiters = lock(&self.waiters);
        waiters.closed = true;
        self.closed.store(true, Ordering::Release);
        waiters.readers.wake_all() + waiters.writers.wake_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wait reasons the tests' waits record (no real descriptor behind them).
    const READ: WaitReason = WaitReason::SocketRead { fd: 0 };
    /// See [`READ`].
    const WRITE: WaitReason = WaitReason::SocketWrite { fd: 0 };

    #[test]
    fn clear_is_skipped_when_an_event_arrived_after_the_snapshot() {
        let io = ScheduledIo::default();
        io.set_ready(true, false);
        let observed = io.readiness();
        assert!(observed.is_ready(Interest::Read));
        // An edge between the system call and the clear.
        io.set_ready(true, false);
        io.clear(observed, Interest::Read);
        assert!(io.readiness().is_ready(Interest::Read), "the newer edge must survive");
        let observed = io.readiness();
        io.clear(observed, Interest::Read);
        assert!(!io.readiness().is_ready(Interest::Read));
    }

    #[test]
    fn clearing_one_direction_keeps_the_other() {
        let io = ScheduledIo::default();
        io.set_ready(true, true);
        let observed = io.readiness();
        io.clear(observed, Interest::Write);
        assert!(io.readiness().is_ready(Interest::Read));
        assert!(!io.readiness().is_ready(Interest::Write));
    }

    /// A producer adds one item and signals an edge, then waits until it is consumed; the consumer takes what it
    /// finds and otherwise clears and waits, exactly like `Registration::io`. Every item is the last edge for a
    /// while, so an edge lost between the consumer's "system call" and its clear leaves it parked with an item
    /// left: the wait has a deadline, so that shows up as a failure instead of a hang.
    #[test]
    fn no_edge_is_lost_between_the_system_call_and_the_clear() {
        use std::sync::atomic::AtomicU64;
        const ITEMS: u64 = 20_000;
        let poll = mio::Poll::new().unwrap();
        let reactor = ReactorHandle::new(poll.registry().try_clone().unwrap());
        let io = Arc::new(ScheduledIo::default());
        let available = Arc::new(AtomicU64::new(0));
        let consumed = Arc::new(AtomicU64::new(0));
        let producer = {
            let (io, available, consumed) = (io.clone(), available.clone(), consumed.clone());
            std::thread::spawn(move || {
                for item in 0..ITEMS {
                    while consumed.load(Ordering::SeqCst) < item {
                        std::hint::spin_loop();
                    }
                    available.fetch_add(1, Ordering::SeqCst);
                    io.set_ready(true, false);
                }
            })
        };
        while consumed.load(Ordering::SeqCst) < ITEMS {
            let observed = io.readiness();
            let taken = available.swap(0, Ordering::SeqCst);
            if taken > 0 {
                consumed.fetch_add(taken, Ordering::SeqCst);
                continue;
            }
            // The return from the system call takes a while: widens the window the producer must hit.
            for _ in 0..consumed.load(Ordering::Relaxed) % 64 {
                std::hint::spin_loop();
            }
            io.clear(observed, Interest::Read);
            let deadline = Instant::now() + std::time::Duration::from_secs(10);
            let outcome = io.wait(Interest::Read, READ, Some(deadline), Some(&reactor));
            assert_eq!(outcome, Wait::Ready, "an edge was lost after {consumed:?} of {ITEMS} items");
        }
        producer.join().unwrap();
        assert_eq!(consumed.load(Ordering::SeqCst), ITEMS);
        assert!(!io.has_waiters());
    }

    #[test]
    fn a_closed_socket_fails_its_waiters() {
        let poll = mio::Poll::new().unwrap();
        let reactor = Arc::new(ReactorHandle::new(poll.registry().try_clone().unwrap()));
        let io = Arc::new(ScheduledIo::default());
        let waiter = {
            let (io, reactor) = (io.clone(), reactor.clone());
            std::thread::spawn(move || io.wait(Interest::Write, WRITE, None, Some(&reactor)))
        };
        while !io.has_waiters() {
            std::thread::yield_now();
        }
        assert_eq!(io.close(), 1);
        assert_eq!(waiter.join().unwrap(), Wait::Closed);
        assert_eq!(io.wait(Interest::Read, READ, None, Some(&reactor)), Wait::Closed, "no wait after close");
    }

    #[test]
    fn a_waiter_leaves_the_queue_however_its_wait_ends() {
        let poll = mio::Poll::new().unwrap();
        let reactor = Arc::new(ReactorHandle::new(poll.registry().try_clone().unwrap()));
        let io = Arc::new(ScheduledIo::default());
        // Timed out: it removes itself.
        let deadline = Instant::now() + std::time::Duration::from_millis(5);
        assert_eq!(io.wait(Interest::Read, READ, Some(deadline), Some(&reactor)), Wait::TimedOut);
        assert!(!io.has_waiters());
        // Woken by an event: the event popped it, and it does not come back. (A deadline instead of a hang if
        // the wake-up were lost.)
        let waiter = {
            let (io, reactor) = (io.clone(), reactor.clone());
            let deadline = Instant::now() + std::time::Duration::from_secs(10);
            std::thread::spawn(move || io.wait(Interest::Read, READ, Some(deadline), Some(&reactor)))
        };
        while !io.has_waiters() && !waiter.is_finished() {
            std::thread::yield_now();
        }
        assert_eq!(io.set_ready(true, false), 1);
        assert_eq!(waiter.join().unwrap(), Wait::Ready);
        assert!(!io.has_waiters());
        // Already ready: no queueing at all.
        assert_eq!(io.wait(Interest::Read, READ, None, Some(&reactor)), Wait::Ready);
        assert!(!io.has_waiters());
    }

    #[test]
    fn the_tick_wraps_without_touching_the_bits() {
        let io = ScheduledIo::default();
        io.readiness.store(usize::MAX & !READY_MASK, Ordering::Relaxed);
        io.set_ready(false, true);
        let readiness = io.readiness();
        assert_eq!(readiness.tick(), 0);
        assert!(readiness.is_ready(Interest::Write));
        assert!(!readiness.is_ready(Interest::Read));
    }
}
