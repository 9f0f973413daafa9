//! `green::sync::Barrier`: green and OS threads meet generation after generation; one leader each.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::sync::Barrier;
use util::{runtime, watchdog};

#[test]
fn green_and_os_threads_meet_for_several_generations() {
    const GREEN: usize = 6;
    const OS: usize = 2;
    const PARTIES: usize = GREEN + OS;
    const GENERATIONS: usize = 25;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let barrier = Arc::new(Barrier::new(PARTIES));
        let arrived = Arc::new(AtomicUsize::new(0));
        let leaders = Arc::new(AtomicUsize::new(0));
        let participant = {
            let (barrier, arrived, leaders) = (barrier.clone(), arrived.clone(), leaders.clone());
            move || {
                for generation in 0..GENERATIONS {
                    arrived.fetch_add(1, Ordering::SeqCst);
                    if barrier.wait().is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                    // Nobody passes before everybody of this generation has arrived.
                    let seen = arrived.load(Ordering::SeqCst);
                    assert!(seen >= (generation + 1) * PARTIES, "generation {generation}: only {seen} arrived");
                }
            }
        };
        let os_threads: Vec<_> = (0..OS).map(|_| std::thread::spawn(participant.clone())).collect();
        rt.block_on(|| {
            let handles: Vec<_> = (0..GREEN).map(|_| green::spawn(participant.clone())).collect();
            handles.into_iter().for_each(|h| h.join().unwrap());
        });
        os_threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(arrived.load(Ordering::SeqCst), PARTIES * GENERATIONS);
        assert_eq!(leaders.load(Ordering::SeqCst), GENERATIONS, "exactly one leader per generation");
    });
}

#[test]
fn a_barrier_of_one_never_parks() {
    let barrier = Barrier::new(1);
    assert!(barrier.wait().is_leader());
    assert!(Barrier::new(0).wait().is_leader());
}

#[test]
fn a_cancelled_waiter_takes_its_arrival_back() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let barrier = Arc::new(Barrier::new(2));
            let victim = {
                let barrier = barrier.clone();
                green::spawn(move || barrier.wait())
            };
            green::sleep(Duration::from_millis(5));
            victim.cancel();
            assert!(victim.join().is_err());
            // The generation still needs two: a lone waiter stays parked until a partner arrives.
            let first = {
                let barrier = barrier.clone();
                green::spawn(move || barrier.wait().is_leader())
            };
            green::sleep(Duration::from_millis(5));
            assert!(!first.is_finished(), "the cancelled arrival must not count");
            let second_is_leader = barrier.wait().is_leader();
            assert!(second_is_leader);
            assert!(!first.join().unwrap());
        });
    });
}
