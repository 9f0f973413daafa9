//! The `pipeline` example in small mode: every number that passes the filter reaches the sink (count and
//! sum), batches leave by size and by time, and a slow sink makes the source wait (back-pressure).

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn pipeline_delivers_everything_and_shows_back_pressure() {
    example_process::watchdog("pipeline", Duration::from_secs(60), || {
        let items = 3000u64;
        let output = example_process::run("pipeline", &["--items", "3000", "--sink-delay-us", "3000"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        let kept: Vec<u64> = (0..items).filter(|n| n % 3 != 0).collect();
        let sum: u128 = kept.iter().map(|&n| (n * n) as u128).sum();
        assert!(stdout.contains(&format!("{} numbers, sum of squares {sum};", kept.len())), "{stdout}");
        let source = stdout.lines().find(|line| line.trim_start().starts_with("source")).expect("a source line");
        let blocked: f64 = source
            .split("full channel")
            .nth(1)
            .and_then(|rest| rest.trim().trim_end_matches("% of the time").trim().parse().ok())
            .expect("a percentage");
        assert!(blocked >= 30.0, "the source hardly waited for the slow sink: {source}");
        assert!(stdout.contains("full batches"), "{stdout}");
    });
}
