//! A panic in a green thread is reported on stderr like std's, naming the green thread and the user's line;
//! misuse panics point at the caller's line.

mod util;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use util::in_child;

#[test]
fn a_green_threads_panic_names_the_green_thread_and_the_users_line() {
    let stderr =
        in_child("a_green_threads_panic_names_the_green_thread_and_the_users_line", Duration::from_secs(60), || {
            green::Runtime::builder().workers(1).build().unwrap().block_on(|| {
                let detached = green::Builder::new()
                    .name("handler-7".into())
                    .spawn(|| panic!("the request was malformed"))
                    .unwrap();
                while !detached.is_finished() {
                    green::yield_now();
                }
            });
        });
    if stderr.is_empty() {
        return; // this is the child
    }
    // The line of the user's `panic!`, found in this very file.
    let line = include_str!("thread_panic_message.rs")
        .lines()
        .position(|text| text.contains("panic!(\"the request was malformed\")"))
        .unwrap()
        + 1;
    let expected = format!("panicked at tests/thread_panic_message.rs:{line}:");
    assert!(stderr.contains("thread 'handler-7' (green #"), "stderr: {stderr}");
    assert!(stderr.contains(&expected), "stderr: {stderr}");
    assert!(stderr.contains("the request was malformed"), "stderr: {stderr}");
    assert!(!stderr.contains("thread 'green-worker-0'"), "stderr: {stderr}");
}

#[test]
fn spawn_local_outside_a_green_thread_panics_at_the_callers_line() {
    in_child("spawn_local_outside_a_green_thread_panics_at_the_callers_line", Duration::from_secs(60), || {
        static LINE: AtomicU32 = AtomicU32::new(0);
        std::panic::set_hook(Box::new(|info| {
            if info.location().is_some_and(|location| location.file().ends_with("thread_panic_message.rs")) {
                LINE.store(info.location().unwrap().line(), Ordering::SeqCst);
            }
        }));
        let line = line!() + 2;
        let outcome = std::panic::catch_unwind(|| {
            green::spawn_local(|| ());
        });
        let payload = outcome.unwrap_err();
        let message = payload.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("spawn_local needs a green worker"), "{message}");
        assert_eq!(LINE.load(Ordering::SeqCst), line, "the panic points at the caller's line");
    });
}
