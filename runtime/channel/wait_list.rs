//! [`WaitList`]: the parked senders or the parked receivers of one channel, and the hand-over of messages to
//! and from them.
//!
//! Like `WaitQueue` (`sync::wait_queue`), a FIFO of [`Waiter`] registrations, each with the
//! token the waiter chose for it (a `select!` arm index); claiming a waiter is a CAS that the first waker
//! wins. Each registration also carries a [`Packet`] saying what a claim means:
//!
//! - [`Packet::Message`]: a parked sender's message, moved into the list. Whoever claims the sender takes the
//!   message in the same critical section: that *is* the send. Until then the sender owns it and takes it
//!   back if it gives up.
//! - [`Packet::Slot`]: a parked receiver's [`Slot`], a cell in its own stack frame. Whoever claims the receiver
//!   first writes the message there; the receiver, woken, reads it without taking the lock.
//! - [`Packet::Retry`]: a `select!` registration. A claim only wakes it to retry its operation.
//!
//! # Safety of slots
//! A slot pointer is dereferenced only (1) by a claimer, under the channel lock, while the registration is
//! still in a list — the receiver cannot have left its frame, because it leaves only after observing its claim
//! (which the claimer makes after writing) or after removing its registration under the lock; and (2) by the
//! receiver itself, after observing the claim with acquire ordering (the claimer's write happened before its
//! claim) or under the lock with its registration gone. Claims of slot registrations cannot fail: a plain
//! receiver is registered in one list only and is removed from it, under the lock, before it gives up.
//!
//! # Ownership
//! Lives inside the channel's lock; every method runs under it.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::sync::wait_queue::Waiter;

/// Where a parked plain receiver wants its message: a cell in its own stack frame (see the module docs).
pub(crate) struct Slot<T> {
    /// Written once by a claimer, read by the receiver.
    message: UnsafeCell<Option<T>>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Slot<T> {
        Slot { message: UnsafeCell::new(None) }
    }

    /// The pointer a registration carries.
    pub(crate) fn pointer(&self) -> SlotPointer<T> {
        SlotPointer(NonNull::from(&self.message))
    }

    /// Takes the message a claimer left.
    ///
    /// # Safety
    /// Only the receiver owning the slot calls this, and only after observing its claim (acquire) or while
    /// holding the channel lock with its registration removed: then no claimer can write concurrently.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: by the caller's contract no claimer writes now, and only the owner reads.
        unsafe { (*self.message.get()).take() }
    }
}

/// A [`Slot`]'s address inside a registration.
pub(crate) struct SlotPointer<T>(NonNull<UnsafeCell<Option<T>>>);

// SAFETY: the pointer is only a way to move a `T` to the receiver's thread (module docs: accesses are ordered by
// the lock and the claim), so it may cross threads exactly when `T` may.
unsafe impl<T: Send> Send for SlotPointer<T> {}

/// What claiming a registration means (see the module docs).
pub(crate) enum Packet<T> {
    /// A `select!` registration: the claim wakes it to retry.
    Retry,
    /// A parked sender's message; the claimer takes it, completing the send.
    Message(T),
    /// A parked receiver's slot; the claimer writes the message there first.
    Slot(SlotPointer<T>),
}

/// One registration.
pub(crate) struct Entry<T> {
    /// Who waits; possibly registered in other lists too (a `select!`).
    waiter: Arc<Waiter>,
    /// The token a waker claims the waiter with.
    token: usize,
    /// What the claim hands over.
    packet: Packet<T>,
}

/// What became of a message offered to the parked receivers ([`WaitList::hand_over`]).
pub(crate) enum Handed<T> {
    /// It is in a receiver's slot: delivered.
    Direct,
    /// A `select!` receiver was claimed and will come for it: the caller queues it.
    Claimed(T),
    /// No receiver could take it: here it is back.
    Nobody(T),
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
    ///
    /// The first one allocates room for exactly one: most channels have at most one party parked on a side,
    /// and `VecDeque` would otherwise start at four entries (measured by the report's memory row, where each
    /// of 100,000 green threads parks on its own channel: 96 bytes of every parked thread's ~4.7 KiB).
    #[inline]
    pub(crate) fn push(&mut self, waiter: Arc<Waiter>, token: usize, packet: Packet<T>) {
        if self.entries.capacity() == 0 {
            self.reserve_first();
        }
        self.entries.push_back(Entry { waiter, token, packet });
    }

    /// Room for the first registration, exactly one.
    #[cold]
    #[inline(never)]
    fn reserve_first(&mut self) {
        self.entries.reserve_exact(1);
    }

    /// Appends a registration moved from another list.
    pub(crate) fn push_entry(&mut self, entry: Entry<T>) {
        self.entries.push_back(entry);
    }

    /// Puts a registration moved from another list first in line.
    pub(crate) fn push_entry_front(&mut self, entry: Entry<T>) {
        self.entries.push_front(entry);
    }

    /// Removes the oldest registration.
    pub(crate) fn pop_entry(&mut self) -> Option<Entry<T>> {
        self.entries.pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every registration of `waiter`: `None` if it had none (a claimer removed it), else the parked
    /// message it held, if any.
    pub(crate) fn remove(&mut self, waiter: &Arc<Waiter>) -> Option<Option<T>> {
        let position = self.entries.iter().position(|entry| Arc::ptr_eq(&entry.waiter, waiter))?;
        let entry = self.entries.remove(position).expect("position is in bounds");
        // A waiter has at most one registration per list.
        debug_assert!(!self.entries.iter().any(|entry| Arc::ptr_eq(&entry.waiter, waiter)));
        Some(match entry.packet {
            Packet::Message(message) => Some(message),
            Packet::Retry | Packet::Slot(_) => None,
        })
    }

    /// Offers `message` to the oldest parked receiver: written into a slot, or a `select!` claimed for it.
    /// Registrations of selects claimed elsewhere are dropped on the way. Inlined: every send calls it.
    #[inline]
    pub(crate) fn hand_over(&mut self, message: T, wakeups: &mut Wakeups) -> Handed<T> {
        while let Some(entry) = self.entries.pop_front() {
            match entry.packet {
                Packet::Slot(slot) => {
                    // SAFETY: the registration was in the list until now and we hold the lock, so the receiver
                    // is still in its frame and reads the slot only after the claim below (module docs).
                    unsafe { *slot.0.as_ref().get() = Some(message) };
                    let claimed = entry.waiter.claim(entry.token);
                    debug_assert!(claimed, "a slot registration is claimed only by whoever removes it");
                    wakeups.push(entry.waiter);
                    return Handed::Direct;
                }
                Packet::Retry => {
                    if entry.waiter.claim(entry.token) {
                        wakeups.push(entry.waiter);
                        return Handed::Claimed(message);
                    }
                }
                Packet::Message(_) => unreachable!("receivers park no message"),
            }
        }
        Handed::Nobody(message)
    }

    /// Takes the oldest parked sender's message and claims the sender, whose send is then complete.
    pub(crate) fn take_message(&mut self, wakeups: &mut Wakeups) -> Option<T> {
        let position = self.entries.iter().position(|entry| matches!(entry.packet, Packet::Message(_)))?;
        let entry = self.entries.remove(position).expect("position is in bounds");
        let claimed = entry.waiter.claim(entry.token);
        debug_assert!(claimed, "a parked message's sender is claimed only by whoever takes the message");
        wakeups.push(entry.waiter);
        match entry.packet {
            Packet::Message(message) => Some(message),
            Packet::Retry | Packet::Slot(_) => unreachable!("found a message"),
        }
    }

    /// Buffered channels, after room was made: takes the oldest parked sender's message (its send is then
    /// complete), or claims the oldest `select!` sender to retry. Returns the message taken, if any.
    pub(crate) fn make_room(&mut self, wakeups: &mut Wakeups) -> Option<T> {
        while let Some(entry) = self.entries.pop_front() {
            if entry.waiter.claim(entry.token) {
                wakeups.push(entry.waiter);
                return match entry.packet {
                    Packet::Message(message) => Some(message),
                    Packet::Retry | Packet::Slot(_) => None,
                };
            }
            debug_assert!(matches!(entry.packet, Packet::Retry), "only selects are claimed elsewhere");
        }
        None
    }

    /// Claims the oldest `select!` registration that is not `exclude`'s (a select does not wake itself) to
    /// retry; returns whether one was. Other registrations stay; stale ones are dropped.
    pub(crate) fn wake_retry(&mut self, exclude: Option<&Arc<Waiter>>, wakeups: &mut Wakeups) -> bool {
        let mut index = 0;
        while index < self.entries.len() {
            let entry = &self.entries[index];
            let excluded = exclude.is_some_and(|exclude| Arc::ptr_eq(exclude, &entry.waiter));
            if excluded || !matches!(entry.packet, Packet::Retry) {
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

    /// Whether a parked sender holds a message.
    pub(crate) fn has_message(&self) -> bool {
        self.entries.iter().any(|entry| matches!(entry.packet, Packet::Message(_)))
    }

    /// Zero capacity: whether a parked receiver other than `exclude` could be paired with now. A hint for a
    /// select's readiness check; the pairing itself may still lose a race.
    pub(crate) fn has_pairable(&self, exclude: Option<&Arc<Waiter>>) -> bool {
        self.entries.iter().any(|entry| {
            !exclude.is_some_and(|exclude| Arc::ptr_eq(exclude, &entry.waiter)) && entry.waiter.woken_by().is_none()
        })
    }

    /// Zero capacity: removes the oldest parked receiver that can still be paired with, without claiming it
    /// (a selected send claims it when it completes). Stale `select!` registrations are dropped on the way.
    pub(crate) fn pop_pairable(&mut self) -> Option<Entry<T>> {
        while let Some(entry) = self.entries.pop_front() {
            if entry.waiter.woken_by().is_none() {
                return Some(entry);
            }
        }
        None
    }

    /// Disconnection: claims everybody, except senders holding a message: they stay registered and are only
    /// unparked, so they find their message and take it back.
    pub(crate) fn wake_all(&mut self, wakeups: &mut Wakeups) {
        self.entries.retain(|entry| {
            if matches!(entry.packet, Packet::Message(_)) {
                wakeups.push_unpark(entry.waiter.clone());
                true
            } else {
                if entry.waiter.claim(entry.token) {
                    wakeups.push(entry.waiter.clone());
                }
                false
            }
        });
    }
}

/// Waiters claimed under a channel's lock, unparked after it is released (an unpark across workers may take
/// a lock and a system call; no need to hold the channel meanwhile).
///
/// Declare it before the lock guard: it unparks on drop, and locals drop in reverse order.
#[derive(Default)]
pub(crate) struct Wakeups {
    /// The first waiter to unpark: most operations wake at most one, without allocating.
    first: Option<Arc<Waiter>>,
    /// Any further ones (disconnection wakes everybody).
    rest: Vec<Arc<Waiter>>,
}

impl Wakeups {
    /// Queues a claimed waiter.
    #[inline]
    pub(crate) fn push(&mut self, waiter: Arc<Waiter>) {
        if self.first.is_none() {
            self.first = Some(waiter);
        } else {
            self.rest.push(waiter);
        }
    }

    /// Queues a waiter to unpark without a claim (it re-checks on its own).
    pub(crate) fn push_unpark(&mut self, waiter: Arc<Waiter>) {
        self.push(waiter);
    }

    /// Unparks everything queued so far. Call it with the lock released.
    ///
    /// Inlined, with the rare many-waiter case out of line: it runs after every channel operation (measured
    /// with callgrind, the out-of-line version's prologue and epilogue were ~50 of a ping-pong round trip's
    /// ~1,700 instructions).
    #[inline]
    pub(crate) fn unpark(&mut self) {
        if let Some(waiter) = self.first.take() {
            waiter.thread().unpark();
            if !self.rest.is_empty() {
                self.unpark_rest();
            }
        }
    }

    /// The waiters after the first (a disconnection's).
    #[cold]
    #[inline(never)]
    fn unpark_rest(&mut self) {
        for waiter in self.rest.drain(..) {
            waiter.thread().unpark();
        }
    }
}

impl Drop for Wakeups {
    #[inline]
    fn drop(&mut self) {
        self.unpark();
    }
}
