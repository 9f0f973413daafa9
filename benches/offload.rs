//! The cost of running a blocking call off the worker: `green::offload` side by side with tokio's
//! `spawn_blocking` and a fresh OS thread per call, and a 4 KiB file read through `green::fs`, `tokio::fs` and
//! plain `std::fs` (the floor: no handoff at all).
//!
//! Run: `cargo bench --bench offload`. Times are per call (one round trip to the pool and back).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

fn quick<'a>(c: &'a mut Criterion, name: &str) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    group
}

fn tokio_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn tokio_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// One trivial job handed to another OS thread and its result handed back, one call at a time.
fn round_trip(c: &mut Criterion) {
    let mut group = quick(c, "offload_round_trip");
    let green = green::Runtime::builder().workers(2).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            green.block_on(|| {
                let start = Instant::now();
                for i in 0..iters {
                    black_box(green::offload(|| black_box(i)));
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("std_thread", |b| {
        b.iter(|| black_box(std::thread::spawn(|| black_box(1u64)).join().unwrap()));
    });
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(tokio::task::spawn_blocking(move || black_box(i)).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// Reads a 4 KiB file whole (open, read, close), one call at a time.
fn read_4k(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("green-bench-read-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 4096]).unwrap();
    let mut group = quick(c, "fs_read_4k");
    let green = green::Runtime::builder().workers(2).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            green.block_on(|| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(green::fs::read(&path).unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("std_blocking", |b| b.iter(|| black_box(std::fs::read(&path).unwrap())));
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(tokio::fs::read(&path).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, round_trip, read_4k);
criterion_main!(benches);
