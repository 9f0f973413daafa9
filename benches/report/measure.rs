//! Timing with `Instant`: a calibrating warm-up, then repetitions, and their median.

use std::time::Duration;

/// Repetitions per cell of a per-operation workload.
pub const REPETITIONS: usize = 15;

/// What one repetition of a per-operation workload should last; the warm-up finds the iteration count.
pub const REPETITION_TIME: Duration = Duration::from_millis(20);

/// Repetitions per cell of a whole-run workload (1,000,000 messages, 100,000 sleepers, ...).
pub const RUNS: usize = 10;

/// The median of `values` (the mean of the two middle ones for an even count). Panics when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}

/// The `fraction` quantile of `values` (nearest rank). Panics when empty.
pub fn quantile(values: &[f64], fraction: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

/// Nanoseconds per operation: `run(iters)` returns the time `iters` operations took. The warm-up grows
/// `iters` until one repetition lasts [`REPETITION_TIME`]; then [`REPETITIONS`] repetitions, median.
pub fn per_op(mut run: impl FnMut(u64) -> Duration) -> f64 {
    let mut iters = 1u64;
    loop {
        let elapsed = run(iters);
        if elapsed >= REPETITION_TIME || iters >= 1 << 32 {
            break;
        }
        let factor = if elapsed.is_zero() {
            10.0
        } else {
            (REPETITION_TIME.as_secs_f64() / elapsed.as_secs_f64() * 1.2).clamp(1.5, 10.0)
        };
        iters = (iters as f64 * factor).ceil() as u64;
    }
    let samples: Vec<f64> = (0..REPETITIONS).map(|_| run(iters).as_nanos() as f64 / iters as f64).collect();
    median(&samples)
}

/// The median duration of [`RUNS`] calls of `run` after one warm-up call; `run` returns what it timed.
pub fn per_run(mut run: impl FnMut() -> Duration) -> Duration {
    run();
    let samples: Vec<f64> = (0..RUNS).map(|_| run().as_secs_f64()).collect();
    Duration::from_secs_f64(median(&samples))
}
