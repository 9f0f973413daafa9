//! Offloaded blocking calls do not stall the worker: its other green threads keep running.

mod util;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use util::{runtime, watchdog};

#[test]
fn hundred_blocking_sleeps_on_one_worker_overlap_while_a_ticker_keeps_running() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(1);
        let ticks = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (ticks, stop) = (ticks.clone(), stop.clone());
            rt.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    green::yield_now();
                }
            })
        };
        let started = Instant::now();
        let sleepers: Vec<_> = (0..100)
            .map(|_| {
                let ticks = ticks.clone();
                rt.spawn(move || {
                    green::offload(|| {
                        let before = ticks.load(Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(50));
                        let after = ticks.load(Ordering::Relaxed);
                        (before, after)
                    })
                })
            })
            .collect();
        let observed: Vec<(u64, u64)> = sleepers.into_iter().map(|h| h.join().unwrap()).collect();
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        ticker.join().unwrap();

        assert!(elapsed < Duration::from_millis(2500), "100 x 50 ms offloaded sleeps took {elapsed:?}");
        for (before, after) in &observed {
            assert!(after > before, "the ticker on the same worker stood still during an offload: {before} -> {after}");
        }
    });
}
