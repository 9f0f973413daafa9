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
//! Run with `cargo bench --bench sync`; medians are in `target/criterion/<group>/<id>/new/estimates.json`. The
//! contended workloads live in `benches/workloads/mutex.rs`, shared with the side-by-side report
//! (`cargo bench --bench report`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "workloads/mod.rs"]
mod workloads;

use workloads::mutex::{self, Between, CONTENDERS, SECTIONS};

/// One benchmark group: the same workload on green threads, OS threads and tokio tasks.
fn contended(c: &mut Criterion, name: &str, between: Between) {
    let mut group = c.benchmark_group(name);
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .throughput(Throughput::Elements(CONTENDERS * SECTIONS));
    let runtime = workloads::green(2);
    group.bench_function("green", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| mutex::contended_green(&runtime, between)).sum())
    });
    drop(runtime);
    group.bench_function("std_thread", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| mutex::contended_std(between)).sum())
    });
    let tokio = workloads::tokio_multi();
    group.bench_function("tokio_multi_thread", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| mutex::contended_tokio(&tokio, between)).sum())
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
