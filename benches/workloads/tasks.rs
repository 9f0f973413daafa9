//! The core runtime's workloads: spawn+join (in batches, and as one burst of 100,000), yield, park/unpark
//! ping-pong, a bare corosensei switch and 100,000 concurrent 10 ms sleeps, each for green threads, OS threads
//! (where it makes sense) and tokio.
//!
//! Times returned are for `iters` operations (a task spawned and joined, a yield, a round trip), except the
//! burst and the sleepers, which return the wall time of one whole run.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks per spawn+join batch: spawn this many, then join them all.
pub const BATCH: u64 = 1_000;

/// OS threads per spawn+join batch (a thousand OS threads at once would measure the kernel's limits instead).
pub const STD_BATCH: u64 = 16;

/// Tasks of the spawn burst: all spawned, then all joined (the report runs it in a fresh process).
pub const BURST: u64 = 100_000;

/// OS threads of the spawn burst: each holds its stack until joined, and 100,000 stacks need 200,000 memory
/// mappings (a stack and its guard), three times the kernel's default `vm.max_map_count`.
pub const STD_BURST: u64 = 10_000;

/// Sleeping tasks in the sleepers workload.
pub const SLEEPERS: usize = 100_000;

/// Green stacks that may be held at once when [`sleepers_green`] runs repeatedly on a 2-worker runtime: each
/// worker's stack pool keeps what its own recent peak needed, and the next run may place the sleepers
/// differently, so up to twice [`SLEEPERS`] (see [`super::map_count::room_for`]).
pub const SLEEPERS_MAPPED_STACKS: usize = 2 * SLEEPERS;

/// How long each sleeper sleeps.
pub const SLEEP: Duration = Duration::from_millis(10);

/// `elapsed` for `done` operations, scaled to `iters` of them (batches may round the count up).
fn scaled(elapsed: Duration, iters: u64, done: u64) -> Duration {
    elapsed.mul_f64(iters as f64 / done as f64)
}

/// Spawns batches of [`BATCH`] trivial green threads and joins them; the time for `iters` of them.
pub fn spawn_join_green(runtime: &green::Runtime, iters: u64) -> Duration {
    runtime.block_on(|| {
        let batches = iters.div_ceil(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            let handles: Vec<_> = (0..BATCH).map(|i| green::spawn(move || i)).collect();
            for handle in handles {
                black_box(handle.join().unwrap());
            }
        }
        scaled(start.elapsed(), iters, batches * BATCH)
    })
}

/// Spawns batches of [`STD_BATCH`] trivial OS threads and joins them; the time for `iters` of them.
pub fn spawn_join_std(iters: u64) -> Duration {
    let batches = iters.div_ceil(STD_BATCH);
    let start = Instant::now();
    for _ in 0..batches {
        let handles: Vec<_> = (0..STD_BATCH).map(|i| std::thread::spawn(move || i)).collect();
        for handle in handles {
            black_box(handle.join().unwrap());
        }
    }
    scaled(start.elapsed(), iters, batches * STD_BATCH)
}

/// Spawns batches of [`BATCH`] trivial tokio tasks and awaits them; the time for `iters` of them.
pub fn spawn_join_tokio(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    runtime.block_on(async {
        let batches = iters.div_ceil(BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            let handles: Vec<_> = (0..BATCH).map(|i| tokio::spawn(async move { i })).collect();
            for handle in handles {
                black_box(handle.await.unwrap());
            }
        }
        scaled(start.elapsed(), iters, batches * BATCH)
    })
}

/// Spawns `count` trivial green threads, then joins them all: the wall time from the first spawn to the last
/// join.
pub fn spawn_burst_green(runtime: &green::Runtime, count: u64) -> Duration {
    runtime.block_on(|| {
        let start = Instant::now();
        let handles: Vec<_> = (0..count).map(|i| green::spawn(move || i)).collect();
        for handle in handles {
            black_box(handle.join().unwrap());
        }
        start.elapsed()
    })
}

/// Spawns `count` trivial OS threads, then joins them all: the wall time from the first spawn to the last join.
pub fn spawn_burst_std(count: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..count).map(|i| std::thread::spawn(move || i)).collect();
    for handle in handles {
        black_box(handle.join().unwrap());
    }
    start.elapsed()
}

/// Spawns `count` trivial tokio tasks, then awaits them all: the wall time from the first spawn to the last
/// join.
pub fn spawn_burst_tokio(runtime: &tokio::runtime::Runtime, count: u64) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..count).map(|i| tokio::spawn(async move { i })).collect();
        for handle in handles {
            black_box(handle.await.unwrap());
        }
        start.elapsed()
    })
}

/// One green thread yielding `iters` times.
pub fn yield_green(runtime: &green::Runtime, iters: u64) -> Duration {
    runtime.block_on(|| {
        let start = Instant::now();
        for _ in 0..iters {
            green::yield_now();
        }
        start.elapsed()
    })
}

/// One tokio task yielding `iters` times.
pub fn yield_tokio(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    runtime.block_on(async {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                tokio::task::yield_now().await;
            }
            start.elapsed()
        })
        .await
        .unwrap()
    })
}

/// Two green threads waking each other in turn with park/unpark; the time for `iters` round trips.
pub fn park_pingpong_green(runtime: &green::Runtime, iters: u64) -> Duration {
    runtime.block_on(|| {
        // turn: 0 = ping's move, 1 = pong's move.
        let turn = Arc::new(AtomicUsize::new(0));
        let me = green::current();
        let pong = green::spawn({
            let turn = turn.clone();
            move || {
                for _ in 0..iters {
                    while turn.load(Ordering::Acquire) != 1 {
                        green::park();
                    }
                    turn.store(0, Ordering::Release);
                    me.unpark();
                }
            }
        });
        let start = Instant::now();
        for _ in 0..iters {
            turn.store(1, Ordering::Release);
            pong.thread().unpark();
            while turn.load(Ordering::Acquire) != 0 {
                green::park();
            }
        }
        let elapsed = start.elapsed();
        pong.join().unwrap();
        elapsed
    })
}

/// Two OS threads waking each other in turn with `thread::park`/`unpark`; the time for `iters` round trips.
pub fn park_pingpong_std(iters: u64) -> Duration {
    let turn = Arc::new(AtomicUsize::new(0));
    let me = std::thread::current();
    let pong = std::thread::spawn({
        let turn = turn.clone();
        move || {
            for _ in 0..iters {
                while turn.load(Ordering::Acquire) != 1 {
                    std::thread::park();
                }
                turn.store(0, Ordering::Release);
                me.unpark();
            }
        }
    });
    let start = Instant::now();
    for _ in 0..iters {
        turn.store(1, Ordering::Release);
        pong.thread().unpark();
        while turn.load(Ordering::Acquire) != 0 {
            std::thread::park();
        }
    }
    let elapsed = start.elapsed();
    pong.join().unwrap();
    elapsed
}

/// Two tokio tasks waking each other in turn with a pair of `Notify`s; the time for `iters` round trips.
pub fn park_pingpong_tokio(runtime: &tokio::runtime::Runtime, iters: u64) -> Duration {
    runtime.block_on(async {
        let ping = Arc::new(tokio::sync::Notify::new());
        let pong = Arc::new(tokio::sync::Notify::new());
        let peer = tokio::spawn({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                for _ in 0..iters {
                    ping.notified().await;
                    pong.notify_one();
                }
            }
        });
        let start = Instant::now();
        for _ in 0..iters {
            ping.notify_one();
            pong.notified().await;
        }
        let elapsed = start.elapsed();
        peer.await.unwrap();
        elapsed
    })
}

/// `iters` bare corosensei resume + suspend pairs: the floor under any green switch.
pub fn corosensei_switch(iters: u64) -> Duration {
    let mut coroutine = corosensei::Coroutine::new(|yielder: &corosensei::Yielder<(), ()>, ()| loop {
        yielder.suspend(());
    });
    let start = Instant::now();
    for _ in 0..iters {
        black_box(coroutine.resume(()));
    }
    start.elapsed()
}

/// [`SLEEPERS`] green threads each sleeping [`SLEEP`], all joined: the wall time of the whole run.
///
/// Up to [`SLEEPERS_MAPPED_STACKS`] stacks when repeated, which fit at the kernel's default settings where it
/// has guard markers: see [`super::map_count::room_for`].
pub fn sleepers_green(runtime: &green::Runtime) -> Duration {
    runtime.block_on(|| {
        let start = Instant::now();
        let handles: Vec<_> = (0..SLEEPERS).map(|_| green::spawn(|| green::sleep(SLEEP))).collect();
        for handle in handles {
            handle.join().unwrap();
        }
        start.elapsed()
    })
}

/// [`SLEEPERS`] tokio tasks each sleeping [`SLEEP`], all awaited: the wall time of the whole run.
pub fn sleepers_tokio(runtime: &tokio::runtime::Runtime) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..SLEEPERS).map(|_| tokio::spawn(tokio::time::sleep(SLEEP))).collect();
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}
