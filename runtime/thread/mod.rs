//! The `std::thread` mirror: spawning, joining, scopes, the current thread, park and yield.
//!
//! Swap `std::thread::spawn` for `green::spawn` and the code runs on a green thread: same closures, same
//! [`JoinHandle::join`] result (`Err(payload)` on panic), same [`scope`] borrowing rules.

mod builder;
mod join_handle;
pub(crate) mod panic_hook;
mod scope;
#[allow(clippy::module_inception)]
mod thread;

pub(crate) use builder::block_on;
pub use builder::{spawn, spawn_local, Builder};
pub use join_handle::JoinHandle;
pub(crate) use join_handle::{payload_message, Packet};
pub use scope::{scope, Scope, ScopedJoinHandle};
pub use thread::{current, panicking, park, park_timeout, yield_now, Thread, ThreadId};
