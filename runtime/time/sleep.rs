//! `sleep` and `sleep_until`.

use std::time::{Duration, Instant};

use crate::park;

/// Puts the current thread to sleep for at least `duration`.
///
/// In a green thread only that green thread waits: its worker runs others meanwhile. Outside one it blocks the
/// OS thread like [`std::thread::sleep`]. Wakes at most about a millisecond late on an idle machine (the timer
/// wheel's resolution). A cancellation point.
#[track_caller]
pub fn sleep(duration: Duration) {
    match Instant::now().checked_add(duration) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            park::park_until(None);
        },
    }
}

/// Puts the current thread to sleep until `deadline` (see [`sleep`]).
#[track_caller]
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        park::park_until(Some(deadline));
    }
}
