//! Producers and consumers around one bounded queue — Python's `queue.Queue(maxsize)` — with green threads
//! and OS threads on the same channel.
//!
//! Run it: `cargo run --release --example producer_consumer [-- --items 1000000 --capacity 64]`
//!
//! Four green producers and one OS-thread producer send numbered items into a `green::channel::bounded`
//! queue; three green consumers and one OS-thread consumer take them out and do a little work on each.
//! What to look at:
//! - **back-pressure**: the queue holds at most `--capacity` items, so producers that outrun the consumers
//!   wait in `send` (a green producer parks, the OS-thread producer blocks). The output counts the sends that
//!   found the queue full and had to wait.
//! - **clean shutdown by disconnect**: no sentinel values and no flags. Each producer drops its `Sender` when
//!   it is done; when the last one is gone, the consumers' `for item in receiver` loops end once the queue is
//!   empty (`queue.Queue` needs `task_done`/`join` or a sentinel per consumer for this).
//! - **nothing lost**: the consumers' counts and checksums add up to exactly what was produced.

#[path = "shared/args.rs"]
mod args;

use std::io;
use std::time::Instant;

use green::channel::{self, Receiver, Sender, TrySendError};

/// What a producer or consumer reports: items, the sum of their values, and (producers) full-queue waits.
type Tally = (u64, u64, u64);

fn main() -> io::Result<()> {
    let args = args::Args::parse("producer_consumer [--items 1000000] [--capacity 64]", &["--items", "--capacity"]);
    let flag = |name: &str, default: u64| args.count(name, default);
    let (items, capacity) = (flag("--items", 1_000_000), flag("--capacity", 64) as usize);
    let (producers, consumers) = (5u64, 4);
    let per_producer = items / producers;

    green::run(|| {
        let start = Instant::now();
        let (sender, receiver) = channel::bounded::<u64>(capacity);
        // Each producer owns a clone of the sender; the original is dropped below, so the channel
        // disconnects exactly when the last producer finishes.
        let mut produced = Vec::new();
        for producer in 0..producers - 1 {
            let sender = sender.clone();
            produced.push(green::spawn(move || produce(producer, per_producer, &sender)));
        }
        let os_producer = {
            let sender = sender.clone();
            std::thread::spawn(move || produce(producers - 1, per_producer, &sender))
        };
        drop(sender);

        let mut consumed = Vec::new();
        for _ in 0..consumers - 1 {
            let receiver = receiver.clone();
            consumed.push(green::spawn(move || consume(&receiver)));
        }
        let os_consumer = std::thread::spawn(move || consume(&receiver));

        let join = |handles: Vec<green::JoinHandle<Tally>>| handles.into_iter().map(|h| h.join().unwrap());
        let mut producer_tallies: Vec<Tally> = join(produced).collect();
        producer_tallies.push(os_producer.join().unwrap());
        let mut consumer_tallies: Vec<Tally> = join(consumed).collect();
        consumer_tallies.push(os_consumer.join().unwrap());
        let elapsed = start.elapsed();

        let total = |tallies: &[Tally]| tallies.iter().fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
        let (sent, sent_sum, waits) = total(&producer_tallies);
        let (received, received_sum, _) = total(&consumer_tallies);
        println!("{producers} producers (4 green, 1 OS thread) -> queue of {capacity} -> {consumers} consumers (3 green, 1 OS thread)");
        println!("produced {sent} items (checksum {sent_sum}); sends that found the queue full and waited: {waits}");
        for (index, (count, _, _)) in consumer_tallies.iter().enumerate() {
            let kind = if index == consumer_tallies.len() - 1 { "OS thread" } else { "green" };
            println!("  consumer {index} ({kind}): {count} items");
        }
        println!(
            "consumed {received} items (checksum {received_sum}) in {:.0} ms: {:.2} M items/s",
            elapsed.as_secs_f64() * 1e3,
            received as f64 / elapsed.as_secs_f64() / 1e6
        );
        assert_eq!((sent, sent_sum), (received, received_sum), "items were lost or duplicated");
        println!("nothing lost: every item produced was consumed exactly once");
        Ok(())
    })
}

/// Sends `count` items numbered from `producer * count`; counts the sends that had to wait for room.
fn produce(producer: u64, count: u64, sender: &Sender<u64>) -> Tally {
    let (mut sum, mut waits) = (0, 0);
    for item in producer * count..(producer + 1) * count {
        if let Err(TrySendError::Full(item)) = sender.try_send(item) {
            waits += 1;
            sender.send(item).expect("the consumers outlive the producers");
        }
        sum += item;
    }
    (count, sum, waits)
}

/// Takes items until every producer is gone and the queue is empty, doing a little work on each.
fn consume(receiver: &Receiver<u64>) -> Tally {
    let (mut count, mut sum) = (0, 0);
    for item in receiver {
        std::hint::black_box((0..50).fold(item, |x, _| x.wrapping_mul(6364136223846793005).wrapping_add(1)));
        count += 1;
        sum += item;
    }
    (count, sum, 0)
}
