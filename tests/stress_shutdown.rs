//! Stress: runtimes dropped at random moments while their green threads are in scopes, timeouts, cancelled
//! waits, panics with blocking destructors, cross-runtime `block_on`s and spawns from destructors. Counts what
//! went in and what came out: every tracked value is dropped exactly once, no borrowed frame is unwound while
//! a borrower runs, every drop returns. Run it under AddressSanitizer too (DESIGN.md, "Testing").

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use util::watchdog;

/// The payload of the panics this test makes on purpose.
const PLANNED: &str = "stress panic with a blocking destructor";

/// Values created and dropped, across the whole run.
static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A value whose drops are counted.
struct Tracked;

impl Tracked {
    fn new() -> Tracked {
        CREATED.fetch_add(1, Ordering::SeqCst);
        Tracked
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// A frame's liveness, checked by the threads that borrow from it.
struct Frame(Arc<AtomicBool>);

impl Frame {
    fn new() -> Frame {
        Frame(Arc::new(AtomicBool::new(true)))
    }

    fn check(alive: &AtomicBool) {
        if !alive.load(Ordering::SeqCst) {
            eprintln!("use after free: a borrower outlived the frame it borrows from");
            std::process::abort();
        }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// xorshift: reproducible choices without a dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Blocks in its drop: on a lock that other green threads hold briefly, then a short sleep.
struct BlockingDrop(Arc<green::sync::Mutex<u64>>, Tracked);

impl Drop for BlockingDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
        green::sleep(Duration::from_micros(200));
    }
}

/// Spawns a green thread from its drop and joins it.
struct SpawningDrop(Tracked);

impl Drop for SpawningDrop {
    fn drop(&mut self) {
        let tracked = Tracked::new();
        let _ = green::spawn(move || drop(tracked)).join();
    }
}

/// One green thread's behaviour, chosen at random.
fn behaviour(kind: u64, seed: u64, lock: Arc<green::sync::Mutex<u64>>, other: Arc<green::Runtime>) {
    let _tracked = Tracked::new();
    match kind {
        0 => {
            let frame = Frame::new();
            let data = vec![seed; 64];
            green::scope(|s| {
                for i in 0..3 {
                    let alive = frame.0.clone();
                    let data = &data;
                    s.spawn(move || {
                        let _tracked = Tracked::new();
                        for _ in 0..(5 + i * 5) {
                            Frame::check(&alive);
                            assert_eq!(data.len(), 64);
                            green::sleep(Duration::from_micros(300));
                        }
                    });
                }
            });
        }
        1 => {
            let frame = Frame::new();
            let _ = green::timeout(Duration::from_millis(seed % 3), || {
                green::scope(|s| {
                    let alive = frame.0.clone();
                    s.spawn(move || {
                        let _tracked = Tracked::new();
                        green::uncancellable(|| green::sleep(Duration::from_millis(2)));
                        Frame::check(&alive);
                    });
                });
                green::sleep(Duration::from_millis(50));
            });
        }
        2 => {
            let _blocking = BlockingDrop(lock.clone(), Tracked::new());
            *lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
            green::sleep(Duration::from_millis(seed % 5));
            if seed % 2 == 0 {
                std::panic::panic_any(PLANNED);
            }
        }
        3 => {
            let frame = Frame::new();
            let alive = frame.0.clone();
            other.block_on(|| {
                let _tracked = Tracked::new();
                for _ in 0..10 {
                    Frame::check(&alive);
                    green::sleep(Duration::from_micros(500));
                }
            });
        }
        4 => {
            let _spawning = SpawningDrop(Tracked::new());
            let mut group = green::Group::new();
            for _ in 0..3 {
                group.spawn(|| {
                    let _tracked = Tracked::new();
                    green::sleep(Duration::from_millis(20));
                });
            }
            green::sleep(Duration::from_millis(seed % 4));
            drop(group);
            green::park();
        }
        _ => {
            let sleeper = green::spawn(|| {
                let _tracked = Tracked::new();
                green::sleep(Duration::from_secs(60));
            });
            green::sleep(Duration::from_micros(seed % 1000));
            sleeper.cancel();
            let _ = sleeper.join();
            loop {
                green::yield_now();
            }
        }
    }
}

fn rounds(limit: Duration, max: u64) {
    // The planned panics are expected: keep stderr for the unexpected ones.
    std::panic::set_hook(Box::new(|info| {
        if info.payload().downcast_ref::<&str>() != Some(&PLANNED) {
            eprintln!("{info}");
        }
    }));
    let start = Instant::now();
    let other = Arc::new(util::runtime(1));
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut round = 0;
    while round < max && start.elapsed() < limit {
        round += 1;
        let rt = util::runtime(2);
        let lock = Arc::new(green::sync::Mutex::new(0));
        for _ in 0..24 {
            let (kind, seed) = (random.below(6), random.below(1 << 20));
            let (lock, other) = (lock.clone(), other.clone());
            drop(rt.spawn(move || behaviour(kind, seed, lock, other)));
        }
        let pause = random.below(4_000);
        std::thread::sleep(Duration::from_micros(pause)); // a random shutdown moment, not synchronisation
        drop(rt);
        assert_eq!(CREATED.load(Ordering::SeqCst), DROPPED.load(Ordering::SeqCst), "round {round}: leaked values");
    }
    drop(other);
    assert_eq!(CREATED.load(Ordering::SeqCst), DROPPED.load(Ordering::SeqCst));
    eprintln!("{round} rounds, {} values tracked", CREATED.load(Ordering::SeqCst));
}

#[test]
fn runtimes_dropped_at_random_moments_leak_nothing_and_free_no_borrowed_frame_early() {
    let (limit, max) =
        if cfg!(debug_assertions) { (Duration::from_secs(10), 300) } else { (Duration::from_secs(10), 1_000) };
    watchdog(Duration::from_secs(120), move || rounds(limit, max));
}
