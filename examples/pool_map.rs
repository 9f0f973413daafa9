//! `multiprocessing.Pool.map` and `concurrent.futures.as_completed`, on green threads.
//!
//! Run it with: `cargo run --release --example pool_map`
//!
//! A `Group::with_limit(4)` is a pool of four: at most four calls run at once. `map` returns the squares in
//! input order whatever order they finish in; `join_next` hands results over as they complete.

use std::time::{Duration, Instant};

fn slow_square(x: u64) -> u64 {
    // Pretend each call waits on something (a remote service) for a different time.
    green::sleep(Duration::from_millis(10 * (10 - x)));
    x * x
}

fn main() {
    env_logger::init();
    green::run(|| {
        let start = Instant::now();
        let squares = green::Group::with_limit(4).map(0..10, slow_square);
        println!("Pool(4).map(square, range(10)) = {squares:?} in {:?}", start.elapsed());

        let mut pool = green::Group::with_limit(4);
        for x in 0..10 {
            pool.spawn(move || (x, slow_square(x)));
        }
        print!("as_completed:");
        while let Some(result) = pool.join_next() {
            let (x, square) = result.expect("no call panics");
            print!(" {x}->{square}");
        }
        println!();
    });
}
