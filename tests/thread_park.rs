//! Park/unpark, sleep and yield: green threads stay on their OS thread, wake-ups cross threads.

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use util::{runtime, watchdog};

#[test]
fn a_green_thread_that_sleeps_yields_and_parks_stays_on_its_os_thread() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            // Keep the other worker busy and stealing so migration would have every chance to happen.
            let stop = Arc::new(AtomicBool::new(false));
            let noise: Vec<_> = (0..4)
                .map(|_| {
                    let stop = stop.clone();
                    green::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            green::yield_now();
                        }
                    })
                })
                .collect();
            let checked = green::spawn(|| {
                let home = std::thread::current().id();
                let me = green::current();
                let waker = std::thread::spawn({
                    let me = me.clone();
                    move || {
                        for _ in 0..1_000 {
                            me.unpark();
                            std::thread::yield_now();
                        }
                    }
                });
                for i in 0..1_000 {
                    match i % 3 {
                        0 => green::sleep(Duration::from_micros(50)),
                        1 => green::yield_now(),
                        _ => green::park_timeout(Duration::from_millis(1)),
                    }
                    assert_eq!(std::thread::current().id(), home, "moved after {i} suspensions");
                }
                waker.join().unwrap();
            });
            checked.join().unwrap();
            stop.store(true, Ordering::Relaxed);
            for n in noise {
                n.join().unwrap();
            }
        });
    });
}

#[test]
fn unpark_from_a_plain_os_thread_wakes_a_parked_green_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let flag = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let parked = rt.spawn({
            let flag = flag.clone();
            move || {
                tx.send(green::current()).unwrap();
                while !flag.load(Ordering::Acquire) {
                    green::park();
                }
                "woken"
            }
        });
        let thread = rx.recv().unwrap();
        std::thread::spawn(move || {
            flag.store(true, Ordering::Release);
            thread.unpark();
        })
        .join()
        .unwrap();
        assert_eq!(parked.join().unwrap(), "woken");
    });
}

#[test]
fn a_green_thread_unparks_a_plain_os_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let me = green::current();
        assert!(!me.is_green());
        let flag = Arc::new(AtomicBool::new(false));
        let _h = rt.spawn({
            let flag = flag.clone();
            move || {
                green::sleep(Duration::from_millis(5));
                flag.store(true, Ordering::Release);
                me.unpark();
            }
        });
        while !flag.load(Ordering::Acquire) {
            green::park();
        }
    });
}

#[test]
fn park_timeout_returns_after_the_timeout_without_unpark() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let start = Instant::now();
            green::park_timeout(Duration::from_millis(30));
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(30), "{waited:?}");
            assert!(waited < Duration::from_millis(1_000), "{waited:?}");
        });
    });
}

#[test]
fn an_unpark_before_park_is_not_lost() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            green::current().unpark();
            green::park(); // returns at once: the token was there
        });
    });
}

#[test]
fn sleep_is_never_early_and_other_green_threads_run_meanwhile() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let progress = Arc::new(AtomicUsize::new(0));
            let sleeper = green::spawn(|| {
                let start = Instant::now();
                green::sleep(Duration::from_millis(50));
                start.elapsed()
            });
            let counter = green::spawn({
                let progress = progress.clone();
                move || {
                    while progress.load(Ordering::Relaxed) < 100 {
                        progress.fetch_add(1, Ordering::Relaxed);
                        green::yield_now();
                    }
                }
            });
            let slept = sleeper.join().unwrap();
            counter.join().unwrap();
            assert!(slept >= Duration::from_millis(50), "{slept:?}");
            assert_eq!(progress.load(Ordering::Relaxed), 100);
        });
    });
}

#[test]
fn sleep_outside_a_green_thread_blocks_like_std() {
    let start = Instant::now();
    green::sleep(Duration::from_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(20));
    green::yield_now();
}

#[test]
fn ten_thousand_concurrent_sleepers_all_wake() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let woke = rt.block_on(|| {
            let handles: Vec<_> = (0..10_000u64)
                .map(|i| {
                    green::spawn(move || {
                        let deadline = Instant::now() + Duration::from_millis(10 + i % 7);
                        green::sleep_until(deadline);
                        assert!(Instant::now() >= deadline);
                        1u64
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(woke, 10_000);
    });
}
