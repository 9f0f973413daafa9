//! A green thread that overflows its stack is named on stderr and the process aborts (checked in a child
//! process: this test binary re-runs itself with an environment variable set), on both kinds of guard page:
//! the arena stacks with `MADV_GUARD_INSTALL` markers (Linux 6.13 and later) and the `mprotect`ed stacks that
//! `GREEN_STACK_GUARDS=mprotect` forces.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

mod util;

const SCENARIO: &str = "GREEN_OVERFLOW_SCENARIO";

/// The environment variable that selects the kind of guard page, and the value that forces `mprotect`.
const GUARDS: (&str, &str) = ("GREEN_STACK_GUARDS", "mprotect");

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth as u8; 1024]);
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + frame[7] as u64
}

/// Counts the lines of `/proc/self/maps`.
fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// Runs the scenario when this process is the child.
fn child() -> bool {
    let Ok(scenario) = std::env::var(SCENARIO) else { return false };
    let rt = green::Runtime::builder().workers(2).build().unwrap();
    if scenario == "mappings" {
        // How many memory areas 2,000 parked green threads add: tells which kind of stack is in use.
        let added = rt.block_on(|| {
            let before = mapping_count();
            let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let (sender, receiver) = green::channel::bounded::<()>(0);
            let handles: Vec<_> = (0..2000)
                .map(|_| {
                    let (receiver, started) = (receiver.clone(), started.clone());
                    green::spawn(move || {
                        started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        receiver.recv().is_err()
                    })
                })
                .collect();
            // Every green thread has its stack once it has started.
            while started.load(std::sync::atomic::Ordering::Relaxed) < 2000 {
                green::sleep(std::time::Duration::from_millis(1));
            }
            let added = mapping_count().saturating_sub(before);
            drop(sender);
            assert!(handles.into_iter().all(|handle| handle.join().unwrap()));
            added
        });
        println!("MAPPINGS {added}");
        std::process::exit(0);
    }
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

/// Runs `scenario` in a child process, with `mprotect` guards if `protected`; returns its status, stdout and
/// stderr.
fn run_child(scenario: &str, protected: bool) -> (std::process::ExitStatus, String, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", "overflow_child_entry", "--nocapture", "--test-threads=1"]).env(SCENARIO, scenario);
    if protected {
        command.env(GUARDS.0, GUARDS.1);
    } else {
        command.env_remove(GUARDS.0);
    }
    let output = util::watchdog(std::time::Duration::from_secs(60), move || command.output().unwrap());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status, stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn overflow_child_entry() {
    if child() {
        unreachable!();
    }
}

fn named_overflow_is_reported(protected: bool) {
    let (status, _, stderr) = run_child("named", protected);
    assert!(stderr.contains("green thread 'deep recursion' overflowed its stack"), "stderr: {stderr}");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "status: {status:?}, stderr: {stderr}");
}

fn unnamed_overflow_is_reported_by_id(protected: bool) {
    let (status, _, stderr) = run_child("unnamed", protected);
    assert!(stderr.contains("green thread #") && stderr.contains("overflowed its stack"), "stderr: {stderr}");
    assert_eq!(status.signal(), Some(libc::SIGABRT), "status: {status:?}");
}

#[test]
fn a_named_green_thread_overflowing_its_stack_is_reported_and_aborts() {
    named_overflow_is_reported(false);
}

#[test]
fn an_unnamed_green_thread_is_reported_by_id() {
    unnamed_overflow_is_reported_by_id(false);
}

#[test]
fn a_named_overflow_is_reported_with_mprotect_guards() {
    named_overflow_is_reported(true);
}

#[test]
fn an_unnamed_overflow_is_reported_by_id_with_mprotect_guards() {
    unnamed_overflow_is_reported_by_id(true);
}

#[test]
fn the_variable_selects_the_kind_of_stack() {
    let mappings = |protected: bool| -> usize {
        let (status, stdout, stderr) = run_child("mappings", protected);
        assert!(status.success(), "{stdout}\n{stderr}");
        let count = stdout.lines().find_map(|line| Some(line.split_once("MAPPINGS ")?.1));
        count.and_then(|count| count.trim().parse().ok()).unwrap_or_else(|| panic!("no count: {stdout}\n{stderr}"))
    };
    // Two memory areas per stack (neighbouring ones may merge now and then).
    let protected = mappings(true);
    assert!(protected >= 3000, "2,000 mprotect stacks added only {protected} mappings");
    let default = mappings(false);
    if util::kernel_has_guard_markers() {
        assert!(default < 100, "2,000 arena stacks added {default} mappings");
    } else {
        eprintln!("this kernel has no MADV_GUARD_INSTALL: both runs use mprotect guards");
        assert!(default >= 3000, "{default}");
    }
}
