//! Many producers and consumers — green threads on two workers and plain OS threads — move a million
//! messages through each flavor; every message must arrive exactly once.

mod util;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use green::channel::{bounded, unbounded, Receiver, Sender};
use util::{runtime, watchdog};

/// 1,000,000 messages in release builds; fewer in debug builds, where each costs far more.
const MESSAGES: u64 = if cfg!(debug_assertions) { 200_000 } else { 1_000_000 };
const PRODUCERS: u64 = 4;
const CONSUMERS: usize = 4;

/// What the consumers saw: count, sum, and a bitmap of which messages arrived (a second arrival fails).
struct Tally {
    count: AtomicU64,
    sum: AtomicU64,
    seen: Vec<AtomicU64>,
}

impl Tally {
    fn new(messages: u64) -> Tally {
        Tally {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            seen: (0..messages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, message: u64) {
        let bit = 1u64 << (message % 64);
        let before = self.seen[(message / 64) as usize].fetch_or(bit, Ordering::Relaxed);
        assert_eq!(before & bit, 0, "message {message} arrived twice");
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(message, Ordering::Relaxed);
    }

    fn check(&self, messages: u64) {
        assert_eq!(self.count.load(Ordering::Relaxed), messages, "every message arrives");
        assert_eq!(self.sum.load(Ordering::Relaxed), messages * (messages - 1) / 2);
        let missing = self.seen.iter().enumerate().find_map(|(word, bits)| {
            let expected = if (word as u64 + 1) * 64 <= messages { u64::MAX } else { (1 << (messages % 64)) - 1 };
            (bits.load(Ordering::Relaxed) != expected).then_some(word)
        });
        assert_eq!(missing, None, "a message is missing");
    }
}

fn produce(sender: Sender<u64>, producer: u64, messages: u64) {
    let mut message = producer;
    while message < messages {
        sender.send(message).unwrap();
        message += PRODUCERS;
    }
}

fn consume(receiver: Receiver<u64>, tally: &Tally) {
    for message in receiver {
        tally.record(message);
    }
}

/// 3 green producers + 1 OS-thread producer, 3 green consumers + 1 OS-thread consumer, on a 2-worker runtime.
fn run_mixed(make: fn() -> (Sender<u64>, Receiver<u64>), messages: u64) {
    let (sender, receiver) = make();
    let tally = Arc::new(Tally::new(messages));
    let rt = runtime(2);
    let os_producer = {
        let sender = sender.clone();
        std::thread::spawn(move || produce(sender, PRODUCERS - 1, messages))
    };
    let os_consumer = {
        let (receiver, tally) = (receiver.clone(), tally.clone());
        std::thread::spawn(move || consume(receiver, &tally))
    };
    let green_producers: Vec<_> = (0..PRODUCERS - 1)
        .map(|producer| {
            let sender = sender.clone();
            rt.spawn(move || produce(sender, producer, messages))
        })
        .collect();
    let green_consumers: Vec<_> = (0..CONSUMERS - 1)
        .map(|_| {
            let (receiver, tally) = (receiver.clone(), tally.clone());
            rt.spawn(move || consume(receiver, &tally))
        })
        .collect();
    drop((sender, receiver));
    for handle in green_producers {
        handle.join().unwrap();
    }
    os_producer.join().unwrap();
    for handle in green_consumers {
        handle.join().unwrap();
    }
    os_consumer.join().unwrap();
    tally.check(messages);
}

#[test]
fn bounded_16_delivers_every_message_exactly_once() {
    watchdog(Duration::from_secs(120), || run_mixed(|| bounded(16), MESSAGES));
}

#[test]
fn rendezvous_delivers_every_message_exactly_once() {
    watchdog(Duration::from_secs(120), || run_mixed(|| bounded(0), MESSAGES));
}

#[test]
fn unbounded_delivers_every_message_exactly_once() {
    watchdog(Duration::from_secs(120), || run_mixed(unbounded, MESSAGES));
}

#[test]
fn bounded_1_between_green_threads_on_one_worker() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(1);
        let tally = Arc::new(Tally::new(MESSAGES / 4));
        let tally2 = tally.clone();
        rt.block_on(move || {
            let (sender, receiver) = bounded(1);
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (receiver, tally) = (receiver.clone(), tally2.clone());
                    green::spawn(move || consume(receiver, &tally))
                })
                .collect();
            drop(receiver);
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|producer| {
                    let sender = sender.clone();
                    green::spawn(move || produce(sender, producer, MESSAGES / 4))
                })
                .collect();
            drop(sender);
            for handle in producers.into_iter().chain(consumers) {
                handle.join().unwrap();
            }
        });
        tally.check(MESSAGES / 4);
        let _ = Mutex::new(());
    });
}
