//! `green::sync::WaitGroup`: waiting for every clone to be dropped, from green and OS threads.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::sync::WaitGroup;
use util::{runtime, watchdog};

#[test]
fn wait_returns_after_every_member_is_done() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let done = Arc::new(AtomicUsize::new(0));
        let group = WaitGroup::new();
        let os: Vec<_> = (0..3)
            .map(|_| {
                let (member, done) = (group.clone(), done.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    done.fetch_add(1, Ordering::SeqCst);
                    drop(member);
                })
            })
            .collect();
        rt.block_on(|| {
            for i in 0..200u64 {
                let (member, done) = (group.clone(), done.clone());
                green::spawn(move || {
                    green::sleep(Duration::from_micros(i * 10));
                    done.fetch_add(1, Ordering::SeqCst);
                    drop(member);
                });
            }
            group.wait();
            assert_eq!(done.load(Ordering::SeqCst), 203);
        });
        os.into_iter().for_each(|t| t.join().unwrap());
    });
}

#[test]
fn several_clones_may_wait_and_all_are_released() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let group = WaitGroup::new();
            let holder = group.clone();
            let waiters: Vec<_> = (0..10)
                .map(|_| {
                    let member = group.clone();
                    green::spawn(move || member.wait())
                })
                .collect();
            let os_waiter = {
                let member = group.clone();
                std::thread::spawn(move || member.wait())
            };
            green::sleep(Duration::from_millis(5));
            assert!(waiters.iter().all(|w| !w.is_finished()), "nobody passes while the holder lives");
            drop(holder);
            group.wait();
            waiters.into_iter().for_each(|h| h.join().unwrap());
            os_waiter.join().unwrap();
        });
    });
}

#[test]
fn a_lone_wait_returns_at_once_and_debug_shows_the_count() {
    let group = WaitGroup::new();
    let other = group.clone();
    assert!(format!("{group:?}").contains("count: 2"));
    drop(other);
    group.wait();
}

#[test]
fn a_cancelled_waiter_still_counts_as_done() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let group = WaitGroup::new();
            let holder = group.clone();
            let victim = {
                let member = group.clone();
                green::spawn(move || member.wait())
            };
            green::sleep(Duration::from_millis(2));
            victim.cancel();
            assert!(victim.join().is_err());
            drop(holder);
            group.wait();
        });
    });
}
