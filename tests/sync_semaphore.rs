//! `green::sync::Semaphore`: never more holders than permits, FIFO handoff, timeouts, cancellation.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::sync::Semaphore;
use util::{runtime, watchdog};

#[test]
fn concurrent_holders_never_exceed_the_permits() {
    const PERMITS: usize = 3;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let semaphore = Arc::new(Semaphore::new(PERMITS));
        let holding = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let work = {
            let (semaphore, holding, most, done) = (semaphore.clone(), holding.clone(), most.clone(), done.clone());
            move |rounds: usize, green: bool| {
                for round in 0..rounds {
                    let _permit = semaphore.acquire();
                    let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    if green && round % 3 == 0 {
                        green::sleep(Duration::from_micros(100));
                    } else if green {
                        green::yield_now();
                    } else {
                        std::thread::yield_now();
                    }
                    holding.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        let os: Vec<_> = (0..2)
            .map(|_| {
                let work = work.clone();
                std::thread::spawn(move || work(200, false))
            })
            .collect();
        rt.block_on(|| {
            let handles: Vec<_> = (0..100)
                .map(|_| {
                    let work = work.clone();
                    green::spawn(move || work(20, true))
                })
                .collect();
            handles.into_iter().for_each(|h| h.join().unwrap());
        });
        os.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(done.load(Ordering::SeqCst), 100 * 20 + 2 * 200);
        let most = most.load(Ordering::SeqCst);
        assert!(most <= PERMITS, "{most} holders at once");
        assert_eq!(most, PERMITS, "the permits were all in use at some point");
        assert_eq!(semaphore.available_permits(), PERMITS);
    });
}

#[test]
fn permits_are_handed_out_in_fifo_order() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let held = semaphore.acquire();
            let handles: Vec<_> = (0..5)
                .map(|i| {
                    let (semaphore, order) = (semaphore.clone(), order.clone());
                    let handle = green::spawn(move || {
                        let _permit = semaphore.acquire();
                        order.lock().unwrap().push(i);
                    });
                    green::sleep(Duration::from_millis(2));
                    handle
                })
                .collect();
            assert!(semaphore.try_acquire().is_none(), "no barging past the queue");
            drop(held);
            handles.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        });
    });
}

#[test]
fn try_acquire_add_permits_forget_and_owned_permits() {
    watchdog(Duration::from_secs(30), || {
        let semaphore = Arc::new(Semaphore::new(2));
        let a = semaphore.try_acquire().unwrap();
        let b = semaphore.try_acquire_owned().unwrap();
        assert!(semaphore.try_acquire().is_none());
        assert_eq!(semaphore.available_permits(), 0);
        drop(a);
        assert_eq!(semaphore.available_permits(), 1);
        b.forget();
        assert_eq!(semaphore.available_permits(), 1);
        semaphore.add_permits(3);
        assert_eq!(semaphore.available_permits(), 4);
        let owned = semaphore.acquire_owned();
        let moved = green::spawn(move || {
            assert_eq!(owned.semaphore().available_permits(), 3);
            drop(owned);
        });
        moved.join().unwrap();
        assert_eq!(semaphore.available_permits(), 4);
    });
}

#[test]
fn add_permits_wakes_parked_acquirers() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let semaphore = Arc::new(Semaphore::new(0));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let semaphore = semaphore.clone();
                    green::spawn(move || semaphore.acquire().forget())
                })
                .collect();
            green::sleep(Duration::from_millis(5));
            semaphore.add_permits(5);
            handles.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(semaphore.available_permits(), 1);
        });
    });
}

#[test]
fn acquire_timeout_gives_up_in_time_and_succeeds_when_a_permit_comes() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let held = semaphore.acquire_owned();
            let start = Instant::now();
            assert!(semaphore.acquire_timeout(Duration::from_millis(30)).is_none());
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_millis(30) && elapsed < Duration::from_millis(300), "{elapsed:?}");
            let releaser = green::spawn(move || {
                green::sleep(Duration::from_millis(10));
                drop(held);
            });
            assert!(semaphore.acquire_timeout(Duration::from_secs(20)).is_some());
            releaser.join().unwrap();
            assert_eq!(semaphore.available_permits(), 1);
        });
        // Same from an OS thread.
        let semaphore = Semaphore::new(0);
        assert!(semaphore.acquire_timeout(Duration::from_millis(10)).is_none());
        assert_eq!(semaphore.available_permits(), 0);
    });
}

#[test]
fn a_waiter_cancelled_while_parked_in_acquire_leaves_the_semaphore_usable() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let semaphore = Arc::new(Semaphore::new(1));
            let acquired = Arc::new(AtomicUsize::new(0));
            for round in 0..300 {
                let held = semaphore.acquire();
                let spawn_waiter = || {
                    let (semaphore, acquired) = (semaphore.clone(), acquired.clone());
                    green::spawn(move || {
                        let _permit = semaphore.acquire();
                        acquired.fetch_add(1, Ordering::Relaxed);
                    })
                };
                let victim = spawn_waiter();
                let bystander = spawn_waiter();
                green::sleep(Duration::from_micros(200));
                // Race the release (which hands the permit to the victim if it is first) with the cancellation.
                if round % 2 == 0 {
                    drop(held);
                    victim.cancel();
                } else {
                    victim.cancel();
                    drop(held);
                }
                let _ = victim.join();
                bystander.join().unwrap();
                assert_eq!(semaphore.available_permits(), 1, "round {round}: the permit came back");
            }
            let acquired = acquired.load(Ordering::Relaxed);
            assert!((300..600).contains(&acquired), "{acquired}");
            let _permit = semaphore.acquire();
        });
    });
}
