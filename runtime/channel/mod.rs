//! Multi-producer multi-consumer channels for green threads: crossbeam-channel's API, plus
//! [`select!`](crate::select).
//!
//! Swap `crossbeam_channel::` for `green::channel::` and the code runs unchanged: [`bounded`],
//! [`unbounded`], `bounded(0)` for a rendezvous, [`after`], [`at`], [`tick`], [`never`](fn@never), the same
//! [`Sender`]/[`Receiver`] methods and errors, [`Select`] and `select!`. The difference is in waiting: a send
//! or receive that must wait parks its green thread — the worker runs other green threads meanwhile — or,
//! called from a plain OS thread, blocks it. Any mix works: green threads on the same or different workers
//! and OS threads on one channel. Every wait is a cancellation point ([`JoinHandle::cancel`],
//! [`timeout`](crate::timeout)), and cancellation never loses or duplicates a message.
//!
//! ```
//! use green::channel::bounded;
//!
//! green::run(|| {
//!     let (requests, incoming) = bounded::<u64>(16);
//!     let (replies, results) = bounded::<u64>(16);
//!     let workers: Vec<_> = (0..4)
//!         .map(|_| {
//!             let (incoming, replies) = (incoming.clone(), replies.clone());
//!             green::spawn(move || {
//!                 for n in incoming {
//!                     replies.send(n * n).unwrap();
//!                 }
//!             })
//!         })
//!         .collect();
//!     drop((incoming, replies));
//!     for n in 1..=10 {
//!         requests.send(n).unwrap();
//!     }
//!     drop(requests); // the workers' loops end when the channel is empty
//!     assert_eq!(results.iter().sum::<u64>(), 385);
//!     for worker in workers {
//!         worker.join().unwrap();
//!     }
//! });
//! ```
//!
//! # Design
//! All three flavors are one `Channel`: a FIFO buffer (`VecDeque`) and lists of parked
//! parties (`WaitList`) under one short `std` mutex, held for a few dozen instructions
//! and never across a park, a system call or user code (no message is dropped under it). Bounded and
//! unbounded differ only in when the buffer is full; zero capacity has no room at all, so a send needs a
//! parked receiver (or a parked sender waits for one).
//!
//! Parking uses the runtime's one primitive (`park::park_until`): a `Waiter` (`sync::wait_queue`) is
//! registered in a wait list and the thread parks until a waker *claims* it — a CAS; the first waker wins and
//! records the token of its registration. Wakers claim under the lock and unpark after releasing it. Like Go's
//! channels, a claim also hands over the message, so a woken party is done without retaking the lock:
//! a parked receiver waits with a *slot* in its own stack frame that the sender fills before claiming it, and
//! a parked sender waits with its *message* in its registration, which the receiver takes as it claims it.
//! A thread reuses its waiter (`Waiter::recycle`); the fast paths take the lock
//! once and allocate nothing (bounded channels preallocate their buffer).
//!
//! # State
//! - `queue`: buffered messages, oldest first. With zero capacity it is empty except for a message promised
//!   to a claimed `select!` receiver, or given back by a receiver cancelled as it was handed the message.
//! - `reserved_messages` / `reserved_slots`: what chosen-but-uncompleted `select!` operations hold. Receivers
//!   only take messages beyond `reserved_messages`; senders count `reserved_slots` as taken room.
//! - `senders` / `receivers`: parked parties. A plain sender's registration holds its message, a plain
//!   receiver's points at its slot; a `select!` registration holds neither and is only woken to retry.
//! - `promised`: zero capacity only — parked receivers set aside for chosen-but-uncompleted select sends.
//! - `disconnected`: set once, when the last sender or the last receiver is dropped (handle counts are atomics
//!   outside the lock; an atomic copy of the flag lets parked senders see it). Only one side can be gone while
//!   the other still operates, so one flag says enough: a send fails, a receive first drains the buffer.
//!
//! Progress rule: whatever makes a message or room available (a send, a receive, a release, a cancellation)
//! hands it to a parked party on the spot, or claims one that will come for it; so nobody stays parked while
//! what it waits for sits unclaimed in the channel.
//!
//! # Protocols
//! **Send**:
//! 1. Lock. Disconnected: fail with the message. A parked receiver: hand the message over — into its slot,
//!    then claim it; or, for a `select!`, claim it and queue the message for it. Else room in the buffer: push.
//!    Done.
//! 2. Full (zero capacity: no receiver): register a waiter whose registration holds the message; unlock;
//!    park until claimed, disconnected, or the deadline.
//! 3. Claimed: a receiver took the message — done, without the lock. Otherwise relock and remove the
//!    registration: if it is gone, the message was taken just now (done); else take the message back and go
//!    to 1 (which fails on disconnection, or times out).
//!
//! **Receive**:
//! 1. Lock. An unreserved buffered message: pop it; the room it leaves goes at once to the oldest parked
//!    sender (its message moves into the buffer and it is claimed: its send is complete; a `select!` sender is
//!    claimed to retry). Zero capacity: take the message of the oldest parked sender and claim it. Else
//!    disconnected: fail.
//! 2. Empty: register a waiter pointing at a fresh slot; with zero capacity also claim one parked `select!`
//!    sender (it produces its message only once a receiver waits, see select step 6). Unlock, park.
//! 3. Claimed: read the slot — the message, done without the lock (an empty slot means disconnection: go to
//!    1). Otherwise relock and remove the registration; if it is gone it was claimed just now: read the slot.
//!
//! **Cancellation** (or an expired [`timeout`](crate::timeout) scope) unwinds out of the park of step 2. A
//! drop guard then withdraws under the lock, which keeps every message exactly once:
//! 1. A sender still registered takes its message back; it is dropped (after unlocking) with the unwinding
//!    sender, never delivered. A sender no longer registered had its message taken: the send happened.
//! 2. A receiver still registered leaves with nothing. A receiver no longer registered was claimed: if its
//!    slot holds a message, the message goes back to the channel — to the next parked receiver, or first in
//!    line in the buffer (with zero capacity too: it was sent, so it waits for the next receive; a bounded
//!    buffer may briefly hold one more than its capacity).
//! 3. A `select!` claimed through a channel but unwinding passes the wake-up on: the next parked receiver
//!    gets the queued message, or the next parked sender the room.
//!
//! **Select** (`select!`, [`Select`]): choosing reserves an operation; completing performs it.
//! 1. Try every operation once, in a random order (Fisher–Yates), so that among ready operations each is
//!    equally likely. A ready receive reserves a message (`reserved_messages += 1`; zero capacity: first move a
//!    parked sender's message into `queue`, completing its send); a ready send reserves room (`reserved_slots
//!    += 1`; zero capacity: move a parked receiver into `promised`). A disconnected channel is ready too (its
//!    operation fails).
//! 2. Nothing ready: with `default` return now; with a deadline that passed, return.
//! 3. Create one waiter and register it with every channel, each under the operation's index as token. Under
//!    each lock, re-check readiness first (so no wake-up slips between step 1 and here): if ready, claim our
//!    own waiter with that index instead of registering, and stop.
//! 4. Park until claimed, the deadline, or the earliest timer arm ([`after`], [`tick`]) is due.
//! 5. Withdraw from every channel, then `abort`: it returns the index of the registration that claimed us.
//! 6. Reserve that operation; if it was taken meanwhile, go back to 1. Completion ([`SelectedOperation`])
//!    pops the reserved message, or delivers into the reserved room (zero capacity: to the promised receiver,
//!    into its slot). A send arm evaluates its message only then, so with zero capacity a parked select send
//!    has no message to offer: a receiver that comes claims it (receive step 2) and parks, and the select's
//!    retry pairs with that receiver.
//!
//! A reservation that is not completed (`Select::ready`, or an unwinding between choosing and completing) is
//! released: the message or room becomes available again and is handed to a parked party; a promised
//! receiver goes back to the front of `receivers`. One window is looser than crossbeam's: if a promised
//! receiver leaves (timeout, cancellation) before the select send completes, the message goes to another
//! parked receiver or, if there is none, waits in `queue` for the next receive — delivered exactly once, but
//! not in a rendezvous.
//!
//! # Ownership
//! Handles (`Sender`, `Receiver`) are `Send + Sync` when `T: Send` and share the channel through an `Arc`;
//! any thread, green or OS, may operate on it. The queue and registrations are touched only under the lock.
//! A slot is written by a claimer under the lock while its registration is listed and read by its owner after
//! the claim (`wait_list`, "Safety of slots"): that, and the slot reads in `channel`, are the only `unsafe`
//! code; every other file forbids it.
//!
//! # Layout
//! - `channel`: `Channel`, its state and every operation on it.
//! - `wait_list`: the parked parties of one side, their messages and slots, and the hand-over.
//! - `sender`, `receiver`: the handles, [`bounded`], [`unbounded`], the iterators.
//! - `timer`: [`after`], [`at`], [`tick`], [`never`](fn@never).
//! - `select`, `select_macro`: [`Select`], [`SelectedOperation`] and [`select!`](crate::select).
//! - `error`: the error types, as in crossbeam.
//!
//! [`JoinHandle::cancel`]: crate::JoinHandle::cancel

#[allow(clippy::module_inception)]
mod channel;
mod error;
mod receiver;
mod select;
mod select_macro;
mod sender;
mod timer;
mod wait_list;

pub use error::{
    ReadyTimeoutError, RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryReadyError,
    TryRecvError, TrySelectError, TrySendError,
};
pub use receiver::{IntoIter, Iter, Receiver, TryIter};
pub use select::{Select, SelectedOperation};
pub use sender::{bounded, unbounded, Sender};
pub use timer::{after, at, never, tick};

/// What the `select!` expansion calls; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::select::{select, select_in, Operation, Wait};
}
