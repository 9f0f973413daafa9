//! `green::sync::Condvar`: no lost wake-ups, timeouts, FIFO `notify_one`, `notify_all`, cancellation.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::sync::{Condvar, Mutex};
use util::{runtime, watchdog};

/// A one-slot mailbox: the producer waits for it to be empty, the consumer for it to be full.
struct Slot {
    /// The value in transit.
    value: Mutex<Option<u64>>,
    /// Signalled when the slot is filled.
    full: Condvar,
    /// Signalled when the slot is emptied.
    empty: Condvar,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot { value: Mutex::new(None), full: Condvar::new(), empty: Condvar::new() })
    }

    /// Waits for an empty slot, fills it and notifies at once (half the time with the lock still held).
    fn put(&self, value: u64) {
        let mut guard = self.empty.wait_while(self.value.lock().unwrap(), |slot| slot.is_some()).unwrap();
        *guard = Some(value);
        if value % 2 == 0 {
            self.full.notify_one();
            drop(guard);
        } else {
            drop(guard);
            self.full.notify_one();
        }
    }

    /// Waits for a full slot, empties it and notifies at once.
    fn take(&self) -> u64 {
        let mut guard = self.value.lock().unwrap();
        loop {
            if let Some(value) = guard.take() {
                self.empty.notify_one();
                return value;
            }
            guard = self.full.wait(guard).unwrap();
        }
    }
}

/// Hands `count` values from a producer to a consumer one at a time; returns the consumer's sum.
fn handoff(count: u64, producer_green: bool, consumer_green: bool) -> u64 {
    let slot = Slot::new();
    let producer = {
        let slot = slot.clone();
        move || (1..=count).for_each(|value| slot.put(value))
    };
    let consumer = {
        let slot = slot.clone();
        move || (0..count).map(|_| slot.take()).sum::<u64>()
    };
    let producer_os = (!producer_green).then(|| std::thread::spawn(producer.clone()));
    let consumer_os = (!consumer_green).then(|| std::thread::spawn(consumer.clone()));
    let rt = runtime(2);
    let green_sum = rt.block_on(|| {
        let producer = producer_green.then(|| green::spawn(producer));
        let consumer = consumer_green.then(|| green::spawn(consumer));
        if let Some(producer) = producer {
            producer.join().unwrap();
        }
        consumer.map(|consumer| consumer.join().unwrap())
    });
    if let Some(producer) = producer_os {
        producer.join().unwrap();
    }
    green_sum.unwrap_or_else(|| consumer_os.unwrap().join().unwrap())
}

#[test]
fn producer_consumer_handoff_never_loses_a_wakeup_between_green_threads() {
    const COUNT: u64 = 20_000;
    let sum = watchdog(Duration::from_secs(60), || handoff(COUNT, true, true));
    assert_eq!(sum, COUNT * (COUNT + 1) / 2);
}

#[test]
fn producer_consumer_handoff_never_loses_a_wakeup_between_green_and_os_threads() {
    const COUNT: u64 = 5_000;
    let sum = watchdog(Duration::from_secs(60), || handoff(COUNT, true, false));
    assert_eq!(sum, COUNT * (COUNT + 1) / 2);
    let sum = watchdog(Duration::from_secs(60), || handoff(COUNT, false, true));
    assert_eq!(sum, COUNT * (COUNT + 1) / 2);
}

/// Checks one timed-out wait: at least the timeout, and not absurdly more.
fn timed_out_wait(timeout: Duration) {
    let mutex = Mutex::new(());
    let condvar = Condvar::new();
    let start = Instant::now();
    let (guard, result) = condvar.wait_timeout(mutex.lock().unwrap(), timeout).unwrap();
    let elapsed = start.elapsed();
    drop(guard);
    assert!(result.timed_out());
    assert!(elapsed >= timeout, "woke early: {elapsed:?}");
    assert!(elapsed < timeout * 10, "woke far too late: {elapsed:?}");
}

#[test]
fn wait_timeout_waits_at_least_the_timeout_in_green_and_os_threads() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| timed_out_wait(Duration::from_millis(50)));
        timed_out_wait(Duration::from_millis(50));
    });
}

#[test]
fn wait_timeout_returns_early_when_notified() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let notifier = {
                let pair = pair.clone();
                green::spawn(move || {
                    green::sleep(Duration::from_millis(10));
                    *pair.0.lock().unwrap() = true;
                    pair.1.notify_one();
                })
            };
            let start = Instant::now();
            let (guard, result) =
                pair.1.wait_timeout_while(pair.0.lock().unwrap(), Duration::from_secs(20), |ready| !*ready).unwrap();
            assert!(*guard);
            assert!(!result.timed_out());
            assert!(start.elapsed() < Duration::from_secs(10));
            drop(guard);
            notifier.join().unwrap();
            // And with the condition never becoming true, it times out with the lock held.
            let (guard, result) =
                pair.1.wait_timeout_while(pair.0.lock().unwrap(), Duration::from_millis(20), |ready| *ready).unwrap();
            assert!(result.timed_out());
            assert!(*guard);
        });
    });
}

#[test]
fn notify_one_wakes_waiters_in_fifo_order() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let state = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
            let parked = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let (state, registered) = (state.clone(), parked.clone());
                    let handle = green::spawn(move || {
                        let (woken, condvar) = &*state;
                        let guard = woken.lock().unwrap();
                        registered.fetch_add(1, Ordering::SeqCst);
                        let mut guard = condvar.wait(guard).unwrap();
                        guard.push(i);
                    });
                    // Let it register before the next one starts.
                    while parked.load(Ordering::SeqCst) <= i {
                        green::yield_now();
                    }
                    handle
                })
                .collect();
            let (woken, condvar) = &*state;
            for expected in 1..=6 {
                condvar.notify_one();
                while woken.lock().unwrap().len() < expected {
                    green::yield_now();
                }
            }
            handles.into_iter().for_each(|h| h.join().unwrap());
            assert_eq!(*woken.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
        });
    });
}

#[test]
fn notify_all_wakes_every_green_and_os_waiter() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let state = Arc::new((Mutex::new((false, 0usize)), Condvar::new()));
        let wait = {
            let state = state.clone();
            move || {
                let (mutex, condvar) = &*state;
                let mut guard = mutex.lock().unwrap();
                guard.1 += 1;
                let mut guard = condvar.wait_while(guard, |(go, _)| !*go).unwrap();
                guard.1 -= 1;
            }
        };
        let os_waiters: Vec<_> = (0..3).map(|_| std::thread::spawn(wait.clone())).collect();
        rt.block_on(|| {
            let green_waiters: Vec<_> = (0..20).map(|_| green::spawn(wait.clone())).collect();
            let (mutex, condvar) = &*state;
            while mutex.lock().unwrap().1 < 23 {
                green::yield_now();
            }
            mutex.lock().unwrap().0 = true;
            condvar.notify_all();
            green_waiters.into_iter().for_each(|h| h.join().unwrap());
        });
        os_waiters.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(state.0.lock().unwrap().1, 0);
    });
}

#[test]
fn a_waiter_cancelled_after_its_notification_passes_it_on_and_leaves_the_mutex_unlocked() {
    // One worker makes the race deterministic: the notification claims the victim and the cancellation arrives
    // before it runs again (in both orders of the two calls).
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        for cancel_first in [false, true] {
            rt.block_on(|| {
                let state = Arc::new((Mutex::new(0), Condvar::new()));
                let parked = Arc::new(AtomicUsize::new(0));
                let spawn_waiter = || {
                    let (state, registered) = (state.clone(), parked.clone());
                    let handle = green::spawn(move || {
                        let (mutex, condvar) = &*state;
                        let guard = mutex.lock().unwrap();
                        registered.fetch_add(1, Ordering::SeqCst);
                        *condvar.wait_while(guard, |value| *value == 0).unwrap()
                    });
                    let target = parked.load(Ordering::SeqCst) + 1;
                    while parked.load(Ordering::SeqCst) < target {
                        green::yield_now();
                    }
                    handle
                };
                let victim = spawn_waiter();
                let bystander = spawn_waiter();
                let (mutex, condvar) = &*state;
                *mutex.lock().unwrap() = 42;
                if cancel_first {
                    victim.cancel();
                    condvar.notify_one();
                } else {
                    condvar.notify_one();
                    victim.cancel();
                }
                let error = victim.join().unwrap_err();
                assert!(green::is_cancelled(error.as_ref()));
                // The single notification reached the bystander.
                assert_eq!(bystander.join().unwrap(), 42);
                assert!(!mutex.is_poisoned(), "a cancelled wait must not poison the mutex");
                assert!(mutex.try_lock().is_ok(), "a cancelled wait leaves the mutex unlocked");
            });
        }
    });
}

#[test]
fn a_timeout_scope_interrupts_a_wait() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let mutex = Mutex::new(());
            let condvar = Condvar::new();
            let result = green::timeout(Duration::from_millis(20), || {
                let _guard = condvar.wait(mutex.lock().unwrap()).unwrap();
            });
            assert!(result.is_err());
            assert!(mutex.try_lock().is_ok());
            condvar.notify_one(); // nobody is left in the queue
        });
    });
}
