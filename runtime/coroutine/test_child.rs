//! Test support: run a scenario in a child process (a stack overflow or a mapping failure must not take the
//! test binary down with it), and run a module's tests again with the other kind of guard page.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::stack_arena::GUARD_KIND_VARIABLE;

/// Runs this test binary again with only `test_name`, with `scenario` in the environment variable `variable`,
/// and returns its output. Kills it after 60 seconds.
pub(crate) fn run_child(variable: &str, test_name: &str, scenario: &str) -> Output {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(variable, scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, scenario, Duration::from_secs(60))
}

/// Runs every test of `module` (a `module_path!()`) again in a child process whose stacks use `mprotect` guard
/// pages ([`GUARD_KIND_VARIABLE`]` = mprotect`), and fails if any fails there. Does nothing when this process
/// already runs with that setting (it is that child, or the whole run was started so).
pub(crate) fn run_module_with_protected_guards(module: &str) {
    if std::env::var_os(GUARD_KIND_VARIABLE).is_some_and(|value| value == "mprotect") {
        return;
    }
    // Test names leave out the crate name.
    let filter = module.split_once("::").map_or(module, |(_, rest)| rest);
    // One test at a time: with mprotect guards every stack is two memory areas, and the tests that count the
    // process's memory areas must not see another test's stacks come and go.
    let child = Command::new(std::env::current_exe().unwrap())
        .args([filter, "--test-threads=1"])
        .env(GUARD_KIND_VARIABLE, "mprotect")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = wait_bounded(child, filter, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the tests of {filter} fail with mprotect guards:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" passed; 0 failed"), "{stdout}");
}

/// Waits for `child` and returns its output; kills it and panics after `limit`.
fn wait_bounded(mut child: Child, what: &str, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("child {what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}
