//! `green`: green threads for Rust.
//!
//! Code in a green thread looks blocking — [`sleep`], a channel `recv`, a socket `read`, [`JoinHandle::join`]
//! — but only that green thread waits. Each green thread is a stackful coroutine (corosensei) with its own
//! guarded stack. A [`Runtime`] runs N workers, one OS thread each; a worker resumes its green threads one at a
//! time from its run queue, and when none can run it sleeps in its own mio `Poll` (`epoll_wait`) until a socket
//! is ready, a timer is due, or another thread wakes it.
//!
//! Every blocking-looking call goes through one primitive, the `park` module's `park_until`: register
//! the current thread where a waker will find it, switch out, re-check. Timeouts, cancellation and the park
//! location for thread dumps hook in there once. The same primitives work from plain OS threads, which then
//! block, so a channel can connect a green thread and an OS thread.
//!
//! A green thread that has started never changes OS thread: its stack may hold thread-locals' addresses and
//! `!Send` values. Only not-yet-started green threads with `Send` closures are placed on, or stolen by, other
//! workers. DESIGN.md has the full argument, diagrams and traces.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = green::run(|| {
//!     let handles: Vec<_> = (1..=3)
//!         .map(|i| green::spawn(move || { green::sleep(Duration::from_millis(10)); i }))
//!         .collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
//! });
//! assert_eq!(total, 6);
//! ```
//!
//! # Porting from `std`
//! Swap `std::thread`, `std::sync` (with `mpsc`), `std::net` and `std::fs` for `green::thread`, `green::sync`,
//! `green::net` and `green::fs`: every name resolves with the same signatures, and calls that would block the OS
//! thread park only the green thread. README.md has the porting guide.
//!
//! # Caveats
//! The full list is in DESIGN.md ("Caveats a user must know"); the ones that bite first:
//! - **A blocking OS call stalls the whole worker.** `std::thread::sleep`, `std::sync::mpsc`, `std::net`,
//!   `std::fs`, a blocking C library: they compile in a green thread and block its worker OS thread, and every
//!   green thread on it waits too. Use the `green::` mirror, or [`offload`](fn@offload) the call. `RUST_LOG=green=trace`
//!   shows a worker that stops switching.
//! - **`std::sync::Mutex` held across a park** blocks the other contenders' workers, and deadlocks a contender on
//!   the same worker: use [`sync::Mutex`].
//! - **`std::thread_local!` is per worker OS thread,** shared by every green thread of that worker;
//!   [`thread_local!`] is per green thread.
//! - **Stacks have a fixed size** (256 KiB by default): deep recursion needs [`Builder::stack_size`]; an overflow
//!   aborts with a message naming the green thread.
//! - **Cancellation unwinds** the green thread from its next blocking call: it needs `panic = "unwind"`, and a
//!   `catch_unwind` that swallows unknown payloads swallows it too.
//!
//! # Layout
//! - [`thread`]: the `std::thread` mirror — `spawn`, `Builder`, `JoinHandle`, `scope`, `current`, `park`,
//!   `sleep`, `panicking` — and the panic hook that names the green thread in panic reports; green-thread locals
//!   ([`thread_local!`]).
//! - `park`: the one suspension primitive; the parker word, deadlines, cancellation points, and the lending
//!   waits that nothing interrupts (how scopes, `block_on` and `offload` stay sound, also at shutdown).
//! - [`cancel`]: `JoinHandle::cancel`, `timeout`, `deadline`, `uncancellable`.
//! - `group`: [`Group`] — join many green threads together or as they complete, bound their concurrency.
//! - [`time`]: `sleep`; each worker's timer wheel.
//! - `coroutine`: guarded stacks, the stack pool, the overflow report, the switch in and out.
//! - `scheduler`: the worker loop (owned side) and worker handle (shared side).
//! - `reactor`: each worker's mio `Poll`; how a socket call waits on it (one `read()` traced through every layer).
//! - [`net`]: the `std::net` mirror — `TcpListener`, `TcpStream`, `UdpSocket`, `unix` sockets.
//! - [`runtime`]: `Runtime` and its `Builder`, placement of new green threads, the default runtime.
//! - [`offload`](mod@offload): run blocking calls on a bounded pool of OS threads while only the caller waits.
//! - [`fs`]: `std::fs` calls and `File`, each call offloaded.
//! - [`sync`]: the `std::sync` mirror (`Mutex`, `RwLock`, `Condvar`, `Barrier`, `Once`, `OnceLock`, `LazyLock`,
//!   `mpsc`) plus `Semaphore`, `WaitGroup`, `Event`; the wait queue under every primitive.
//! - [`channel`]: crossbeam-channel's API (bounded, unbounded, rendezvous, timers) and [`select!`].
//! - [`inspect`]: seeing inside — [`dump()`] (thread dumps, also on SIGQUIT), the deadlock report, the stall
//!   detector's monitor thread, [`Runtime::stats`] counters, and the [`WaitReason`](inspect::WaitReason) every
//!   park records.
//! - `context`: the only thread-local state (current worker, current green thread) and whose unwinding is
//!   whose when several green threads share an OS thread.

#![warn(missing_docs)]

pub mod cancel;
pub mod channel;
mod context;
mod coroutine;
pub mod fs;
mod group;
pub mod inspect;
pub mod net;
pub mod offload;
mod park;
mod reactor;
pub mod runtime;
mod scheduler;
pub mod sync;
pub mod thread;
pub mod time;

pub use cancel::{deadline, is_cancelled, timeout, uncancellable, Cancelled, Elapsed};
pub use group::Group;
pub use inspect::dump;
pub use offload::offload;
pub use runtime::{run, Runtime};
pub use thread::{
    current, park, park_timeout, scope, spawn, spawn_local, yield_now, Builder, JoinHandle, Scope, ScopedJoinHandle,
    Thread, ThreadId,
};
pub use time::{sleep, sleep_until};
