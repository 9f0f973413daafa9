//! Timed operations: `recv_timeout`/`send_timeout` and their deadline forms give up on time (not early, not
//! much later), in green threads and OS threads, and a message that arrives in time is taken.

mod util;

use std::time::{Duration, Instant};

use green::channel::{bounded, unbounded, RecvTimeoutError, SendTimeoutError};
use util::{runtime, watchdog};

const WAIT: Duration = Duration::from_millis(50);
const LATE: Duration = Duration::from_millis(500);

fn assert_waited(start: Instant) {
    let waited = start.elapsed();
    assert!(waited >= WAIT, "gave up early: {waited:?}");
    assert!(waited < LATE, "gave up late: {waited:?}");
}

fn timeouts_on_this_thread() {
    for capacity in [Some(0), Some(3), None] {
        let (s, r) = match capacity {
            Some(capacity) => bounded::<u32>(capacity),
            None => unbounded(),
        };
        let start = Instant::now();
        assert_eq!(r.recv_timeout(WAIT), Err(RecvTimeoutError::Timeout), "{capacity:?}");
        assert_waited(start);
        let start = Instant::now();
        assert_eq!(r.recv_deadline(start + WAIT), Err(RecvTimeoutError::Timeout));
        assert_waited(start);
        if let Some(capacity) = capacity {
            for i in 0..capacity {
                s.send(i as u32).unwrap();
            }
            let start = Instant::now();
            assert_eq!(s.send_timeout(99, WAIT), Err(SendTimeoutError::Timeout(99)), "{capacity:?}");
            assert_waited(start);
            let start = Instant::now();
            assert_eq!(s.send_deadline(98, start + WAIT), Err(SendTimeoutError::Timeout(98)));
            assert_waited(start);
            assert_eq!(r.len(), capacity, "a timed-out send leaves nothing behind");
        }
    }
}

#[test]
fn timeouts_in_a_green_thread() {
    watchdog(Duration::from_secs(30), || runtime(1).block_on(timeouts_on_this_thread));
}

#[test]
fn timeouts_on_an_os_thread() {
    watchdog(Duration::from_secs(30), timeouts_on_this_thread);
}

#[test]
fn a_timed_out_green_receiver_does_not_stall_its_worker() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (_s, r) = unbounded::<()>();
            let waiting = green::spawn(move || r.recv_timeout(Duration::from_millis(200)));
            // The worker keeps running other green threads meanwhile.
            let mut turns = 0;
            while !waiting.is_finished() {
                turns += 1;
                green::yield_now();
            }
            assert!(turns > 100, "only {turns} turns while the receiver waited");
            assert_eq!(waiting.join().unwrap(), Err(RecvTimeoutError::Timeout));
        });
    });
}

#[test]
fn a_message_arriving_before_the_deadline_is_taken() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            for capacity in [0, 1] {
                let (s, r) = bounded(capacity);
                let sender = green::spawn(move || {
                    green::sleep(Duration::from_millis(10));
                    s.send(5).unwrap();
                });
                assert_eq!(r.recv_timeout(Duration::from_secs(10)), Ok(5));
                sender.join().unwrap();

                let (s, r) = bounded(capacity);
                if capacity == 1 {
                    s.send(0).unwrap();
                }
                let receiver = green::spawn(move || {
                    green::sleep(Duration::from_millis(10));
                    let first = r.recv().unwrap();
                    if capacity == 1 {
                        assert_eq!(first, 0);
                        r.recv().unwrap()
                    } else {
                        first
                    }
                });
                assert_eq!(s.send_timeout(6, Duration::from_secs(10)), Ok(()));
                assert_eq!(receiver.join().unwrap(), 6);
            }
        });
    });
}

#[test]
fn many_short_timeouts_racing_with_sends_lose_nothing() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let rounds: u64 = if cfg!(debug_assertions) { 3_000 } else { 20_000 };
        rt.block_on(move || {
            for capacity in [0usize, 1] {
                let (s, r) = bounded::<u64>(capacity);
                let sender = green::spawn(move || {
                    let mut timeouts = 0u64;
                    for i in 0..rounds {
                        let mut message = i;
                        loop {
                            match s.send_timeout(message, Duration::from_micros(50)) {
                                Ok(()) => break,
                                Err(SendTimeoutError::Timeout(back)) => {
                                    timeouts += 1;
                                    message = back;
                                }
                                Err(SendTimeoutError::Disconnected(_)) => unreachable!(),
                            }
                        }
                    }
                    timeouts
                });
                let mut received = 0u64;
                let mut sum = 0u64;
                while received < rounds {
                    match r.recv_timeout(Duration::from_micros(30)) {
                        Ok(message) => {
                            assert_eq!(message, received, "in order, exactly once");
                            received += 1;
                            sum += message;
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => unreachable!(),
                    }
                }
                sender.join().unwrap();
                assert_eq!(sum, rounds * (rounds - 1) / 2);
                assert_eq!(r.try_recv(), Err(green::channel::TryRecvError::Disconnected));
            }
        });
    });
}

#[test]
fn timer_receivers_deliver_on_time() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let start = Instant::now();
            let after = green::channel::after(WAIT);
            assert_eq!(after.capacity(), Some(1));
            let fired = after.recv().unwrap();
            assert!(fired >= start + WAIT);
            assert_waited(start);
            assert_eq!(after.recv_timeout(Duration::from_millis(10)), Err(RecvTimeoutError::Timeout), "one message");

            let start = Instant::now();
            let ticker = green::channel::tick(Duration::from_millis(20));
            let ticks: Vec<Instant> = (0..3).map(|_| ticker.recv().unwrap()).collect();
            assert!(start.elapsed() >= Duration::from_millis(60));
            assert!(ticks.windows(2).all(|pair| pair[1] - pair[0] >= Duration::from_millis(20)));

            let never = green::channel::never::<u8>();
            let start = Instant::now();
            assert_eq!(never.recv_timeout(WAIT), Err(RecvTimeoutError::Timeout));
            assert_waited(start);

            let at = green::channel::at(Instant::now());
            assert!(at.try_recv().is_ok());
        });
    });
}

#[test]
fn a_ticker_drops_ticks_nobody_takes() {
    watchdog(Duration::from_secs(30), || {
        let ticker = green::channel::tick(Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(55));
        assert_eq!(ticker.len(), 1, "at most one tick waits");
        assert!(ticker.try_recv().is_ok());
        assert!(ticker.try_recv().is_err(), "the missed ticks are gone");
    });
}
