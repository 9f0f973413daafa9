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

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

/// Messages per throughput run.
const MESSAGES: u64 = 1_000_000;
/// Capacity of the bounded channels in the throughput runs.
const CAPACITY: usize = 1024;

fn quick<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
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

/// Two green threads exchange a message over a pair of channels of `capacity`; the time per round trip.
fn green_pingpong(runtime: &green::Runtime, iters: u64, capacity: usize) -> Duration {
    runtime.block_on(|| {
        let (ping, pinged) = green::channel::bounded::<u64>(capacity);
        let (pong, ponged) = green::channel::bounded::<u64>(capacity);
        let peer = green::spawn(move || {
            for message in pinged {
                pong.send(message).unwrap();
            }
        });
        ping.send(0).unwrap();
        ponged.recv().unwrap();
        let start = Instant::now();
        for i in 0..iters {
            ping.send(i).unwrap();
            std::hint::black_box(ponged.recv().unwrap());
        }
        let elapsed = start.elapsed();
        drop(ping);
        peer.join().unwrap();
        elapsed
    })
}

fn pingpong(c: &mut Criterion) {
    let mut group = quick(c, "channel_pingpong");
    let one_worker = green::Runtime::builder().workers(1).build().unwrap();
    group.bench_function("green", |b| b.iter_custom(|iters| green_pingpong(&one_worker, iters, 1)));
    group.bench_function("green_zero", |b| b.iter_custom(|iters| green_pingpong(&one_worker, iters, 0)));
    drop(one_worker);
    group.bench_function("std_thread", |b| {
        b.iter_custom(|iters| {
            let (ping, pinged) = mpsc::sync_channel::<u64>(1);
            let (pong, ponged) = mpsc::sync_channel::<u64>(1);
            let peer = std::thread::spawn(move || {
                for message in pinged {
                    pong.send(message).unwrap();
                }
            });
            ping.send(0).unwrap();
            ponged.recv().unwrap();
            let start = Instant::now();
            for i in 0..iters {
                ping.send(i).unwrap();
                std::hint::black_box(ponged.recv().unwrap());
            }
            let elapsed = start.elapsed();
            drop(ping);
            peer.join().unwrap();
            elapsed
        })
    });
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let (ping, mut pinged) = tokio::sync::mpsc::channel::<u64>(1);
                    let (pong, mut ponged) = tokio::sync::mpsc::channel::<u64>(1);
                    let peer = tokio::spawn(async move {
                        while let Some(message) = pinged.recv().await {
                            pong.send(message).await.unwrap();
                        }
                    });
                    ping.send(0).await.unwrap();
                    ponged.recv().await.unwrap();
                    let start = Instant::now();
                    for i in 0..iters {
                        ping.send(i).await.unwrap();
                        std::hint::black_box(ponged.recv().await.unwrap());
                    }
                    let elapsed = start.elapsed();
                    drop(ping);
                    peer.await.unwrap();
                    elapsed
                })
            })
        });
    }
    group.finish();
}

/// One green thread sends MESSAGES to another through `channel`; the time for all of them.
fn green_throughput(
    runtime: &green::Runtime,
    (sender, receiver): (green::channel::Sender<u64>, green::channel::Receiver<u64>),
) -> Duration {
    runtime.block_on(move || {
        let consumer = green::spawn(move || receiver.iter().fold(0u64, u64::wrapping_add));
        let start = Instant::now();
        for i in 0..MESSAGES {
            sender.send(i).unwrap();
        }
        drop(sender);
        let sum = consumer.join().unwrap();
        let elapsed = start.elapsed();
        assert_eq!(sum, MESSAGES * (MESSAGES - 1) / 2);
        elapsed
    })
}

fn throughput(c: &mut Criterion) {
    let mut group = quick(c, "channel_throughput");
    group.throughput(Throughput::Elements(MESSAGES)).sample_size(10);
    let one_worker = green::Runtime::builder().workers(1).build().unwrap();
    let two_workers = green::Runtime::builder().workers(2).build().unwrap();
    group.bench_function("green", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| green_throughput(&one_worker, green::channel::bounded(CAPACITY))).sum()
        })
    });
    group.bench_function("green_unbounded", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| green_throughput(&one_worker, green::channel::unbounded())).sum())
    });
    group.bench_function("green_2_workers", |b| {
        b.iter_custom(|iters| {
            (0..iters).map(|_| green_throughput(&two_workers, green::channel::bounded(CAPACITY))).sum()
        })
    });
    drop((one_worker, two_workers));
    group.bench_function("std_thread", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (sender, receiver) = mpsc::sync_channel::<u64>(CAPACITY);
                    let consumer = std::thread::spawn(move || receiver.iter().fold(0u64, u64::wrapping_add));
                    let start = Instant::now();
                    for i in 0..MESSAGES {
                        sender.send(i).unwrap();
                    }
                    drop(sender);
                    assert_eq!(consumer.join().unwrap(), MESSAGES * (MESSAGES - 1) / 2);
                    start.elapsed()
                })
                .sum()
        })
    });
    for (name, rt) in [("tokio_current_thread", tokio_current()), ("tokio_multi_thread", tokio_multi())] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (sender, mut receiver) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
                        let consumer = tokio::spawn(async move {
                            let mut sum = 0u64;
                            while let Some(message) = receiver.recv().await {
                                sum = sum.wrapping_add(message);
                            }
                            sum
                        });
                        let start = Instant::now();
                        for i in 0..MESSAGES {
                            sender.send(i).await.unwrap();
                        }
                        drop(sender);
                        assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
    }
    group.bench_function("tokio_current_thread_unbounded", |b| {
        let rt = tokio_current();
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u64>();
                    let consumer = tokio::spawn(async move {
                        let mut sum = 0u64;
                        while let Some(message) = receiver.recv().await {
                            sum = sum.wrapping_add(message);
                        }
                        sum
                    });
                    let start = Instant::now();
                    for i in 0..MESSAGES {
                        sender.send(i).unwrap();
                    }
                    drop(sender);
                    assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group!(benches, pingpong, throughput);
criterion_main!(benches);
