//! Workers: one OS thread each, running green threads from its own run queue.
//!
//! Each worker is a pair, like mio's `Poll`/`Registry`:
//!
//! - [`Worker`]: the owned side, living on the worker's OS thread. It holds everything only that thread may
//!   touch: the slab of started green threads (their coroutines are `!Send` and never leave), the local run
//!   queue, the timer wheel, the stack pool and the reactor (mio `Poll`).
//! - [`WorkerHandle`]: the shared side, reachable from any thread. It holds the two queues other threads push
//!   into — wake-ups of this worker's green threads, and new green threads placed on it (the injector, from
//!   which idle workers may steal) — the lock-free ring of new green threads its own green threads spawn
//!   ([`local_queue`], also stealable), and the `mio::Waker` that interrupts the worker's `epoll_wait`.
//!
//! See [`worker`] for the loop itself and [`handle`] for the wake-up protocol.

pub(crate) mod handle;
pub(crate) mod local_queue;
pub(crate) mod worker;

pub(crate) use handle::WorkerHandle;
pub(crate) use worker::Worker;
