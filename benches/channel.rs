//! Channels side by side with `std::sync::mpsc` between OS threads and `tokio::sync::mpsc` between tasks:
//! ping-pong latency (time per round trip) and one-producer one-consumer throughput (1,000,000 `u64`s).
//!
//! Run: `cargo bench --bench channel`. Peers are spawned before the clock starts; each ping-pong also does one
//! untimed round trip first, so the peer is running when timing begins.
//!
//! - `channel_pingpong`: `green` is two green threads on a 1-worker runtime over two `bounded(1)` channels
//!   (`green_zero`: rendezvous channels); `std_thread` uses `sync_channel(1)`, tokio `mpsc::channel(1)`.
//! - `channel_throughput`: bounded channels of capacity 1024 everywhere (`green_unbounded` and
//!   `tokio_current_thread_unbounded` for the unbounded kinds); `green` runs both ends on one worker,
//!   `green_2_workers` on a 2-worker runtime, `tokio_multi_thread` on 2 worker threads.
//!
//! The workloads live in `benches/workloads/channel.rs`, shared with the side-by-side report
//! (`cargo bench --bench report`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

#[path = "workloads/mod.rs"]
mod workloads;

use workloads::channel::{self, CAPACITY, MESSAGES};
use workloads::{tokio_current, tokio_multi};

fn quick<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    group
}

fn pingpong(c: &mut Criterion) {
    let mut group = quick(c, "channel_pingpong");
    let one_worker = workloads::green(1);
    group.bench_function("green", |b| b.iter_custom(|iters| channel::pingpong_green(&one_worker, iters, 1)));
    group.bench_function("green_zero", |b| b.iter_custom(|iters| channel::pingpong_green(&one_worker, iters, 0)));
    drop(one_worker);
    group.bench_function("std_thread", |b| b.iter_custom(channel::pingpong_std));
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| b.iter_custom(|iters| channel::pingpong_tokio(&rt, iters)));
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let mut group = quick(c, "channel_throughput");
    group.throughput(Throughput::Elements(MESSAGES)).sample_size(10);
    let one_worker = workloads::green(1);
    let two_workers = workloads::green(2);
    let runs = |iters: u64, run: &dyn Fn() -> Duration| -> Duration { (0..iters).map(|_| run()).sum() };
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            runs(iters, &|| channel::throughput_green(&one_worker, green::channel::bounded(CAPACITY)))
        })
    });
    group.bench_function("green_unbounded", |b| {
        b.iter_custom(|iters| runs(iters, &|| channel::throughput_green(&one_worker, green::channel::unbounded())))
    });
    group.bench_function("green_2_workers", |b| {
        b.iter_custom(|iters| {
            runs(iters, &|| channel::throughput_green(&two_workers, green::channel::bounded(CAPACITY)))
        })
    });
    drop((one_worker, two_workers));
    group.bench_function("std_thread", |b| b.iter_custom(|iters| runs(iters, &channel::throughput_std)));
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| b.iter_custom(|iters| runs(iters, &|| channel::throughput_tokio(&rt))));
    }
    let rt = tokio_current();
    group.bench_function("tokio_current_thread_unbounded", |b| {
        b.iter_custom(|iters| runs(iters, &|| channel::throughput_tokio_unbounded(&rt)))
    });
    group.finish();
}

criterion_group!(benches, pingpong, throughput);
criterion_main!(benches);
