//! The echo workload at 100 and 1,000 connections with 64-byte messages, against the same echo server
//! written four ways — green threads, OS threads (thread per connection), tokio multi-thread and
//! current-thread — driven by the same client. Figures are round trips (requests) per second.
//!
//! Run: `cargo bench --bench net` (about two minutes). Filter by id substring:
//! `cargo bench --bench net -- green`. Tune with `NET_BENCH_RUNS` (default 5) and `NET_BENCH_SECONDS`
//! (default 2). Run without `--bench` (as `cargo test --benches` does) it only checks that every system
//! answers, in a fraction of a second. To profile one server by hand, run it and the client separately:
//! `net --serve green 127.0.0.1:7000` and `net --client 127.0.0.1:7000 <connections> <seconds>` (the
//! binary is `target/release/deps/net-*`).
//!
//! Method, for each connection count:
//! 1. Start each server in its own child process (this binary re-executed with `--serve <system>`), bound to
//!    a free port; the servers are in `workloads/echo.rs`.
//! 2. Connect the client (one OS thread, one mio `Poll`, see `workloads/echo.rs`) to each, and warm up for
//!    one second per system.
//! 3. Take `NET_BENCH_RUNS` runs of `NET_BENCH_SECONDS`, interleaving the systems (green, threads, tokio,
//!    green, ...) so that a noisy neighbour on the machine hurts all of them alike; report each system's
//!    median and the spread of its runs, and the server's CPU time per request (user and system time of
//!    the server process, all threads, from `/proc/<pid>/stat`, divided by the round trips): a figure that
//!    a busy machine disturbs less than requests per second.
//! 4. Count each server's system calls per request, by kind, during one more second (perf's syscall
//!    tracepoints, as in the report: `report/syscalls.rs`; skipped with the reason where perf cannot attach).
//!
//! Client and servers share the machine's cores, as in any loopback benchmark; the client is the cheapest
//! one possible, and the same for every system.

#[path = "workloads/echo.rs"]
mod echo;
#[path = "report/syscalls.rs"]
#[allow(dead_code)]
mod syscalls;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The systems compared, by the id they have in the output and on the `--serve` command line.
const SYSTEMS: [&str; 4] = ["green", "std_thread", "tokio_multi_thread", "tokio_current_thread"];

/// Connection counts measured.
const CONNECTIONS: [usize; 2] = [100, 1_000];

/// Bytes per message.
const SIZE: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|arg| arg == "--serve") {
        let system = args.get(at + 1).map(String::as_str).unwrap_or_default();
        let address = args.get(at + 2).map(String::as_str).unwrap_or("127.0.0.1:0");
        let served = match system {
            "green" => echo::serve_green(address),
            "std_thread" => echo::serve_threads(address),
            "tokio_multi_thread" => echo::serve_tokio(address, true),
            "tokio_current_thread" => echo::serve_tokio(address, false),
            _ => panic!("unknown system {system:?}"),
        };
        panic!("the {system} server stopped: {served:?}");
    }
    if let [flag, address, connections, seconds] = args.as_slice() {
        if flag == "--client" {
            // For profiling a server by hand: `net --client 127.0.0.1:7000 100 5`.
            let address = address.parse().expect("--client <address> <connections> <seconds>");
            let (connections, seconds) = (connections.parse().unwrap(), seconds.parse().unwrap());
            let rate = echo::run_client(address, connections, Duration::from_secs_f64(seconds), SIZE).unwrap();
            println!("{rate:.0} requests/s");
            return;
        }
    }
    let filters: Vec<&str> = args.iter().filter(|arg| !arg.starts_with('-')).map(String::as_str).collect();
    if !args.iter().any(|arg| arg == "--bench") {
        return smoke_test();
    }
    let runs = setting("NET_BENCH_RUNS", 5.0) as usize;
    let seconds = Duration::from_secs_f64(setting("NET_BENCH_SECONDS", 2.0));
    let mut table: Vec<Row> = Vec::new();
    for connections in CONNECTIONS {
        let ids: Vec<(String, &'static str)> = SYSTEMS
            .iter()
            .map(|system| (format!("net/echo_{connections}/{system}"), *system))
            .filter(|(id, _)| filters.is_empty() || filters.iter().any(|filter| id.contains(filter)))
            .collect();
        if ids.is_empty() {
            continue;
        }
        // Steps 1 and 2: servers, connections, warm-up.
        let mut setups = Vec::new();
        for (id, system) in ids {
            let server = Server::start(system);
            let mut client = echo::Client::connect(server.address, connections, SIZE)
                .unwrap_or_else(|error| panic!("{id}: cannot connect: {error}"));
            client.run(Duration::from_secs(1)).unwrap_or_else(|error| panic!("{id}: warm-up: {error}"));
            setups.push((id, system, server, client, Vec::new()));
        }
        // Step 3: interleaved runs.
        for _ in 0..runs {
            for (id, _, server, client, samples) in &mut setups {
                let cpu = server.cpu_time();
                let measured = client.run(seconds).unwrap_or_else(|error| panic!("{id}: {error}"));
                let cpu = server.cpu_time() - cpu;
                samples.push((measured.per_second(), cpu.as_secs_f64() * 1e6 / measured.round_trips.max(1) as f64));
            }
        }
        // Step 4: one more second per system with its system calls counted.
        for (id, _, server, client, _) in &mut setups {
            println!("{id:<34} system calls per request: {}", count_syscalls(server, client));
        }
        for (id, system, server, client, samples) in setups {
            drop(client); // close the connections before killing the server
            drop(server);
            let rates = median_and_range(samples.iter().map(|sample| sample.0));
            let cpu = median_and_range(samples.iter().map(|sample| sample.1));
            println!(
                "{id:<34} median {:>7.0} requests/s (runs {:.0} .. {:.0}); server CPU {:.1} µs/request ({:.1} .. {:.1})",
                rates.0, rates.1, rates.2, cpu.0, cpu.1, cpu.2
            );
            table.push(Row { connections, system, rate: rates.0, cpu: cpu.0 });
        }
    }
    summary(&table, runs, seconds);
}

/// The server's system calls per request during one second of the client, by kind (perf's syscall
/// tracepoints, as in the report), or why they could not be counted.
fn count_syscalls(server: &Server, client: &mut echo::Client) -> String {
    let counted = syscalls::Counter::attach(server.child.id()).and_then(|mut counter| {
        counter.enable()?;
        let measured = client.run(Duration::from_secs(1)).map_err(|error| error.to_string())?;
        Ok((counter.finish()?, measured.round_trips.max(1) as f64))
    });
    match counted {
        Ok((counts, requests)) => {
            let kinds: Vec<String> = counts
                .by_kind
                .iter()
                .filter(|(_, &count)| count as f64 / requests >= 0.001)
                .map(|(kind, &count)| format!("{kind} {:.3}", count as f64 / requests))
                .collect();
            format!("{:.3} ({})", counts.total as f64 / requests, kinds.join(", "))
        }
        Err(reason) => format!("not counted: {reason}"),
    }
}

/// One system's medians at one connection count.
struct Row {
    /// Connections.
    connections: usize,
    /// Which server.
    system: &'static str,
    /// Median round trips per second.
    rate: f64,
    /// Median server CPU time (user and system, all threads) per round trip, in microseconds.
    cpu: f64,
}

/// The median, smallest and largest of `values`.
fn median_and_range(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

/// Prints the medians side by side, with green's ratio to each other system.
fn summary(table: &[Row], runs: usize, seconds: Duration) {
    println!("\necho, {SIZE}-byte messages, median of {runs} runs of {seconds:?}; requests/s (server CPU µs/request):");
    println!(
        "{:>11} {:>16} {:>16} {:>18} {:>20} {:>11} {:>13} {:>16}",
        "connections",
        "green",
        "std_thread",
        "tokio_multi_thread",
        "tokio_current_thread",
        "green/multi",
        "green/current",
        "green/std_thread"
    );
    for connections in CONNECTIONS {
        let find = |system: &str| table.iter().find(|row| row.connections == connections && row.system == system);
        let cell =
            |system: &str| find(system).map_or("-".to_string(), |row| format!("{:.0} ({:.1})", row.rate, row.cpu));
        let ratio = |other: &str| match (find("green"), find(other)) {
            (Some(green), Some(other)) => format!("{:.2}x", green.rate / other.rate),
            _ => "-".to_string(),
        };
        println!(
            "{connections:>11} {:>16} {:>16} {:>18} {:>20} {:>11} {:>13} {:>16}",
            cell("green"),
            cell("std_thread"),
            cell("tokio_multi_thread"),
            cell("tokio_current_thread"),
            ratio("tokio_multi_thread"),
            ratio("tokio_current_thread"),
            ratio("std_thread")
        );
    }
}

/// Test mode: every server answers a few round trips on a few connections.
fn smoke_test() {
    for system in SYSTEMS {
        let server = Server::start(system);
        let rate = echo::run_client(server.address, 10, Duration::from_millis(100), SIZE)
            .unwrap_or_else(|error| panic!("{system}: {error}"));
        assert!(rate > 0.0, "{system}: no round trip completed");
        println!("net/{system}: ok");
    }
}

/// A number from the environment, or `default`.
fn setting(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).filter(|value: &f64| *value > 0.0).unwrap_or(default)
}

/// A server child process, killed when dropped.
struct Server {
    /// This binary running `--serve <system>`.
    child: Child,
    /// Where it listens.
    address: SocketAddr,
}

impl Server {
    /// Starts the `system` server on a free port and waits until it listens.
    fn start(system: &str) -> Server {
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut child = Command::new(exe)
            .args(["--serve", system, "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the server's address");
        let address = line
            .strip_prefix("listening on ")
            .and_then(|address| address.trim().parse().ok())
            .unwrap_or_else(|| panic!("{system}: expected `listening on <address>`, got {line:?}"));
        Server { child, address }
    }
}

impl Server {
    /// CPU time the server has used so far, all threads, user and system (from `/proc/<pid>/stat`).
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("read the server's stat");
        // Fields after the command name (which ends with the last ')'): state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_secs_f64(ticks as f64 / per_second as f64)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
