//! Test support: run a scenario in a child process (a stack overflow or a mapping failure must not take the
//! test binary down with it).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs this test binary again with only `test_name`, with `scenario` in the environment variable `variable`,
/// and returns its output. Kills it after 60 seconds.
pub(crate) fn run_child(variable: &str, test_name: &str, scenario: &str) -> Output {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(variable, scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("child scenario {scenario} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}
