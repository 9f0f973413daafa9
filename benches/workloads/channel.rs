//! Channel workloads: ping-pong latency and one-producer one-consumer throughput, for `green::channel`,
//! `std::sync::mpsc` between OS threads and `tokio::sync::mpsc` between tasks.
//!
//! Peers are spawned before the clock starts; each ping-pong also does one untimed round trip first, so the
//! peer is running when timing begins.

use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Messages per throughput run.
pub const MESSAGES: u64 = 1_000_000;

/// Capacity of the bounded channels in the throughput runs.
pub const CAPACITY: usize = 1024;

/// The checksum every throughput run's consumer must arrive at.
const SUM: u64 = MESSAGES * (MESSAGES - 1) / 2;

/// Two green threads exchange a message over a pair of channels of `capacity`; the time for `iters` round
/// trips.
pub fn pingpong_green(runtime: &green::Runtime, iters: u64, capacity: usize) -> Duration {
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
            black_box(ponged.recv().unwrap());
        }
        let elapsed = start.elapsed();
        drop(ping);
        peer.join().unwrap();
        elapsed
    })
}

/// Two OS threads exchange a message over a pair of `sync_channel(1)`s; the time for `iters` round trips.
pub fn pingpong_std(iters: u64) -> Duration {
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
        black_box(ponged.recv().unwrap());
    }
    let elapsed = start.elapsed();
    drop(ping);
    peer.join().unwrap();
    elapsed
}

/// Two tokio tasks exchange a message over a pair of `mpsc::channel(1)`s; the time for `iters` round trips.
pub fn pingpong_tokio(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    runtime.block_on(async {
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
            black_box(ponged.recv().await.unwrap());
        }
        let elapsed = start.elapsed();
        drop(ping);
        peer.await.unwrap();
        elapsed
    })
}

/// One green thread sends [`MESSAGES`] to another through `channel`; the time for all of them.
pub fn throughput_green(
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
        assert_eq!(sum, SUM);
        elapsed
    })
}

/// One OS thread sends [`MESSAGES`] to another through a `sync_channel(CAPACITY)`; the time for all of them.
pub fn throughput_std() -> Duration {
    let (sender, receiver) = mpsc::sync_channel::<u64>(CAPACITY);
    let consumer = std::thread::spawn(move || receiver.iter().fold(0u64, u64::wrapping_add));
    let start = Instant::now();
    for i in 0..MESSAGES {
        sender.send(i).unwrap();
    }
    drop(sender);
    let sum = consumer.join().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(sum, SUM);
    elapsed
}

/// One tokio task sends [`MESSAGES`] to another through an `mpsc::channel(CAPACITY)`; the time for all of
/// them.
pub fn throughput_tokio(runtime: &tokio::runtime::Runtime) -> Duration {
    runtime.block_on(async {
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
        let sum = consumer.await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(sum, SUM);
        elapsed
    })
}

/// [`throughput_tokio`] through an `mpsc::unbounded_channel`.
pub fn throughput_tokio_unbounded(runtime: &tokio::runtime::Runtime) -> Duration {
    runtime.block_on(async {
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
        let sum = consumer.await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(sum, SUM);
        elapsed
    })
}
