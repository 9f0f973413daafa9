//! The core runtime side by side with OS threads and tokio: spawn+join, yield, park/unpark ping-pong, a bare
//! corosensei switch (the floor), and 100,000 concurrent 10 ms sleeps.
//!
//! Run: `cargo bench --bench core`. Every group measures the same work for each system; times are per task,
//! per yield, or per round trip.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// Tasks per spawn+join batch.
const BATCH: u64 = 1_000;

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

/// Spawns BATCH trivial tasks, then joins them all; the time per task.
fn spawn_join(c: &mut Criterion) {
    let mut group = quick(c, "spawn_join");
    let green = green::Runtime::builder().workers(2).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            green.block_on(|| {
                let start = Instant::now();
                for _ in 0..iters.div_ceil(BATCH) {
                    let handles: Vec<_> = (0..BATCH).map(|i| green::spawn(move || i)).collect();
                    for h in handles {
                        std::hint::black_box(h.join().unwrap());
                    }
                }
                start.elapsed() / BATCH as u32 * BATCH as u32
            })
        })
    });
    group.bench_function("std_thread", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut done = 0;
            while done < iters {
                let handles: Vec<_> = (0..16).map(|i| std::thread::spawn(move || i)).collect();
                for h in handles {
                    std::hint::black_box(h.join().unwrap());
                }
                done += 16;
            }
            start.elapsed() * iters as u32 / done as u32
        })
    });
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters.div_ceil(BATCH) {
                        let handles: Vec<_> = (0..BATCH).map(|i| tokio::spawn(async move { i })).collect();
                        for h in handles {
                            std::hint::black_box(h.await.unwrap());
                        }
                    }
                    start.elapsed() / BATCH as u32 * BATCH as u32
                })
            })
        });
    }
    group.finish();
}

/// One task yielding in a loop; the time per yield.
fn yield_now(c: &mut Criterion) {
    let mut group = quick(c, "yield");
    let green = green::Runtime::builder().workers(1).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            green.block_on(|| {
                let start = Instant::now();
                for _ in 0..iters {
                    green::yield_now();
                }
                start.elapsed()
            })
        })
    });
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            tokio::task::yield_now().await;
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                })
            })
        });
    }
    group.finish();
}

/// Two tasks waking each other in turn; the time per round trip.
fn park_pingpong(c: &mut Criterion) {
    let mut group = quick(c, "park_pingpong");
    let green = green::Runtime::builder().workers(1).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            green.block_on(|| {
                // turn: 0 = ping's move, 1 = pong's move.
                let turn = Arc::new(AtomicUsize::new(0));
                let me = green::current();
                let pong = green::spawn({
                    let turn = turn.clone();
                    move || {
                        for _ in 0..iters {
                            while turn.load(Ordering::Acquire) != 1 {
                                green::park();
                            }
                            turn.store(0, Ordering::Release);
                            me.unpark();
                        }
                    }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    turn.store(1, Ordering::Release);
                    pong.thread().unpark();
                    while turn.load(Ordering::Acquire) != 0 {
                        green::park();
                    }
                }
                let elapsed = start.elapsed();
                pong.join().unwrap();
                elapsed
            })
        })
    });
    group.bench_function("std_thread", |b| {
        b.iter_custom(|iters| {
            let turn = Arc::new(AtomicUsize::new(0));
            let me = std::thread::current();
            let pong = std::thread::spawn({
                let turn = turn.clone();
                move || {
                    for _ in 0..iters {
                        while turn.load(Ordering::Acquire) != 1 {
                            std::thread::park();
                        }
                        turn.store(0, Ordering::Release);
                        me.unpark();
                    }
                }
            });
            let start = Instant::now();
            for _ in 0..iters {
                turn.store(1, Ordering::Release);
                pong.thread().unpark();
                while turn.load(Ordering::Acquire) != 0 {
                    std::thread::park();
                }
            }
            let elapsed = start.elapsed();
            pong.join().unwrap();
            elapsed
        })
    });
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let ping = Arc::new(tokio::sync::Notify::new());
                    let pong = Arc::new(tokio::sync::Notify::new());
                    let peer = tokio::spawn({
                        let (ping, pong) = (ping.clone(), pong.clone());
                        async move {
                            for _ in 0..iters {
                                ping.notified().await;
                                pong.notify_one();
                            }
                        }
                    });
                    let start = Instant::now();
                    for _ in 0..iters {
                        ping.notify_one();
                        pong.notified().await;
                    }
                    let elapsed = start.elapsed();
                    peer.await.unwrap();
                    elapsed
                })
            })
        });
    }
    group.finish();
}

/// A bare corosensei resume + suspend: the floor under any green switch.
fn switch_floor(c: &mut Criterion) {
    let mut group = quick(c, "switch");
    group.bench_function("corosensei_resume_suspend", |b| {
        let mut coroutine = corosensei::Coroutine::new(|yielder: &corosensei::Yielder<(), ()>, ()| loop {
            yielder.suspend(());
        });
        b.iter(|| coroutine.resume(()));
    });
    group.finish();
}

/// 100,000 tasks each sleeping 10 ms, all joined: wall time per whole run (ideal: 10 ms).
fn sleepers(c: &mut Criterion) {
    const N: usize = 100_000;
    let mut group = c.benchmark_group("sleep_100k_10ms");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_millis(500));
    let raised = MapCountRaise::to_fit(N);
    if raised.is_some() {
        let green = green::Runtime::builder().workers(2).stack_size(16 * 1024).build().unwrap();
        group.bench_function("green", |b| {
            b.iter(|| {
                green.block_on(|| {
                    let handles: Vec<_> =
                        (0..N).map(|_| green::spawn(|| green::sleep(Duration::from_millis(10)))).collect();
                    for h in handles {
                        h.join().unwrap();
                    }
                })
            })
        });
    }
    for (name, rt) in [("tokio_multi_thread", tokio_multi()), ("tokio_current_thread", tokio_current())] {
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let handles: Vec<_> = (0..N)
                        .map(|_| tokio::spawn(async { tokio::time::sleep(Duration::from_millis(10)).await }))
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                })
            })
        });
    }
    group.finish();
    drop(raised);
}

/// `vm.max_map_count` raised for this bench (each live green stack needs 2 mappings; 100,000 concurrent green
/// threads need more than the default 65,530), restored on drop.
struct MapCountRaise {
    /// The value to restore, if we changed it.
    restore: Option<usize>,
}

impl MapCountRaise {
    const PATH: &'static str = "/proc/sys/vm/max_map_count";

    /// `Some` when `n` concurrent green stacks fit, raising the limit when this process may (root); says so
    /// either way. Tokio needs no such change: its tasks are heap objects.
    fn to_fit(n: usize) -> Option<MapCountRaise> {
        let needed = 2 * n + 10_000;
        let current: usize = std::fs::read_to_string(Self::PATH).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if current >= needed {
            return Some(MapCountRaise { restore: None });
        }
        if std::fs::write(Self::PATH, needed.to_string()).is_ok() {
            eprintln!("sleep_100k_10ms: vm.max_map_count raised from {current} to {needed} for this group");
            return Some(MapCountRaise { restore: Some(current) });
        }
        eprintln!("sleep_100k_10ms/green skipped: {n} guarded stacks need vm.max_map_count >= {needed} (is {current})");
        None
    }
}

impl Drop for MapCountRaise {
    fn drop(&mut self) {
        if let Some(value) = self.restore {
            let _ = std::fs::write(Self::PATH, value.to_string());
        }
    }
}

criterion_group!(benches, switch_floor, spawn_join, yield_now, park_pingpong, sleepers);
criterion_main!(benches);
