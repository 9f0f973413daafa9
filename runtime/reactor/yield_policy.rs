//! [`YieldPolicy`]: whether a worker about to sleep in `epoll_wait` should first give its CPU away once and
//! poll its reactor again without blocking.
//!
//! # Why
//! A worker whose green threads wait on sockets runs dry whenever none of its sockets has data, and then
//! sleeps in `epoll_wait` until one does. On a busy machine the thread that will send that data is often
//! runnable on this very CPU (on the report's 2 cores: the client, which shares a core with one of the two
//! workers). Sleeping makes the CPU switch to it anyway, but through the idle path: the sleeping worker is later
//! woken by the sender's wake-up (an inter-processor interrupt, in a VM an exit and entry), ~4–5 µs of the
//! server's CPU per sleep on this machine. `sched_yield` gives the CPU to that thread directly; when the worker
//! gets it back, the data is often there, and a non-blocking `epoll_wait` finds it without any sleep.
//! (Measured on the echo server at 100 connections: context switches per request 0.15–0.26 → 0.03–0.12,
//! `epoll_wait`s 0.2–0.36 → 0.05–0.1, plus 0.05–0.07 `sched_yield`s; see DESIGN.md, "Performance".)
//!
//! # When
//! A yield costs two system calls (the yield and the poll) where a sleep that finds data at once costs one,
//! so it pays only where the worker would otherwise *sleep*, and only if someone here sends meanwhile. The
//! policy learns both from what happens:
//! 1. Only with sockets registered (without them a poll can find only wake-ups, which come through the
//!    worker's queues anyway).
//! 2. A blocking wait that really slept (it lasted at least [`SLEPT`]) earns [`CREDIT`] yields for the next
//!    idle spells; one that returned at once (data was already there: a busy server, many connections)
//!    earns none. Each yield spends one, so every few idle spells a plain wait measures again.
//! 3. A yield after which the worker slept anyway (nothing arrived: the data comes from elsewhere, or nothing
//!    comes, an idle server) is a miss: the next `2^misses` sleeps earn nothing (up to 64), so an idle server
//!    pays one useless yield per ~65 idle spells at most. A yield that found work clears the misses.
//! 4. A yield that kept the CPU away longer than [`LONG_YIELD`] (a CPU-bound process ran its time slice here
//!    while our sockets may have been waiting) spends all credit: sleeping, the worker would have been woken
//!    as soon as data arrived.
//!
//! # The wake-up it must not swallow
//! The poll after the yield runs before the worker announces its sleep, so other threads that push work do not
//! write the worker's eventfd then (they see it awake). Those that write it regardless — a runtime's drop, a
//! dump request — may have their wake-up consumed by that poll; the worker then looks again instead of
//! sleeping (`Worker::yield_for_readiness` counts it as work found; `tests/net_runtime_drop.rs`).
//!
//! # Ownership
//! Owned by the worker's [`Reactor`](super::Reactor); the worker's OS thread only.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

/// Yields earned by a wait that slept.
const CREDIT: u32 = 4;
/// A blocking wait at least this long slept (one that finds data at once takes a few microseconds).
const SLEPT: Duration = Duration::from_micros(20);
/// A yield longer than this had the CPU taken by someone else's time slice: stop yielding.
const LONG_YIELD: Duration = Duration::from_micros(50);
/// The most consecutive misses counted: at most 2^6 sleeps pass between two tries.
const MAX_MISSES: u32 = 6;

/// The state of the policy (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct YieldPolicy {
    /// Yields left (rule 2).
    credit: u32,
    /// Consecutive yields after which the worker slept anyway (rule 3).
    misses: u32,
    /// Sleeps that must pass before one earns credit again (rule 3).
    skip: u32,
    /// Whether the current idle spell yielded (its wait, if any, follows a yield that found nothing).
    yielded: bool,
}

impl YieldPolicy {
    /// A policy that yields only once a wait has slept.
    pub(crate) fn new() -> YieldPolicy {
        YieldPolicy::default()
    }

    /// Called when the worker is about to sleep: whether to yield first. `has_sources`: whether any socket
    /// is registered with the reactor. Returns the time the yield starts, for [`end`](YieldPolicy::end).
    pub(crate) fn begin(&mut self, has_sources: bool) -> Option<Instant> {
        self.yielded = has_sources && self.credit > 0;
        if !self.yielded {
            return None;
        }
        self.credit -= 1;
        Some(Instant::now())
    }

    /// After the yield and the poll: `found` tells whether the poll (or another thread meanwhile) gave the
    /// worker something to run.
    pub(crate) fn end(&mut self, started: Instant, found: bool) {
        if found {
            // The spell ends here, without a wait.
            self.yielded = false;
        }
        if started.elapsed() > LONG_YIELD {
            self.credit = 0;
        } else if found {
            self.misses = 0;
        }
    }

    /// After a blocking wait in `epoll_wait` that lasted `waited`.
    pub(crate) fn waited(&mut self, waited: Duration) {
        let yielded = std::mem::take(&mut self.yielded);
        if waited < SLEPT {
            self.credit = 0;
        } else if yielded {
            self.misses = (self.misses + 1).min(MAX_MISSES);
            self.skip = 1 << self.misses;
            self.credit = 0;
        } else if self.skip > 0 {
            self.skip -= 1;
        } else {
            self.credit = CREDIT;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One idle spell: a yield if the policy says so (finding work or not), and, if it found none, a wait of
    /// `waited`. Returns whether it yielded.
    fn spell(policy: &mut YieldPolicy, found: bool, waited: Duration) -> bool {
        let yielded = match policy.begin(true) {
            Some(started) => {
                policy.end(started, found);
                true
            }
            None => false,
        };
        if !(yielded && found) {
            policy.waited(waited);
        }
        yielded
    }

    const ASLEEP: Duration = Duration::from_millis(1);
    const AT_ONCE: Duration = Duration::from_micros(2);

    #[test]
    fn never_without_sockets_nor_before_a_sleep() {
        let mut policy = YieldPolicy::new();
        assert!(policy.begin(true).is_none(), "no wait has slept yet");
        policy.waited(ASLEEP);
        assert!(policy.begin(false).is_none(), "no socket registered");
    }

    #[test]
    fn a_server_that_sleeps_yields_most_idle_spells() {
        let mut policy = YieldPolicy::new();
        policy.waited(ASLEEP);
        let yields = (0..100).filter(|_| spell(&mut policy, true, ASLEEP)).count();
        // CREDIT yields, then one plain wait that sleeps and earns the next CREDIT.
        assert_eq!(yields, 100 * CREDIT as usize / (CREDIT as usize + 1));
    }

    #[test]
    fn a_busy_server_whose_waits_return_at_once_does_not_yield() {
        let mut policy = YieldPolicy::new();
        policy.waited(ASLEEP);
        let yields = (0..100).filter(|_| spell(&mut policy, true, AT_ONCE)).count();
        assert_eq!(yields, CREDIT as usize, "only the credit of the one sleep");
    }

    #[test]
    fn an_idle_server_backs_off_to_one_try_in_sixty_five_spells() {
        let mut policy = YieldPolicy::new();
        policy.waited(ASLEEP);
        let yields = (0..10_000).filter(|_| spell(&mut policy, false, ASLEEP)).count();
        assert!(yields < 10_000 / 60, "{yields} useless yields");
        // A yield that finds work again resets the back-off.
        while !spell(&mut policy, true, ASLEEP) {}
        policy.waited(ASLEEP);
        assert!(policy.begin(true).is_some());
    }

    #[test]
    fn a_long_yield_spends_the_credit() {
        let mut policy = YieldPolicy::new();
        policy.waited(ASLEEP);
        let started = policy.begin(true).expect("credit");
        policy.end(started - LONG_YIELD * 2, true);
        assert!(policy.begin(true).is_none(), "after a long yield, wait");
    }
}
