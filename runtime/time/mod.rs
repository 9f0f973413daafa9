//! Time: each worker's timer wheel, and `sleep`.
//!
//! A sleep is a park with a deadline (the `park` module): the green thread arms a timer on its worker's
//! `Wheel` and switches out; the worker fires due timers between batches and computes its `epoll_wait`
//! timeout from the next deadline.

mod sleep;
pub(crate) mod wheel;

pub use sleep::{sleep, sleep_until};
pub(crate) use wheel::{TimerKey, Wheel};
