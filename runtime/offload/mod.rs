//! Offloading blocking calls to a pool of OS threads: [`offload`](fn@offload), [`spawn`], and the pool's settings.
//!
//! # Why
//! A worker runs its green threads one at a time on one OS thread. A green thread that makes a blocking OS
//! call — `std::fs::read`, `std::thread::sleep`, a DNS lookup through `ToSocketAddrs`, a C library that waits,
//! or a long computation — does not switch out: it holds the whole worker, and every other green thread
//! placed there (including ones whose sockets are ready or whose timers are due) waits for it. `green`'s own
//! blocking calls park instead; for everything else there is [`offload`](fn@offload):
//!
//! ```
//! green::run(|| {
//!     let path = std::env::temp_dir().join(format!("green-offload-doc-{}", std::process::id()));
//!     green::offload(|| std::fs::write(&path, b"only this green thread waited")).unwrap();
//!     green::offload(|| std::fs::remove_file(&path)).unwrap();
//! });
//! ```
//!
//! [`crate::fs`] wraps the common file calls this way.
//!
//! # When
//! Offload calls that may block for longer than a handoff costs (below): anything touching a disk or the
//! network outside `green`'s own sockets, and computations longer than roughly 100 µs. Do not offload calls
//! that are already `green`-aware (they park), and do not offload tiny work: the handoff would dominate.
//!
//! # Cost
//! One cross-thread handoff each way: the job is queued under the pool's lock and a pool thread is woken
//! (a futex wake, or a thread spawn when the pool grows); on completion the pool thread unparks the caller,
//! which its worker picks up from its wake-up list (waking the worker from `epoll_wait` if it slept). Plus
//! two small allocations (the job and its result packet). About 10–20 µs per call on a small machine, a little
//! under tokio's `spawn_blocking` and a fraction of a thread spawn (the `offload` benchmark).
//!
//! # The pool
//! Process-wide, shared by all runtimes and OS threads, started lazily by the first job. It grows on demand:
//! a job that finds no idle thread starts a new one, named `green-offload-<n>`, up to
//! [`set_max_threads`] (default 64). At the bound, jobs wait in FIFO order. A thread idle for
//! [`set_idle_timeout`] (default 10 s) exits, so an idle process holds no pool threads. The bound caps the
//! memory (one OS stack each) and the kernel threads a burst of blocking calls can create; raise it if many
//! slow calls (network file systems, slow DNS) must overlap. [`stats`] shows the pool's counters.
//!
//! # Waiting, cancellation and borrowing
//! - [`offload`](fn@offload) lets the closure borrow from the caller, so the caller must wait until the job is done:
//!   that wait is uncancellable (a cancellation or expired timeout takes effect at the next blocking call
//!   after it), and a panic in the job is resumed in the caller. Outside a green thread it runs the closure
//!   inline. This is the right default for I/O: the call cannot be stopped halfway anyway.
//! - [`spawn`] takes a `'static` closure and returns an [`OffloadHandle`]; its [`join`](OffloadHandle::join)
//!   is a cancellation point. A caller that stops waiting (cancelled, timed out, or dropping the handle)
//!   leaves the job running to completion; its result is dropped.
//!
//! The completion uses the same packet as [`JoinHandle`](crate::JoinHandle) (state RUNNING → WAITING →
//! DONE; the finishing side unparks the registered waiter), so a job's end wakes the caller exactly as a
//! green thread's end wakes its joiner.

#[allow(clippy::module_inception)]
mod offload;
mod offload_handle;
mod pool;

pub use offload::offload;
pub use offload_handle::{spawn, OffloadHandle};
pub use pool::{set_idle_timeout, set_max_threads, stats, Stats};
