//! Green-thread locals: one value per green thread across parks and switches on one worker, where a
//! `std::thread_local!` is shared; destroyed when the green thread ends; `std`'s `LocalKey` API.

mod util;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use green::sync::Barrier;
use green::thread::AccessError;
use util::{runtime, watchdog};

green::thread_local! {
    static GREEN_ID: Cell<usize> = const { Cell::new(usize::MAX) };
    static GREEN_LOG: RefCell<Vec<usize>> = RefCell::new(Vec::new());
}

std::thread_local! {
    static OS_COUNT: Cell<usize> = const { Cell::new(0) };
}

#[test]
fn each_green_thread_keeps_its_value_across_parks_on_one_worker_while_std_locals_are_shared() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(1);
        rt.block_on(|| {
            const THREADS: usize = 8;
            let barrier = Arc::new(Barrier::new(THREADS));
            let (tx, rx) = green::channel::unbounded::<()>();
            let handles: Vec<_> = (0..THREADS)
                .map(|id| {
                    let (barrier, rx) = (barrier.clone(), rx.clone());
                    green::spawn(move || {
                        let os_thread = std::thread::current().id();
                        GREEN_ID.set(id);
                        OS_COUNT.with(|count| count.set(count.get() + 1));
                        barrier.wait(); // everyone has set its value: the switches happen now
                        for round in 0..3 {
                            GREEN_LOG.with_borrow_mut(|log| log.push(id * 10 + round));
                            green::yield_now();
                            green::sleep(Duration::from_millis(1));
                            assert_eq!(GREEN_ID.get(), id, "another green thread's value leaked in");
                        }
                        let _ = rx.recv(); // park until the channel closes
                        assert_eq!(std::thread::current().id(), os_thread);
                        let log = GREEN_LOG.take();
                        (GREEN_ID.get(), log, OS_COUNT.with(Cell::get))
                    })
                })
                .collect();
            drop(tx);
            for (id, handle) in handles.into_iter().enumerate() {
                let (seen, log, os_count) = handle.join().unwrap();
                assert_eq!(seen, id);
                assert_eq!(log, [id * 10, id * 10 + 1, id * 10 + 2]);
                // One worker: the std thread-local counted every green thread of it.
                assert_eq!(os_count, THREADS);
            }
            // The spawner has its own value, untouched by its children.
            assert_eq!(GREEN_ID.get(), usize::MAX);
        });
    });
}

/// Counts its drops and records the green thread that dropped it.
struct Tracked {
    drops: Arc<AtomicUsize>,
    dropped_by: Arc<Mutex<Option<String>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        green::sleep(Duration::from_millis(1)); // a destructor may park: it still runs in its green thread
        *self.dropped_by.lock().unwrap() = green::current().name().map(String::from);
        // Its own key (and every other) is gone by now.
        assert_eq!(GREEN_ID.try_with(|id| id.get()), Err(AccessError));
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

green::thread_local! {
    static TRACKED: RefCell<Option<Tracked>> = const { RefCell::new(None) };
}

#[test]
fn values_are_dropped_in_their_green_thread_before_join_returns() {
    watchdog(Duration::from_secs(60), || {
        let drops = Arc::new(AtomicUsize::new(0));
        let dropped_by = Arc::new(Mutex::new(None));
        let rt = runtime(2);
        let (d, by) = (drops.clone(), dropped_by.clone());
        let handle = rt.spawn(move || {
            green::Builder::new()
                .name("owner".into())
                .spawn(move || TRACKED.set(Some(Tracked { drops: d, dropped_by: by })))
                .unwrap()
                .join()
                .unwrap();
        });
        handle.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(dropped_by.lock().unwrap().as_deref(), Some("owner"));
    });
}

#[test]
fn outside_green_threads_values_are_per_os_thread() {
    watchdog(Duration::from_secs(30), || {
        GREEN_ID.set(1);
        let other = std::thread::spawn(|| {
            let before = GREEN_ID.get();
            GREEN_ID.set(2);
            before
        })
        .join()
        .unwrap();
        assert_eq!(other, usize::MAX);
        assert_eq!(GREEN_ID.get(), 1);
        // A green thread started from here does not see this OS thread's value.
        assert_eq!(green::spawn(|| GREEN_ID.get()).join().unwrap(), usize::MAX);
    });
}

green::thread_local! {
    static INITIALISED: Cell<u32> = {
        INIT_RUNS.fetch_add(1, Ordering::SeqCst);
        Cell::new(5)
    };
}

static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn local_key_api_matches_std() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let handle = green::spawn(|| {
                INITIALISED.set(9); // `set` does not run the initialiser
                assert_eq!(INITIALISED.replace(10), 9);
                assert_eq!(INITIALISED.take(), 10);
                assert_eq!(INITIALISED.get(), 0);
            });
            handle.join().unwrap();
            assert_eq!(INIT_RUNS.load(Ordering::SeqCst), 0);
            assert_eq!(green::spawn(|| INITIALISED.get()).join().unwrap(), 5);
            assert_eq!(INIT_RUNS.load(Ordering::SeqCst), 1);
            assert_eq!(format!("{:?}", AccessError), "AccessError");
            assert_eq!(AccessError.to_string(), "already destroyed");
        });
    });
}

/// Parks in its destructor, then records that the destructor finished.
struct SlowDrop(Arc<AtomicUsize>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        green::sleep(Duration::from_millis(2));
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

green::thread_local! {
    static SLOW: RefCell<Option<SlowDrop>> = const { RefCell::new(None) };
}

#[test]
fn a_cancelled_green_thread_s_values_are_dropped_to_the_end() {
    watchdog(Duration::from_secs(30), || {
        let finished = Arc::new(AtomicUsize::new(0));
        let rt = runtime(1);
        let done = finished.clone();
        rt.block_on(move || {
            let sleeper = green::spawn(move || {
                SLOW.set(Some(SlowDrop(done)));
                green::sleep(Duration::from_secs(3600));
            });
            while sleeper.thread().parked_at().is_none() {
                green::yield_now();
            }
            sleeper.cancel();
            // The cancellation ended the closure; it does not also cut the destructor's own sleep short.
            assert!(green::is_cancelled(sleeper.join().unwrap_err().as_ref()));
        });
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_cancellation_that_arrives_after_the_closure_does_not_cut_the_destructors_short() {
    use std::sync::atomic::AtomicBool;
    watchdog(Duration::from_secs(30), || {
        let finished = Arc::new(AtomicUsize::new(0));
        let (ready, cancelled) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let rt = runtime(1);
        let (done, ready_flag, cancelled_flag) = (finished.clone(), ready.clone(), cancelled.clone());
        rt.block_on(move || {
            let worker = green::spawn(move || {
                SLOW.set(Some(SlowDrop(done)));
                green::uncancellable(|| {
                    ready_flag.store(true, Ordering::SeqCst);
                    while !cancelled_flag.load(Ordering::SeqCst) {
                        green::yield_now();
                    }
                });
                7 // returns with the cancellation still pending: the locals' destruction comes next
            });
            while !ready.load(Ordering::SeqCst) {
                green::yield_now();
            }
            worker.cancel();
            cancelled.store(true, Ordering::SeqCst);
            assert_eq!(worker.join().unwrap(), 7);
        });
        assert_eq!(finished.load(Ordering::SeqCst), 1, "the destructor's sleep was interrupted");
    });
}
