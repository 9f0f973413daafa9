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

/// The environment variable that tells a re-run test binary it is the child of [`in_child`].
const CHILD: &str = "GREEN_TEST_CHILD";

/// Runs `body` in a child process — this test binary again, with only `test_name` — so that a crash, an abort
/// or a hang in it fails the test instead of taking the whole binary down. The child is killed after `limit`.
/// Returns the child's stderr (for tests that check a message); in the child itself it runs `body` and
/// returns an empty string.
///
/// # Panics
/// When the child fails, aborts, is killed by a signal or does not finish in time: the message carries its
/// status and stderr.
pub fn in_child(test_name: &str, limit: Duration, body: impl FnOnce()) -> String {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;
    if std::env::var_os(CHILD).is_some() {
        let _ = env_logger::builder().is_test(true).try_init();
        body();
        return String::new();
    }
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child test process");
    // Drain stderr on a thread so a chatty child never blocks on a full pipe.
    let mut pipe = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = reader.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => stderr,
        Some(status) => panic!("child `{test_name}` failed ({status}); its stderr:\n{stderr}"),
        None => panic!("child `{test_name}` hung: killed after {limit:?}; its stderr:\n{stderr}"),
    }
}

/// Set by a [`Lender`]'s drop: the frame that lent a borrow is gone.
pub struct LenderFlag(std::sync::atomic::AtomicBool);

impl LenderFlag {
    pub const fn new() -> LenderFlag {
        LenderFlag(std::sync::atomic::AtomicBool::new(false))
    }

    /// Whether the lending frame has ended.
    pub fn is_gone(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Fails (aborts the child process) when the lender's frame has been unwound while a borrower still uses it:
    /// the use-after-free the runtime must never allow.
    pub fn assert_alive(&self, who: &str) {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("use after free: {who} still borrows from a frame that was unwound");
            std::process::abort();
        }
    }
}

/// Lives in a frame that lends borrows to other threads; its drop marks the frame gone.
pub struct Lender(pub &'static LenderFlag);

impl Drop for Lender {
    fn drop(&mut self) {
        self.0 .0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether this kernel has `MADV_GUARD_INSTALL` (Linux 6.13 and later): where it does, green thread stacks come
/// from arenas and cost no memory mapping each. The benches' probe, shared.
#[path = "../../benches/workloads/map_count.rs"]
mod map_count;
#[allow(unused_imports)]
pub use map_count::kernel_has_guard_markers;
