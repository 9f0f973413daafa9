//! When the process cannot map another stack, the green thread that needed it ends with an `io::Error` that
//! names the limit, and the others keep running (checked in a child process under a low `RLIMIT_AS`).

use std::process::Command;
use std::time::Duration;

const SCENARIO: &str = "GREEN_STACK_LIMIT_SCENARIO";

#[test]
fn stack_limit_child_entry() {
    if std::env::var(SCENARIO).is_err() {
        return;
    }
    let limit = libc::rlimit { rlim_cur: 3 << 30, rlim_max: 3 << 30 };
    // SAFETY: setrlimit with a valid struct only changes this (child) process's limit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
    let rt = green::Runtime::builder().workers(1).build().unwrap();
    let (started, failed, message) = rt.block_on(|| {
        let handles: Vec<_> = (0..40)
            .map(|_| {
                green::Builder::new()
                    .stack_size(256 << 20)
                    .spawn(|| green::sleep(Duration::from_millis(200)))
                    .expect("the limit is only found when the stack is mapped")
            })
            .collect();
        let (mut started, mut failed, mut message) = (0, 0, String::new());
        for handle in handles {
            match handle.join() {
                Ok(()) => started += 1,
                Err(payload) => {
                    let error = payload.downcast::<std::io::Error>().expect("an io::Error payload");
                    message = error.to_string();
                    failed += 1;
                }
            }
        }
        (started, failed, message)
    });
    println!("RESULT started={started} failed={failed} message={message}");
}

#[test]
fn a_green_thread_without_a_stack_reports_the_limit_and_the_others_run() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stack_limit_child_entry", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let line = stdout.lines().find_map(|l| l.find("RESULT").map(|at| &l[at..])).expect("the child reports");
    let number =
        |key: &str| -> u32 { line.split_whitespace().find_map(|w| w.strip_prefix(key)).unwrap().parse().unwrap() };
    assert!(number("started=") >= 1, "{line}");
    assert!(number("failed=") >= 1, "{line}");
    assert_eq!(number("started=") + number("failed="), 40, "{line}");
    assert!(line.contains("RLIMIT_AS"), "the message names the limit: {line}");
}
