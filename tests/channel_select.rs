//! `select!` and `Select`: fairness among ready operations, `default`, `default(timeout)`, send arms (also
//! on rendezvous channels), timer arms, readiness, and a many-channel stress with checksums.

mod util;

use std::time::{Duration, Instant};

use green::channel::{after, bounded, never, tick, unbounded, RecvError, Select, SendError};
use util::{runtime, watchdog};

#[test]
fn ready_operations_are_chosen_fairly() {
    watchdog(Duration::from_secs(60), || {
        green::run(|| {
            let (s1, r1) = unbounded::<u8>();
            let (s2, r2) = unbounded::<u8>();
            const SELECTS: usize = 10_000;
            for _ in 0..SELECTS {
                s1.send(1).unwrap();
                s2.send(2).unwrap();
            }
            let mut counts = [0usize; 3];
            for _ in 0..SELECTS {
                let chosen = green::select! {
                    recv(r1) -> message => message.unwrap(),
                    recv(r2) -> message => message.unwrap(),
                };
                counts[chosen as usize] += 1;
            }
            for arm in [1, 2] {
                let share = counts[arm] as f64 / SELECTS as f64;
                assert!((0.4..=0.6).contains(&share), "arm {arm} chosen {share:.3} of the time: {counts:?}");
            }
        });
    });
}

#[test]
fn fairness_holds_with_a_never_ready_arm_between() {
    let (s1, r1) = unbounded::<u8>();
    let (_s2, r2) = unbounded::<u8>();
    let (s3, r3) = unbounded::<u8>();
    const SELECTS: usize = 9_000;
    let mut counts = [0usize; 4];
    for _ in 0..SELECTS {
        s1.send(1).unwrap();
        s3.send(3).unwrap();
        let chosen = green::select! {
            recv(r1) -> message => message.unwrap(),
            recv(r2) -> message => message.unwrap(),
            recv(r3) -> message => message.unwrap(),
        };
        counts[chosen as usize] += 1;
        // Take the other one back out so both stay ready exactly once per round.
        let _ = r1.try_recv();
        let _ = r3.try_recv();
    }
    for arm in [1, 3] {
        let share = counts[arm] as f64 / SELECTS as f64;
        assert!((0.4..=0.6).contains(&share), "arm {arm} chosen {share:.3} of the time: {counts:?}");
    }
}

#[test]
fn default_runs_when_nothing_is_ready() {
    let (s, r) = unbounded::<i32>();
    let outcome = green::select! {
        recv(r) -> _ => "received",
        default => "default",
    };
    assert_eq!(outcome, "default");
    s.send(1).unwrap();
    let outcome = green::select! {
        recv(r) -> message => { assert_eq!(message, Ok(1)); "received" }
        default => "default",
    };
    assert_eq!(outcome, "received");
}

#[test]
fn default_with_a_timeout_waits_that_long() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (_s, r) = unbounded::<i32>();
            let start = Instant::now();
            let outcome = green::select! {
                recv(r) -> _ => "received",
                default(Duration::from_millis(50)) => "timed out",
            };
            assert_eq!(outcome, "timed out");
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(50) && waited < Duration::from_millis(500), "{waited:?}");

            let (s, r) = unbounded::<i32>();
            let sender = green::spawn(move || {
                green::sleep(Duration::from_millis(10));
                s.send(3).unwrap();
            });
            let outcome = green::select! {
                recv(r) -> message => message.unwrap(),
                default(Duration::from_secs(10)) => panic!("timed out"),
            };
            assert_eq!(outcome, 3);
            sender.join().unwrap();
        });
    });
}

#[test]
fn send_arms_send_and_evaluate_their_message_only_when_chosen() {
    let (s1, r1) = bounded::<i32>(1);
    let (s2, _r2) = bounded::<i32>(0); // nobody receives: never ready
    let mut evaluated = Vec::new();
    let mut message = |n: i32| {
        evaluated.push(n);
        n
    };
    green::select! {
        send(s1, message(1)) -> result => assert_eq!(result, Ok(())),
        send(s2, message(2)) -> _ => panic!("no receiver on the rendezvous channel"),
    }
    assert_eq!(evaluated, [1]);
    assert_eq!(r1.try_recv(), Ok(1));
    drop(r1);
    green::select! {
        send(s1, 5) -> result => assert_eq!(result, Err(SendError(5))),
        default => panic!("a disconnected channel is ready"),
    }
}

#[test]
fn select_sends_to_a_parked_receiver_on_a_rendezvous_channel() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            for _ in 0..200 {
                let (s, r) = bounded::<u32>(0);
                let receiver = green::spawn(move || r.recv());
                let (_other, other_r) = bounded::<u32>(0);
                green::select! {
                    send(s, 42) -> result => result.unwrap(),
                    recv(other_r) -> _ => unreachable!(),
                }
                assert_eq!(receiver.join().unwrap(), Ok(42));
            }
        });
    });
}

#[test]
fn a_parked_select_receives_from_a_rendezvous_sender() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            for i in 0..200u32 {
                let (s, r) = bounded::<u32>(0);
                let (_s2, r2) = bounded::<u32>(0);
                let selector = green::spawn(move || {
                    green::select! {
                        recv(r) -> message => message,
                        recv(r2) -> _ => unreachable!(),
                    }
                });
                if i % 2 == 0 {
                    green::yield_now(); // let it park first half of the time
                }
                s.send(i).unwrap();
                assert_eq!(selector.join().unwrap(), Ok(i));
            }
        });
    });
}

#[test]
fn a_select_never_pairs_with_itself() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (s, r) = bounded::<u32>(0);
            let outcome = green::select! {
                send(s, 1) -> _ => "sent to myself",
                recv(r) -> _ => "received from myself",
                default(Duration::from_millis(30)) => "timed out",
            };
            assert_eq!(outcome, "timed out");

            // With a real partner it completes, in one direction or the other.
            let (s2, r2) = (s.clone(), r.clone());
            let partner = green::spawn(move || {
                green::select! {
                    send(s2, 7) -> result => { result.unwrap(); None }
                    recv(r2) -> message => Some(message.unwrap()),
                }
            });
            let mine = green::select! {
                send(s, 8) -> result => { result.unwrap(); None }
                recv(r) -> message => Some(message.unwrap()),
            };
            let theirs = partner.join().unwrap();
            match (mine, theirs) {
                (None, Some(8)) | (Some(7), None) => {}
                other => panic!("not one send and one receive: {other:?}"),
            }
        });
    });
}

#[test]
fn timer_arms_fire_and_never_does_not() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let (_s, r) = unbounded::<i32>();
            let start = Instant::now();
            let timeout = after(Duration::from_millis(40));
            green::select! {
                recv(r) -> _ => panic!("nothing was sent"),
                recv(never::<i32>()) -> _ => panic!("never delivers"),
                recv(timeout) -> fired => assert!(fired.unwrap() >= start + Duration::from_millis(40)),
            }
            assert!(start.elapsed() >= Duration::from_millis(40));

            let ticker = tick(Duration::from_millis(10));
            let mut ticks = 0;
            let deadline = after(Duration::from_millis(200));
            loop {
                green::select! {
                    recv(ticker) -> _ => ticks += 1,
                    recv(deadline) -> _ => break,
                }
            }
            assert!((5..=21).contains(&ticks), "{ticks} ticks in 200 ms of 10 ms ticks");

            let optional: Option<&green::channel::Receiver<i32>> = std::hint::black_box(None);
            let outcome = green::select! {
                recv(optional.unwrap_or(&never())) -> _ => "never",
                default(Duration::from_millis(5)) => "timed out",
            };
            assert_eq!(outcome, "timed out");
        });
    });
}

#[test]
fn select_struct_api() {
    let (s1, r1) = unbounded::<i32>();
    let (s2, r2) = bounded::<&str>(1);
    let mut select = Select::new();
    let receive = select.recv(&r1);
    let send = select.send(&s2);
    let operation = select.select();
    assert_eq!(operation.index(), send, "only the send is ready");
    operation.send(&s2, "hello").unwrap();
    assert_eq!(r2.try_recv(), Ok("hello"));

    s1.send(9).unwrap();
    select.remove(send);
    let operation = select.try_select().unwrap();
    assert_eq!(operation.index(), receive);
    assert_eq!(operation.recv(&r1), Ok(9));
    assert!(select.try_select().is_err());
    assert!(select.select_timeout(Duration::from_millis(10)).is_err());

    // `ready` reports without taking; the message is still there.
    s1.send(10).unwrap();
    assert_eq!(select.ready(), receive);
    assert_eq!(r1.try_recv(), Ok(10));
    assert!(select.try_ready().is_err());
    assert!(select.ready_timeout(Duration::from_millis(5)).is_err());

    drop(s1);
    let operation = select.select();
    assert_eq!(operation.recv(&r1), Err(RecvError));
}

#[test]
#[should_panic(expected = "passed a receiver that wasn't selected")]
fn completing_with_the_wrong_receiver_panics() {
    let (s1, r1) = unbounded::<i32>();
    let (_s2, r2) = unbounded::<i32>();
    s1.send(1).unwrap();
    let mut select = Select::new();
    select.recv(&r1);
    let operation = select.select();
    let _ = operation.recv(&r2);
}

#[test]
fn a_ready_timer_is_not_consumed_by_ready() {
    let timer = after(Duration::ZERO);
    let mut select = Select::new();
    let index = select.recv(&timer);
    assert_eq!(select.ready(), index);
    assert!(timer.try_recv().is_ok(), "ready() gave the tick back");
}

#[test]
fn bodies_can_break_and_continue() {
    let (s, r) = unbounded();
    for i in 0..10 {
        s.send(i).unwrap();
    }
    drop(s);
    let mut sum = 0;
    loop {
        green::select! {
            recv(r) -> message => match message {
                Ok(3) => continue,
                Ok(n) => sum += n,
                Err(_) => break,
            }
        }
    }
    assert_eq!(sum, 45 - 3);
}

#[test]
fn many_producers_into_many_channels_one_selecting_consumer() {
    watchdog(Duration::from_secs(120), || {
        let per_channel: u64 = if cfg!(debug_assertions) { 20_000 } else { 100_000 };
        let rt = runtime(2);
        let total = rt.block_on(move || {
            let (s1, r1) = bounded::<u64>(0);
            let (s2, r2) = bounded::<u64>(4);
            let (s3, r3) = unbounded::<u64>();
            let producers: Vec<_> = [s1, s2, s3]
                .into_iter()
                .enumerate()
                .map(|(channel, s)| {
                    green::spawn(move || {
                        for i in 0..per_channel {
                            s.send(i * 3 + channel as u64).unwrap();
                        }
                    })
                })
                .collect();
            let os_producer = {
                let (s, r) = bounded::<u64>(2);
                let handle = std::thread::spawn(move || {
                    for i in 0..per_channel {
                        s.send(i * 3 + 3 * per_channel).unwrap();
                    }
                });
                (handle, r)
            };
            let r4 = os_producer.1;
            let mut open = 4;
            let mut count = 0u64;
            let mut sum = 0u64;
            let (mut r1, mut r2, mut r3, mut r4) = (Some(r1), Some(r2), Some(r3), Some(r4));
            let never = never::<u64>();
            while open > 0 {
                let (arm, message) = green::select! {
                    recv(r1.as_ref().unwrap_or(&never)) -> message => (1, message),
                    recv(r2.as_ref().unwrap_or(&never)) -> message => (2, message),
                    recv(r3.as_ref().unwrap_or(&never)) -> message => (3, message),
                    recv(r4.as_ref().unwrap_or(&never)) -> message => (4, message),
                };
                match message {
                    Ok(message) => {
                        count += 1;
                        sum += message;
                    }
                    Err(RecvError) => {
                        open -= 1;
                        match arm {
                            1 => r1 = None,
                            2 => r2 = None,
                            3 => r3 = None,
                            _ => r4 = None,
                        }
                    }
                }
            }
            for producer in producers {
                producer.join().unwrap();
            }
            os_producer.0.join().unwrap();
            (count, sum)
        });
        let messages = 4 * per_channel;
        // Channels 1..=3 carry i*3+c for c in 0..3 (all of 0..3n once), channel 4 carries 3n..4n in steps of 3.
        let expected: u64 =
            (0..3 * per_channel).sum::<u64>() + (0..per_channel).map(|i| i * 3 + 3 * per_channel).sum::<u64>();
        assert_eq!(total, (messages, expected));
    });
}

#[test]
fn selects_on_both_ends_of_rendezvous_channels_move_every_message_once() {
    watchdog(Duration::from_secs(120), || {
        let rounds: u64 = if cfg!(debug_assertions) { 5_000 } else { 50_000 };
        let rt = runtime(2);
        rt.block_on(move || {
            let (sa, ra) = bounded::<u64>(0);
            let (sb, rb) = bounded::<u64>(0);
            // Two selecting senders offer each message on both channels; two selecting receivers take from both.
            let senders: Vec<_> = (0..2u64)
                .map(|id| {
                    let (sa, sb) = (sa.clone(), sb.clone());
                    green::spawn(move || {
                        for i in 0..rounds {
                            let message = i * 2 + id;
                            green::select! {
                                send(sa, message) -> result => result.unwrap(),
                                send(sb, message) -> result => result.unwrap(),
                            }
                        }
                    })
                })
                .collect();
            drop((sa, sb));
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let (ra, rb) = (ra.clone(), rb.clone());
                    green::spawn(move || {
                        let mut seen = Vec::new();
                        let never = never::<u64>();
                        let (mut ra, mut rb) = (Some(ra), Some(rb));
                        while ra.is_some() || rb.is_some() {
                            green::select! {
                                recv(ra.as_ref().unwrap_or(&never)) -> message => match message {
                                    Ok(message) => seen.push(message),
                                    Err(_) => ra = None,
                                },
                                recv(rb.as_ref().unwrap_or(&never)) -> message => match message {
                                    Ok(message) => seen.push(message),
                                    Err(_) => rb = None,
                                },
                            }
                        }
                        seen
                    })
                })
                .collect();
            drop((ra, rb));
            for sender in senders {
                sender.join().unwrap();
            }
            let mut all: Vec<u64> = receivers.into_iter().flat_map(|r| r.join().unwrap()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..rounds * 2).collect::<Vec<_>>());
        });
    });
}

#[test]
fn macro_syntax_variants_compile_and_behave() -> Result<(), RecvError> {
    let (s, r) = unbounded::<String>();
    let (s2, r2) = bounded::<String>(1);
    s.send("a".into()).unwrap();
    // Blocks without commas, a moved non-Copy message, `?` in a body, channels given by value or reference.
    let message = String::from("moved");
    green::select! {
        recv(&r) -> received => {
            let received = received?;
            assert_eq!(received, "a");
        }
        send(s2, message) -> result => {
            result.unwrap();
            assert_eq!(r2.recv()?, "moved");
        }
    }
    // The arm that was not chosen keeps `message` unevaluated; either way the channels can be moved now.
    drop(r);
    drop(s);
    let outcome: Option<&str> = green::select! {
        recv(r2) -> _ => Some("r2"),
        default => None
    };
    assert!(outcome.is_none() || outcome == Some("r2"));
    Ok(())
}
