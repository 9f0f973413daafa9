//! Mutex benchmarks: `green::sync::Mutex` against `std::sync::Mutex` and `tokio::sync::Mutex`.
//!
//! - `mutex_contended`: 4 contenders each do 10,000 × (lock, increment, unlock, yield). `green`: green threads
//!   on a 2-worker runtime; `std_thread`: OS threads; `tokio_multi_thread`: tasks on a 2-worker multi-thread
//!   runtime with `tokio::sync::Mutex`. The yield makes the contenders of each system interleave (green threads
//!   are not preempted: without it, one green thread per worker runs its whole loop and only the two running
//!   ones can meet at the lock). One iteration spawns and joins the 4 contenders (a small part of its time).
//!   Throughput is per critical section.
//! - `mutex_contended_no_yield`: the same with a little work instead of the yield.
//! - `mutex_uncontended`: one lock + unlock on the benchmark thread: the fast path (one CAS each way).
//!
//! Run with `cargo bench --bench sync`; medians are in `target/criterion/<group>/<id>/new/estimates.json`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Contending threads (green threads, OS threads or tokio tasks).
const CONTENDERS: u64 = 4;
/// Critical sections per contender per iteration.
const SECTIONS: u64 = 10_000;

/// A little work between two critical sections, so that contenders do not only hammer the lock.
#[inline]
fn work_outside_the_lock() {
    for i in 0..16u64 {
        black_box(i);
    }
}

/// How a contender spends its time between two critical sections.
#[derive(Clone, Copy)]
enum Between {
    /// Gives up its turn: `green::yield_now`, `std::thread::yield_now`, `tokio::task::yield_now`.
    Yield,
    /// A few dozen instructions of work, no yield.
    Work,
}

/// One benchmark group: the same workload on green threads, OS threads and tokio tasks.
fn contended(c: &mut Criterion, name: &str, between: Between) {
    let mut group = c.benchmark_group(name);
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .throughput(Throughput::Elements(CONTENDERS * SECTIONS));

    let runtime = green::Runtime::builder().workers(2).build().unwrap();
    group.bench_function("green", |b| {
        b.iter(|| {
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
                handles.into_iter().for_each(|h| h.join().unwrap());
            });
            assert_eq!(*counter.lock().unwrap(), CONTENDERS * SECTIONS);
        })
    });
    drop(runtime);

    group.bench_function("std_thread", |b| {
        b.iter(|| {
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
            assert_eq!(*counter.lock().unwrap(), CONTENDERS * SECTIONS);
        })
    });

    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    group.bench_function("tokio_multi_thread", |b| {
        b.iter(|| {
            let counter = Arc::new(tokio::sync::Mutex::new(0u64));
            tokio.block_on(async {
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
                assert_eq!(*counter.lock().await, CONTENDERS * SECTIONS);
            });
        })
    });
    group.finish();
}

fn mutex_contended(c: &mut Criterion) {
    contended(c, "mutex_contended", Between::Yield);
    contended(c, "mutex_contended_no_yield", Between::Work);
}

fn mutex_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("mutex_uncontended");
    group.measurement_time(Duration::from_secs(2)).sample_size(20);
    let green_mutex = green::sync::Mutex::new(0u64);
    group.bench_function("green", |b| b.iter(|| *black_box(&green_mutex).lock().unwrap() += 1));
    let std_mutex = std::sync::Mutex::new(0u64);
    group.bench_function("std", |b| b.iter(|| *black_box(&std_mutex).lock().unwrap() += 1));
    group.finish();
}

criterion_group!(benches, mutex_contended, mutex_uncontended);
criterion_main!(benches);
