//! Cancellation (`JoinHandle::cancel`) and expiring `green::timeout` scopes never lose or duplicate a message:
//! a cancelled receiver leaves its message to the next receiver, a cancelled sender's message dies with it,
//! and a race between a rendezvous send and a cancellation ends exactly once either way.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use util::{runtime, watchdog};

/// Counts its drops.
#[derive(Debug)]
struct Counted(u64, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sets its flag when dropped: shows that a cancelled green thread's destructors ran.
struct Flag(Arc<AtomicUsize>);

impl Drop for Flag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Yields until `handle`'s green thread is parked (it has not finished and its worker moved on), bounded.
fn until_parked<T>(handle: &green::JoinHandle<T>) {
    for _ in 0..100 {
        green::yield_now();
    }
    assert!(!handle.is_finished());
}

#[test]
fn a_cancelled_receiver_unwinds_and_the_next_message_goes_to_another() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        for capacity in [Some(0), Some(1), None] {
            rt.block_on(|| {
                let (s, r) = match capacity {
                    Some(capacity) => bounded::<u32>(capacity),
                    None => unbounded(),
                };
                let dropped = Arc::new(AtomicUsize::new(0));
                let victim = {
                    let (r, dropped) = (r.clone(), dropped.clone());
                    green::spawn(move || {
                        let _flag = Flag(dropped);
                        r.recv()
                    })
                };
                until_parked(&victim);
                victim.cancel();
                assert!(green::is_cancelled(victim.join().unwrap_err().as_ref()));
                assert_eq!(dropped.load(Ordering::SeqCst), 1, "destructors ran");
                let heir = green::spawn(move || r.recv());
                s.send(7).unwrap();
                assert_eq!(heir.join().unwrap(), Ok(7), "capacity {capacity:?}");
            });
        }
    });
}

#[test]
fn a_cancelled_sender_drops_its_message_undelivered() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        for capacity in [0, 1] {
            rt.block_on(|| {
                let drops = Arc::new(AtomicUsize::new(0));
                let (s, r) = bounded::<Counted>(capacity);
                if capacity == 1 {
                    s.send(Counted(1, drops.clone())).unwrap(); // fill it
                }
                let victim = {
                    let (s, drops) = (s.clone(), drops.clone());
                    green::spawn(move || s.send(Counted(2, drops)))
                };
                until_parked(&victim);
                victim.cancel();
                assert!(green::is_cancelled(victim.join().unwrap_err().as_ref()));
                assert_eq!(drops.load(Ordering::SeqCst), 1, "the parked message died with its sender");
                if capacity == 1 {
                    assert_eq!(r.recv().unwrap().0, 1);
                }
                assert!(matches!(r.try_recv(), Err(TryRecvError::Empty)), "message 2 was never delivered");
                let receiver = green::spawn(move || r.recv().map(|message| message.0));
                s.send(Counted(3, drops.clone())).unwrap_or_else(|_| unreachable!());
                assert_eq!(receiver.join().unwrap(), Ok(3), "the channel still works");
            });
        }
    });
}

/// A receiver parked on a rendezvous channel is cancelled while a sender sends: the message reaches the
/// receiver (before its cancellation took effect) or stays in the channel for the next receiver — exactly
/// once either way. Looped, with the interleavings varied.
#[test]
fn rendezvous_send_racing_with_cancellation_is_exactly_once() {
    watchdog(Duration::from_secs(120), || {
        let rounds: u64 = if cfg!(debug_assertions) { 2_000 } else { 10_000 };
        let rt = runtime(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (by_victim, by_heir) = rt.block_on({
            let dropped = dropped.clone();
            move || {
                let (mut by_victim, mut by_heir) = (0, 0);
                for round in 0..rounds {
                    let (s, r) = bounded::<Counted>(0);
                    let victim = {
                        let r = r.clone();
                        green::spawn(move || r.recv().unwrap().0)
                    };
                    if round % 3 != 0 {
                        green::yield_now();
                    }
                    let sender = {
                        let dropped = dropped.clone();
                        green::spawn(move || s.send(Counted(round, dropped)).is_ok())
                    };
                    if round % 2 == 0 {
                        green::yield_now();
                    }
                    victim.cancel();
                    let victim_got = victim.join().ok();
                    let heir_got = match victim_got {
                        Some(_) => None,
                        // Left in the channel, or still with the parked sender: either way the next receive.
                        None => Some(r.recv_timeout(Duration::from_secs(10)).expect("the message is not lost").0),
                    };
                    assert!(sender.join().unwrap(), "the send completed");
                    match (victim_got, heir_got) {
                        (Some(got), None) => {
                            assert_eq!(got, round);
                            by_victim += 1;
                        }
                        (None, Some(got)) => {
                            assert_eq!(got, round);
                            by_heir += 1;
                        }
                        other => panic!("round {round}: {other:?}"),
                    }
                    assert!(r.try_recv().is_err(), "nothing else is left in the channel");
                }
                (by_victim, by_heir)
            }
        });
        assert_eq!(dropped.load(Ordering::SeqCst) as u64, rounds, "every message dropped exactly once");
        assert_eq!(by_victim + by_heir, rounds);
        assert!(by_heir > 0, "the race never cancelled a parked receiver");
    });
}

/// The same race on a buffered channel with several receivers and senders, counted in bulk.
#[test]
fn cancelling_parked_parties_at_random_loses_and_duplicates_nothing() {
    watchdog(Duration::from_secs(120), || {
        let messages: u64 = if cfg!(debug_assertions) { 20_000 } else { 100_000 };
        let rt = runtime(2);
        for capacity in [0usize, 2] {
            let received_sum = Arc::new(AtomicUsize::new(0));
            let received_count = Arc::new(AtomicUsize::new(0));
            let dropped = Arc::new(AtomicUsize::new(0));
            let (returned_count, returned_sum) = rt.block_on({
                let (received_sum, received_count, dropped) =
                    (received_sum.clone(), received_count.clone(), dropped.clone());
                move || {
                    let (s, r) = bounded::<Counted>(capacity);
                    // Receivers that get cancelled now and then; each restart is a fresh green thread.
                    let consumer = |r: Receiver<Counted>| {
                        let (received_sum, received_count) = (received_sum.clone(), received_count.clone());
                        green::spawn(move || {
                            while let Ok(message) = r.recv() {
                                received_sum.fetch_add(message.0 as usize, Ordering::SeqCst);
                                received_count.fetch_add(1, Ordering::SeqCst);
                            }
                        })
                    };
                    // Senders that get cancelled now and then; they report what they still hold.
                    let producer = |s: Sender<Counted>, from: u64, step: u64| {
                        let dropped = dropped.clone();
                        green::spawn(move || {
                            let mut message = from;
                            while message < messages {
                                s.send(Counted(message, dropped.clone())).unwrap();
                                message += step;
                            }
                        })
                    };
                    let mut consumers: Vec<_> = (0..3).map(|_| consumer(r.clone())).collect();
                    let producers: Vec<_> = (0..2).map(|i| producer(s.clone(), i, 2)).collect();
                    let mut cancelled = 0;
                    while producers.iter().any(|p| !p.is_finished()) {
                        green::sleep(Duration::from_micros(200));
                        let victim = consumers.remove(0);
                        victim.cancel();
                        if victim.join().is_err() {
                            cancelled += 1;
                        }
                        consumers.push(consumer(r.clone()));
                    }
                    assert!(cancelled > 0, "the test cancelled nobody");
                    for producer in producers {
                        producer.join().unwrap();
                    }
                    drop(s);
                    for consumer in consumers {
                        consumer.join().unwrap();
                    }
                    // Whatever is left in the channel would be counted here (nothing should be).
                    let leftovers: Vec<Counted> = r.try_iter().collect();
                    (leftovers.len(), leftovers.iter().map(|m| m.0 as usize).sum::<usize>())
                }
            });
            assert_eq!(returned_count, 0);
            let _ = returned_sum;
            assert_eq!(received_count.load(Ordering::SeqCst), messages as usize, "capacity {capacity}");
            assert_eq!(received_sum.load(Ordering::SeqCst) as u64, messages * (messages - 1) / 2);
            assert_eq!(dropped.load(Ordering::SeqCst), messages as usize);
        }
    });
}

#[test]
fn cancelled_senders_at_random_deliver_each_message_at_most_once() {
    watchdog(Duration::from_secs(120), || {
        let rounds: u64 = if cfg!(debug_assertions) { 2_000 } else { 10_000 };
        let rt = runtime(2);
        for capacity in [0usize, 1] {
            let dropped = Arc::new(AtomicUsize::new(0));
            let (seen, attempted) = rt.block_on({
                let dropped = dropped.clone();
                move || {
                    let (s, r) = bounded::<Counted>(capacity);
                    let receiver = green::spawn(move || {
                        let mut seen = Vec::new();
                        loop {
                            match r.recv_timeout(Duration::from_millis(500)) {
                                Ok(message) => seen.push(message.0),
                                Err(RecvTimeoutError::Disconnected) => return seen,
                                Err(RecvTimeoutError::Timeout) => panic!("stalled"),
                            }
                        }
                    });
                    for round in 0..rounds {
                        // Made here, so a sender cancelled before it starts drops it too.
                        let message = Counted(round, dropped.clone());
                        let sender = {
                            let s = s.clone();
                            green::spawn(move || s.send(message))
                        };
                        if round % 2 == 0 {
                            green::yield_now();
                        }
                        sender.cancel();
                        let _ = sender.join();
                    }
                    drop(s);
                    (receiver.join().unwrap(), rounds)
                }
            });
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), seen.len(), "a message arrived twice");
            assert!(seen.len() as u64 <= attempted);
            assert_eq!(dropped.load(Ordering::SeqCst) as u64, attempted, "each message dropped exactly once");
        }
    });
}

#[test]
fn a_timeout_around_recv_expires_and_loses_nothing() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            for capacity in [0, 4] {
                let (s, r) = bounded::<u32>(capacity);
                let result = green::timeout(Duration::from_millis(20), || r.recv());
                assert!(result.is_err(), "the scope expired");
                let receiver = green::spawn(move || r.recv());
                s.send(11).unwrap();
                assert_eq!(receiver.join().unwrap(), Ok(11));

                let (s, r) = bounded::<u32>(capacity);
                for i in 0..capacity as u32 {
                    s.send(i).unwrap();
                }
                let result = green::timeout(Duration::from_millis(20), || s.send(99));
                assert!(result.is_err(), "the scope expired while the send waited");
                let left: Vec<u32> = r.try_iter().collect();
                assert_eq!(left, (0..capacity as u32).collect::<Vec<_>>(), "99 was not sent");
            }
        });
    });
}

#[test]
fn a_cancelled_select_passes_its_wakeup_on() {
    watchdog(Duration::from_secs(60), || {
        let rounds = if cfg!(debug_assertions) { 500 } else { 3_000 };
        let rt = runtime(2);
        rt.block_on(move || {
            for round in 0..rounds {
                let (s, r) = bounded::<u32>(if round % 2 == 0 { 0 } else { 1 });
                let (_s2, r2) = unbounded::<u32>();
                let victim = {
                    let (r, r2) = (r.clone(), r2.clone());
                    green::spawn(move || {
                        green::select! {
                            recv(r) -> message => message.unwrap(),
                            recv(r2) -> message => message.unwrap(),
                        }
                    })
                };
                let heir = green::spawn(move || r.recv_timeout(Duration::from_secs(5)));
                green::yield_now();
                let sender = green::spawn(move || s.send(round));
                if round % 3 == 0 {
                    green::yield_now();
                }
                victim.cancel();
                let victim_got = victim.join().ok();
                sender.join().unwrap().unwrap();
                let heir_got = heir.join().unwrap().ok();
                match (victim_got, heir_got) {
                    (Some(got), None) | (None, Some(got)) => assert_eq!(got, round),
                    other => panic!("round {round}: not exactly one receiver: {other:?}"),
                }
            }
        });
    });
}

/// On one worker the race is deterministic: the main green thread hands a message to a parked receiver (which
/// is now runnable, not running) and cancels it before it runs. The receiver unwinds holding the message in its
/// slot and must give it back to the channel.
#[test]
fn a_receiver_cancelled_after_being_handed_a_message_gives_it_back() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        for capacity in [0usize, 1, usize::MAX] {
            rt.block_on(move || {
                let drops = Arc::new(AtomicUsize::new(0));
                let (s, r) = if capacity == usize::MAX { unbounded() } else { bounded::<Counted>(capacity) };
                let victim = {
                    let r = r.clone();
                    green::spawn(move || r.recv().map(|message| message.0))
                };
                until_parked(&victim);
                s.try_send(Counted(1, drops.clone())).expect("the parked receiver takes it");
                victim.cancel();
                assert!(green::is_cancelled(victim.join().unwrap_err().as_ref()));
                assert_eq!(drops.load(Ordering::SeqCst), 0, "the message was not dropped with the receiver");
                let message = r.try_recv().expect("the message is back in the channel");
                assert_eq!(message.0, 1);
                drop(message);
                assert!(r.try_recv().is_err());
                assert_eq!(drops.load(Ordering::SeqCst), 1);

                // With another receiver parked, the message goes straight to it.
                let victim = {
                    let r = r.clone();
                    green::spawn(move || r.recv().map(|message| message.0))
                };
                until_parked(&victim);
                let heir = {
                    let r = r.clone();
                    green::spawn(move || r.recv().map(|message| message.0))
                };
                until_parked(&heir);
                s.try_send(Counted(2, drops.clone())).expect("a parked receiver takes it");
                victim.cancel();
                assert!(victim.join().is_err());
                assert_eq!(heir.join().unwrap(), Ok(2), "capacity {capacity}");
            });
        }
    });
}

/// As above for a parked `select!`: claimed for a message, then cancelled, it passes the wake-up on.
#[test]
fn a_select_cancelled_after_being_claimed_passes_the_message_on() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        for capacity in [0usize, 1] {
            rt.block_on(move || {
                let (s, r) = bounded::<u32>(capacity);
                let (_s2, r2) = unbounded::<u32>();
                let victim = {
                    let (r, r2) = (r.clone(), r2.clone());
                    green::spawn(move || {
                        green::select! {
                            recv(r) -> message => message,
                            recv(r2) -> message => message,
                        }
                    })
                };
                until_parked(&victim);
                let heir = green::spawn(move || r.recv());
                until_parked(&heir);
                s.try_send(5).expect("a parked select takes it");
                victim.cancel();
                assert!(victim.join().is_err());
                assert_eq!(heir.join().unwrap(), Ok(5), "capacity {capacity}");
            });
        }
    });
}

/// A parked sender whose message was taken, then cancelled before it ran again: the send happened (the
/// receiver has the message), and the unwinding sender does not drop it.
#[test]
fn a_sender_cancelled_after_its_message_was_taken_has_sent_it() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        for capacity in [0usize, 1] {
            rt.block_on(move || {
                let drops = Arc::new(AtomicUsize::new(0));
                let (s, r) = bounded::<Counted>(capacity);
                if capacity == 1 {
                    s.send(Counted(0, drops.clone())).unwrap();
                }
                let victim = {
                    let (s, drops) = (s.clone(), drops.clone());
                    green::spawn(move || s.send(Counted(1, drops)).is_ok())
                };
                until_parked(&victim);
                let first = r.try_recv().expect("a message is there");
                victim.cancel();
                assert!(victim.join().is_err(), "cancelled after the send completed, before it returned");
                let second =
                    if capacity == 1 { Some(r.try_recv().expect("the parked message moved in")) } else { None };
                let received: Vec<u64> = std::iter::once(first).chain(second).map(|message| message.0).collect();
                assert_eq!(received, if capacity == 1 { vec![0, 1] } else { vec![1] });
                assert_eq!(drops.load(Ordering::SeqCst), received.len(), "dropped by the receiver, once each");
                assert!(r.try_recv().is_err());
            });
        }
    });
}
