//! The contended mutex workload: [`CONTENDERS`] contenders each do [`SECTIONS`] × (lock, increment, unlock,
//! then [`Between`]), with `green::sync::Mutex` on green threads, `std::sync::Mutex` on OS threads, and
//! `tokio::sync::Mutex` on tokio tasks. One run spawns and joins the contenders (a small part of its time) and
//! returns the time of the whole run: `CONTENDERS * SECTIONS` critical sections.
//!
//! With [`Between::Yield`] the contenders of each system interleave (green threads are not preempted: without
//! a yield, one green thread per worker runs its whole loop and only the two running ones can meet at the
//! lock); [`Between::Work`] does a few dozen instructions instead.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Contending threads (green threads, OS threads or tokio tasks).
pub const CONTENDERS: u64 = 4;

/// Critical sections per contender per run.
pub const SECTIONS: u64 = 10_000;

/// How a contender spends its time between two critical sections.
#[derive(Clone, Copy, Debug)]
pub enum Between {
    /// Gives up its turn: `green::yield_now`, `std::thread::yield_now`, `tokio::task::yield_now`.
    Yield,
    /// A few dozen instructions of work, no yield.
    Work,
}

/// A little work between two critical sections, so that contenders do not only hammer the lock.
#[inline]
fn work_outside_the_lock() {
    for i in 0..16u64 {
        black_box(i);
    }
}

/// One contended run with `green::sync::Mutex` on `runtime`.
pub fn contended_green(runtime: &green::Runtime, between: Between) -> Duration {
    let start = Instant::now();
    let counter = Arc::new(green::sync::Mutex::new(0u64));
    runtime.block_on(|| {
        let handles: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let counter = counter.clone();
                green::spawn(move || {
                    for _ in 0..SECTIONS {
                        *counter.lock().unwrap() += 1;
                        match between {
                            Between::Yield => green::yield_now(),
                            Between::Work => work_outside_the_lock(),
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|handle| handle.join().unwrap());
    });
    let elapsed = start.elapsed();
    assert_eq!(*counter.lock().unwrap(), CONTENDERS * SECTIONS);
    elapsed
}

/// One contended run with `std::sync::Mutex` on OS threads.
pub fn contended_std(between: Between) -> Duration {
    let start = Instant::now();
    let counter = std::sync::Mutex::new(0u64);
    std::thread::scope(|scope| {
        for _ in 0..CONTENDERS {
            scope.spawn(|| {
                for _ in 0..SECTIONS {
                    *counter.lock().unwrap() += 1;
                    match between {
                        Between::Yield => std::thread::yield_now(),
                        Between::Work => work_outside_the_lock(),
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(*counter.lock().unwrap(), CONTENDERS * SECTIONS);
    elapsed
}

/// One contended run with `tokio::sync::Mutex` on `runtime`.
pub fn contended_tokio(runtime: &tokio::runtime::Runtime, between: Between) -> Duration {
    let start = Instant::now();
    let counter = Arc::new(tokio::sync::Mutex::new(0u64));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let counter = counter.clone();
                tokio::spawn(async move {
                    for _ in 0..SECTIONS {
                        *counter.lock().await += 1;
                        match between {
                            Between::Yield => tokio::task::yield_now().await,
                            Between::Work => work_outside_the_lock(),
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(*counter.blocking_lock(), CONTENDERS * SECTIONS);
    elapsed
}
