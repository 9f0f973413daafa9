//! A stream-processing pipeline — what reactive-streams libraries (RxPY, Akka Streams, Reactor) build with
//! operators — as green threads joined by bounded channels: each stage is a loop that receives, transforms
//! and sends.
//!
//! Run it: `cargo run --release --example pipeline [-- --items 100000 --sink-delay-us 500]`
//!
//! ```text
//!  numbers ──► map (square) ──► filter (not ÷3) ──┐
//!                                                 ├─► batch (100 items or 20 ms) ──► slow sink
//!  sensor (one reading every 2 ms) ───────────────┘      merge with select!, tick for the time limit
//! ```
//!
//! What to look at:
//! - **back-pressure**: every channel holds 16 items (the last one 2 batches). The sink is slow
//!   (`--sink-delay-us` per batch), so the batcher waits to send, the filter and map wait behind it, and
//!   the source waits last: the output shows how long each stage spent blocked sending downstream. Nothing
//!   buffers without bound, nothing is dropped; the slowest stage sets the pace (Rx's
//!   `onBackpressureBuffer` with a bounded buffer, here by construction).
//! - **batching by size or time** with `green::channel::tick`: a batch leaves when it has 100 items, or when
//!   20 ms pass with a partial one (the sensor trickle).
//! - **merging** two streams with `select!`, and **completion**: when the source ends, its channel
//!   disconnects, each stage ends in turn and drops its sender, and the sink sees the end.

#[path = "shared/args.rs"]
mod args;

use std::io;
use std::time::{Duration, Instant};

use std::sync::Arc;

use green::channel::{bounded, tick, Receiver, Sender, TrySendError};

/// An item, tagged with where it came from.
#[derive(Debug)]
enum Item {
    /// From the numbers stream, after map and filter.
    Number(u64),
    /// A sensor reading.
    Sensor(u64),
}

fn main() -> io::Result<()> {
    let args = args::Args::parse("pipeline [--items 100000] [--sink-delay-us 500]", &["--items", "--sink-delay-us"]);
    let flag = |name: &str, default: u64| args.count(name, default);
    let (items, sink_delay) = (flag("--items", 100_000), Duration::from_micros(flag("--sink-delay-us", 500)));
    green::run(|| {
        let start = Instant::now();
        let (numbers, numbers_out) = bounded(16);
        let (squares, squares_out) = bounded(16);
        let (kept, kept_out) = bounded(16);
        let (sensor, sensor_out) = bounded(16);
        let (batches, batches_out) = bounded::<Vec<Item>>(2);

        let source = green::spawn(move || stage(&numbers, 0..items));
        let map = green::spawn(move || stage(&squares, numbers_out.iter().map(|n| n * n)));
        let filter = green::spawn(move || stage(&kept, squares_out.iter().filter(|n| n % 3 != 0).map(Item::Number)));
        let sensor_done = Arc::new(green::sync::Event::new());
        let sensor_thread = {
            let done = sensor_done.clone();
            green::spawn(move || {
                let readings = tick(Duration::from_millis(2)).into_iter().take_while(|_| !done.is_set());
                stage(&sensor, (0..).zip(readings).map(|(n, _)| Item::Sensor(n)))
            })
        };
        let batcher = green::spawn(move || batch(&kept_out, &sensor_out, &batches));
        // The sink: slow on purpose.
        let (mut received, mut numbers_received, mut batch_count, mut sum, mut last_reading) = (0, 0, 0, 0u128, 0);
        for batch in batches_out.iter() {
            green::sleep(sink_delay);
            batch_count += 1;
            received += batch.len();
            for item in batch {
                match item {
                    Item::Number(n) => (numbers_received, sum) = (numbers_received + 1, sum + n as u128),
                    Item::Sensor(reading) => last_reading = last_reading.max(reading),
                }
            }
            if numbers_received == items - items.div_ceil(3) {
                sensor_done.set(); // the numbers are all in: stop the sensor, so the pipeline can drain
            }
        }
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        let blocked = |name: &str, (sent, waited): (u64, Duration)| {
            let share = waited.as_secs_f64() * 1e3 / elapsed * 100.0;
            println!("  {name:<8} sent {sent:>7} items, blocked on a full channel {share:>4.0}% of the time");
        };
        println!("{items} numbers through map, filter, batch and a sink taking {sink_delay:?} per batch:");
        blocked("source", source.join().unwrap());
        blocked("map", map.join().unwrap());
        blocked("filter", filter.join().unwrap());
        blocked("sensor", sensor_thread.join().unwrap());
        let (by_size, by_time, waited) = batcher.join().unwrap();
        println!(
            "  batcher  {by_size} full batches, {by_time} sent by the 20 ms tick; blocked {:.0} ms",
            waited.as_secs_f64() * 1e3
        );
        println!("sink: {received} items in {batch_count} batches, {elapsed:.0} ms");
        println!("  {numbers_received} numbers, sum of squares {sum}; sensor readings up to #{last_reading}");
        Ok(())
    })
}

/// Sends every item of `input` downstream; returns how many and the time spent waiting for room.
fn stage<T>(output: &Sender<T>, input: impl Iterator<Item = T>) -> (u64, Duration) {
    let (mut sent, mut waited) = (0, Duration::ZERO);
    for item in input {
        match output.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full(item)) => {
                // Back-pressure: wait until the next stage takes something.
                let start = Instant::now();
                if output.send(item).is_err() {
                    break;
                }
                waited += start.elapsed();
            }
            Err(TrySendError::Disconnected(_)) => break, // downstream is gone
        }
        sent += 1;
    }
    (sent, waited)
}

/// Merges numbers and sensor readings into batches of 100, or smaller ones every 20 ms; returns the count of
/// batches sent by size and by time, and the time spent waiting to send them.
fn batch(numbers: &Receiver<Item>, sensor: &Receiver<Item>, output: &Sender<Vec<Item>>) -> (u64, u64, Duration) {
    let ticker = tick(Duration::from_millis(20));
    let (mut batch, mut by_size, mut by_time, mut waited) = (Vec::with_capacity(100), 0, 0, Duration::ZERO);
    let (mut numbers_open, mut sensor_open) = (true, true);
    let mut send = |batch: &mut Vec<Item>| {
        let start = Instant::now();
        let _ = output.send(std::mem::replace(batch, Vec::with_capacity(100)));
        waited += start.elapsed();
    };
    while numbers_open || sensor_open {
        let never = green::channel::never();
        green::select! {
            recv(if numbers_open { numbers } else { &never }) -> item => match item {
                Ok(item) => batch.push(item),
                Err(_) => numbers_open = false,
            },
            recv(if sensor_open { sensor } else { &never }) -> item => match item {
                Ok(item) => batch.push(item),
                Err(_) => sensor_open = false,
            },
            recv(ticker) -> _ => if !batch.is_empty() {
                send(&mut batch);
                by_time += 1;
            },
        }
        if batch.len() == 100 {
            send(&mut batch);
            by_size += 1;
        }
    }
    if !batch.is_empty() {
        send(&mut batch);
    }
    (by_size, by_time, waited)
}
