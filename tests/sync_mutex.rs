//! `green::sync::Mutex`: mutual exclusion across green threads and OS threads, poisoning, `try_lock`, and
//! cancellation of waiters.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use green::sync::{Mutex, TryLockError};
use util::{runtime, watchdog};

/// The data behind the mutex: plain integers, updated in several steps with a yield in between, so any lapse
/// of mutual exclusion loses updates.
#[derive(Default)]
struct Counter {
    /// One per critical section.
    value: u64,
    /// Sum of the ids of the threads that entered.
    checksum: u64,
}

/// One critical section: read, maybe let other green threads run, write back.
fn increment(counter: &Mutex<Counter>, id: u64, yield_inside: bool) {
    let mut guard = counter.lock().unwrap();
    let value = guard.value;
    let checksum = guard.checksum;
    if yield_inside {
        green::yield_now();
    }
    guard.value = value + 1;
    guard.checksum = checksum + id;
}

#[test]
fn thousand_green_threads_and_os_threads_never_overlap() {
    const GREEN: u64 = 1_000;
    const OS: u64 = 4;
    const ROUNDS: u64 = 20;
    const OS_ROUNDS: u64 = 500;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let counter = Arc::new(Mutex::new(Counter::default()));
        let os_threads: Vec<_> = (0..OS)
            .map(|i| {
                let counter = counter.clone();
                let id = GREEN + i;
                std::thread::spawn(move || {
                    for round in 0..OS_ROUNDS {
                        increment(&counter, id, false);
                        if round % 16 == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        rt.block_on(|| {
            let handles: Vec<_> = (0..GREEN)
                .map(|id| {
                    let counter = counter.clone();
                    green::spawn(move || {
                        for round in 0..ROUNDS {
                            increment(&counter, id, round % 4 == 0);
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.join().unwrap();
            }
        });
        for thread in os_threads {
            thread.join().unwrap();
        }
        let counter = Arc::try_unwrap(counter).ok().unwrap().into_inner().unwrap();
        assert_eq!(counter.value, GREEN * ROUNDS + OS * OS_ROUNDS);
        let green_ids = GREEN * (GREEN - 1) / 2;
        let os_ids: u64 = (GREEN..GREEN + OS).sum();
        assert_eq!(counter.checksum, green_ids * ROUNDS + os_ids * OS_ROUNDS);
    });
}

#[test]
fn holding_the_guard_across_a_park_does_not_block_the_worker() {
    // One worker: with a std::sync::Mutex the contender would block the only OS thread and the holder could
    // never wake up from its sleep to unlock.
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let mutex = Arc::new(Mutex::new(Vec::new()));
            let (locked_tx, locked_rx) = mpsc::channel();
            let holder = {
                let mutex = mutex.clone();
                green::spawn(move || {
                    let mut guard = mutex.lock().unwrap();
                    locked_tx.send(()).unwrap();
                    green::sleep(Duration::from_millis(20));
                    guard.push("holder");
                })
            };
            while locked_rx.try_recv().is_err() {
                green::yield_now();
            }
            let others: Vec<_> = (0..10)
                .map(|_| {
                    let mutex = mutex.clone();
                    green::spawn(move || mutex.lock().unwrap().push("contender"))
                })
                .collect();
            holder.join().unwrap();
            others.into_iter().for_each(|h| h.join().unwrap());
            let log = mutex.lock().unwrap();
            assert_eq!(log.len(), 11);
            assert_eq!(log[0], "holder");
        });
    });
}

#[test]
fn a_panic_while_holding_the_lock_poisons_it() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let mutex = Arc::new(Mutex::new(1));
            let panicker = {
                let mutex = mutex.clone();
                green::spawn(move || {
                    let _guard = mutex.lock().unwrap();
                    panic!("poison it");
                })
            };
            assert!(panicker.join().is_err());
            assert!(mutex.is_poisoned());
            let guard = mutex.lock().unwrap_err().into_inner();
            assert_eq!(*guard, 1, "the data is still reachable through the error");
            drop(guard);
            assert!(matches!(mutex.try_lock(), Err(TryLockError::Poisoned(_))));
            mutex.clear_poison();
            assert!(!mutex.is_poisoned());
            *mutex.lock().unwrap() += 1;
            let mutex = Arc::try_unwrap(mutex).unwrap();
            assert_eq!(mutex.into_inner().unwrap(), 2);
        });
    });
}

#[test]
fn a_guard_taken_while_unwinding_does_not_poison() {
    watchdog(Duration::from_secs(30), || {
        let mutex = Arc::new(Mutex::new(0));
        /// Locks in its destructor, which runs during the unwinding.
        struct LockOnDrop(Arc<Mutex<i32>>);
        impl Drop for LockOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() += 1;
            }
        }
        let on_drop = LockOnDrop(mutex.clone());
        let result = green::spawn(move || {
            let _on_drop = on_drop;
            panic!("unwind through the destructor");
        })
        .join();
        assert!(result.is_err());
        assert!(!mutex.is_poisoned());
        assert_eq!(*mutex.lock().unwrap(), 1);
    });
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let mutex = Arc::new(Mutex::new(5));
            let guard = mutex.lock().unwrap();
            let other = {
                let mutex = mutex.clone();
                green::spawn(move || matches!(mutex.try_lock(), Err(TryLockError::WouldBlock)))
            };
            assert!(other.join().unwrap());
            drop(guard);
            let mut guard = mutex.try_lock().unwrap();
            *guard += 1;
            drop(guard);
            let mut mutex = Arc::try_unwrap(mutex).unwrap();
            *mutex.get_mut().unwrap() += 1;
            assert_eq!(mutex.into_inner().unwrap(), 7);
        });
    });
}

#[test]
fn a_waiter_cancelled_while_parked_in_lock_leaves_the_mutex_usable() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let mutex = Arc::new(Mutex::new(0u64));
            let entered = Arc::new(AtomicUsize::new(0));
            for round in 0..300u64 {
                let guard = mutex.lock().unwrap();
                let spawn_waiter = || {
                    let (mutex, entered) = (mutex.clone(), entered.clone());
                    green::spawn(move || {
                        *mutex.lock().unwrap() += 1;
                        entered.fetch_add(1, Ordering::Relaxed);
                    })
                };
                let victim = spawn_waiter();
                let bystander = spawn_waiter();
                // Make it likely (not certain) that both are parked in `lock` before the race below.
                green::sleep(Duration::from_micros(200));
                // Race the unlock (which may wake the victim) with the cancellation.
                if round % 2 == 0 {
                    drop(guard);
                    victim.cancel();
                } else {
                    victim.cancel();
                    drop(guard);
                }
                // Either the cancellation won (Err) or the victim got the lock first and finished (Ok).
                let _ = victim.join();
                bystander.join().unwrap();
                // The mutex is still usable and the count matches who got in.
                let value = *mutex.lock().unwrap();
                assert_eq!(value, entered.load(Ordering::Relaxed) as u64);
            }
            // Most victims were cancelled while parked; all bystanders got in.
            let entered = entered.load(Ordering::Relaxed);
            assert!((300..600).contains(&entered), "{entered}");
        });
    });
}

#[test]
fn green_and_os_threads_wait_for_each_other() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let mutex = Arc::new(Mutex::new(Vec::new()));
        let guard_held = Arc::new(green::sync::Event::new());
        let os_holder = {
            let (mutex, held) = (mutex.clone(), guard_held.clone());
            std::thread::spawn(move || {
                let mut guard = mutex.lock().unwrap();
                held.set();
                std::thread::sleep(Duration::from_millis(30));
                guard.push("os");
            })
        };
        guard_held.wait();
        rt.block_on(|| {
            mutex.lock().unwrap().push("green");
        });
        os_holder.join().unwrap();
        assert_eq!(*mutex.lock().unwrap(), vec!["os", "green"]);
    });
}

#[test]
fn the_primitives_are_send_and_sync_like_std() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_sync<T: Sync>() {}
    assert_send_sync::<Mutex<Vec<u8>>>();
    assert_send_sync::<green::sync::RwLock<Vec<u8>>>();
    assert_send_sync::<green::sync::Condvar>();
    assert_send_sync::<green::sync::Barrier>();
    assert_send_sync::<green::sync::OnceLock<String>>();
    assert_send_sync::<green::sync::Semaphore>();
    assert_send_sync::<green::sync::OwnedSemaphorePermit>();
    assert_send_sync::<green::sync::WaitGroup>();
    assert_send_sync::<green::sync::Event>();
    assert_sync::<green::sync::MutexGuard<'static, u8>>();
    assert_sync::<green::sync::RwLockReadGuard<'static, u8>>();
    // `Mutex<Cell<_>>` is Sync (the cell is only reached under the lock), as with std.
    assert_send_sync::<Mutex<std::cell::Cell<u8>>>();
}

#[test]
fn cancelling_many_waiters_under_load_loses_no_section_and_no_lock() {
    // 200 contenders hold the lock across a yield, so waiters wait long enough to switch the mutex into
    // handoff mode; half of them are cancelled at arbitrary moments (always while parked in `lock`, the only
    // cancellation point in the loop). Every section that ran is counted twice, inside the lock and outside.
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let mutex = Arc::new(Mutex::new(0u64));
            let sections = Arc::new(AtomicUsize::new(0));
            // Held until the first cancellation is in, so at least one contender is cancelled before it can
            // finish (in release builds all could otherwise finish before `cancel` reaches them).
            let mut gate = Some(mutex.lock().unwrap());
            let handles: Vec<_> = (0..200)
                .map(|_| {
                    let (mutex, sections) = (mutex.clone(), sections.clone());
                    green::spawn(move || {
                        for _ in 0..50 {
                            let mut guard = mutex.lock().unwrap();
                            green::yield_now();
                            *guard += 1;
                            sections.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for (i, handle) in handles.iter().enumerate() {
                if i % 2 == 0 {
                    handle.cancel();
                }
                drop(gate.take());
                if i % 10 == 0 {
                    green::sleep(Duration::from_micros(300));
                }
            }
            let mut cancelled = 0;
            for handle in handles {
                if let Err(payload) = handle.join() {
                    assert!(green::is_cancelled(payload.as_ref()));
                    cancelled += 1;
                }
            }
            assert!(cancelled > 0 && cancelled <= 100, "{cancelled}");
            assert!(!mutex.is_poisoned());
            let value = *mutex.lock().unwrap();
            assert_eq!(value, sections.load(Ordering::Relaxed) as u64);
            assert!(value >= 100 * 50, "the uncancelled half finished: {value}");
        });
    });
}
