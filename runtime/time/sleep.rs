//! `sleep` and `sleep_until`.

use std::time::{Duration, Instant};

use crate::inspect::WaitReason;
use crate::park;

/// Puts the current thread to sleep for at least `duration`.
///
/// In a green thread only that green thread waits: its worker runs others meanwhile. Outside one it blocks the
/// OS thread like [`std::thread::sleep`]. Wakes at most about a millisecond late on an idle machine (the timer
/// wheel's resolution). A cancellation point.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// green::run(|| {
///     let start = Instant::now();
///     let sleepers: Vec<_> = (0..100).map(|_| green::spawn(|| green::sleep(Duration::from_millis(20)))).collect();
///     sleepers.into_iter().for_each(|s| s.join().unwrap());
///     // A hundred sleeps of 20 ms overlap: they park, they do not hold the workers.
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) {
    match Instant::now().checked_add(duration) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            park::park_until(WaitReason::Sleep, None);
        },
    }
}

/// Puts the current thread to sleep until `deadline` (see [`sleep`]).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// green::run(|| {
///     let wake_at = Instant::now() + Duration::from_millis(10);
///     green::sleep_until(wake_at);
///     assert!(Instant::now() >= wake_at);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        park::park_until(WaitReason::Sleep, Some(deadline));
    }
}
