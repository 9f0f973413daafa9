//! Multi-producer multi-consumer channels for green threads: crossbeam-channel's API, plus
//! [`select!`](crate::select).
//!
//! Swap `crossbeam_channel::` for `green::channel::` and the code runs unchanged: [`bounded`],
//! [`unbounded`], `bounded(0)` for a rendezvous, [`after`], [`at`], [`tick`], [`never`], the same
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
//! All three flavors are one [`Channel`](channel::Channel): a FIFO (`VecDeque`) and two
//! [`WaitList`](wait_list::WaitList)s — parked senders, parked receivers — under one short `std` mutex, held
//! for a few dozen instructions and never across a park or user code (no message is dropped under it).
//! Bounded and unbounded differ only in when the buffer is full. A zero-capacity channel uses the same FIFO
//! as a hand-off area: a message enters it only together with a claim on a parked receiver that will take it.
//!
//! Parking uses the runtime's one primitive ([`crate::park`]): a [`Waiter`](crate::sync::wait_queue) is
//! registered in a wait list, the thread parks until a waker *claims* the waiter (a CAS: the first waker wins,
//! recording the token of its registration), and the woken party retries its operation. Wakers claim under
//! the channel lock but unpark after releasing it. A waiter is allocated only when an operation must wait;
//! the fast paths take the lock once and do not allocate (bounded channels preallocate their buffer).
//!
//! # State
//! - `queue`: buffered messages, oldest first; with zero capacity, messages promised to claimed receivers.
//! - `reserved_messages` / `reserved_slots`: what chosen-but-uncompleted `select!` operations hold. Receivers
//!   only take messages beyond `reserved_messages`; senders count `reserved_slots` as taken room.
//! - `senders` / `receivers`: registrations of parked parties. A zero-capacity sender's registration carries
//!   its message.
//! - `disconnected`: set once, when the last sender or the last receiver is dropped (handle counts are
//!   atomics outside the lock). Only one side can be gone while the other still operates, so one flag says
//!   enough: a send fails, a receive first drains the buffer.
//!
//! # Protocols
//! **Send** (buffered):
//! 1. Lock. Disconnected: fail with the message. Room: push it, claim the oldest parked receiver, done.
//! 2. Full: register a fresh waiter in `senders`, unlock, park until claimed (or the deadline).
//! 3. Relock, withdraw the registration, go to 1. A receive that makes room claims one parked sender; a
//!    sender that finds the room taken again (another sender was faster) simply parks again.
//!
//! **Receive**:
//! 1. Lock. A message beyond the reserved ones: pop it; if bounded, claim one parked sender (room was made);
//!    done. Zero capacity and a sender parked with its message: take the message and claim the sender, whose
//!    send is thereby complete. Disconnected and empty: fail.
//! 2. Empty: register in `receivers`; with zero capacity also claim one parked *select* sender (one that
//!    waits for a receiver before producing its message, see select step 6). Unlock, park until claimed.
//! 3. Relock, withdraw, go to 1.
//!
//! **Zero capacity** (rendezvous): a message is always owned by exactly one party.
//! 1. A sender that finds a parked receiver claims it and pushes the message into `queue` in the same
//!    critical section: it is now the channel's, promised to that receiver; the send is complete.
//! 2. Otherwise the sender parks *with its message in its registration*. It stays the sender's: a receiver
//!    takes it only by removing the registration and claiming the sender in one critical section (receive
//!    step 1). Woken, the sender relocks: registration gone — delivered; still there — it takes its message
//!    back (timeout, disconnection, spurious wake) and retries or fails.
//!
//! **Cancellation** keeps exactly-once because every blocked operation withdraws in a drop guard that runs
//! when the park unwinds:
//! 1. Lock, remove the registration. A zero-capacity sender whose registration is still there takes its
//!    message back and drops it after unlocking: it dies with the sender, never delivered. Registration
//!    already gone: a receiver took the message before the cancellation, and the send counts as done.
//! 2. [`Waiter::abort`](crate::sync::wait_queue): if a waker claimed us before we gave up, the wake-up was
//!    meant to make us take a message (or room), which we no longer will. Pass it on: claim the next parked
//!    receiver if a message is there (or the next sender if room is).
//! 3. A receiver never holds a message while parked, so a cancelled receiver loses nothing: the message it
//!    was woken for stays in the channel for the next receiver.
//!
//! **Select** (`select!`, [`Select`]): choosing reserves an operation; completing performs it.
//! 1. Try every operation once, in a random order (Fisher–Yates), so that among ready operations each is
//!    equally likely. A ready receive reserves a message (`reserved_messages += 1`; zero capacity: take a
//!    parked sender's message into `queue` first); a ready send reserves room (`reserved_slots += 1`; zero
//!    capacity: claim a parked receiver). A disconnected channel is ready too (its operation fails).
//! 2. Nothing ready: with `default` return now; with a deadline that passed return.
//! 3. Create one waiter and register it with every channel, each under the operation's index as token. Under
//!    each lock, re-check readiness first (so no wake-up slips between step 1 and here): if ready, claim our
//!    own waiter with that index instead of registering, and stop.
//! 4. Park until claimed, the deadline, or the earliest timer arm ([`after`], [`tick`]) is due.
//! 5. Withdraw from every channel, then `abort`: it returns the index of the registration that claimed us.
//! 6. Reserve that operation; if it was taken meanwhile, go back to 1. Completion ([`SelectedOperation`])
//!    pops the reserved message or deposits into the reserved room. Send arms evaluate their message only
//!    now, so with zero capacity a select send parks *without* a message; a receiver that comes claims it
//!    (receive step 2) and parks, and the select's retry claims that receiver and deposits.
//!
//! If the park of step 4 unwinds, a guard withdraws and passes on a wake-up that arrived meanwhile (as
//! cancellation step 2). A reservation that is not completed (`Select::ready`, or a panic between choosing
//! and completing) is released: the message or room becomes available again and one parked party is claimed.
//! One window is looser than crossbeam's: a zero-capacity select send claims a receiver at step 1 and
//! deposits at completion; if that receiver runs in between, finds nothing and parks again, the deposit may
//! go to another receiver, or wait in `queue` for the next one. The message is still delivered exactly once.
//!
//! # Ownership
//! Handles (`Sender`, `Receiver`) are `Send + Sync` when `T: Send` and share the channel through an `Arc`;
//! any thread, green or OS, may operate on it. Registrations and the queue are touched only under the lock.
//! This module has no `unsafe` code.
//!
//! # Layout
//! - `channel`: [`Channel`](channel::Channel), its state and every operation on it.
//! - `wait_list`: the parked parties of one side, with zero-capacity senders' messages.
//! - `sender`, `receiver`: the handles, [`bounded`], [`unbounded`], the iterators.
//! - `timer`: [`after`], [`at`], [`tick`], [`never`].
//! - `select`, `select_macro`: [`Select`], [`SelectedOperation`] and [`select!`](crate::select).
//! - `error`: the error types, as in crossbeam.
//!
//! [`JoinHandle::cancel`]: crate::JoinHandle::cancel

#![forbid(unsafe_code)]

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
    pub use super::select::{select, Operation, Wait};
}
