//! The workloads the benches measure, shared by the criterion benches (`cargo bench --bench core`, ...) and the
//! side-by-side report (`cargo bench --bench report`), so both time the same functions.
//!
//! Each bench includes this module with `#[path = "workloads/mod.rs"] mod workloads;` (the net bench includes
//! only `echo.rs`). A timed workload has the
//! shape of criterion's `iter_custom`: it gets an iteration count, does its setup untimed, and returns the time
//! the iterations took. Every system (green, OS threads, tokio) gets the same work and the same checks.
//!
//! # Layout
//! - `tasks`: spawn+join, yield, park/unpark ping-pong, a bare corosensei switch, 100,000 concurrent sleeps.
//! - `channel`: channel ping-pong and the throughput of 1,000,000 messages.
//! - `mutex`: 4 contenders on one mutex, with a yield or a little work between critical sections.
//! - `map_count`: whether a run that needs many green stacks fits at this machine's settings (it changes none).
//! - `echo`: the echo servers (one per system) and the one mio client that drives every network workload.
//! - `http`: the HTTP/1.1 keep-alive "Hello, World!" servers, driven by `echo`'s client.

// Each bench uses only some of the workloads.
#![allow(dead_code)]

pub mod channel;
pub mod echo;
pub mod http;
pub mod map_count;
pub mod mutex;
pub mod tasks;

/// A tokio multi-thread runtime with 2 workers, the size of the green runtimes it is compared with.
pub fn tokio_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A tokio current-thread runtime.
pub fn tokio_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A green runtime with `workers` workers and the default stack size.
pub fn green(workers: usize) -> green::Runtime {
    green::Runtime::builder().workers(workers).build().unwrap()
}
