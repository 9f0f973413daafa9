//! [`Channel`]: the state all three flavors share — one FIFO, two lists of parked parties, one lock — and
//! every operation on it: the plain ones behind [`Sender`](super::Sender) and [`Receiver`](super::Receiver)
//! and the reserve/complete steps behind `select!`.
//!
//! The protocols are described in the [module docs](super); the comments here point at their steps.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::wait_list::{WaitList, Wakeups};
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

/// What a `select!` holds between choosing an operation and completing it (see `select` in the module docs).
#[derive(Debug)]
pub(crate) enum Reservation {
    /// One queued message is set aside for this receive (counted in `reserved_messages`).
    Message,
    /// This send may deposit one message: a buffer slot is set aside (`reserved_slots`), or, with zero
    /// capacity, a parked receiver has been woken to take it.
    Room,
    /// The channel is disconnected: the operation completes with its error.
    Disconnected,
    /// A timer receiver fired at this instant.
    Fired(Instant),
}

/// The shared part of a channel: one per `bounded`/`unbounded` call, owned by its senders and receivers.
pub(crate) struct Channel<T> {
    /// Everything that changes, under one short lock; never held across a park or user code.
    state: Mutex<State<T>>,
    /// `None`: unbounded; `Some(0)`: zero capacity (rendezvous); `Some(n)`: at most `n` buffered messages.
    capacity: Option<usize>,
    /// Live `Sender` handles; the last one to go disconnects the channel.
    senders: AtomicUsize,
    /// Live `Receiver` handles; the last one to go disconnects the channel and drops the buffer.
    receivers: AtomicUsize,
}

/// The locked part of a [`Channel`].
struct State<T> {
    /// Buffered messages, oldest first. With zero capacity: messages handed to a woken receiver that has not
    /// picked them up yet (or that was cancelled first, leaving them for the next receiver).
    queue: VecDeque<T>,
    /// Messages at the front of `queue` that belong to selected-but-uncompleted receives; never more than
    /// `queue.len()`. Other receivers only take what is beyond this count.
    reserved_messages: usize,
    /// Buffer slots promised to selected-but-uncompleted sends; counted as full.
    reserved_slots: usize,
    /// Parked senders (buffered: waiting for room; zero capacity: waiting for a receiver, with their message).
    senders: WaitList<T>,
    /// Parked receivers.
    receivers: WaitList<T>,
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
                disconnected: false,
            }),
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

    /// Bounded with a buffer: receives make room for parked senders.
    fn is_bounded_buffer(&self) -> bool {
        self.capacity.is_some_and(|capacity| capacity > 0)
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

    /// A handle on `side` is dropped; the last one disconnects (protocol "disconnection").
    pub(crate) fn drop_handle(&self, side: Side) {
        let counter = match side {
            Side::Send => &self.senders,
            Side::Receive => &self.receivers,
        };
        if counter.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.disconnect(side);
        }
    }

    /// Marks the channel disconnected and wakes every parked party. When the receivers are gone the buffer is
    /// dropped too — outside the lock, since message destructors are user code.
    fn disconnect(&self, side: Side) {
        let mut wakeups = Wakeups::default();
        let dropped = {
            let mut state = self.lock();
            state.disconnected = true;
            state.senders.wake_all(&mut wakeups);
            state.receivers.wake_all(&mut wakeups);
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

    // ---- non-blocking operations (protocol steps "send" 1 and "receive" 1) -------------------------------

    /// Sends without waiting: into the buffer if there is room, or (zero capacity) to a parked receiver,
    /// which is claimed in the same critical section so the message is promised to it.
    fn try_send_locked(&self, state: &mut State<T>, message: T, wakeups: &mut Wakeups) -> Result<(), TrySendError<T>> {
        if state.disconnected {
            return Err(TrySendError::Disconnected(message));
        }
        if self.is_zero() {
            if !state.receivers.wake_one(None, wakeups) {
                return Err(TrySendError::Full(message));
            }
        } else if self.has_room(state) {
            state.receivers.wake_one(None, wakeups);
        } else {
            return Err(TrySendError::Full(message));
        }
        state.queue.push_back(message);
        Ok(())
    }

    /// Receives without waiting: the oldest unreserved message, or (zero capacity) the message of the oldest
    /// parked sender, whose send completes as it is claimed.
    fn try_recv_locked(&self, state: &mut State<T>, wakeups: &mut Wakeups) -> Result<T, TryRecvError> {
        if state.queue.len() > state.reserved_messages {
            let message = state.queue.pop_front().expect("the queue holds more than the reserved messages");
            if self.is_bounded_buffer() {
                state.senders.wake_one(None, wakeups);
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

    // ---- blocking operations ---------------------------------------------------------------------------

    /// Sends, parking until there is room (or a receiver), the channel disconnects, or `deadline`.
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
            if self.is_zero() {
                // Protocol "zero capacity", step 2: park the message with the registration.
                let (relocked, kept) = self.park(state, Side::Send, Some(message), deadline, &mut wakeups);
                state = relocked;
                match kept {
                    None => return Ok(()),
                    Some(kept) => message = kept,
                }
            } else {
                state = self.park(state, Side::Send, None, deadline, &mut wakeups).0;
            }
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
            state = self.park(state, Side::Receive, None, deadline, &mut wakeups).0;
        }
    }

    /// Registers the caller on `side` (with `message` for a zero-capacity send), releases the lock, parks
    /// until claimed or `deadline`, then relocks and withdraws the registration. Returns the lock and the
    /// parked message if it is still the caller's (None: a receiver took it — the send is complete).
    ///
    /// If the park unwinds (cancellation, expired `timeout` scope), the [`Registration`] guard withdraws
    /// instead and passes on a wake-up it can no longer use.
    #[track_caller]
    fn park<'a>(
        &'a self,
        mut state: MutexGuard<'a, State<T>>,
        side: Side,
        message: Option<T>,
        deadline: Option<Instant>,
        wakeups: &mut Wakeups,
    ) -> (MutexGuard<'a, State<T>>, Option<T>) {
        let waiter = Waiter::current();
        let carries_message = message.is_some();
        match side {
            Side::Send => state.senders.push(waiter.clone(), 0, message),
            Side::Receive => {
                state.receivers.push(waiter.clone(), 0, None);
                if self.is_zero() {
                    // A `select!` send arm parked here waits for a receiver before it produces its message.
                    state.senders.wake_one(None, wakeups);
                }
            }
        }
        drop(state);
        wakeups.unpark();
        let mut registration = Registration { channel: self, side, waiter, carries_message, armed: true };
        while registration.waiter.woken_by().is_none() {
            if park::park_until(deadline) == Wake::TimedOut {
                break;
            }
        }
        let mut state = self.lock();
        registration.armed = false;
        let kept = state.list(side).remove(&registration.waiter);
        // Claimed or not, the caller retries under this lock: a message meant for it is still there to take,
        // so no wake-up needs passing on.
        registration.waiter.abort();
        (state, kept)
    }

    /// Hands a wake-up that a cancelled waiter on `side` can no longer use to the next one, if there is
    /// anything for it to do.
    fn pass_on(&self, state: &mut State<T>, side: Side, wakeups: &mut Wakeups) {
        if state.disconnected {
            return; // everybody was woken already
        }
        match side {
            Side::Receive => {
                if state.queue.len() > state.reserved_messages {
                    state.receivers.wake_one(None, wakeups);
                }
            }
            Side::Send => {
                let room =
                    if self.is_zero() { state.receivers.has_claimable(None, false) } else { self.has_room(state) };
                if room {
                    state.senders.wake_one(None, wakeups);
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
                    state.receivers.wake_one(None, &mut wakeups).then_some(Reservation::Room)
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
    /// and registers nothing). `waiter` may have registrations on this very channel (a send and a receive
    /// arm); it never counts as its own counterpart.
    pub(crate) fn register(&self, side: Side, waiter: &Arc<Waiter>, token: usize) -> bool {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        if state.disconnected {
            return true;
        }
        match side {
            Side::Receive => {
                let ready = state.queue.len() > state.reserved_messages
                    || (self.is_zero() && state.senders.has_claimable(Some(waiter), true));
                if ready {
                    return true;
                }
                state.receivers.push(waiter.clone(), token, None);
                if self.is_zero() {
                    state.senders.wake_one(Some(waiter), &mut wakeups);
                }
            }
            Side::Send => {
                let ready = if self.is_zero() {
                    state.receivers.has_claimable(Some(waiter), false)
                } else {
                    self.has_room(&state)
                };
                if ready {
                    return true;
                }
                state.senders.push(waiter.clone(), token, None);
            }
        }
        false
    }

    /// Select step 5: removes `waiter`'s registrations on `side`.
    pub(crate) fn unregister(&self, side: Side, waiter: &Arc<Waiter>) {
        let removed = self.lock().list(side).remove(waiter);
        debug_assert!(removed.is_none(), "a select registration carries no message");
    }

    /// A `select!` that was claimed through this channel but unwinds passes the wake-up on.
    pub(crate) fn pass_on_wakeup(&self, side: Side) {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        self.pass_on(&mut state, side, &mut wakeups);
    }

    /// Gives back a reservation that will not be completed (`Select::ready`, or an abandoned selection).
    pub(crate) fn release(&self, side: Side, reservation: Reservation) {
        let mut wakeups = Wakeups::default();
        let mut state = self.lock();
        match (side, reservation) {
            (Side::Receive, Reservation::Message) => {
                state.reserved_messages -= 1;
                state.receivers.wake_one(None, &mut wakeups);
            }
            (Side::Send, Reservation::Room) if !self.is_zero() => {
                state.reserved_slots -= 1;
                state.senders.wake_one(None, &mut wakeups);
            }
            // Zero capacity: the receiver woken for us finds nothing and parks again.
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
                if self.is_bounded_buffer() {
                    state.senders.wake_one(None, &mut wakeups);
                }
                Ok(message)
            }
            _ => Err(RecvError),
        }
    }

    /// Select step 6 for a send: deposits the message in the reserved room.
    pub(crate) fn complete_send(&self, reservation: Reservation, message: T) -> Result<(), SendError<T>> {
        match reservation {
            Reservation::Room => {
                let mut wakeups = Wakeups::default();
                let mut state = self.lock();
                if !self.is_zero() {
                    state.reserved_slots -= 1;
                }
                if state.disconnected {
                    return Err(SendError(message));
                }
                state.queue.push_back(message);
                state.receivers.wake_one(None, &mut wakeups);
                Ok(())
            }
            _ => Err(SendError(message)),
        }
    }
}

impl<T> State<T> {
    /// The parked parties of `side`.
    fn list(&mut self, side: Side) -> &mut WaitList<T> {
        match side {
            Side::Send => &mut self.senders,
            Side::Receive => &mut self.receivers,
        }
    }
}

/// A plain operation's registration while it parks; if the park unwinds, withdraws it (cancellation, steps
/// 1–3 in the module docs).
struct Registration<'a, T> {
    /// The channel registered with.
    channel: &'a Channel<T>,
    /// Which list the registration is in.
    side: Side,
    /// The parked thread's waiter.
    waiter: Arc<Waiter>,
    /// A zero-capacity send that parked its message: a claim means a receiver took it, nothing to pass on.
    carries_message: bool,
    /// True until the normal path withdraws; the drop then does nothing.
    armed: bool,
}

impl<T> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut wakeups = Wakeups::default();
        let kept = {
            let mut state = self.channel.lock();
            let kept = state.list(self.side).remove(&self.waiter);
            if self.waiter.abort().is_some() && !self.carries_message {
                self.channel.pass_on(&mut state, self.side, &mut wakeups);
            }
            kept
        };
        // A cancelled zero-capacity sender's message was never delivered: it is dropped here, with the
        // unwinding sender, after the lock is released.
        drop(kept);
    }
}
