//! Synchronization primitives that park green threads (and block OS threads): the `std::sync` mirror.
//!
//! [`Mutex`], [`RwLock`], [`Condvar`], [`Barrier`], [`Once`], [`OnceLock`], [`LazyLock`] and the channels of
//! [`mpsc`] have `std`'s API, poisoning and error types (`std::sync::{LockResult, PoisonError, TryLockError,
//! TryLockResult}` and the `mpsc` errors are re-exported here), and [`Arc`], [`Weak`] and [`atomic`] are `std`'s
//! own (they never block), so code moves from `std::sync` to `green::sync` by changing its imports: every name
//! a `use std::sync::...` line can hold resolves here. [`Semaphore`], [`WaitGroup`] and [`Event`] go beyond
//! `std`. When one of them has to wait, only the calling green thread waits: it parks and its worker
//! runs other green threads. Every primitive works from green threads on any worker and from plain OS threads
//! (which block), mixed.
//!
//! # Why not `std::sync::Mutex` in green threads
//! A `std::sync::Mutex` blocks the *OS thread* of a contender. In a green thread that OS thread is a worker,
//! which runs many green threads: while one of them waits for the lock, none of the others on that worker run.
//! Short critical sections that never park are harmless (the wait is as short as the section). Holding a `std`
//! guard across anything that parks — [`crate::sleep`], a channel receive, a socket read, a `join` — is a
//! mistake:
//!
//! - A contender on another worker blocks that whole worker for as long as the holder is parked: its other green
//!   threads starve, its timers fire late, its sockets are not served.
//! - A contender on the *same* worker as the holder deadlocks that worker: the contender blocks the OS thread in
//!   `futex_wait`, and the holder, parked on that same worker, can only be resumed by that OS thread, so it never
//!   unlocks. Everything else on the worker hangs with it, for good. (A green thread that has started never moves
//!   to another worker; see DESIGN.md.)
//!
//! [`green::sync::Mutex`](Mutex) fixes both: a contender parks like any other blocking `green` call, so the
//! worker goes on running other green threads — including the holder, which eventually unlocks and wakes it.
//! Holding a `green` guard across a park is fine (it only makes the section longer for the other contenders).
//! The same goes for `RwLock`, `Condvar`, `Barrier`, `Once`, `OnceLock`, `LazyLock` and `mpsc` against their
//! `std` versions: a `std::sync::mpsc` receive, or a `std::sync::LazyLock` whose initialiser another green thread
//! runs, blocks the whole worker. The [caveats](crate#caveats) (DESIGN.md, "Caveats a user
//! must know") list the other ways a green thread can block its worker.
//!
//! # How they are built
//! Each primitive keeps its fast path in an atomic word (lock and unlock uncontended: one CAS, no system call,
//! no allocation) and falls back to a `WaitQueue` — a FIFO of parked threads — behind a small
//! internal `std` mutex whose critical sections are a few instructions and never park. A waiter registers
//! under that internal lock, releases it, and parks until a waker *claims* it (see `wait_queue`); the claim
//! carries what it was given (the lock, a permit, a notification), so a wake-up is never spent twice.
//!
//! # Waking order
//! Waiters are woken in FIFO order everywhere. [`Mutex`] lets a woken waiter compete with running threads and
//! switches to direct handoff once a waiter has waited over 1 ms, as Go's `sync.Mutex` does: always handing over
//! leaves the lock idle until the woken thread is scheduled (on another worker, an `eventfd` write and an
//! `epoll_wait` return) and turns contention into a convoy, while pure competition can starve a waiter.
//! [`RwLock`] and [`Semaphore`] always hand over to the oldest waiter (their waiting order matters more, and
//! for `RwLock` it keeps writers from starving); [`Condvar::notify_one`] wakes the oldest waiter; [`Barrier`], [`OnceLock`],
//! [`WaitGroup`] and [`Event`] release all their waiters at once, oldest first.
//!
//! # Cancellation and timeouts
//! Every wait is a cancellation point: a green thread cancelled with [`JoinHandle::cancel`](crate::JoinHandle)
//! (or interrupted by an expired [`crate::timeout`]) while parked unwinds from it. Its registration is removed
//! first, and if a waker had already handed it something — the lock, a permit, a notification — it passes that
//! on to the next waiter, so the primitive stays usable and nothing is lost. A [`Condvar::wait`] that is
//! cancelled unwinds *without* locking the mutex again (reasons in the `condvar` module docs). A guard dropped
//! during such an unwinding poisons its mutex or write-locked `RwLock`, as a panic would.
//!
//! # Layout
//! - [`mutex`](Mutex): `Mutex`, `MutexGuard`.
//! - [`rwlock`](RwLock): `RwLock`, `RwLockReadGuard`, `RwLockWriteGuard`.
//! - [`condvar`](Condvar): `Condvar`, `WaitTimeoutResult`.
//! - [`barrier`](Barrier): `Barrier`, `BarrierWaitResult`.
//! - [`once`](Once): `Once`, `OnceState`; what `OnceLock` and `LazyLock` are built on.
//! - [`once_lock`](OnceLock): `OnceLock`.
//! - [`lazy_lock`](LazyLock): `LazyLock`.
//! - [`mpsc`]: `std::sync::mpsc` on green channels.
//! - [`semaphore`](Semaphore): `Semaphore`, `SemaphorePermit`, `OwnedSemaphorePermit`.
//! - [`wait_group`](WaitGroup): `WaitGroup`.
//! - [`event`](Event): `Event`.
//! - `wait_queue`: the FIFO of parked threads every primitive here and in `channel` is built on.
//! - `poison`: the poison flag `Mutex` and `RwLock` share.

mod barrier;
mod condvar;
mod event;
mod lazy_lock;
pub mod mpsc;
mod mutex;
mod once;
mod once_lock;
mod poison;
mod rwlock;
mod semaphore;
mod wait_group;
pub(crate) mod wait_queue;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use event::Event;
pub use lazy_lock::LazyLock;
pub use mutex::{Mutex, MutexGuard};
#[allow(deprecated)]
pub use once::ONCE_INIT;
pub use once::{Once, OnceState};
pub use once_lock::OnceLock;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use std::sync::{atomic, Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak};
pub use wait_group::WaitGroup;
