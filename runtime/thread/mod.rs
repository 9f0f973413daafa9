//! The `std::thread` mirror: spawning, joining, scopes, the current thread, park, yield, sleep, and
//! green-thread-local storage.
//!
//! Swap `std::thread` for `green::thread` and the code runs on green threads: same closures, same
//! [`JoinHandle::join`] result (`Err(payload)` on panic), same [`scope`](fn@scope) borrowing rules, and every name a
//! `use std::thread::...` line can hold resolves here — [`spawn`], [`Builder`], [`JoinHandle`], [`Thread`],
//! [`ThreadId`], [`current`], [`park`], [`park_timeout`], [`yield_now`], [`sleep`], [`sleep_until`],
//! [`scope`](fn@scope), [`Scope`], [`ScopedJoinHandle`], [`panicking`], [`available_parallelism`], [`Result`],
//! [`LocalKey`], [`AccessError`] — with waiting that parks only the calling green thread.
//!
//! ```
//! use green::thread;
//! use std::time::Duration;
//!
//! green::run(|| {
//!     let handle = thread::Builder::new()
//!         .name("sleeper".into())
//!         .spawn(|| {
//!             thread::sleep(Duration::from_millis(5)); // parks this green thread only
//!             thread::current().name().unwrap().to_string()
//!         })
//!         .unwrap();
//!     assert_eq!(handle.join().unwrap(), "sleeper");
//! });
//! ```
//!
//! # What not to keep from `std::thread`
//! `std::thread::sleep` (and anything else that blocks the OS thread: `std::sync::mpsc`, `std::net`, `std::fs`,
//! a blocking C call) inside a green thread blocks its whole worker and every green thread on it; it compiles
//! and silently stalls. Use [`sleep`] here, and the other `green::` mirrors or
//! [`offload`](fn@crate::offload). The [caveats](crate#caveats) list everything a green thread must not do.
//!
//! # Green-thread locals
//! `std::thread_local!` values are per OS thread. A green thread runs on a worker OS thread together with all
//! the other green threads of that worker, so **every green thread of a worker shares one value of a
//! `std::thread_local!`**: a per-connection counter kept there counts the connections of the whole worker.
//! (The references stay valid — a started green thread never changes OS thread — it is just not per green
//! thread.) [`thread_local!`](crate::thread_local) declares keys with one value per green thread instead,
//! with [`std::thread::LocalKey`]'s API ([`LocalKey::with`], `set`, `get`, `take`, `replace`, `with_borrow`,
//! `with_borrow_mut`); outside green threads it gives one value per OS thread, as `std`. A green thread's values
//! are dropped when it ends, before its `join` returns.
//!
//! ```
//! use std::cell::Cell;
//!
//! green::thread_local!(static SERVED: Cell<u32> = const { Cell::new(0) });
//!
//! green::run(|| {
//!     let counts: Vec<u32> = (1..=3)
//!         .map(|n| {
//!             green::spawn(move || {
//!                 for _ in 0..n {
//!                     SERVED.set(SERVED.get() + 1);
//!                     green::yield_now();
//!                 }
//!                 SERVED.get()
//!             })
//!         })
//!         .map(|h| h.join().unwrap())
//!         .collect();
//!     assert_eq!(counts, [1, 2, 3]); // each green thread counted only its own
//! });
//! ```
//!
//! # What `green` cannot offer
//! - `JoinHandleExt::as_pthread_t` / `into_pthread_t`: a green thread is not a pthread; [`JoinHandle`] has no
//!   such methods (a compile error names the missing trait). [`Thread::is_green`] tells the kinds apart.
//! - [`available_parallelism`] is `std`'s: the hardware's parallelism, not the number of workers (a runtime's
//!   worker count is set with [`runtime::Builder::workers`](crate::runtime::Builder::workers)).

mod builder;
mod join_handle;
pub(crate) mod local;
pub(crate) mod panic_hook;
mod scope;
#[allow(clippy::module_inception)]
mod thread;

pub(crate) use builder::block_on;
pub use builder::{spawn, spawn_local, Builder};
pub use join_handle::JoinHandle;
pub(crate) use join_handle::{payload_message, Packet};
pub(crate) use local::Storage as LocalStorage;
pub use local::{AccessError, LocalKey};
pub use scope::{scope, Scope, ScopedJoinHandle};
pub use std::thread::{available_parallelism, Result};
pub use thread::{current, panicking, park, park_timeout, yield_now, Thread, ThreadId};
#[allow(deprecated)]
pub use thread::{park_timeout_ms, sleep_ms};

pub use crate::time::{sleep, sleep_until};
