//! Spawning and joining green threads: results, panics, names, placement, scopes.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::{runtime, watchdog};

#[test]
fn hundred_thousand_green_threads_spawned_and_joined() {
    watchdog(Duration::from_secs(120), || {
        let rt = runtime(2);
        let sum = rt.block_on(|| {
            let handles: Vec<_> = (0..100_000u64).map(|i| green::spawn(move || i * 2)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, 2 * (99_999 * 100_000 / 2));
    });
}

#[test]
fn join_of_a_panicked_green_thread_gives_the_payload() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let handle = green::spawn(|| -> u32 { std::panic::panic_any(417u32) });
            let payload = handle.join().unwrap_err();
            assert_eq!(payload.downcast_ref::<u32>(), Some(&417));
            assert!(!green::is_cancelled(payload.as_ref()));
        });
    });
}

#[test]
fn block_on_reraises_the_panic() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(|| panic!("boom"))));
        let payload = result.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        // The runtime is still usable.
        assert_eq!(rt.block_on(|| 5), 5);
    });
}

#[test]
fn builder_names_the_green_thread_and_current_sees_it() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let handle = green::Builder::new()
                .name("named-one".into())
                .stack_size(32 * 1024)
                .spawn(|| (green::current().name().map(String::from), green::current().is_green()))
                .unwrap();
            let id = handle.thread().id();
            let (name, green) = handle.join().unwrap();
            assert_eq!(name.as_deref(), Some("named-one"));
            assert!(green);
            assert_ne!(id, green::current().id());
        });
    });
}

#[test]
fn spawn_from_a_plain_thread_uses_the_default_runtime() {
    watchdog(Duration::from_secs(30), || {
        let handle = green::spawn(|| green::current().is_green());
        assert!(handle.join().unwrap());
        assert!(!green::current().is_green());
    });
}

#[test]
fn scoped_green_threads_borrow_a_local_vec() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let mut numbers: Vec<u64> = (1..=100).collect();
            let total = AtomicUsize::new(0);
            green::scope(|s| {
                for chunk in numbers.chunks(10) {
                    let total = &total;
                    s.spawn(move || {
                        green::yield_now();
                        total.fetch_add(chunk.iter().sum::<u64>() as usize, Ordering::Relaxed);
                    });
                }
            });
            assert_eq!(total.load(Ordering::Relaxed), 5050);
            numbers.push(101);
            assert_eq!(numbers.len(), 101);
        });
    });
}

#[test]
fn spawn_local_accepts_non_send_closures() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let shared = std::rc::Rc::new(std::cell::Cell::new(0));
            let handles: Vec<_> = (0..10)
                .map(|_| {
                    let shared = shared.clone();
                    green::spawn_local(move || shared.set(shared.get() + 1))
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(shared.get(), 10);
        });
    });
}

#[test]
fn spawn_local_outside_a_worker_is_an_error() {
    let error = green::Builder::new().spawn_local(|| ()).unwrap_err();
    assert!(error.to_string().contains("spawn_local"), "{error}");
}

#[test]
fn work_spreads_over_both_workers() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let workers = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        rt.block_on(|| {
            let handles: Vec<_> = (0..200)
                .map(|_| {
                    let workers = workers.clone();
                    green::spawn(move || {
                        workers.lock().unwrap().insert(std::thread::current().name().unwrap().to_string());
                        // A millisecond of CPU work each: one worker alone would need 200 ms to start them all,
                        // far longer than an idle worker takes to wake up and steal (started ones cannot move).
                        let busy_until = std::time::Instant::now() + Duration::from_millis(1);
                        while std::time::Instant::now() < busy_until {
                            std::hint::spin_loop();
                        }
                        green::sleep(Duration::from_millis(20));
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        });
        let workers = workers.lock().unwrap();
        assert_eq!(workers.len(), 2, "{workers:?}");
    });
}
