//! Dumps and stats taken continuously while green threads start, finish, park, spin and migrate wake-ups
//! between workers: every dump is consistent and nothing reads a freed record (run it under AddressSanitizer,
//! DESIGN.md "Testing"). Also the monitor's reading of a running green thread's record, by a worker held
//! longer than a dump waits.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::inspect::ThreadState;

#[test]
fn dumps_and_stats_while_green_threads_come_and_go() {
    util::watchdog(Duration::from_secs(120), || {
        let runtime = util::runtime(2);
        let stop = Arc::new(AtomicBool::new(false));
        // Churn: short-lived green threads that park on channels, yield and finish, spawned from both workers.
        let churn: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                runtime.spawn(move || {
                    let mut rounds = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let (sender, receiver) = green::channel::bounded::<u64>(0);
                        let children: Vec<_> = (0..20)
                            .map(|i| {
                                let receiver = receiver.clone();
                                green::spawn(move || {
                                    green::yield_now();
                                    receiver.recv().map(|value| value + i)
                                })
                            })
                            .collect();
                        for i in 0..20 {
                            sender.send(i).unwrap();
                        }
                        for child in children {
                            child.join().unwrap().unwrap();
                        }
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        // A green thread that sometimes holds its worker past the dump's answer timeout.
        let holder = {
            let stop = stop.clone();
            runtime.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(300) {
                        std::hint::spin_loop();
                    }
                    green::sleep(Duration::from_millis(50));
                }
            })
        };
        let started = Instant::now();
        let (mut dumps, mut unanswered) = (0, 0);
        while started.elapsed() < Duration::from_secs(3) {
            let dump = runtime.dump();
            for thread in &dump.threads {
                assert!(thread.worker < 2, "{thread:?}");
                if let ThreadState::Parked { at, .. } = thread.state {
                    assert!(at.line() > 0);
                }
            }
            let mut ids: Vec<_> = dump.threads.iter().map(|thread| thread.id).collect();
            ids.dedup();
            assert_eq!(ids.len(), dump.threads.len(), "each green thread listed once: {dump}");
            unanswered += dump.unanswered.len();
            let stats = runtime.stats();
            assert!(stats.finished <= stats.spawned, "{stats}");
            dumps += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let rounds: u64 = churn.into_iter().map(|handle| handle.join().unwrap()).sum();
        holder.join().unwrap();
        println!("{dumps} dumps, {unanswered} unanswered workers, {rounds} churn rounds");
        assert!(dumps > 5 && rounds > 5, "{dumps} dumps, {rounds} rounds");
        assert!(unanswered > 0, "the holder was seen holding its worker at least once");
    });
}
