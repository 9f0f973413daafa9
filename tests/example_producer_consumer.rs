//! The `producer_consumer` example in small mode: everything produced is consumed, and a small queue makes
//! producers wait (back-pressure).

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn producer_consumer_loses_nothing_and_shows_back_pressure() {
    example_process::watchdog("producer_consumer", Duration::from_secs(60), || {
        let output = example_process::run("producer_consumer", &["--items", "50000", "--capacity", "4"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(stdout.contains("produced 50000 items (checksum 1249975000)"), "{stdout}");
        assert!(stdout.contains("consumed 50000 items (checksum 1249975000)"), "{stdout}");
        assert!(stdout.contains("nothing lost"), "{stdout}");
        let waits: u64 = stdout
            .split("had to wait: ")
            .nth(1)
            .or_else(|| stdout.split("and waited: ").nth(1))
            .and_then(|rest| rest.lines().next()?.trim().parse().ok())
            .expect("a wait count");
        assert!(waits > 0, "{stdout}");
    });
}
