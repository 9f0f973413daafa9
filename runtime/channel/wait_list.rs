//! [`WaitList`]: the parked senders or the parked receivers of one channel.
//!
//! Like [`WaitQueue`](crate::sync::wait_queue::WaitQueue), a FIFO of [`Waiter`] registrations, each with the
//! token the waiter chose for it (a `select!` arm index); the first waker to claim a waiter wins. It adds one
//! thing: an entry may hold a message. A sender blocked on a zero-capacity channel parks its message here, in
//! the channel, so that a receiver can take it — and with it the sender's registration — in one critical
//! section. The sender still owns the message while the entry is in the list: if it gives up (timeout,
//! cancellation, disconnection) it removes its entry and takes the message back.
//!
//! # Ownership
//! Lives inside the channel's lock; every method runs under it.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::sync::wait_queue::Waiter;

/// One registration.
struct Entry<T> {
    /// Who waits; possibly registered in other lists too (a `select!`).
    waiter: Arc<Waiter>,
    /// The token a waker claims the waiter with.
    token: usize,
    /// The parked message of a blocked zero-capacity `send`; `None` for everyone else.
    message: Option<T>,
}

/// A FIFO of parked operations on one side of a channel (see the module docs).
pub(crate) struct WaitList<T> {
    /// Oldest first.
    entries: VecDeque<Entry<T>>,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> WaitList<T> {
        WaitList { entries: VecDeque::new() }
    }

    /// Appends a registration.
    pub(crate) fn push(&mut self, waiter: Arc<Waiter>, token: usize, message: Option<T>) {
        self.entries.push_back(Entry { waiter, token, message });
    }

    /// Removes every registration of `waiter`; returns the message one of them held, if any.
    pub(crate) fn remove(&mut self, waiter: &Arc<Waiter>) -> Option<T> {
        let mut message = None;
        self.entries.retain_mut(|entry| {
            if Arc::ptr_eq(&entry.waiter, waiter) {
                message = message.take().or_else(|| entry.message.take());
                false
            } else {
                true
            }
        });
        message
    }

    /// Claims the oldest registration without a message that can still be claimed and is not `exclude`'s (a
    /// `select!` does not wake itself); returns whether one was. Registrations claimed elsewhere are dropped on
    /// the way; those holding a message are left in place.
    pub(crate) fn wake_one(&mut self, exclude: Option<&Arc<Waiter>>, wakeups: &mut Wakeups) -> bool {
        let mut index = 0;
        while index < self.entries.len() {
            let entry = &self.entries[index];
            if entry.message.is_some() || exclude.is_some_and(|exclude| Arc::ptr_eq(exclude, &entry.waiter)) {
                index += 1;
                continue;
            }
            let entry = self.entries.remove(index).expect("index is in bounds");
            if entry.waiter.claim(entry.token) {
                wakeups.push(entry.waiter);
                return true;
            }
        }
        false
    }

    /// Takes the oldest parked message and claims its sender, whose send is then complete.
    pub(crate) fn take_message(&mut self, wakeups: &mut Wakeups) -> Option<T> {
        let index = self.entries.iter().position(|entry| entry.message.is_some())?;
        let mut entry = self.entries.remove(index).expect("index is in bounds");
        // A sender with a parked message is registered only here, and it removes its entry before it gives
        // up, so nobody else can have claimed it.
        let claimed = entry.waiter.claim(entry.token);
        debug_assert!(claimed, "a parked message's sender waits for exactly this");
        let message = entry.message.take();
        wakeups.push(entry.waiter);
        message
    }

    /// Whether a registration other than `exclude`'s could be claimed now (`with_message`: one holding a
    /// message). A hint: the claim itself may still lose a race with a waker on another channel.
    pub(crate) fn has_claimable(&self, exclude: Option<&Arc<Waiter>>, with_message: bool) -> bool {
        self.entries.iter().any(|entry| {
            entry.message.is_some() == with_message
                && !exclude.is_some_and(|exclude| Arc::ptr_eq(exclude, &entry.waiter))
                && entry.waiter.woken_by().is_none()
        })
    }

    /// Disconnection: claims everyone. Registrations without a message are dropped; those with a message
    /// stay, so their senders find the message and take it back.
    pub(crate) fn wake_all(&mut self, wakeups: &mut Wakeups) {
        self.entries.retain(|entry| {
            if entry.waiter.claim(entry.token) {
                wakeups.push(entry.waiter.clone());
            }
            entry.message.is_some()
        });
    }
}

/// Waiters claimed under a channel's lock, unparked after it is released (an unpark across workers may
/// take a lock and a system call; no need to hold the channel meanwhile).
///
/// Declare it before the lock guard: it unparks on drop, and locals drop in reverse order.
#[derive(Default)]
pub(crate) struct Wakeups {
    /// The first claimed waiter: most operations wake at most one, without allocating.
    first: Option<Arc<Waiter>>,
    /// Any further ones (disconnection wakes everybody).
    rest: Vec<Arc<Waiter>>,
}

impl Wakeups {
    /// Queues a claimed waiter.
    pub(crate) fn push(&mut self, waiter: Arc<Waiter>) {
        if self.first.is_none() {
            self.first = Some(waiter);
        } else {
            self.rest.push(waiter);
        }
    }

    /// Unparks everything queued so far. Call it with the lock released.
    pub(crate) fn unpark(&mut self) {
        if let Some(waiter) = self.first.take() {
            waiter.thread().unpark();
        }
        for waiter in self.rest.drain(..) {
            waiter.thread().unpark();
        }
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        self.unpark();
    }
}
