//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own OS thread and fails the test if it takes longer than `limit` (a hang, not a slow run:
/// limits are generous).
pub fn watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let _ = env_logger::builder().is_test(true).try_init();
    let (tx, rx) = mpsc::channel();
    let runner = std::thread::Builder::new()
        .name("test-body".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(());
            result
        })
        .unwrap();
    match rx.recv_timeout(limit) {
        Ok(()) => match runner.join().unwrap() {
            Ok(value) => value,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(_) => {
            eprintln!("watchdog: test did not finish within {limit:?}");
            std::process::abort();
        }
    }
}

/// A runtime with `workers` workers.
pub fn runtime(workers: usize) -> green::Runtime {
    green::Runtime::builder().workers(workers).build().expect("runtime")
}
