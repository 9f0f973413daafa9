//! Seeing inside a running `green` program: the thread dump, the stall warning and the deadlock report.
//!
//! Three ways to run it:
//!
//! 1. A small job server; ask it for a thread dump three ways:
//!    `cargo run --example inspect -- --addr 127.0.0.1:7070`, then
//!    - `printf 'sleep 5000\n' | nc 127.0.0.1 7070` in one terminal (a client whose job parks for 5 s), and
//!      `printf 'dump\n' | nc 127.0.0.1 7070` in another: the server answers with the dump — every green
//!      thread, where it waits (`socket read on fd 9`, `sleep`, `channel recv`), for how long, where it was
//!      spawned;
//!    - `kill -QUIT <pid>` (or Ctrl-\ in its terminal): the same dump on stderr, and the server goes on;
//!    - `printf 'stats\n' | nc 127.0.0.1 7070`: the runtime's counters.
//! 2. `cargo run --example inspect -- --addr 127.0.0.1:7070 --mode stall`: a housekeeping green thread wrongly
//!    runs a 300 ms CPU loop every second. The stall detector logs a warning naming it, where it was spawned,
//!    and how long it held its worker, then a second one when it lets go (shown by default; `RUST_LOG`
//!    overrides the filter).
//! 3. `cargo run --example inspect -- --mode deadlock`: two transfers lock two accounts in opposite order. Every
//!    green thread ends up waiting for another: the main green thread panics with
//!    `all green threads are asleep - deadlock!` and the dump, showing both at their `lock()` lines.
//!
//! Protocol (one command per line): `sleep MS` parks the connection's green thread and answers `slept`;
//! `work N` sends N jobs through a channel to a pool of four green threads and answers with their sum;
//! `dump` and `stats` answer with the text of `green::dump()` and `green::inspect::stats()`, then a line
//! `end`.

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use green::channel::{Receiver, Sender};
use green::net::TcpStream;
use green::sync::{Arc, Barrier, Mutex};

fn main() {
    let args = args::Args::parse(
        "inspect [--addr 127.0.0.1:7070] [--workers N] [--mode serve|stall|deadlock]",
        &["--addr", "--workers", "--mode"],
    );
    let mode = args.text("--mode", "serve");
    // Warnings of the stall detector are the point of `--mode stall`: show them unless RUST_LOG says otherwise.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("green::inspect=warn")).init();
    let runtime =
        green::Runtime::builder().workers(args.workers()).dump_on_sigquit(true).build().expect("start the runtime");
    let address = args.text("--addr", "127.0.0.1:7070");
    match mode.as_str() {
        "serve" => runtime.block_on(|| serve(&address, false)),
        "stall" => runtime.block_on(|| serve(&address, true)),
        "deadlock" => runtime.block_on(deadlock),
        other => {
            eprintln!("unknown --mode {other}: choose serve, stall or deadlock");
            std::process::exit(2);
        }
    }
}

/// The job server (modes `serve` and, with `stall`, `stall`).
fn serve(address: &str, stall: bool) {
    let listener = server::listen(address, false);
    let bound = listener.local_addr().expect("a bound listener has an address");
    let pid = std::process::id();
    println!("pid {pid}: try `printf 'dump\\n' | nc {} {}` or `kill -QUIT {pid}`", bound.ip(), bound.port());
    let (jobs, queue) = green::channel::bounded::<(u64, Sender<u64>)>(16);
    for worker in 0..4 {
        let queue = queue.clone();
        green::Builder::new().name(format!("pool-{worker}")).spawn(move || pool_worker(queue)).unwrap();
    }
    if stall {
        green::Builder::new().name("housekeeping".into()).spawn(housekeeping).unwrap();
    }
    server::serve(&listener, move |stream, activity| {
        if let Err(error) = handle(stream, &jobs, &activity) {
            log::debug!("connection: {error}");
        }
    });
}

/// One connection: a command per line.
fn handle(stream: TcpStream, jobs: &Sender<(u64, Sender<u64>)>, activity: &server::Activity) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        activity.touch();
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next().map(str::parse::<u64>)) {
            (Some("sleep"), Some(Ok(ms))) => {
                green::sleep(Duration::from_millis(ms.min(60_000)));
                "slept\n".to_string()
            }
            (Some("work"), Some(Ok(n))) => {
                let (reply, results) = green::channel::unbounded();
                for job in 0..n.min(10_000) {
                    jobs.send((job, reply.clone())).expect("the pool runs as long as the server");
                }
                drop(reply);
                format!("{}\n", results.iter().sum::<u64>())
            }
            (Some("dump"), None) => format!("{}end\n", green::dump()),
            (Some("stats"), None) => format!("{}end\n", green::inspect::stats()),
            _ => "commands: sleep MS | work N | dump | stats\n".to_string(),
        };
        writer.write_all(answer.as_bytes())?;
    }
    Ok(())
}

/// A pool green thread: squares numbers until the server stops.
fn pool_worker(queue: Receiver<(u64, Sender<u64>)>) {
    for (job, reply) in queue {
        let _ = reply.send(job * job);
    }
}

/// Mode 2: housekeeping that wrongly computes without ever parking, 300 ms every second.
fn housekeeping() {
    loop {
        green::sleep(Duration::from_secs(1));
        let start = Instant::now();
        let mut checksum = 0u64;
        while start.elapsed() < Duration::from_millis(300) {
            checksum = checksum.wrapping_mul(31).wrapping_add(1); // a CPU loop: holds the worker
        }
        std::hint::black_box(checksum);
    }
}

/// Mode 3: two transfers lock two accounts in opposite order; a barrier makes sure each holds its first lock
/// before it asks for the second, so they deadlock every time.
fn deadlock() {
    let checking = Arc::new(Mutex::new(100u64));
    let savings = Arc::new(Mutex::new(500u64));
    let both_hold_one = Arc::new(Barrier::new(2));
    let transfer = |name: &str, from: Arc<Mutex<u64>>, to: Arc<Mutex<u64>>, barrier: Arc<Barrier>| {
        green::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut from = from.lock().unwrap();
                barrier.wait();
                let mut to = to.lock().unwrap(); // the other transfer holds this one and waits for ours
                *from -= 10;
                *to += 10;
            })
            .unwrap()
    };
    let a = transfer("checking->savings", checking.clone(), savings.clone(), both_hold_one.clone());
    let b = transfer("savings->checking", savings, checking, both_hold_one);
    a.join().unwrap();
    b.join().unwrap();
    println!("both transfers done (not reached: they deadlock)");
}
