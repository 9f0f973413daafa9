//! The core runtime side by side with OS threads and tokio: spawn+join, yield, park/unpark ping-pong, a bare
//! corosensei switch (the floor), and 100,000 concurrent 10 ms sleeps.
//!
//! Run: `cargo bench --bench core`. Every group measures the same work for each system; times are per task,
//! per yield, or per round trip. The workloads live in `benches/workloads/tasks.rs`, shared with the
//! side-by-side report (`cargo bench --bench report`).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "workloads/mod.rs"]
mod workloads;

use workloads::{tasks, tokio_current, tokio_multi};

fn quick<'a>(c: &'a mut Criterion, name: &str) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);
    group
}

/// Spawns batches of trivial tasks, then joins them all; the time per task.
fn spawn_join(c: &mut Criterion) {
    let mut group = quick(c, "spawn_join");
    let green = workloads::green(2);
    group.bench_function("green", |b| b.iter_custom(|iters| tasks::spawn_join_green(&green, iters)));
    group.bench_function("std_thread", |b| b.iter_custom(tasks::spawn_join_std));
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| b.iter_custom(|iters| tasks::spawn_join_tokio(&rt, iters)));
    }
    group.finish();
}

/// One task yielding in a loop; the time per yield.
fn yield_now(c: &mut Criterion) {
    let mut group = quick(c, "yield");
    let green = workloads::green(1);
    group.bench_function("green", |b| b.iter_custom(|iters| tasks::yield_green(&green, iters)));
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| b.iter_custom(|iters| tasks::yield_tokio(&rt, iters)));
    }
    group.finish();
}

/// Two tasks waking each other in turn; the time per round trip.
fn park_pingpong(c: &mut Criterion) {
    let mut group = quick(c, "park_pingpong");
    let green = workloads::green(1);
    group.bench_function("green", |b| b.iter_custom(|iters| tasks::park_pingpong_green(&green, iters)));
    group.bench_function("std_thread", |b| b.iter_custom(tasks::park_pingpong_std));
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| b.iter_custom(|iters| tasks::park_pingpong_tokio(&rt, iters)));
    }
    group.finish();
}

/// A bare corosensei resume + suspend: the floor under any green switch.
fn switch_floor(c: &mut Criterion) {
    let mut group = quick(c, "switch");
    group.bench_function("corosensei_resume_suspend", |b| b.iter_custom(tasks::corosensei_switch));
    group.finish();
}

/// 100,000 tasks each sleeping 10 ms, all joined: wall time per whole run (ideal: 10 ms).
fn sleepers(c: &mut Criterion) {
    let mut group = c.benchmark_group("sleep_100k_10ms");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_millis(500));
    let room = workloads::map_count::room_for(tasks::SLEEPERS_MAPPED_STACKS);
    if let Err(reason) = &room {
        eprintln!("sleep_100k_10ms: skipped for green: {reason}");
    }
    if room.is_ok() {
        let green = workloads::green(2);
        group.bench_function("green", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| tasks::sleepers_green(&green)).sum())
        });
    }
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| b.iter_custom(|iters| (0..iters).map(|_| tasks::sleepers_tokio(&rt)).sum()));
    }
    group.finish();
}

criterion_group!(benches, switch_floor, spawn_join, yield_now, park_pingpong, sleepers);
criterion_main!(benches);
