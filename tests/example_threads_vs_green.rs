//! The `threads_vs_green` example in small mode: every request is answered in all three models, and the
//! CPU-bound and heartbeat sections print their figures.

mod example_process;
mod util;

use std::time::Duration;

#[test]
fn threads_vs_green_answers_every_request_in_every_model() {
    example_process::watchdog("threads_vs_green", Duration::from_secs(120), || {
        let output = example_process::run(
            "threads_vs_green",
            &["--requests", "200", "--pool", "20", "--cpu-iterations", "2000000"],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        for model in ["one OS thread per request", "a pool of 20 OS threads", "one green thread per request"] {
            let row = stdout.lines().find(|line| line.starts_with(model)).unwrap_or_else(|| panic!("{stdout}"));
            assert!(row.ends_with("(200 answered)"), "{row}");
        }
        assert!(stdout.contains("on 1 worker(s):"), "{stdout}");
        for how in ["never parking", "yield_now()", "inside green::offload"] {
            assert!(stdout.lines().any(|line| line.contains(how) && line.contains("ms late")), "{stdout}");
        }
    });
}
