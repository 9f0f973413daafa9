//! A few-second tour of `green`: green threads that sleep, wake each other, talk over a channel to an OS
//! thread, borrow from a scope, get cancelled and timed out, on two workers.
//!
//! Run it with: `cargo run --release --example tour`
//! Watch the scheduler decide: `RUST_LOG=green=trace cargo run --release --example tour 2>&1 | less`
//!
//! Each step prints what happened and a measured figure, so you can see that only green threads wait while
//! the two worker OS threads keep running everything else. Under the trace the tour shrinks every count (10
//! sleepers instead of 10,000, 3 round trips instead of 100,000, ...) so each step's trace fits on a screen
//! or two, and each step announces itself there (`green::tour` lines): search for `step 2` in `less`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The tour's log target: under `green`, so `RUST_LOG=green=trace` shows the steps among the scheduler's lines.
const TRACE: &str = "green::tour";

fn main() {
    env_logger::init();
    // Under the trace, every count shrinks so that each step's trace stays readable.
    let traced = log::log_enabled!(target: "green::scheduler", log::Level::Trace);
    let (sleepers_count, rounds, per_producer) = if traced { (10, 3, 5) } else { (10_000, 100_000, 25_000) };
    let runtime = green::Runtime::builder().workers(2).build().expect("start the runtime");
    runtime.block_on(|| {
        step(1, &format!("{sleepers_count} green threads sleep 100 ms at once"));
        sleepers(sleepers_count);
        step(2, &format!("{rounds} park/unpark round trips"));
        ping_pong(rounds);
        step(3, "4 green producers feed one OS thread through a bounded channel");
        channel_to_an_os_thread(per_producer);
        step(4, "ten scoped green threads borrow a local Vec");
        scoped_sum();
        step(5, "cancel a sleeping green thread; time out a slow call");
        cancel_and_timeout();
    });
    log::info!(target: TRACE, "dropping the runtime");
    println!("\ndropping the runtime: every worker is joined, nothing leaks");
}

/// Announces a step in the trace.
fn step(number: u32, title: &str) {
    log::info!(target: TRACE, "──────── step {number}: {title} ────────");
}

/// `count` green threads sleep 100 ms at the same time: it takes ~100 ms, not `count` × 100 ms.
fn sleepers(count: usize) {
    let start = Instant::now();
    let handles: Vec<_> = (0..count).map(|_| green::spawn(|| green::sleep(Duration::from_millis(100)))).collect();
    for handle in handles {
        handle.join().unwrap();
    }
    println!("1. {count} green threads slept 100 ms each, concurrently: {:?} wall", start.elapsed());
}

/// Two green threads take turns through park/unpark, the primitive every blocking call is built on.
fn ping_pong(rounds: usize) {
    let turn = Arc::new(AtomicUsize::new(0));
    let ping = green::current();
    let start = Instant::now();
    let pong = green::spawn({
        let turn = turn.clone();
        move || {
            for round in 0..rounds {
                while turn.load(Ordering::Acquire) != 2 * round + 1 {
                    green::park();
                }
                turn.store(2 * round + 2, Ordering::Release);
                ping.unpark();
            }
            std::thread::current().name().unwrap_or("?").to_string()
        }
    });
    for round in 0..rounds {
        turn.store(2 * round + 1, Ordering::Release);
        pong.thread().unpark();
        while turn.load(Ordering::Acquire) != 2 * round + 2 {
            green::park();
        }
    }
    let elapsed = start.elapsed();
    let worker = pong.join().unwrap();
    println!(
        "2. {rounds} park/unpark round trips between two green threads: {:?} each (pong ran on {worker}; main on {})",
        elapsed / rounds as u32,
        std::thread::current().name().unwrap_or("?")
    );
}

/// A bounded channel joins 4 green producers and one plain OS thread consuming: the OS thread blocks, the
/// green threads only park.
fn channel_to_an_os_thread(per_producer: u64) {
    let (tx, rx) = green::channel::bounded::<u64>(16);
    let consumer = std::thread::spawn(move || rx.iter().fold((0u64, 0u64), |(n, sum), v| (n + 1, sum + v)));
    let start = Instant::now();
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = tx.clone();
            green::spawn(move || {
                for i in 0..per_producer {
                    tx.send(p * per_producer + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for producer in producers {
        producer.join().unwrap();
    }
    let (count, sum) = consumer.join().unwrap();
    println!(
        "3. 4 green producers -> bounded(16) channel -> 1 OS thread: {count} messages, sum {sum} (expected {}), {:?}",
        (0..4 * per_producer).sum::<u64>(),
        start.elapsed()
    );
}

/// Scoped green threads borrow a local vector, like `std::thread::scope`.
fn scoped_sum() {
    let numbers: Vec<u64> = (1..=1_000_000).collect();
    let total = AtomicUsize::new(0);
    green::scope(|s| {
        for chunk in numbers.chunks(100_000) {
            let total = &total;
            s.spawn(move || total.fetch_add(chunk.iter().sum::<u64>() as usize, Ordering::Relaxed));
        }
    });
    println!("4. ten scoped green threads summed a borrowed Vec: {}", total.load(Ordering::Relaxed));
}

/// A sleeping green thread is cancelled; a slow call is cut short by a timeout.
fn cancel_and_timeout() {
    let sleeper = green::spawn(|| green::sleep(Duration::from_secs(3600)));
    // Let it start and fall asleep first: a green thread cancelled before it starts never runs at all.
    while sleeper.thread().parked_at().is_none() {
        green::yield_now();
    }
    sleeper.cancel();
    let error = sleeper.join().unwrap_err();
    println!("5. cancelled an hour-long sleep: join says cancelled = {}", green::is_cancelled(error.as_ref()));
    let start = Instant::now();
    let result = green::timeout(Duration::from_millis(50), || green::sleep(Duration::from_secs(10)));
    println!("6. a 10 s sleep inside timeout(50 ms): {:?} after {:?}", result, start.elapsed());
}
