//! The same I/O-bound job three ways — one OS thread per request, a bounded pool of OS threads, one green
//! thread per request — then a CPU-bound job showing that green threads use every core (no GIL), and the
//! cooperative caveat: a green thread that computes without parking holds up the others on its worker.
//!
//! Run it: `cargo run --release --example threads_vs_green [-- --requests 10000 --pool 100 --delay-ms 50]`
//!
//! The job: `--requests` concurrent requests to a local server (a child process, so both sides get their own
//! descriptor limit) that answers each after `--delay-ms`. What to look at in the output:
//! - **wall time**: threads per request and green threads both finish in about one delay plus setup; the pool
//!   needs `requests / pool` rounds of it (Python's `ThreadPoolExecutor(max_workers=100)` is this row).
//! - **peak threads** and **peak resident memory**: 10,000 OS threads each have a kernel thread and a stack;
//!   10,000 green threads live on `workers` OS threads, a few KiB each.
//! - **CPU-bound**: the same jobs on 1 worker and on N workers: N workers finish N times sooner, since green
//!   threads on different workers run in parallel (Python's threads would not, because of the GIL).
//! - **the caveat**: a heartbeat green thread sleeps 1 ms in a loop and records how late it wakes. A green
//!   thread computing for a while on the same worker without parking delays it by that whole while. Calling
//!   `green::yield_now()` now and then helps only partly: the worker runs other *runnable* green threads, but
//!   checks timers and sockets only every 61 switches. Long computations belong in `green::offload`, which
//!   runs them on a pool of OS threads while the green thread parks: the heartbeat stays on time.

#[path = "shared/args.rs"]
mod args;

use std::io::{self, BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn main() -> io::Result<()> {
    let args = args::Args::parse(
        "threads_vs_green [--requests 10000] [--pool 100] [--delay-ms 50] [--cpu-iterations N]",
        &["--requests", "--pool", "--delay-ms", "--cpu-iterations", "--serve"],
    );
    let flag = |name: &str, default: u64| args.count(name, default);
    let (requests, pool, delay) = (flag("--requests", 10_000), flag("--pool", 100), flag("--delay-ms", 50));
    if args.value("--serve").is_some() {
        return serve(Duration::from_millis(delay));
    }
    raise_descriptor_limit();
    let mut server = Command::new(std::env::current_exe()?)
        .args(["--serve", "yes", "--delay-ms", &delay.to_string()])
        .stdin(Stdio::piped()) // the server exits when this pipe closes
        .stdout(Stdio::piped())
        .spawn()?;
    let mut first_line = String::new();
    io::BufReader::new(server.stdout.take().unwrap()).read_line(&mut first_line)?;
    let address = first_line.trim().trim_start_matches("listening on ").to_string();

    println!("{requests} requests to a server answering after {delay} ms:");
    println!("{:<28} {:>10} {:>13} {:>14}", "", "wall time", "peak threads", "peak memory");
    let address = address.as_str();
    let connect_std = || std::net::TcpStream::connect(address);
    measure("one OS thread per request", || {
        std::thread::scope(|s| {
            let threads: Vec<_> = (0..requests).map(|_| s.spawn(|| request(connect_std))).collect();
            threads.into_iter().map(|t| t.join().unwrap()).sum()
        })
    });
    measure(&format!("a pool of {pool} OS threads"), || {
        let next = AtomicU64::new(0);
        let work = || {
            (0..)
                .take_while(|_| next.fetch_add(1, Ordering::Relaxed) < requests)
                .map(|_| request(connect_std))
                .sum::<usize>()
        };
        std::thread::scope(|s| {
            (0..pool).map(|_| s.spawn(work)).collect::<Vec<_>>().into_iter().map(|t| t.join().unwrap()).sum()
        })
    });
    let runtime = green::Runtime::new()?;
    measure("one green thread per request", || {
        runtime.block_on(|| {
            green::scope(|s| {
                let threads: Vec<_> =
                    (0..requests).map(|_| s.spawn(|| request(|| green::net::TcpStream::connect(address)))).collect();
                threads.into_iter().map(|t| t.join().unwrap()).sum()
            })
        })
    });

    // CPU-bound: 2 jobs per core, on 1 worker and then on all.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let iterations = flag("--cpu-iterations", 100_000_000);
    println!("\nCPU-bound: {} jobs of {iterations} iterations each", 2 * cores);
    for workers in [1, cores] {
        let runtime = green::Runtime::builder().workers(workers).build()?;
        let start = Instant::now();
        runtime.block_on(|| {
            let jobs: Vec<_> =
                (0..2 * cores as u64).map(|seed| green::spawn(move || compute(seed, iterations))).collect();
            jobs.into_iter().for_each(|job| drop(job.join()));
        });
        println!("  on {workers} worker(s): {:>8.0} ms", start.elapsed().as_secs_f64() * 1e3);
    }

    // The cooperative caveat, on one worker.
    println!("\nA 1 ms heartbeat sharing one worker with a green thread that computes {iterations} iterations:");
    let runtime = green::Runtime::builder().workers(1).build()?;
    for how in ["never parking", "calling yield_now() every 100k", "inside green::offload"] {
        let stop = AtomicBool::new(false);
        let late = runtime.block_on(|| {
            green::scope(|s| {
                let heartbeat = s.spawn(|| heartbeat(&stop));
                green::sleep(Duration::from_millis(5));
                match how {
                    "never parking" => compute(1, iterations),
                    "inside green::offload" => green::offload(|| compute(1, iterations)),
                    _ => (0..iterations / 100_000).fold(1, |x, _| {
                        green::yield_now();
                        compute(x, 100_000)
                    }),
                };
                stop.store(true, Ordering::Relaxed);
                heartbeat.join().unwrap()
            })
        });
        println!("  computing {how:<31}: heartbeat up to {:>6.1} ms late", late.as_secs_f64() * 1e3);
    }
    drop(server.stdin.take());
    server.wait()?;
    Ok(())
}

/// Runs `job`, sampling the process's thread count and resident memory meanwhile, and prints a row.
fn measure(name: &str, job: impl FnOnce() -> usize) {
    let sampling = AtomicBool::new(true);
    let field = |status: &str, name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name));
        line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
    };
    let (elapsed, answered, (threads, kib)) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut peak = (0, 0);
            while sampling.load(Ordering::Relaxed) {
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                peak = (peak.0.max(field(&status, "Threads:")), peak.1.max(field(&status, "VmRSS:")));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let start = Instant::now();
        let answered = job();
        sampling.store(false, Ordering::Relaxed);
        (start.elapsed(), answered, sampler.join().unwrap())
    });
    let (milliseconds, mebibytes) = (elapsed.as_secs_f64() * 1e3, kib as f64 / 1024.0);
    println!("{name:<28} {milliseconds:>8.0} ms {threads:>13} {mebibytes:>11.1} MiB   ({answered} answered)");
}

/// One request: connect, send a byte, wait for the answer; 1 if answered. The same code serves std's
/// blocking sockets (blocking the OS thread) and `green::net`'s (parking only the green thread).
fn request<S: Read + Write>(connect: impl FnOnce() -> io::Result<S>) -> usize {
    let Ok(mut stream) = connect() else { return 0 };
    usize::from(stream.write_all(b"?").is_ok() && stream.read_exact(&mut [0]).is_ok())
}

/// The server (child process): answers each connection's byte after `delay`; exits when stdin closes.
fn serve(delay: Duration) -> io::Result<()> {
    std::thread::spawn(|| std::process::exit(io::stdin().read(&mut [0]).map_or(1, |_| 0)));
    green::run(|| {
        let listener = green::net::TcpListener::bind_with_backlog("127.0.0.1:0", 4096)?;
        println!("listening on {}", listener.local_addr()?);
        for stream in listener.incoming() {
            let mut stream = stream?;
            green::spawn(move || {
                if green::timeout(Duration::from_secs(10), || stream.read_exact(&mut [0])).is_ok_and(|r| r.is_ok()) {
                    green::sleep(delay);
                    let _ = stream.write_all(b"!");
                }
            });
        }
        Ok(())
    })
}

/// A pure computation: `iterations` rounds of xorshift.
fn compute(seed: u64, iterations: u64) -> u64 {
    let step = |x: u64| (x ^ (x << 13)) ^ ((x ^ (x << 13)) >> 7);
    std::hint::black_box((0..iterations).fold(seed | 1, |x, _| step(x) ^ (step(x) << 17)))
}

/// Sleeps 1 ms in a loop until `stop`; returns the worst lateness.
fn heartbeat(stop: &AtomicBool) -> Duration {
    let mut worst = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        green::sleep(Duration::from_millis(1));
        worst = worst.max(start.elapsed().saturating_sub(Duration::from_millis(1)));
    }
    worst
}

/// Raises the soft descriptor limit to the hard one (the server child inherits it): 10,000 connections need
/// 10,000 descriptors.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write one `rlimit`, a live local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
