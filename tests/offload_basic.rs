//! `green::offload` and `green::offload::spawn`: results, borrowing, panics, where the job runs.

mod util;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use util::{runtime, watchdog};

#[test]
fn offload_returns_the_value_and_runs_on_a_pool_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let (value, name) = rt.block_on(|| green::offload(|| (6 * 7, std::thread::current().name().map(String::from))));
        assert_eq!(value, 42);
        let name = name.expect("pool threads are named");
        assert!(name.starts_with("green-offload-"), "ran on {name}");
    });
}

#[test]
fn offload_borrows_and_mutates_the_callers_data() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let mut numbers: Vec<u64> = (1..=1000).collect();
            let label = String::from("sum");
            let (name, sum) = green::offload(|| {
                numbers.iter_mut().for_each(|n| *n *= 2);
                (label.as_str(), numbers.iter().sum::<u64>())
            });
            assert_eq!(name, "sum");
            assert_eq!(sum, 1000 * 1001);
            assert_eq!(numbers[999], 2000, "the job wrote through the borrow");
        });
    });
}

#[test]
fn a_panic_in_offload_is_resumed_in_the_caller_with_its_payload() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let caught =
                panic::catch_unwind(AssertUnwindSafe(|| green::offload(|| -> u32 { panic::panic_any(417u32) })));
            let payload = caught.unwrap_err();
            assert_eq!(payload.downcast_ref::<u32>(), Some(&417));
            assert!(!green::is_cancelled(payload.as_ref()));
            // The pool survived the panic.
            assert_eq!(green::offload(|| 5), 5);
        });
    });
}

#[test]
fn a_panic_in_offload_fails_the_green_thread_join() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let handle = rt.spawn(|| green::offload(|| -> () { panic!("offloaded boom") }));
        let payload = handle.join().unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"offloaded boom"));
    });
}

#[test]
fn outside_a_green_thread_offload_runs_inline() {
    watchdog(Duration::from_secs(30), || {
        let here = std::thread::current().id();
        assert_eq!(green::offload(|| std::thread::current().id()), here);
    });
}

#[test]
fn a_nested_offload_runs_inline_on_the_pool_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let (outer, inner) = rt.block_on(|| {
            green::offload(|| (std::thread::current().id(), green::offload(|| std::thread::current().id())))
        });
        assert_eq!(outer, inner);
    });
}

#[test]
fn spawn_returns_a_handle_that_joins_the_value_or_the_panic() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let handles: Vec<_> = (0..20u64).map(|i| green::offload::spawn(move || i * i)).collect();
            let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, (0..20u64).map(|i| i * i).sum());

            let failing = green::offload::spawn(|| -> () { panic::panic_any(String::from("job failed")) });
            let payload = failing.join().unwrap_err();
            assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("job failed"));
        });
    });
}

#[test]
fn spawn_from_a_plain_thread_goes_to_the_pool_and_join_blocks() {
    watchdog(Duration::from_secs(30), || {
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let handle = green::offload::spawn(move || {
            gate.recv().unwrap();
            std::thread::current().name().map(String::from)
        });
        assert!(!handle.is_finished(), "the job waits for the gate");
        release.send(()).unwrap();
        let name = handle.join().unwrap().expect("named");
        assert!(name.starts_with("green-offload-"));
    });
}

#[test]
fn a_dropped_handle_detaches_the_job_which_still_runs() {
    watchdog(Duration::from_secs(30), || {
        let (done, finished) = std::sync::mpsc::channel();
        let handle = green::offload::spawn(move || done.send(11).unwrap());
        drop(handle);
        assert_eq!(finished.recv().unwrap(), 11);
    });
}

#[test]
fn many_green_threads_offload_concurrently_and_every_result_comes_back() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let total = rt.block_on(|| {
            let handles: Vec<_> = (0..500u64)
                .map(|i| green::spawn(move || (0..4).map(|j| green::offload(move || i * 10 + j)).sum::<u64>()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        let expected: u64 = (0..500u64).map(|i| (0..4).map(|j| i * 10 + j).sum::<u64>()).sum();
        assert_eq!(total, expected);
    });
}

#[test]
fn handles_and_files_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<green::offload::OffloadHandle<u32>>();
    assert_send_sync::<green::offload::Stats>();
    assert_send_sync::<green::fs::File>();
    assert_send_sync::<green::fs::OpenOptions>();
}
