//! `green::sync::OnceLock`: one initialiser among many parked callers, retry after a panic, `set`.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::sync::OnceLock;
use util::{runtime, watchdog};

#[test]
fn hundred_concurrent_callers_run_the_initialiser_once_and_park_meanwhile() {
    // One worker: the initialiser parks in `sleep`, so the other callers must park too (a blocked worker could
    // never resume the initialiser and the watchdog would fire).
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let cell = Arc::new(OnceLock::new());
        let runs = Arc::new(AtomicUsize::new(0));
        rt.block_on(|| {
            let handles: Vec<_> = (0..100)
                .map(|i| {
                    let (cell, runs) = (cell.clone(), runs.clone());
                    green::spawn(move || {
                        *cell.get_or_init(|| {
                            runs.fetch_add(1, Ordering::SeqCst);
                            green::sleep(Duration::from_millis(20));
                            i * 1000 + 7
                        })
                    })
                })
                .collect();
            let values: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(values.iter().all(|&v| v == values[0]), "everybody sees the same value");
            assert_eq!(values[0] % 1000, 7);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(cell.get().map(|v| v % 1000), Some(7));
    });
}

#[test]
fn callers_on_two_workers_and_os_threads_agree() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let cell = Arc::new(OnceLock::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let init = {
            let (cell, runs) = (cell.clone(), runs.clone());
            move || {
                *cell.get_or_init(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    green::sleep(Duration::from_millis(10));
                    green::current().id().as_u64()
                })
            }
        };
        let os: Vec<_> = (0..3).map(|_| std::thread::spawn(init.clone())).collect();
        let green_values: Vec<u64> = rt.block_on(|| {
            let handles: Vec<_> = (0..50).map(|_| green::spawn(init.clone())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let os_values: Vec<u64> = os.into_iter().map(|t| t.join().unwrap()).collect();
        let first = green_values[0];
        assert!(green_values.iter().chain(&os_values).all(|&v| v == first));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_panicking_initialiser_lets_a_waiting_caller_retry() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let cell = Arc::new(OnceLock::new());
            let panicker = {
                let cell = cell.clone();
                green::spawn(move || {
                    cell.get_or_init(|| {
                        green::sleep(Duration::from_millis(10));
                        panic!("initialiser failed")
                    });
                })
            };
            green::yield_now();
            let waiters: Vec<_> = (0..5)
                .map(|i| {
                    let cell = cell.clone();
                    green::spawn(move || *cell.get_or_init(|| i))
                })
                .collect();
            assert!(panicker.join().is_err());
            let values: Vec<i32> = waiters.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(values.iter().all(|&v| v == values[0]));
            assert_eq!(cell.get(), Some(&values[0]));
        });
    });
}

#[test]
fn a_cancelled_initialiser_lets_another_caller_initialise() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let cell = Arc::new(OnceLock::new());
            let started = Arc::new(green::sync::Event::new());
            let initialiser = {
                let (cell, started) = (cell.clone(), started.clone());
                green::spawn(move || {
                    *cell.get_or_init(|| {
                        started.set();
                        green::sleep(Duration::from_secs(60));
                        1
                    })
                })
            };
            started.wait();
            let waiter = {
                let cell = cell.clone();
                green::spawn(move || *cell.get_or_init(|| 2))
            };
            initialiser.cancel();
            assert!(green::is_cancelled(initialiser.join().unwrap_err().as_ref()));
            assert_eq!(waiter.join().unwrap(), 2);
        });
    });
}

#[test]
fn set_get_take_and_into_inner() {
    let mut cell = OnceLock::new();
    assert_eq!(cell.get(), None);
    assert_eq!(cell.set(3), Ok(()));
    assert_eq!(cell.set(4), Err(4));
    assert_eq!(cell.get(), Some(&3));
    *cell.get_mut().unwrap() += 1;
    assert_eq!(cell.clone().into_inner(), Some(4));
    assert_eq!(cell.take(), Some(4));
    assert_eq!(cell.get(), None);
    assert_eq!(OnceLock::from("x").into_inner(), Some("x"));
    static GLOBAL: OnceLock<Vec<u8>> = OnceLock::new();
    assert_eq!(GLOBAL.get_or_init(|| vec![1, 2]).len(), 2);
}

#[test]
fn the_value_is_dropped_with_the_cell() {
    let drops = Arc::new(AtomicUsize::new(0));
    /// Counts its drops.
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let cell = OnceLock::new();
    let _ = cell.set(Tracked(drops.clone()));
    drop(cell);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(OnceLock::<Tracked>::new());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
