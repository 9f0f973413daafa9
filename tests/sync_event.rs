//! `green::sync::Event`: set, clear, wait, wait_timeout across green and OS threads.

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use green::sync::Event;
use util::{runtime, watchdog};

#[test]
fn set_releases_every_green_and_os_waiter() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let event = Arc::new(Event::new());
        let os: Vec<_> = (0..3)
            .map(|_| {
                let event = event.clone();
                std::thread::spawn(move || event.wait())
            })
            .collect();
        rt.block_on(|| {
            let waiters: Vec<_> = (0..50)
                .map(|_| {
                    let event = event.clone();
                    green::spawn(move || event.wait())
                })
                .collect();
            green::sleep(Duration::from_millis(5));
            assert!(waiters.iter().all(|w| !w.is_finished()));
            event.set();
            waiters.into_iter().for_each(|h| h.join().unwrap());
        });
        os.into_iter().for_each(|t| t.join().unwrap());
        assert!(event.is_set());
    });
}

#[test]
fn wait_timeout_reports_whether_the_event_was_set() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let event = Arc::new(Event::new());
            let start = Instant::now();
            assert!(!event.wait_timeout(Duration::from_millis(30)));
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_millis(30) && elapsed < Duration::from_millis(300), "{elapsed:?}");
            let setter = {
                let event = event.clone();
                green::spawn(move || {
                    green::sleep(Duration::from_millis(5));
                    event.set();
                })
            };
            assert!(event.wait_timeout(Duration::from_secs(20)));
            setter.join().unwrap();
            assert!(event.wait_timeout(Duration::ZERO), "already set: returns at once");
        });
    });
}

#[test]
fn clear_makes_later_waits_park_again() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let event = Arc::new(Event::new());
            event.set();
            event.wait();
            event.clear();
            assert!(!event.is_set());
            let waiter = {
                let event = event.clone();
                green::spawn(move || event.wait())
            };
            green::sleep(Duration::from_millis(5));
            assert!(!waiter.is_finished());
            event.set();
            waiter.join().unwrap();
        });
    });
}

#[test]
fn a_set_then_clear_still_releases_the_waiters_it_woke() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let event = Arc::new(Event::new());
            let waiter = {
                let event = event.clone();
                green::spawn(move || event.wait_timeout(Duration::from_secs(20)))
            };
            green::sleep(Duration::from_millis(2));
            event.set();
            event.clear(); // before the waiter runs again (one worker, no yield in between)
            assert!(waiter.join().unwrap(), "the set woke it: edge-triggered");
        });
    });
}

#[test]
fn a_cancelled_waiter_is_removed() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let event = Arc::new(Event::new());
            let victim = {
                let event = event.clone();
                green::spawn(move || event.wait())
            };
            green::sleep(Duration::from_millis(2));
            victim.cancel();
            assert!(green::is_cancelled(victim.join().unwrap_err().as_ref()));
            event.set();
            event.wait();
        });
    });
}
