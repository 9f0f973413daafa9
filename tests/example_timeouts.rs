//! The `timeouts` example, run to completion: the slow call times out, the fast one answers, the blocked
//! reader is cancelled — and the whole run takes well under the minute that reader would have waited.

mod example_process;
mod util;

use std::time::{Duration, Instant};

#[test]
fn timeouts_example_times_out_answers_and_cancels() {
    util::watchdog(Duration::from_secs(60), || {
        let start = Instant::now();
        let output = example_process::run("timeouts", &[]);
        let elapsed = start.elapsed();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "timeouts failed: {stdout}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 4, "{stdout}");
        assert!(lines[0].starts_with("server listening on 127.0.0.1:"), "{stdout}");
        assert!(lines[1].starts_with("slow call: timed out after 100 ms"), "{stdout}");
        assert!(lines[2].starts_with("fast call: done after 10 ms"), "{stdout}");
        assert!(lines[3].starts_with("blocked reader: cancelled"), "{stdout}");
        assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    });
}
