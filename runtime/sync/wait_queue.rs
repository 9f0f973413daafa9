//! [`WaitQueue`]: the FIFO of parked threads behind every blocking primitive.
//!
//! A primitive (mutex, channel, semaphore, ...) keeps a `WaitQueue` inside the lock that protects its own
//! state. To wait, a thread pushes a [`Waiter`] and parks (through [`crate::park`](mod@crate::park)) until the waiter is woken;
//! to wake, a thread pops waiters in FIFO order and calls [`Waiter::wake`].
//!
//! # Waking exactly once
//! A waiter can be registered with several queues at once (a `select!` over many channels). Its `selected`
//! word is claimed by CAS: the first waker wins and records *which* registration (token) fired; later wakers
//! see the claim fail and move on to the next waiter, so a wake-up is never spent on a thread that will not
//! use it. A waiter that stops waiting (timeout, cancellation) claims itself with [`Waiter::abort`]; if that
//! fails, a waker got there first and the primitive must pass the wake-up on (or consume it), or it is lost.
//!
//! # Ownership
//! The queue itself is protected by the primitive's lock. A [`Waiter`] is shared (`Arc`) between the waiting
//! thread and the queues it sits in.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::context;
use crate::inspect::WaitReason;
use crate::park::{self, Wake};
use crate::thread::Thread;

/// Not claimed yet.
const WAITING: usize = 0;
/// Claimed by the waiting thread itself (it gave up).
const ABORTED: usize = usize::MAX;

/// One parked (or about to park) thread in one or more wait queues.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// The thread to unpark.
    thread: Thread,
    /// WAITING, ABORTED, or `token + 1` of the registration that woke it.
    selected: AtomicUsize,
}

impl Waiter {
    /// A fresh (unclaimed) waiter for the calling thread: its spare one if it has one (see
    /// [`recycle`](Waiter::recycle)), else a new one.
    pub(crate) fn current() -> Arc<Waiter> {
        context::with_local(|local| match local.spare_waiter.take() {
            Some(spare) => spare,
            None => Arc::new(Waiter { thread: local.thread.clone(), selected: AtomicUsize::new(WAITING) }),
        })
    }

    /// Hands a waiter back after use, so the thread's next blocking call need not allocate. Kept only if
    /// nothing else holds it (no queue, no waker about to unpark it) and it belongs to the calling thread;
    /// otherwise simply dropped. Callers that never recycle lose nothing but the reuse.
    pub(crate) fn recycle(waiter: Arc<Waiter>) {
        // No `Weak` is ever made, so a strong count of 1 means nobody else can reach it. The fence pairs with
        // the release decrement of the last other holder, so its accesses happen before the reset.
        if Arc::strong_count(&waiter) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        context::with_local(|local| {
            if waiter.thread.id() == local.thread.id() {
                waiter.selected.store(WAITING, Ordering::Relaxed);
                local.spare_waiter.set(Some(waiter));
            }
        });
    }

    /// Claims the waiter for registration `token` and unparks its thread; false if it was already claimed.
    pub(crate) fn wake(&self, token: usize) -> bool {
        debug_assert!(token < ABORTED - 1);
        let won = self.selected.compare_exchange(WAITING, token + 1, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if won {
            self.thread.unpark();
        }
        won
    }

    /// Claims the waiter for `token` without unparking (the caller is the waiting thread itself, e.g. a
    /// `select!` that found an arm ready while registering).
    pub(crate) fn claim(&self, token: usize) -> bool {
        self.selected.compare_exchange(WAITING, token + 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The waiting thread gives up; returns the token that woke it if a waker won the race instead.
    pub(crate) fn abort(&self) -> Option<usize> {
        match self.selected.compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => None,
            Err(selected) => Some(selected - 1),
        }
    }

    /// The token of the registration that woke it, if any.
    pub(crate) fn woken_by(&self) -> Option<usize> {
        match self.selected.load(Ordering::Acquire) {
            WAITING | ABORTED => None,
            selected => Some(selected - 1),
        }
    }

    /// The waiting thread.
    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Parks the calling thread (the waiting one) until a waker claims this waiter, or until `deadline`.
    ///
    /// Returns the claiming token. When the deadline passes first it calls `give_up(false)` and returns its
    /// result; when the park unwinds (cancellation, an expired timeout scope) it calls `give_up(true)` during
    /// the unwinding. `give_up` must take the primitive's lock, call [`Waiter::abort`] and, if that returns
    /// `None`, remove the registration; if it returns `Some(token)` a waker won the race: on a timeout the
    /// caller may take what the token gave, while unwinding `give_up` must pass it on itself.
    #[track_caller]
    pub(crate) fn park_until_claimed(
        &self,
        reason: WaitReason,
        deadline: Option<Instant>,
        give_up: impl FnOnce(bool) -> Option<usize>,
    ) -> Option<usize> {
        /// Runs `give_up(true)` if the park unwinds.
        struct OnUnwind<F: FnOnce(bool) -> Option<usize>>(Option<F>);
        impl<F: FnOnce(bool) -> Option<usize>> Drop for OnUnwind<F> {
            fn drop(&mut self) {
                if let Some(give_up) = self.0.take() {
                    give_up(true);
                }
            }
        }
        let mut on_unwind = OnUnwind(Some(give_up));
        loop {
            if let Some(token) = self.woken_by() {
                on_unwind.0 = None;
                return Some(token);
            }
            if park::park_until(reason, deadline) == Wake::TimedOut && self.woken_by().is_none() {
                let give_up = on_unwind.0.take().expect("give_up runs once");
                return give_up(false);
            }
        }
    }
}

/// A FIFO of waiters, each with the token of its registration.
#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    /// Oldest first.
    waiters: VecDeque<(Arc<Waiter>, usize)>,
}

impl WaitQueue {
    pub(crate) const fn new() -> WaitQueue {
        WaitQueue { waiters: VecDeque::new() }
    }

    /// Appends a registration of `waiter` under `token`.
    pub(crate) fn push(&mut self, waiter: Arc<Waiter>, token: usize) {
        self.waiters.push_back((waiter, token));
    }

    /// Puts a registration at the head of the queue: for a waiter that was woken, lost the race for the
    /// resource and waits again without losing its turn.
    pub(crate) fn push_front(&mut self, waiter: Arc<Waiter>, token: usize) {
        self.waiters.push_front((waiter, token));
    }

    /// The token of the oldest registration, if any.
    pub(crate) fn front_token(&self) -> Option<usize> {
        self.waiters.front().map(|(_, token)| *token)
    }

    /// Claims the oldest waiter that can still be claimed for `token` (instead of its registration's token)
    /// without unparking it; returns it. The caller unparks it with `waiter.thread().unpark()`, typically after
    /// releasing its lock so that the woken thread does not run into it. Skips (and drops) registrations whose
    /// waiter was claimed elsewhere.
    pub(crate) fn claim_one(&mut self, token: usize) -> Option<Arc<Waiter>> {
        while let Some((waiter, _)) = self.waiters.pop_front() {
            if waiter.claim(token) {
                return Some(waiter);
            }
        }
        None
    }

    /// Removes `waiter`'s registrations (after a timeout, cancellation or a wake from elsewhere).
    pub(crate) fn remove(&mut self, waiter: &Arc<Waiter>) {
        self.waiters.retain(|(w, _)| !Arc::ptr_eq(w, waiter));
    }

    /// Wakes the oldest waiter that can still be claimed; returns it. Skips (and drops) registrations whose
    /// waiter was claimed elsewhere.
    pub(crate) fn wake_one(&mut self) -> Option<Arc<Waiter>> {
        while let Some((waiter, token)) = self.waiters.pop_front() {
            if waiter.wake(token) {
                return Some(waiter);
            }
        }
        None
    }

    /// Wakes every waiter; returns how many were woken.
    pub(crate) fn wake_all(&mut self) -> usize {
        let mut woken = 0;
        while self.wake_one().is_some() {
            woken += 1;
        }
        woken
    }

    /// Whether no registration is queued (claimed-elsewhere ones count until skipped).
    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// The number of queued registrations.
    pub(crate) fn len(&self) -> usize {
        self.waiters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_in_fifo_order_and_each_waiter_once() {
        let mut queue = WaitQueue::new();
        let a = Waiter::current();
        let b = Waiter::current();
        queue.push(a.clone(), 0);
        queue.push(b.clone(), 1);
        assert!(Arc::ptr_eq(&queue.wake_one().unwrap(), &a));
        assert_eq!(a.woken_by(), Some(0));
        assert!(!a.wake(5), "a claimed waiter is not woken twice");
        assert!(Arc::ptr_eq(&queue.wake_one().unwrap(), &b));
        assert_eq!(b.woken_by(), Some(1));
        assert!(queue.wake_one().is_none());
    }

    #[test]
    fn aborted_waiters_are_skipped_and_a_lost_race_is_reported() {
        let mut queue = WaitQueue::new();
        let gone = Waiter::current();
        let next = Waiter::current();
        queue.push(gone.clone(), 0);
        queue.push(next.clone(), 0);
        assert_eq!(gone.abort(), None);
        assert!(Arc::ptr_eq(&queue.wake_one().unwrap(), &next));
        assert_eq!(next.abort(), Some(0), "the waker won: the aborting side must pass the wake-up on");
    }

    #[test]
    fn claim_one_skips_aborted_waiters_and_push_front_keeps_the_turn() {
        let mut queue = WaitQueue::new();
        let gone = Waiter::current();
        let first = Waiter::current();
        let second = Waiter::current();
        queue.push(gone.clone(), 0);
        queue.push(second.clone(), 2);
        queue.push_front(first.clone(), 1);
        assert_eq!(queue.front_token(), Some(1));
        assert_eq!(gone.abort(), None);
        assert!(Arc::ptr_eq(&queue.claim_one(7).unwrap(), &first));
        assert_eq!(first.woken_by(), Some(7));
        assert!(Arc::ptr_eq(&queue.claim_one(8).unwrap(), &second));
        assert!(queue.claim_one(9).is_none());
    }

    #[test]
    fn park_until_claimed_gives_up_at_the_deadline_and_returns_a_claim() {
        let waiter = Waiter::current();
        let deadline = Some(Instant::now() + std::time::Duration::from_millis(5));
        assert_eq!(
            waiter.park_until_claimed(WaitReason::Park, deadline, |unwinding| {
                assert!(!unwinding);
                waiter.abort()
            }),
            None
        );
        let claimed = Waiter::current();
        assert!(claimed.claim(3));
        assert_eq!(claimed.park_until_claimed(WaitReason::Park, None, |_| unreachable!()), Some(3));
    }

    #[test]
    fn a_waiter_in_several_queues_is_claimed_by_one() {
        let mut first = WaitQueue::new();
        let mut second = WaitQueue::new();
        let waiter = Waiter::current();
        first.push(waiter.clone(), 3);
        second.push(waiter.clone(), 4);
        assert!(second.wake_one().is_some());
        assert!(first.wake_one().is_none(), "already claimed through the other queue");
        assert_eq!(waiter.woken_by(), Some(4));
    }
}
