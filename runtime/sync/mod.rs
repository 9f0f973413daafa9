//! Synchronization primitives that park green threads (and block OS threads): the `std::sync` mirror.
//!
//! # Layout
//! - [`wait_queue`]: the FIFO of parked threads every primitive here and in `channel` is built on.

pub(crate) mod wait_queue;
