//! `green::sync::RwLock`: concurrent readers, exclusive writers, FIFO fairness, poisoning, cancellation.

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::sync::{Barrier, RwLock, TryLockError};
use util::{runtime, watchdog};

#[test]
fn readers_hold_the_lock_at_the_same_time() {
    // Every reader waits at a barrier *inside* its read section: the barrier opens only if all of them are in
    // there at once. One worker, so they are green threads parked on the same OS thread.
    const READERS: usize = 8;
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(7));
            let barrier = Arc::new(Barrier::new(READERS));
            let handles: Vec<_> = (0..READERS)
                .map(|_| {
                    let (lock, barrier) = (lock.clone(), barrier.clone());
                    green::spawn(move || {
                        let guard = lock.read().unwrap();
                        barrier.wait();
                        *guard
                    })
                })
                .collect();
            let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 7 * READERS as i32);
        });
    });
}

#[test]
fn writers_exclude_readers_and_each_other() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let lock = Arc::new(RwLock::new((0u64, 0u64)));
        let readers_inside = Arc::new(AtomicUsize::new(0));
        let writer_inside = Arc::new(AtomicBool::new(false));
        let os_reader = {
            let (lock, readers_inside, writer_inside) = (lock.clone(), readers_inside.clone(), writer_inside.clone());
            std::thread::spawn(move || {
                for _ in 0..300 {
                    let guard = lock.read().unwrap();
                    readers_inside.fetch_add(1, Ordering::SeqCst);
                    assert!(!writer_inside.load(Ordering::SeqCst));
                    assert_eq!(guard.0, guard.1, "a reader saw a half-done write");
                    readers_inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        };
        rt.block_on(|| {
            let handles: Vec<_> = (0..60)
                .map(|i| {
                    let (lock, readers_inside, writer_inside) =
                        (lock.clone(), readers_inside.clone(), writer_inside.clone());
                    green::spawn(move || {
                        for round in 0..20 {
                            if i % 3 == 0 {
                                let mut guard = lock.write().unwrap();
                                assert!(!writer_inside.swap(true, Ordering::SeqCst), "two writers");
                                assert_eq!(readers_inside.load(Ordering::SeqCst), 0, "a writer beside readers");
                                guard.0 += 1;
                                if round % 2 == 0 {
                                    green::yield_now();
                                }
                                guard.1 += 1;
                                writer_inside.store(false, Ordering::SeqCst);
                            } else {
                                let guard = lock.read().unwrap();
                                readers_inside.fetch_add(1, Ordering::SeqCst);
                                assert!(!writer_inside.load(Ordering::SeqCst), "a reader beside a writer");
                                if round % 2 == 0 {
                                    green::yield_now();
                                }
                                assert_eq!(guard.0, guard.1);
                                readers_inside.fetch_sub(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.join().unwrap();
            }
        });
        os_reader.join().unwrap();
        assert_eq!(*lock.read().unwrap(), (20 * 20, 20 * 20));
    });
}

#[test]
fn a_waiting_writer_is_not_starved_by_new_readers() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(Vec::new()));
            let first_reader = lock.read().unwrap();
            let writer = {
                let lock = lock.clone();
                green::spawn(move || lock.write().unwrap().push("writer"))
            };
            // Once the writer is parked behind the reader, new readers must queue behind the writer (this would
            // loop until the watchdog fires if readers could overtake it).
            while let Ok(reader) = lock.try_read() {
                drop(reader);
                green::yield_now();
            }
            let late_reader = {
                let lock = lock.clone();
                green::spawn(move || lock.read().unwrap().len())
            };
            green::yield_now();
            drop(first_reader);
            writer.join().unwrap();
            assert_eq!(late_reader.join().unwrap(), 1, "the late reader came after the writer");
        });
    });
}

#[test]
fn a_panicking_writer_poisons_and_a_panicking_reader_does_not() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let lock = Arc::new(RwLock::new(1));
            let reader = {
                let lock = lock.clone();
                green::spawn(move || {
                    let _guard = lock.read().unwrap();
                    panic!("reader");
                })
            };
            assert!(reader.join().is_err());
            assert!(!lock.is_poisoned());
            let writer = {
                let lock = lock.clone();
                green::spawn(move || {
                    let _guard = lock.write().unwrap();
                    panic!("writer");
                })
            };
            assert!(writer.join().is_err());
            assert!(lock.is_poisoned());
            assert_eq!(*lock.read().unwrap_err().into_inner(), 1);
            assert!(matches!(lock.try_write(), Err(TryLockError::Poisoned(_))));
            lock.clear_poison();
            *lock.write().unwrap() = 2;
            assert_eq!(Arc::try_unwrap(lock).unwrap().into_inner().unwrap(), 2);
        });
    });
}

#[test]
fn try_write_and_try_read_never_park() {
    watchdog(Duration::from_secs(30), || {
        let lock = RwLock::new(0);
        let read = lock.try_read().unwrap();
        assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
        assert!(lock.try_read().is_ok());
        drop(read);
        let write = lock.try_write().unwrap();
        assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
        drop(write);
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn cancelled_waiters_leave_the_lock_usable() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(0u64));
            for round in 0..200u64 {
                let writer_guard = lock.write().unwrap();
                let reader = {
                    let lock = lock.clone();
                    green::spawn(move || *lock.read().unwrap())
                };
                let writer = {
                    let lock = lock.clone();
                    green::spawn(move || *lock.write().unwrap() += 1)
                };
                let late_reader = {
                    let lock = lock.clone();
                    green::spawn(move || *lock.read().unwrap())
                };
                green::sleep(Duration::from_micros(200));
                // Cancel one of them, racing with the unlock that grants the lock.
                let victim = [&reader, &late_reader][(round % 2) as usize];
                if round % 4 < 2 {
                    drop(writer_guard);
                    victim.cancel();
                    writer.cancel();
                } else {
                    victim.cancel();
                    writer.cancel();
                    drop(writer_guard);
                }
                let _ = reader.join();
                let _ = writer.join();
                let _ = late_reader.join();
                // Still usable both ways.
                drop(lock.read().unwrap());
                *lock.write().unwrap() += 0;
                assert!(lock.try_write().is_ok(), "nothing holds the lock any more");
            }
        });
    });
}
