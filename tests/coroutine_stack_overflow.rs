//! A green thread that overflows its stack is named on stderr and the process aborts (checked in a child
//! process: this test binary re-runs itself with an environment variable set).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const SCENARIO: &str = "GREEN_OVERFLOW_SCENARIO";

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth as u8; 1024]);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + frame[7] as u64
}

/// Runs the scenario when this process is the child.
fn child() -> bool {
    let Ok(scenario) = std::env::var(SCENARIO) else { return false };
    let rt = green::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(move || {
        // A neighbour that must not be corrupted silently: the process dies instead.
        let _neighbour = green::spawn(|| green::sleep(std::time::Duration::from_secs(60)));
        let builder = match scenario.as_str() {
            "named" => green::Builder::new().name("deep recursion".into()),
            _ => green::Builder::new(),
        };
        let handle = builder.stack_size(64 * 1024).spawn(|| recurse(0)).unwrap();
        let _ = handle.join();
    });
    unreachable!("the overflow must abort the process");
}

fn run_child(scenario: &str) -> (std::process::ExitStatus, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "overflow_child_entry", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .output()
        .unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn overflow_child_entry() {
    if child() {
        unreachable!();
    }
}

#[test]
fn a_named_green_thread_overflowing_its_stack_is_reported_and_aborts() {
    let (status, stderr) = run_child("named");
    assert!(stderr.contains("green thread 'deep recursion' overflowed its stack"), "stderr: {stderr}");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "status: {status:?}, stderr: {stderr}");
}

#[test]
fn an_unnamed_green_thread_is_reported_by_id() {
    let (status, stderr) = run_child("unnamed");
    assert!(stderr.contains("green thread #") && stderr.contains("overflowed its stack"), "stderr: {stderr}");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "status: {status:?}");
}
