//! Disconnection in both directions: buffered messages are drained (senders gone) or dropped (receivers
//! gone), sends give their message back, and parked parties — green threads and OS threads — are woken.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use green::channel::{bounded, unbounded, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError};
use util::{runtime, watchdog};

/// Counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Makes a channel of one flavor.
type Make<T> = fn() -> (Sender<T>, Receiver<T>);

fn flavors<T>() -> Vec<(&'static str, Make<T>)> {
    vec![("zero", || bounded(0)), ("bounded", || bounded(4)), ("unbounded", unbounded)]
}

#[test]
fn receivers_drain_the_buffer_after_the_last_sender_goes() {
    for capacity in [Some(4), None] {
        let (s, r) = match capacity {
            Some(capacity) => bounded(capacity),
            None => unbounded(),
        };
        let s2 = s.clone();
        s.send(1).unwrap();
        s2.send(2).unwrap();
        drop(s);
        assert_eq!(r.try_recv(), Ok(1), "one sender is still there");
        drop(s2);
        assert_eq!(r.recv(), Ok(2), "buffered messages are received after disconnection");
        assert_eq!(r.recv(), Err(RecvError));
        assert_eq!(r.try_recv(), Err(TryRecvError::Disconnected));
    }
}

#[test]
fn sends_fail_with_the_message_once_every_receiver_is_gone() {
    for (name, make) in flavors::<String>() {
        let (s, r) = make();
        let r2 = r.clone();
        drop(r);
        if name != "zero" {
            s.send("still one receiver".into()).unwrap();
        }
        drop(r2);
        assert_eq!(s.send("lost".into()), Err(SendError("lost".into())), "{name}");
        assert_eq!(s.try_send("lost".into()), Err(TrySendError::Disconnected("lost".into())), "{name}");
        assert_eq!(s.send_timeout("lost".into(), Duration::from_secs(1)).unwrap_err().into_inner(), "lost");
    }
}

#[test]
fn the_last_receiver_drops_buffered_messages() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (s, r) = bounded(8);
    for _ in 0..5 {
        s.send(Counted(drops.clone())).unwrap();
    }
    drop(r.recv().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(r);
    assert_eq!(drops.load(Ordering::SeqCst), 5, "the 4 buffered messages are dropped with the last receiver");
    let refused = s.send(Counted(drops.clone())).unwrap_err();
    assert_eq!(drops.load(Ordering::SeqCst), 5, "a refused message comes back, not dropped");
    drop(refused);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}

#[test]
fn parked_green_receivers_wake_when_the_last_sender_goes() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        for (name, make) in flavors::<u32>() {
            rt.block_on(|| {
                let (s, r) = make();
                let receivers: Vec<_> = (0..4)
                    .map(|_| {
                        let r = r.clone();
                        green::spawn(move || r.recv())
                    })
                    .collect();
                let os_receiver = std::thread::spawn(move || r.recv());
                green::sleep(Duration::from_millis(20)); // let them park (not needed for correctness)
                drop(s);
                for receiver in receivers {
                    assert_eq!(receiver.join().unwrap(), Err(RecvError), "{name}");
                }
                assert_eq!(os_receiver.join().unwrap(), Err(RecvError), "{name}");
            });
        }
    });
}

#[test]
fn parked_senders_wake_and_get_their_message_back_when_the_last_receiver_goes() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        for capacity in [0, 1] {
            rt.block_on(|| {
                let drops = Arc::new(AtomicUsize::new(0));
                let (s, r) = bounded(capacity);
                if capacity == 1 {
                    s.send(Counted(drops.clone())).unwrap(); // fill it
                }
                let senders: Vec<_> = (0..3)
                    .map(|_| {
                        let (s, drops) = (s.clone(), drops.clone());
                        green::spawn(move || s.send(Counted(drops)).map_err(|error| error.into_inner()))
                    })
                    .collect();
                let os_sender = {
                    let (s, drops) = (s.clone(), drops.clone());
                    std::thread::spawn(move || s.send(Counted(drops)).map_err(|error| error.into_inner()))
                };
                green::sleep(Duration::from_millis(20));
                drop(r);
                assert_eq!(drops.load(Ordering::SeqCst), capacity, "the buffered message is dropped");
                let mut returned = Vec::new();
                for sender in senders {
                    returned.push(sender.join().unwrap().expect_err("nobody receives"));
                }
                returned.push(os_sender.join().unwrap().expect_err("nobody receives"));
                assert_eq!(drops.load(Ordering::SeqCst), capacity, "returned messages are alive");
                drop(returned);
                assert_eq!(drops.load(Ordering::SeqCst), capacity + 4);
            });
        }
    });
}

#[test]
fn a_select_parked_on_a_channel_wakes_at_disconnection() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (s1, r1) = unbounded::<i32>();
            let (_s2, r2) = unbounded::<i32>();
            let selector = green::spawn(move || {
                green::select! {
                    recv(r1) -> message => message.map_err(|_| "r1 disconnected"),
                    recv(r2) -> message => message.map_err(|_| "r2 disconnected"),
                }
            });
            green::sleep(Duration::from_millis(20));
            drop(s1);
            assert_eq!(selector.join().unwrap(), Err("r1 disconnected"));
        });
    });
}

#[test]
fn dropping_everything_with_messages_inside_frees_them() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let (s, r) = unbounded();
        for _ in 0..10 {
            s.send(Counted(drops.clone())).unwrap();
        }
        drop(s);
        drop(r);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 10);
}
