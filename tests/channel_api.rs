//! The crossbeam-channel API surface: capacities, non-blocking operations, iterators, errors, and every
//! combination of green threads (same worker, other worker) and OS threads on one channel.

mod util;

use std::time::Duration;

use green::channel::{
    bounded, unbounded, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use util::{runtime, watchdog};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_sync_and_clone() {
    assert_send_sync::<Sender<String>>();
    assert_send_sync::<Receiver<String>>();
    assert_send_sync::<SendError<String>>();
    let (s, r) = unbounded::<u8>();
    let (s2, r2) = (s.clone(), r.clone());
    assert!(s.same_channel(&s2));
    assert!(r.same_channel(&r2));
    let (other, _) = unbounded::<u8>();
    assert!(!s.same_channel(&other));
}

#[test]
fn bounded_reports_capacity_len_full_and_refuses_when_full() {
    let (s, r) = bounded(2);
    assert_eq!(s.capacity(), Some(2));
    assert!(s.is_empty() && !s.is_full());
    s.try_send(1).unwrap();
    s.send(2).unwrap();
    assert_eq!((s.len(), r.len()), (2, 2));
    assert!(s.is_full() && r.is_full());
    assert_eq!(s.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(r.try_recv(), Ok(1));
    s.try_send(3).unwrap();
    assert_eq!(r.try_iter().collect::<Vec<_>>(), [2, 3]);
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn unbounded_never_fills() {
    let (s, r) = unbounded();
    assert_eq!(r.capacity(), None);
    for i in 0..10_000 {
        s.try_send(i).unwrap();
    }
    assert!(!s.is_full());
    assert_eq!(r.len(), 10_000);
    drop(s);
    assert_eq!(r.iter().count(), 10_000);
}

#[test]
fn zero_capacity_needs_a_receiver() {
    let (s, r) = bounded::<i32>(0);
    assert_eq!(s.capacity(), Some(0));
    assert!(s.is_empty() && s.is_full());
    assert_eq!(s.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(r.len(), 0);
}

#[test]
fn zero_capacity_try_send_succeeds_when_a_receiver_waits() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (s, r) = bounded::<i32>(0);
            let receiver = green::spawn(move || r.recv());
            // The receiver parks soon; until then try_send finds nobody.
            let mut attempts = 0;
            while let Err(TrySendError::Full(_)) = s.try_send(7) {
                attempts += 1;
                green::yield_now();
            }
            assert!(attempts < 1_000_000);
            assert_eq!(receiver.join().unwrap(), Ok(7));
        });
    });
}

#[test]
fn iterators_end_at_disconnection() {
    let (s, r) = unbounded();
    for i in 0..5 {
        s.send(i).unwrap();
    }
    drop(s);
    assert_eq!((&r).into_iter().take(2).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(r.iter().collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(r.recv(), Err(RecvError));
    let (s, r) = unbounded();
    s.send("a").unwrap();
    drop(s);
    assert_eq!(r.into_iter().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn errors_display_and_give_the_message_back() {
    assert_eq!(SendError(1).to_string(), "sending on a disconnected channel");
    assert_eq!(format!("{:?}", SendError(1)), r#""SendError(..)""#); // crossbeam's, quotes included
    assert_eq!(TrySendError::Full(1).to_string(), "sending on a full channel");
    assert_eq!(format!("{:?}", TrySendError::Disconnected(1)), r#""Disconnected(..)""#);
    assert_eq!(SendTimeoutError::Timeout(1).to_string(), "timed out waiting on send operation");
    assert_eq!(RecvError.to_string(), "receiving on an empty and disconnected channel");
    assert_eq!(TryRecvError::Empty.to_string(), "receiving on an empty channel");
    assert_eq!(RecvTimeoutError::Timeout.to_string(), "timed out waiting on receive operation");
    assert_eq!(RecvTimeoutError::Disconnected.to_string(), "channel is empty and disconnected");
    assert_eq!(TrySendError::Full(5).into_inner(), 5);
    assert!(TrySendError::Full(()).is_full() && TrySendError::Disconnected(()).is_disconnected());
    assert_eq!(SendTimeoutError::Disconnected(6).into_inner(), 6);
    assert!(SendTimeoutError::Timeout(()).is_timeout());
    assert_eq!(TrySendError::from(SendError(2)), TrySendError::Disconnected(2));
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Disconnected);
    let boxed: Box<dyn std::error::Error> = Box::new(SendError(3));
    assert_eq!(boxed.to_string(), "sending on a disconnected channel");
}

/// Sends `count` numbers from one side and sums them on the other; both sides are closures run wherever the
/// caller decides.
fn exchange(capacity: Option<usize>, count: u64) -> (impl FnOnce() + Send, impl FnOnce() -> u64 + Send) {
    let (s, r) = match capacity {
        Some(capacity) => bounded(capacity),
        None => unbounded(),
    };
    let send = move || {
        for i in 0..count {
            s.send(i).unwrap();
        }
    };
    let receive = move || r.iter().sum::<u64>();
    (send, receive)
}

const COUNT: u64 = 20_000;
const SUM: u64 = COUNT * (COUNT - 1) / 2;

#[test]
fn green_to_green_on_one_worker() {
    watchdog(Duration::from_secs(60), || {
        for capacity in [Some(0), Some(1), Some(8), None] {
            let rt = runtime(1);
            let (send, receive) = exchange(capacity, COUNT);
            let total = rt.block_on(|| {
                let receiver = green::spawn(receive);
                send();
                receiver.join().unwrap()
            });
            assert_eq!(total, SUM, "capacity {capacity:?}");
        }
    });
}

#[test]
fn green_to_green_across_workers() {
    watchdog(Duration::from_secs(60), || {
        for capacity in [Some(0), Some(1), Some(8), None] {
            let rt = runtime(2);
            let (send, receive) = exchange(capacity, COUNT);
            // Spawned from outside, consecutive green threads go to different workers.
            let receiver = rt.spawn(move || (receive(), std::thread::current().name().map(String::from)));
            let sender = rt.spawn(move || {
                send();
                std::thread::current().name().map(String::from)
            });
            let sender_worker = sender.join().unwrap();
            let (total, receiver_worker) = receiver.join().unwrap();
            assert_eq!(total, SUM, "capacity {capacity:?}");
            assert!(sender_worker.is_some() && receiver_worker.is_some());
        }
    });
}

#[test]
fn green_to_os_thread_and_back() {
    watchdog(Duration::from_secs(60), || {
        for capacity in [Some(0), Some(1), None] {
            let rt = runtime(2);
            let (send, receive) = exchange(capacity, COUNT);
            let os_receiver = std::thread::spawn(receive);
            rt.block_on(send);
            assert_eq!(os_receiver.join().unwrap(), SUM);

            let (send, receive) = exchange(capacity, COUNT);
            let os_sender = std::thread::spawn(send);
            assert_eq!(rt.block_on(receive), SUM);
            os_sender.join().unwrap();
        }
    });
}

#[test]
fn os_thread_to_os_thread() {
    watchdog(Duration::from_secs(60), || {
        for capacity in [Some(0), Some(1), None] {
            let (send, receive) = exchange(capacity, COUNT);
            let sender = std::thread::spawn(send);
            assert_eq!(receive(), SUM);
            sender.join().unwrap();
        }
    });
}

#[test]
fn a_bounded_sender_parks_until_room_is_made() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (s, r) = bounded(1);
            s.send(1).unwrap();
            let sender = green::spawn(move || {
                s.send(2).unwrap(); // parks: full
                s.send(3).unwrap();
            });
            green::yield_now();
            assert!(!sender.is_finished());
            assert_eq!(r.recv(), Ok(1));
            assert_eq!(r.recv(), Ok(2));
            assert_eq!(r.recv(), Ok(3));
            sender.join().unwrap();
            assert_eq!(r.recv(), Err(RecvError));
        });
    });
}

#[test]
fn messages_keep_their_order_per_sender() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            for capacity in [0, 3] {
                let (s, r) = bounded(capacity);
                let senders: Vec<_> = (0..3u64)
                    .map(|id| {
                        let s = s.clone();
                        green::spawn(move || {
                            for n in 0..2_000u64 {
                                s.send((id, n)).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(s);
                let mut next = [0u64; 3];
                for (id, n) in r.iter() {
                    assert_eq!(n, next[id as usize], "sender {id} out of order");
                    next[id as usize] += 1;
                }
                assert_eq!(next, [2_000; 3]);
                for sender in senders {
                    sender.join().unwrap();
                }
            }
        });
    });
}
