//! The `tour` example runs every step and ends cleanly.

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn tour_runs_every_step() {
    example_process::watchdog("tour", Duration::from_secs(180), || {
        let output = example_process::run("tour", &[]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        for step in ["1. ", "2. ", "3. ", "4. ", "5. ", "6. "] {
            assert!(stdout.lines().any(|line| line.starts_with(step)), "step {step} missing: {stdout}");
        }
        assert!(stdout.contains("sum 4999950000 (expected 4999950000)"), "{stdout}");
        assert!(stdout.contains("cancelled = true"), "{stdout}");
        assert!(stdout.contains("nothing leaks"), "{stdout}");
    });
}
