//! Cancellation, timeouts and structured concurrency: `JoinHandle::cancel`, `timeout`, `uncancellable`,
//! `scope` panics, `Group`.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use util::{runtime, watchdog};

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelling_a_sleeping_green_thread_unwinds_it_and_runs_destructors() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = rt.spawn({
            let tracked = Tracked(dropped.clone());
            move || {
                let _held = tracked;
                tx.send(()).unwrap();
                green::sleep(Duration::from_secs(3600));
                unreachable!("the sleep is cancelled");
            }
        });
        rx.recv().unwrap();
        sleeper.cancel();
        let error = sleeper.join().unwrap_err();
        assert!(green::is_cancelled(error.as_ref()));
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_green_thread_cancelled_before_it_starts_never_runs() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let ran = Arc::new(AtomicUsize::new(0));
        rt.block_on(|| {
            // The spawner keeps the worker busy, so the child cannot start before it is cancelled.
            let child = green::spawn_local({
                let ran = ran.clone();
                move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                }
            });
            child.cancel();
            assert!(green::is_cancelled(child.join().unwrap_err().as_ref()));
        });
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn cancelling_a_finished_green_thread_does_nothing() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let done = green::spawn(|| 5);
            while !done.is_finished() {
                green::yield_now();
            }
            done.cancel();
            assert_eq!(done.join().unwrap(), 5);
        });
    });
}

#[test]
fn cancel_from_a_plain_os_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let parked = rt.spawn(|| loop {
            green::park();
        });
        std::thread::scope(|s| {
            s.spawn(|| parked.cancel());
        });
        assert!(green::is_cancelled(parked.join().unwrap_err().as_ref()));
    });
}

#[test]
fn timeout_around_a_sleep_returns_elapsed_after_the_deadline() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let start = Instant::now();
            let result = green::timeout(Duration::from_millis(30), || green::sleep(Duration::from_secs(10)));
            let waited = start.elapsed();
            assert!(result.is_err());
            assert!(waited >= Duration::from_millis(30) && waited < Duration::from_secs(5), "{waited:?}");
            // The green thread carries on normally afterwards.
            green::sleep(Duration::from_millis(1));
            assert_eq!(green::timeout(Duration::from_secs(5), || 7), Ok(7));
        });
    });
}

#[test]
fn nested_timeouts_inner_shorter_fires_inner_only() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let outer = green::timeout(Duration::from_secs(5), || {
                let inner = green::timeout(Duration::from_millis(20), || green::sleep(Duration::from_secs(10)));
                assert!(inner.is_err(), "the inner deadline fires");
                "outer body finished"
            });
            assert_eq!(outer, Ok("outer body finished"));
        });
    });
}

#[test]
fn nested_timeouts_outer_shorter_fires_outer_through_the_inner() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let inner_returned = Arc::new(AtomicUsize::new(0));
            let outer = green::timeout(Duration::from_millis(20), || {
                let _inner = green::timeout(Duration::from_secs(5), || green::sleep(Duration::from_secs(10)));
                inner_returned.fetch_add(1, Ordering::SeqCst);
            });
            assert!(outer.is_err(), "the outer deadline fires");
            assert_eq!(inner_returned.load(Ordering::SeqCst), 0, "the inner timeout did not swallow it");
        });
    });
}

#[test]
fn timeout_on_a_plain_os_thread() {
    watchdog(Duration::from_secs(30), || {
        let result = green::timeout(Duration::from_millis(20), || green::sleep(Duration::from_secs(10)));
        assert!(result.is_err());
    });
}

#[test]
fn uncancellable_defers_the_cancellation_to_the_next_blocking_call() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let steps = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = rt.spawn({
            let steps = steps.clone();
            move || {
                green::uncancellable(|| {
                    tx.send(()).unwrap();
                    green::sleep(Duration::from_millis(30));
                    steps.fetch_add(1, Ordering::SeqCst);
                });
                steps.fetch_add(1, Ordering::SeqCst);
                green::sleep(Duration::from_secs(3600));
                steps.fetch_add(100, Ordering::SeqCst);
            }
        });
        rx.recv().unwrap();
        worker.cancel();
        assert!(green::is_cancelled(worker.join().unwrap_err().as_ref()));
        assert_eq!(steps.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn a_panic_in_one_scoped_child_cancels_its_siblings() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let cancelled = Arc::new(AtomicUsize::new(0));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                green::scope(|s| {
                    for _ in 0..5 {
                        let cancelled = cancelled.clone();
                        s.spawn(move || {
                            let _t = Tracked(cancelled);
                            green::sleep(Duration::from_secs(3600));
                        });
                    }
                    s.spawn(|| {
                        green::sleep(Duration::from_millis(5));
                        panic!("one child fails");
                    });
                });
            }));
            assert!(result.is_err(), "the scope re-raises");
            assert_eq!(cancelled.load(Ordering::SeqCst), 5, "the sleeping siblings were cancelled and unwound");
        });
    });
}

#[test]
fn group_with_limit_three_never_runs_more_than_three() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let running = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let mut group = green::Group::with_limit(3);
            for i in 0..50u64 {
                let (running, peak) = (running.clone(), peak.clone());
                group.spawn(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    green::sleep(Duration::from_millis(1 + i % 3));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                });
            }
            let sum: u64 = group.join_all().into_iter().map(|r| r.unwrap()).sum();
            assert_eq!(sum, 49 * 50 / 2);
            assert_eq!(peak.load(Ordering::SeqCst), 3);
        });
    });
}

#[test]
fn group_map_keeps_input_order_and_join_next_gives_completion_order() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let squares = green::Group::with_limit(4).map(0..20u64, |x| {
                green::sleep(Duration::from_millis(20 - x));
                x * x
            });
            assert_eq!(squares, (0..20u64).map(|x| x * x).collect::<Vec<_>>());

            let mut group = green::Group::new();
            for (i, delay) in [200u64, 1, 100].into_iter().enumerate() {
                group.spawn(move || {
                    green::sleep(Duration::from_millis(delay));
                    i
                });
            }
            let order: Vec<usize> = std::iter::from_fn(|| group.join_next()).map(|r| r.unwrap()).collect();
            assert_eq!(order, vec![1, 2, 0]);
        });
    });
}

#[test]
fn dropping_a_group_cancels_and_joins_its_members() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut group = green::Group::new();
            for _ in 0..10 {
                let tracked = Tracked(dropped.clone());
                group.spawn(move || {
                    let _t = tracked;
                    green::sleep(Duration::from_secs(3600));
                });
            }
            drop(group);
            assert_eq!(dropped.load(Ordering::SeqCst), 10);
        });
    });
}
