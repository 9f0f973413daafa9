//! Dropping a runtime unwinds its green threads: destructors run, joiners learn they were cancelled.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use util::{runtime, watchdog};

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_runtime_with_ten_thousand_parked_green_threads_runs_their_destructors() {
    watchdog(Duration::from_secs(120), || {
        const N: usize = 10_000;
        let dropped = Arc::new(AtomicUsize::new(0));
        let parked = Arc::new(AtomicUsize::new(0));
        let all_parked = Arc::new(Barrier::new(2));
        let rt = runtime(2);
        let mut handles = Vec::with_capacity(N);
        for _ in 0..N {
            let tracked = Tracked(dropped.clone());
            let parked = parked.clone();
            let all_parked = all_parked.clone();
            handles.push(rt.spawn(move || {
                let _held = tracked;
                if parked.fetch_add(1, Ordering::SeqCst) + 1 == N {
                    all_parked.wait();
                }
                loop {
                    green::park();
                }
            }));
        }
        all_parked.wait();
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), N, "every parked green thread's destructors ran");
        for handle in handles {
            let error = handle.join().unwrap_err();
            assert!(green::is_cancelled(error.as_ref()));
        }
    });
}

#[test]
fn green_threads_that_never_started_are_cancelled_at_shutdown() {
    watchdog(Duration::from_secs(30), || {
        let dropped = Arc::new(AtomicUsize::new(0));
        let rt = runtime(1);
        let gate = Arc::new(Barrier::new(2));
        // Occupy the only worker so the next spawns cannot start.
        let blocker = rt.spawn({
            let gate = gate.clone();
            move || {
                gate.wait(); // blocks the worker's OS thread on purpose
                loop {
                    green::park();
                }
            }
        });
        let never: Vec<_> = (0..100)
            .map(|_| {
                let tracked = Tracked(dropped.clone());
                rt.spawn(move || drop(tracked))
            })
            .collect();
        // Whether each of `never` starts before the shutdown is a race; either way its closure must be dropped
        // exactly once, and its join must report success (it ran) or cancellation (it never started).
        gate.wait();
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 100);
        for handle in never {
            match handle.join() {
                Ok(()) => {}
                Err(error) => assert!(green::is_cancelled(error.as_ref())),
            }
        }
        assert!(green::is_cancelled(blocker.join().unwrap_err().as_ref()));
    });
}

#[test]
fn a_scope_parent_and_its_children_unwind_children_first() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let started = Arc::new(Barrier::new(2));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let _parent = rt.spawn({
            let started = started.clone();
            let order = order.clone();
            move || {
                let local = vec![1, 2, 3];
                green::scope(|s| {
                    s.spawn(|| {
                        struct Child<'a>(&'a Vec<i32>, Arc<std::sync::Mutex<Vec<&'static str>>>);
                        impl Drop for Child<'_> {
                            fn drop(&mut self) {
                                assert_eq!(self.0.len(), 3, "the parent's stack is still there");
                                self.1.lock().unwrap().push("child");
                            }
                        }
                        let _child = Child(&local, order.clone());
                        started.wait();
                        loop {
                            green::park();
                        }
                    });
                });
                order.lock().unwrap().push("parent");
            }
        });
        started.wait();
        drop(rt);
        assert_eq!(order.lock().unwrap().first(), Some(&"child"));
    });
}
