//! The offload pool's sizing: it grows on demand up to its bound, queues FIFO at the bound, and shrinks when
//! idle. One test, because the pool and its settings are process-wide.

mod util;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::{runtime, watchdog};

/// Waits (polling the pool's counters) until `condition` holds; the pool shrinks on a timer, so there is no
/// event to wait for.
fn wait_for_pool(limit: Duration, what: &str, condition: impl Fn(green::offload::Stats) -> bool) {
    let started = Instant::now();
    loop {
        let stats = green::offload::stats();
        if condition(stats) {
            return;
        }
        assert!(started.elapsed() < limit, "pool never reached '{what}': {stats:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn pool_grows_to_its_bound_queues_fifo_and_shrinks_when_idle() {
    watchdog(Duration::from_secs(60), || {
        const BOUND: usize = 4;
        const JOBS: usize = 20;
        green::offload::set_max_threads(BOUND);
        green::offload::set_idle_timeout(Duration::from_millis(200));
        assert_eq!(green::offload::stats().threads, 0, "the pool starts lazily");

        // Every job reports its start, then blocks until released: the jobs that run at once are exactly the
        // threads the pool has.
        let (started_tx, started_rx) = mpsc::channel::<usize>();
        let mut releases = Vec::new();
        let rt = runtime(1);
        let callers: Vec<_> = (0..JOBS)
            .map(|i| {
                let started_tx = started_tx.clone();
                let (release_tx, release_rx) = mpsc::channel::<()>();
                releases.push(release_tx);
                rt.spawn(move || {
                    green::offload(move || {
                        started_tx.send(i).unwrap();
                        release_rx.recv().unwrap();
                        i
                    })
                })
            })
            .collect();

        let mut running: Vec<usize> = (0..BOUND).map(|_| started_rx.recv().unwrap()).collect();
        wait_for_pool(Duration::from_secs(10), "all other jobs queued", |s| s.queued == JOBS - BOUND);
        let stats = green::offload::stats();
        assert_eq!(stats.threads, BOUND, "grew to the bound and no further: {stats:?}");
        assert_eq!(stats.idle, 0);
        assert!(started_rx.try_recv().is_err(), "no job beyond the bound started");
        running.sort_unstable();
        assert_eq!(running, (0..BOUND).collect::<Vec<_>>(), "the first jobs submitted run first");

        // Release one running job at a time: each release frees one thread, which takes the oldest queued job
        // (green threads on one worker submit in spawn order).
        let mut order = Vec::new();
        for _ in BOUND..JOBS {
            releases[running.remove(0)].send(()).unwrap();
            let next = started_rx.recv().unwrap();
            order.push(next);
            running.push(next);
            assert!(green::offload::stats().threads <= BOUND);
        }
        assert_eq!(order, (BOUND..JOBS).collect::<Vec<_>>(), "queued jobs start in FIFO order");
        for job in running {
            releases[job].send(()).unwrap();
        }
        let results: Vec<usize> = callers.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results, (0..JOBS).collect::<Vec<_>>());
        // A pool thread counts a job after the job has woken its caller, so the count may trail the joins.
        wait_for_pool(Duration::from_secs(10), "all jobs counted", |s| s.completed >= JOBS as u64);

        // Idle threads exit after the idle timeout.
        wait_for_pool(Duration::from_secs(10), "shrunk to zero", |s| s.threads == 0);

        // Lowering the bound makes surplus idle threads leave at once, without waiting for the timeout.
        green::offload::set_idle_timeout(Duration::from_secs(60));
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let handles: Vec<_> = (0..BOUND)
            .map(|_| {
                let (started_tx, release_rx) = (started_tx.clone(), release_rx.clone());
                green::offload::spawn(move || {
                    started_tx.send(()).unwrap();
                    let release = release_rx.lock().unwrap().recv();
                    release.unwrap();
                })
            })
            .collect();
        for _ in 0..BOUND {
            started_rx.recv().unwrap();
        }
        assert_eq!(green::offload::stats().threads, BOUND);
        for _ in 0..BOUND {
            release_tx.send(()).unwrap();
        }
        handles.into_iter().for_each(|h| h.join().unwrap());
        wait_for_pool(Duration::from_secs(10), "all idle", |s| s.idle == BOUND);
        green::offload::set_max_threads(1);
        wait_for_pool(Duration::from_secs(10), "shrunk to the new bound", |s| s.threads == 1);
        assert_eq!(green::offload::spawn(|| 3).join().unwrap(), 3, "the remaining thread still works");
        green::offload::set_max_threads(64);
        green::offload::set_idle_timeout(Duration::from_secs(10));
    });
}
