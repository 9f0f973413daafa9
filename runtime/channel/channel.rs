//! [`Channel`]: the state all three flavors share — one FIFO, the lists of parked parties, one lock — and
//! every operation on it: the plain ones behind [`Sender`](super::Sender) and [`Receiver`](super::Receiver)
//! and the reserve/complete steps behind `select!`.
//!
//! The protocols are described in the [module docs](super); the comments here point at their steps.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::wait_list::{Handed, Packet, Slot, WaitList, Wakeups};
use crate::inspect::WaitReason;
use crate::park::{self, Wake};
use crate::sync::wait_queue::Waiter;

/// Bounded channels preallocate their buffer up to this many messages; larger ones grow on demand (once).
const PREALLOCATE_LIMIT: usize = 1 << 16;

/// Which end of a channel an operation works on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    /// A send: waits for room (buffered) or for a receiver (zero capacity).
    Send,
    /// A receive: waits for a message.
    Receive,
}

/// What a `select!` holds between choosing an operation and completing it (select protocol).
#[derive(Debug)]
pub(crate) enum Reservation {
    /// One queued message is set aside for this receive (counted in `reserved_messages`).
    Message,
    /// This send may deposit one message: a buffer slot is set aside (`reserved_slots`), or, with zero
    /// capacity, a parked receiver is set aside for it (in `promised`).
    Room,
    /// The channel is disconnected: the operation completes with its error.
    Disconnected,
    /// A timer receiver fired at this instant.
    Fired(Instant),
}

/// The shared part of a channel: one per `bounded`/`unbounded` call, owned by its senders and receivers.
pub(crate) struct Channel<T> {
    /// Everything that changes, under one short lock; never held across a park, a system call or user code.
    state: Mutex<State<T>>,
    /// A copy of `State::disconnected`, so parked senders can notice it without the lock.
    disconnected: AtomicBool,
    /// `None`: unbounded; `Some(0)`: zero capacity (rendezvous); `Some(n)`: at most `n` buffered messages.
    capacity: Option<usize>,
    /// Live `Sender` handles; the last one to go disconnects the channel.
    senders: AtomicUsize,
    /// Live `Receiver` handles; the last one to go disconnects the channel and drops the buffer.
    receivers: AtomicUsize,
}

/// The locked part of a [`Channel`].
struct State<T> {
    /// Buffered messages, oldest first. With zero capacity: only messages promised to a claimed `select!`
    /// receiver, or given back by a receiver cancelled as they arrived.
    queue: VecDeque<T>,
    /// How many queued messages belong to selected-but-uncompleted receives (never more than `queue.len()`);
    /// other receivers only take messages beyond this count.
    reserved_messages: usize,
    /// Buffer slots promised to selected-but-uncompleted sends; counted as taken.
    reserved_slots: usize,
    /// Parked senders: plain ones with their message, `select!`s without.
    senders: WaitList<T>,
    /// Parked receivers: plain ones with a slot, `select!`s without.
    receivers: WaitList<T>,
    /// Zero capacity: parked receivers set aside for selected-but-uncompleted sends.
    promised: WaitList<T>,
    /// Set once, when the last sender or the last receiver goes.
    disconnected: bool,
}

/// Whether `deadline` has passed.
fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

impl<T> Channel<T> {
    /// A channel with one sender and one receiver.
    pub(crate) fn new(capacity: Option<usize>) -> Channel<T> {
        let queue = match capacity {
            Some(capacity) => VecDeque::with_capacity(capacity.min(PREALLOCATE_LIMIT)),
            None => VecDeque::new(),
        };
        Channel {
            state: Mutex::new(State {
                queue,
                reserved_messages: 0,
                reserved_slots: 0,
                senders: WaitList::new(),
                receivers: WaitList::new(),
                promised: WaitList::new(),
                disconnected: false,
            }),
            disconnected: AtomicBool::new(false),
            capacity,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Takes the lock. Nothing that can panic runs under it (no user code, no message drops), so a poisoned
    /// lock still guards a consistent state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Zero capacity: a send needs a parked receiver.
    fn is_zero(&self) -> bool {
        self.capacity == Some(0)
    }

    /// Buffered flavors: whether one more message fits (reserved slots count as taken).
    fn has_room(&self, state: &State<T>) -> bool {
        match self.capacity {
            None => true,
            Some(capacity) => state.queue.len() + state.reserved_slots < capacity,
        }
    }

    // ---- handles ---------------------------------------------------------------------------------------

    /// A new handle on `side` (a clone).
    pub(crate) fn add_handle(&self, side: Side) {
        let counter = match side {
            Side::Send => &self.senders,
            Side::Receive => &self.receivers,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A handle on `side` is dropped; the last one disconnects.
    pub(crate) fn drop_handle(&self, side: Side) {
        let counter = match side {
            Side::Send => &self.senders,
            Side::Receive => &self.receivers,
        };
        if counter.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.disconnect(side);
        }
    }

    /// Marks the channel disconnected and wakes every parked party (protocol "disconnection"). When the
    /// receivers are gone the buffer is dropped too — outside the lock, since message destructors are user
    /// code.
    fn disconnect(&self, side: Side) {
        let mut wakeups = Wakeups::default();
        let dropped = {
            let mut state = self.lock();
            state.disconnected = true;
            self.disconnected.store(true, Ordering::Release);
            state.senders.wake_all(&mut wakeups);
            state.receivers.wake_all(&mut wakeups);
            state.promised.wake_all(&mut wakeups);
            match side {
                Side::Receive => {
                    debug_assert_eq!(state.reserved_messages, 0, "a selected receive holds a receiver");
                    mem::take(&mut state.queue)
                }
                Side::Send => VecDeque::new(),
            }
        };
        drop(dropped);
    }

    // ---- queries ---------------------------------------------------------------------------------------

    /// Buffered messages (always 0 with zero capacity, as in crossbeam).
    pub(crate) fn len(&self) -> usize {
        if self.is_zero() {
            0
        } else {
            self.lock().queue.len()
        }
    }

    /// The capacity given at creation (`None`: unbounded).
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// Whether no message is buffered (always true with zero capacity).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full (always true with zero capacity, never when unbounded).
    pub(crate) fn is_full(&self) -> bool {
        match self.capacity {
            None => false,
            Some(0) => true,
            Some(capacity) => self.lock().queue.len() >= capacity,
        }
    }

    // ---- the steps every operation shares ----------------------------------------------------------------

    /// Send step 1: to the oldest parked receiver (into its slot, or queued for a claimed select), else into
    /// the buffer if there is room.
    fn try_send_locked(&self, state: &mut State<T>, message: T, wakeups: &mut Wakeups) -> Result<(), TrySendError<T>> {
        if state.disconnected {
            return Err(TrySendError::Disconnected(message));
        }
        match state.receivers.hand_over(message, wakeups) {
            Handed::Direct => Ok(()),
            Handed::Claimed(message) => {
                state.queue.push_back(message);
                Ok(())
            }
            Handed::Nobody(message) if !self.is_zero() && self.has_room(state) => {
                state.queue.push_back(message);
                Ok(())
            }
            Handed::Nobody(message) => Err(TrySendError::Full(message)),
        }
    }

    /// Receive step 1: the oldest unreserved message (then room is made for a parked sender), or, with zero
    /// capacity, the message of the oldest parked sender, whose send completes as it is taken.
    fn try_recv_locked(&self, state: &mut State<T>, wakeups: &mut Wakeups) -> Result<T, TryRecvError> {
        if state.queue.len() > state.reserved_messages {
            let message = state.queue.pop_front().expect("the queue holds more than the reserved messages");
            if !state.senders.is_empty() {
                self.settle(state, wakeups);
            }
            return Ok(message);
        }
        if self.is_zero() {
            if let Some(message) = state.senders.take_message(wakeups) {
                return Ok(message);
            }
        }
        if state.disconnected {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Restores progress after the state changed: queued messages go to parked receivers, free room to
    /// parked senders (whose messages may in turn feed receivers).
    fn settle(&self, state: &mut State<T>, wakeups: &mut Wakeups) {
        loop {
            if state.queue.len() > state.reserved_messages && !state.receivers.is_empty() {
                let message = state.queue.pop_front().expect("the queue holds more than the reserved messages");
                match state.receivers.hand_over(message, wakeups) {
                    Handed::Direct => continue,
                    // One receiver is on its way for it (or none is parked): leave it first in line.
                    Handed::Claimed(message) | Handed::Nobody(message) => state.queue.push_front(message),
                }
            }
            if self.is_zero() || state.senders.is_empty() || !self.has_room(state) {
                return;
            }
            match state.senders.make_room(wakeups) {
                Some(message) => state.queue.push_back(message),
                None => return, // a select sender was woken to use the room, or nobody was left
            }
        }
    }

    /// Gives back a message a cancelled receiver was handed: to the next parked receiver, or first in line.
    fn redeliver(&self, state: &mut State<T>, message: T, wakeups: &mut Wakeups) {
        match state.receivers.hand_over(message, wakeups) {
            Handed::Direct => {}
            Handed::Claimed(message) | Handed::Nobody(message) => state.queue.push_front(message),
        }
    }

    /// Parks until `waiter` is claimed, the channel disconnects or `deadline` passes.
    #[track_caller]
    #[inline(always)] // the reason folds to a constant in `send` and `recv`
    fn wait(&self, reason: WaitReason, waiter: &Waiter, deadline: Option<Instant>) {
        while waiter.woken_by().is_none() && !self.disconnected.load(Ordering::Acquire) {
            if park::park_until(reason, deadline) == Wake::TimedOut {
                return;
            }
        }
    }

    // ---- plain operations --------------------------------------------------------------------------------

    /// [`Sender::try_send`](super::Sender::try_send).
    pub(crate) fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        self.try_send_locked(&mut state, message, &mut wakeups)
    }

    /// [`Receiver::try_recv`](super::Receiver::try_recv).
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        self.try_recv_locked(&mut state, &mut wakeups)
    }

    /// Sends, parking until a receiver or room takes the message, the channel disconnects, or `deadline`.
    #[track_caller]
    pub(crate) fn send(&self, mut message: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        loop {
            message = match self.try_send_locked(&mut state, message, &mut wakeups) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(message)) => return Err(SendTimeoutError::Disconnected(message)),
                Err(TrySendError::Full(message)) => message,
            };
            if expired(deadline) {
                return Err(SendTimeoutError::Timeout(message));
            }
            // Send step 2: park with the message in the registration.
            let waiter = Waiter::current();
            state.senders.push(waiter.clone(), 0, Packet::Message(message));
            drop(state);
            wakeups.unpark();
            let registration = SendRegistration { channel: self, waiter: Some(waiter) };
            self.wait(WaitReason::ChannelSend, registration.waiter(), deadline);
            let waiter = registration.disarm();
            if waiter.woken_by().is_some() {
                // Send step 3: claimed means a receiver took the message.
                Waiter::recycle(waiter);
                return Ok(());
            }
            state = self.lock();
            match state.senders.remove(&waiter) {
                None => return Ok(()), // taken just now
                Some(kept) => message = kept.expect("a plain send parks its message"),
            }
            Waiter::recycle(waiter);
        }
    }

    /// Receives, parking until a message arrives, the channel disconnects, or `deadline`.
    #[track_caller]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        loop {
            match self.try_recv_locked(&mut state, &mut wakeups) {
                Ok(message) => return Ok(message),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if expired(deadline) {
                return Err(RecvTimeoutError::Timeout);
            }
            // Receive step 2: park with a slot for the message.
            let slot = Slot::new();
            let waiter = Waiter::current();
            state.receivers.push(waiter.clone(), 0, Packet::Slot(slot.pointer()));
            if self.is_zero() {
                // A select's send arm parked here waits for a receiver before it produces its message.
                state.senders.wake_retry(None, &mut wakeups);
            }
            drop(state);
            wakeups.unpark();
            let registration = ReceiveRegistration { channel: self, waiter: Some(waiter), slot: &slot };
            self.wait(WaitReason::ChannelRecv, registration.waiter(), deadline);
            let waiter = registration.disarm();
            if waiter.woken_by().is_some() {
                // Receive step 3: the claimer removed the registration and filled the slot first — unless the
                // claim was a disconnection.
                Waiter::recycle(waiter);
                // SAFETY: we observed our claim (acquire), so the claimer's write is complete and it will not
                // touch the slot again; it removed the registration, so nobody else has its address.
                if let Some(message) = unsafe { slot.take() } {
                    return Ok(message);
                }
                state = self.lock();
                continue;
            }
            state = self.lock();
            let registered = state.receivers.remove(&waiter).is_some() || state.promised.remove(&waiter).is_some();
            Waiter::recycle(waiter);
            if !registered {
                // Claimed just now. SAFETY: we hold the lock and the registration is gone, so no claimer can
                // write the slot any more (wait_list.rs, "Safety of slots").
                if let Some(message) = unsafe { slot.take() } {
                    return Ok(message);
                }
            }
        }
    }

    // ---- select (protocol "select") --------------------------------------------------------------------

    /// Select step 1: performs the choosing half of an operation without waiting, if it is ready.
    pub(crate) fn try_reserve(&self, side: Side) -> Option<Reservation> {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        match side {
            Side::Receive => {
                if state.queue.len() > state.reserved_messages {
                    state.reserved_messages += 1;
                    return Some(Reservation::Message);
                }
                if self.is_zero() {
                    if let Some(message) = state.senders.take_message(&mut wakeups) {
                        // The sender is done; its message waits in the queue for our completion.
                        state.queue.push_back(message);
                        state.reserved_messages += 1;
                        return Some(Reservation::Message);
                    }
                }
                state.disconnected.then_some(Reservation::Disconnected)
            }
            Side::Send => {
                if state.disconnected {
                    return Some(Reservation::Disconnected);
                }
                if self.is_zero() {
                    let receiver = state.receivers.pop_pairable()?;
                    state.promised.push_entry(receiver);
                    Some(Reservation::Room)
                } else if self.has_room(&state) {
                    state.reserved_slots += 1;
                    Some(Reservation::Room)
                } else {
                    None
                }
            }
        }
    }

    /// Select step 3: registers `waiter` under `token` unless the operation is ready now (then returns true
    /// and registers nothing). `waiter` may be registered on this very channel for the other side (a send
    /// and a receive arm); it never counts as its own counterpart.
    pub(crate) fn register(&self, side: Side, waiter: &Arc<Waiter>, token: usize) -> bool {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        if state.disconnected {
            return true;
        }
        match side {
            Side::Receive => {
                let ready =
                    state.queue.len() > state.reserved_messages || (self.is_zero() && state.senders.has_message());
                if ready {
                    return true;
                }
                state.receivers.push(waiter.clone(), token, Packet::Retry);
                if self.is_zero() {
                    state.senders.wake_retry(Some(waiter), &mut wakeups);
                }
            }
            Side::Send => {
                let ready =
                    if self.is_zero() { state.receivers.has_pairable(Some(waiter)) } else { self.has_room(&state) };
                if ready {
                    return true;
                }
                state.senders.push(waiter.clone(), token, Packet::Retry);
            }
        }
        false
    }

    /// Select step 5: removes `waiter`'s registrations on `side`.
    pub(crate) fn unregister(&self, side: Side, waiter: &Arc<Waiter>) {
        let mut state = self.lock();
        match side {
            Side::Send => {
                state.senders.remove(waiter);
            }
            Side::Receive => {
                state.receivers.remove(waiter);
                state.promised.remove(waiter);
            }
        }
    }

    /// A `select!` claimed through this channel unwinds instead of retrying: passes the wake-up on.
    pub(crate) fn pass_on(&self, side: Side) {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        if state.disconnected {
            return; // everybody was woken already
        }
        if side == Side::Send && self.is_zero() {
            if state.receivers.has_pairable(None) {
                state.senders.wake_retry(None, &mut wakeups);
            }
        } else {
            self.settle(&mut state, &mut wakeups);
        }
    }

    /// Gives back a reservation that will not be completed (`Select::ready`, or an abandoned selection).
    pub(crate) fn release(&self, side: Side, reservation: Reservation) {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        match (side, reservation) {
            (Side::Receive, Reservation::Message) => {
                state.reserved_messages -= 1;
                self.settle(&mut state, &mut wakeups);
            }
            (Side::Send, Reservation::Room) if self.is_zero() => {
                // The receiver set aside (unless it left meanwhile) is first in line again.
                if let Some(receiver) = state.promised.pop_entry() {
                    state.receivers.push_entry_front(receiver);
                }
            }
            (Side::Send, Reservation::Room) => {
                state.reserved_slots -= 1;
                self.settle(&mut state, &mut wakeups);
            }
            _ => {}
        }
    }

    /// Select step 6 for a receive: takes the reserved message.
    pub(crate) fn complete_recv(&self, reservation: Reservation) -> Result<T, RecvError> {
        match reservation {
            Reservation::Message => {
                let mut wakeups = Wakeups::default();
                let mut state = self.lock();
                state.reserved_messages -= 1;
                let message = state.queue.pop_front().expect("a reserved message stays in the queue");
                self.settle(&mut state, &mut wakeups);
                Ok(message)
            }
            _ => Err(RecvError),
        }
    }

    /// Select step 6 for a send: deposits the message in the reserved room.
    pub(crate) fn complete_send(&self, reservation: Reservation, message: T) -> Result<(), SendError<T>> {
        let Reservation::Room = reservation else {
            return Err(SendError(message));
        };
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        if !self.is_zero() {
            state.reserved_slots -= 1;
        }
        if state.disconnected {
            return Err(SendError(message));
        }
        let handed = if self.is_zero() {
            // The receiver set aside, if it is still there; else whoever is parked now.
            match state.promised.hand_over(message, &mut wakeups) {
                Handed::Nobody(message) => state.receivers.hand_over(message, &mut wakeups),
                handed => handed,
            }
        } else {
            state.receivers.hand_over(message, &mut wakeups)
        };
        match handed {
            Handed::Direct => {}
            // With zero capacity and no receiver left this queues a message in a rendezvous channel: the one
            // loose window of the select protocol (module docs); the next receiver takes it.
            Handed::Claimed(message) | Handed::Nobody(message) => state.queue.push_back(message),
        }
        Ok(())
    }
}

/// A parked plain send's registration; if the park unwinds, withdraws it (cancellation step 1).
struct SendRegistration<'a, T> {
    /// The channel registered with.
    channel: &'a Channel<T>,
    /// The parked thread's waiter; taken by the normal path ([`disarm`](SendRegistration::disarm)).
    waiter: Option<Arc<Waiter>>,
}

impl<T> SendRegistration<'_, T> {
    fn waiter(&self) -> &Arc<Waiter> {
        self.waiter.as_ref().expect("armed")
    }

    /// The park returned normally: the caller finishes; the drop does nothing.
    fn disarm(mut self) -> Arc<Waiter> {
        self.waiter.take().expect("armed")
    }
}

impl<T> Drop for SendRegistration<'_, T> {
    fn drop(&mut self) {
        let Some(waiter) = self.waiter.take() else { return };
        // Still registered: the message was never delivered, and is dropped here, with the unwinding sender,
        // after the lock is released. Not registered: a receiver took it; the send happened.
        let kept = self.channel.lock().senders.remove(&waiter);
        drop(kept);
    }
}

/// A parked plain receive's registration; if the park unwinds, withdraws it (cancellation steps 2–3).
struct ReceiveRegistration<'a, T> {
    /// The channel registered with.
    channel: &'a Channel<T>,
    /// The parked thread's waiter; taken by the normal path ([`disarm`](ReceiveRegistration::disarm)).
    waiter: Option<Arc<Waiter>>,
    /// Where a claimer puts the message.
    slot: &'a Slot<T>,
}

impl<T> ReceiveRegistration<'_, T> {
    fn waiter(&self) -> &Arc<Waiter> {
        self.waiter.as_ref().expect("armed")
    }

    /// The park returned normally: the caller finishes; the drop does nothing.
    fn disarm(mut self) -> Arc<Waiter> {
        self.waiter.take().expect("armed")
    }
}

impl<T> Drop for ReceiveRegistration<'_, T> {
    fn drop(&mut self) {
        let Some(waiter) = self.waiter.take() else { return };
        let mut wakeups = Wakeups::default();
        let mut state = self.channel.lock();
        let registered = state.receivers.remove(&waiter).is_some() || state.promised.remove(&waiter).is_some();
        if !registered {
            // A claimer got here first and may have handed us a message we will not return: pass it on.
            // SAFETY: we hold the lock and the registration is gone, so no claimer can write the slot any more.
            if let Some(message) = unsafe { self.slot.take() } {
                self.channel.redeliver(&mut state, message, &mut wakeups);
            }
        }
    }
}
