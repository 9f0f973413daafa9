//! A load generator for echo servers, built on green threads: each connection is a green thread doing
//! round trips (write a message, read exactly as many bytes back) as fast as the server answers.
//!
//! Start a server:  `cargo run --release --example echo_server -- --addr 127.0.0.1:7000`
//! Then load it:    `cargo run --release --example echo_client -- --addr 127.0.0.1:7000 --connections 100
//!                   --seconds 5 --size 64`
//!
//! It prints the round trips per second over all connections, and the median (p50) and 99th percentile
//! (p99) latency of one round trip. Each green thread records its own latencies in its own `Vec` (no sharing,
//! no locks while measuring); the main green thread joins them all, merges the vectors and sorts once.
//! Works against any echo server (`socat TCP-LISTEN:7000,fork EXEC:cat` too).

#[path = "shared/args.rs"]
mod args;

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use green::net::TcpStream;

fn main() {
    env_logger::init();
    let args = args::Args::parse(
        "echo_client [--addr 127.0.0.1:7000] [--connections 50] [--seconds 5] [--size 64]",
        &["--addr", "--connections", "--seconds", "--size"],
    );
    let options = Options {
        address: args.text("--addr", "127.0.0.1:7000"),
        connections: args.count("--connections", 50) as usize,
        duration: args.seconds("--seconds", 5.0),
        size: args.count("--size", 64) as usize,
    };
    if let Err(error) = green::run(|| run(&options)) {
        eprintln!("echo_client: {error}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> io::Result<()> {
    println!("target {}: opening {} connections", options.address, options.connections);
    // Connect everything first, so the measured window holds only round trips.
    let mut streams = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let stream = TcpStream::connect(options.address.as_str()).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot connect to {}: {error}; is a server running there? (--addr)", options.address),
            )
        })?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let start = Instant::now();
    let end = start + options.duration;
    let size = options.size;
    let connections: Vec<_> =
        streams.into_iter().map(|stream| green::spawn(move || round_trips(stream, size, end))).collect();
    let mut latencies = Vec::new();
    for connection in connections {
        let mine = connection.join().expect("a connection's green thread panicked")?;
        latencies.extend(mine);
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let percentile = |p: usize| latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)));
    println!(
        "{} connections, {} byte messages, {:.1} s: {} round trips",
        options.connections,
        options.size,
        elapsed.as_secs_f64(),
        latencies.len()
    );
    println!("requests/s: {:.0}", latencies.len() as f64 / elapsed.as_secs_f64());
    if let (Some(p50), Some(p99)) = (percentile(50), percentile(99)) {
        println!("latency p50: {p50:?}  p99: {p99:?}");
    }
    Ok(())
}

/// Does round trips on one connection until `end`; returns each one's latency.
fn round_trips(mut stream: TcpStream, size: usize, end: Instant) -> io::Result<Vec<Duration>> {
    let message: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut reply = vec![0; size];
    let mut latencies = Vec::new();
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(latencies);
        }
        stream.write_all(&message)?;
        stream.read_exact(&mut reply)?;
        latencies.push(sent.elapsed());
        if reply != message {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the echo differs from the message"));
        }
    }
}

/// The command line.
struct Options {
    /// The echo server.
    address: String,
    /// Concurrent connections, one green thread each.
    connections: usize,
    /// How long to send.
    duration: Duration,
    /// Bytes per message.
    size: usize,
}
