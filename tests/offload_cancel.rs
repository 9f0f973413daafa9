//! Cancellation, timeouts and runtime shutdown around a green thread that waits on an offloaded job.
//!
//! `offload` (borrowing) is uncancellable: the caller always waits for the job, and an interruption takes
//! effect at its next blocking call. `offload::spawn` + `join` is a cancellation point: the caller stops
//! waiting, the job still runs to completion.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use util::{runtime, watchdog};

#[test]
fn cancel_during_offload_waits_for_the_job_then_unwinds_at_the_next_blocking_call() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (result_tx, result_rx) = mpsc::channel();
        let caller = rt.spawn(move || {
            let mut buffer = vec![0u8; 64];
            let borrowed = &mut buffer;
            let written = green::offload(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                borrowed.fill(7);
                borrowed.len()
            });
            result_tx.send((written, buffer.iter().map(|&b| b as usize).sum::<usize>())).unwrap();
            green::sleep(Duration::from_secs(60)); // the cancellation lands here
            unreachable!("cancelled before");
        });
        started_rx.recv().unwrap();
        caller.cancel();
        assert!(result_rx.recv_timeout(Duration::from_millis(50)).is_err(), "offload returned before its job");
        release_tx.send(()).unwrap();
        assert_eq!(result_rx.recv().unwrap(), (64, 64 * 7), "the job finished with the borrowed buffer first");
        let error = caller.join().unwrap_err();
        assert!(green::is_cancelled(error.as_ref()));
    });
}

#[test]
fn a_timeout_around_offload_alone_returns_ok_late() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let started = Instant::now();
            let result = green::timeout(Duration::from_millis(20), || {
                green::offload(|| {
                    std::thread::sleep(Duration::from_millis(150));
                    5
                })
            });
            assert_eq!(result, Ok(5), "the shielded wait is not interrupted");
            assert!(started.elapsed() >= Duration::from_millis(150));
        });
    });
}

#[test]
fn an_expired_timeout_fires_at_the_first_blocking_call_after_offload() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let job_done = AtomicBool::new(false);
            let started = Instant::now();
            let result = green::timeout(Duration::from_millis(20), || {
                green::offload(|| {
                    std::thread::sleep(Duration::from_millis(100));
                    job_done.store(true, Ordering::Relaxed);
                });
                green::sleep(Duration::from_secs(30));
            });
            assert!(result.is_err(), "the timeout fired");
            assert!(job_done.load(Ordering::Relaxed), "after the job completed");
            assert!(started.elapsed() < Duration::from_secs(10), "without waiting for the sleep");
        });
    });
}

#[test]
fn cancel_during_join_of_a_spawned_job_stops_waiting_and_the_job_still_completes() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let caller = rt.spawn(move || {
            let job = green::offload::spawn(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                done_tx.send("job completed").unwrap();
                9
            });
            job.join()
        });
        started_rx.recv().unwrap();
        caller.cancel();
        // The caller unwinds while the job is still blocked on the gate.
        let error = caller.join().unwrap_err();
        assert!(green::is_cancelled(error.as_ref()));
        assert!(done_rx.try_recv().is_err());
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv().unwrap(), "job completed");
    });
}

#[test]
fn a_timeout_around_join_of_a_spawned_job_elapses_while_the_job_runs_on() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let result = rt.block_on(move || {
            let job = green::offload::spawn(move || {
                release_rx.recv().unwrap();
                done_tx.send("job completed").unwrap();
            });
            green::timeout(Duration::from_millis(30), || job.join())
        });
        assert!(result.is_err(), "the wait elapsed");
        assert!(done_rx.try_recv().is_err(), "while the job was still blocked");
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv().unwrap(), "job completed", "the detached job ran to completion");
    });
}

/// A result that borrows the caller's data and reads it when dropped.
struct SumOnDrop<'a> {
    data: &'a [u64],
    report: mpsc::Sender<(u64, Option<String>)>,
}

impl Drop for SumOnDrop<'_> {
    fn drop(&mut self) {
        let sum = self.data.iter().sum();
        let _ = self.report.send((sum, std::thread::current().name().map(String::from)));
    }
}

#[test]
fn runtime_shutdown_holds_a_borrowing_offload_until_its_job_is_done() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (sum_tx, sum_rx) = mpsc::channel();
        let (drop_tx, drop_rx) = mpsc::channel();
        let _caller = rt.spawn(move || {
            let data: Vec<u64> = (1..=100).collect();
            let borrowed = &data;
            let _result = green::offload(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                // Reads the caller's vector after the runtime began shutting down.
                sum_tx.send(borrowed.iter().sum::<u64>()).unwrap();
                SumOnDrop { data: borrowed, report: drop_tx }
            });
            unreachable!("the runtime unwinds this green thread");
        });
        started_rx.recv().unwrap();
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let dropper = std::thread::spawn(move || {
            drop(rt);
            dropped_tx.send(()).unwrap();
        });
        assert!(
            dropped_rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "the runtime finished shutting down while a job still borrowed a green thread's stack"
        );
        release_tx.send(()).unwrap();
        dropped_rx.recv().unwrap();
        dropper.join().unwrap();
        // The job read the green thread's vector intact, and its borrowing result was dropped by the unwinding
        // green thread on its worker (while the vector still existed), not later by the pool thread.
        assert_eq!(sum_rx.recv().unwrap(), 5050);
        let (sum, dropped_on) = drop_rx.recv().unwrap();
        assert_eq!(sum, 5050);
        let dropped_on = dropped_on.unwrap_or_default();
        assert!(!dropped_on.starts_with("green-offload-"), "result dropped on {dropped_on}");
    });
}
