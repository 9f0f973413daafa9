//! Shielded waits under an enclosing `timeout` or cancellation: they wait (never spin), and what was held off
//! takes effect at the first cancellation point after the shield ends. Each case runs in a child process: the
//! defect was a worker spinning forever.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use util::{in_child, runtime};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_scope_join_under_an_expired_timeout_waits_for_its_children() {
    in_child("a_scope_join_under_an_expired_timeout_waits_for_its_children", LIMIT, || {
        runtime(1).block_on(|| {
            let start = Instant::now();
            let result = green::timeout(Duration::from_millis(5), || {
                green::scope(|s| {
                    s.spawn(|| green::sleep(Duration::from_millis(20)));
                })
            });
            // The scope waited for its child (nothing borrowed was freed early); no cancellation point followed.
            assert!(start.elapsed() >= Duration::from_millis(20));
            assert_eq!(result, Ok(()));
            // The next blocking call after the shield sees the expired timeout only inside a timeout: here none.
            green::sleep(Duration::from_millis(1));
        });
    });
}

#[test]
fn an_expired_timeout_fires_at_the_first_blocking_call_after_the_shield() {
    in_child("an_expired_timeout_fires_at_the_first_blocking_call_after_the_shield", LIMIT, || {
        runtime(1).block_on(|| {
            let mut after_shield = false;
            let result = green::timeout(Duration::from_millis(5), || {
                green::uncancellable(|| green::sleep(Duration::from_millis(20)));
                after_shield = true;
                green::sleep(Duration::from_secs(3600));
            });
            assert!(result.is_err());
            assert!(after_shield);
        });
    });
}

#[test]
fn an_uncancellable_recv_under_an_expired_timeout_keeps_its_message() {
    in_child("an_uncancellable_recv_under_an_expired_timeout_keeps_its_message", LIMIT, || {
        runtime(1).block_on(|| {
            let (tx, rx) = green::channel::bounded(1);
            let sender = green::spawn(move || {
                green::sleep(Duration::from_millis(30));
                tx.send(7).unwrap();
            });
            let result = green::timeout(Duration::from_millis(5), || green::uncancellable(|| rx.recv()));
            assert_eq!(result, Ok(Ok(7)), "the message is delivered, not lost");
            sender.join().unwrap();
        });
    });
}

#[test]
fn an_offload_under_an_expired_timeout_does_not_starve_its_worker() {
    in_child("an_offload_under_an_expired_timeout_does_not_starve_its_worker", LIMIT, || {
        const TICKS: usize = 20;
        let ticks = Arc::new(AtomicUsize::new(0));
        runtime(1).block_on(|| {
            let ticker = green::spawn({
                let ticks = ticks.clone();
                move || loop {
                    green::sleep(Duration::from_millis(1));
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            });
            // The job waits until the ticker, on the caller's worker, has ticked TICKS times (at most 20 s): it
            // can only get there if the caller's shielded wait really switches out.
            let ticked = green::timeout(Duration::from_millis(5), || {
                green::offload(|| {
                    let give_up = Instant::now() + Duration::from_secs(20);
                    while ticks.load(Ordering::SeqCst) < TICKS && Instant::now() < give_up {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    ticks.load(Ordering::SeqCst)
                })
            });
            assert!(ticked.unwrap() >= TICKS, "the ticker starved while the offload caller waited");
            ticker.cancel();
            let _ = ticker.join();
        });
    });
}

#[test]
fn a_group_drop_under_an_expired_timeout_waits_for_its_members() {
    in_child("a_group_drop_under_an_expired_timeout_waits_for_its_members", LIMIT, || {
        runtime(1).block_on(|| {
            let finished = Arc::new(AtomicUsize::new(0));
            let mut group = green::Group::new();
            let member = group
                .spawn({
                    let finished = finished.clone();
                    move || {
                        green::uncancellable(|| green::sleep(Duration::from_millis(20)));
                        finished.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .clone();
            while member.parked_at().is_none() {
                green::yield_now(); // the member has started: the group's drop cancels it, the shield holds
            }
            let result = green::timeout(Duration::from_millis(5), move || drop(group));
            assert_eq!(result, Ok(()));
            assert_eq!(finished.load(Ordering::SeqCst), 1, "the group's drop waited for its member");
        });
    });
}

#[test]
fn a_block_on_under_an_expired_timeout_waits_for_its_closure() {
    in_child("a_block_on_under_an_expired_timeout_waits_for_its_closure", LIMIT, || {
        let other = Arc::new(runtime(1));
        runtime(1).block_on(|| {
            let mut done = false;
            let result = green::timeout(Duration::from_millis(5), || {
                other.block_on(|| {
                    green::sleep(Duration::from_millis(20));
                    done = true;
                })
            });
            assert_eq!(result, Ok(()));
            assert!(done);
        });
    });
}

#[test]
fn a_cancelled_green_thread_in_a_scope_join_unwinds_after_its_children() {
    in_child("a_cancelled_green_thread_in_a_scope_join_unwinds_after_its_children", LIMIT, || {
        runtime(2).block_on(|| {
            let children_done = Arc::new(AtomicUsize::new(0));
            let parent = green::spawn({
                let children_done = children_done.clone();
                move || {
                    green::scope(|s| {
                        for _ in 0..3 {
                            s.spawn(|| {
                                green::uncancellable(|| green::sleep(Duration::from_millis(20)));
                                children_done.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    });
                    green::sleep(Duration::from_secs(3600)); // the held-off cancellation lands here
                }
            });
            while parent.thread().parked_at().is_none() {
                green::yield_now();
            }
            parent.cancel();
            assert!(green::is_cancelled(parent.join().unwrap_err().as_ref()));
            assert_eq!(children_done.load(Ordering::SeqCst), 3);
        });
    });
}
