//! An echo server: one green thread per connection, written as plain blocking code.
//!
//! Run it:   `cargo run --release --example echo_server -- --addr 127.0.0.1:7000 --workers 2`
//! Talk to it: `nc 127.0.0.1 7000` (type a line, get it back), or load it with the green load generator:
//! `cargo run --release --example echo_client -- --addr 127.0.0.1:7000 --connections 100 --seconds 5`
//!
//! Each connection gets a green thread running the loop you would write with `std::net` and one OS thread
//! per connection: `read` what arrived, `write_all` it back. Here `read` parks only that green thread, so
//! thousands of connections share `--workers` OS threads (default: one per core).
//!
//! Hostile clients: a connection silent for `--idle-timeout` seconds (default 60) is closed, and when the
//! process runs out of descriptors the accept loop sheds the connections quiet the longest instead of
//! refusing new clients forever (`examples/shared/server.rs`).
//!
//! Scaling out: `--processes N` starts N processes that each listen on the same port with `SO_REUSEPORT`;
//! the kernel spreads new connections between them. This is how a service built on `green` (a one-process
//! runtime) uses more machines' worth of cores or survives a crashed process: several processes, one port.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).
//! Log connections with `RUST_LOG=debug`.

#[path = "shared/server.rs"]
mod server;

use std::io::{self, BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use green::net::TcpStream;

fn main() -> io::Result<()> {
    env_logger::init();
    let options = Options::parse(std::env::args().skip(1));
    let runtime = green::Runtime::builder().workers(options.workers).build()?;
    runtime.block_on(|| {
        let listener = server::listen(&options.address, options.processes > 1 || options.child);
        let address = listener.local_addr()?.to_string();
        // The other processes share the port this one resolved; each exits when our end of its stdin closes.
        let mut children = Vec::new();
        for _ in 1..options.processes {
            children.push(
                Command::new(std::env::current_exe()?)
                    .args(["--addr", &address, "--workers", &options.workers.to_string(), "--child"])
                    .args(["--idle-timeout", &options.idle_timeout.as_secs_f64().to_string()])
                    .stdin(Stdio::piped())
                    .spawn()?,
            );
        }
        if options.child {
            std::thread::spawn(|| {
                let _ = io::stdin().lock().read_line(&mut String::new());
                std::process::exit(0);
            });
        }
        let idle_timeout = options.idle_timeout;
        server::serve(&listener, move |stream, activity| {
            let peer = stream.peer_addr();
            match echo(stream, activity, idle_timeout) {
                Ok(bytes) => log::debug!("{peer:?}: closed after echoing {bytes} bytes"),
                Err(error) => log::debug!("{peer:?}: {error}"),
            }
        })
    })
}

/// Writes back everything the peer sends until it closes or stays silent for `idle_timeout`; returns the
/// byte count.
fn echo(stream: TcpStream, activity: server::Activity, idle_timeout: Duration) -> io::Result<u64> {
    stream.set_read_timeout(Some(idle_timeout))?;
    let mut buffer = [0; 4096];
    let mut total = 0;
    loop {
        // An expired read timeout is an error (`WouldBlock`, as std reports it): the connection closes.
        let read = (&stream).read(&mut buffer)?;
        if read == 0 {
            return Ok(total);
        }
        activity.touch();
        (&stream).write_all(&buffer[..read])?;
        total += read as u64;
    }
}

/// The command line.
struct Options {
    /// Where to listen.
    address: String,
    /// Worker OS threads.
    workers: usize,
    /// How long a connection may stay silent.
    idle_timeout: Duration,
    /// Processes sharing the port.
    processes: usize,
    /// Started by `--processes`: share the port, exit when stdin closes.
    child: bool,
}

impl Options {
    /// Parses `--addr ADDRESS`, `--workers N`, `--idle-timeout SECONDS` and `--processes N`; exits with a usage
    /// message on anything else.
    fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut options = Options {
            address: "127.0.0.1:7000".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            idle_timeout: Duration::from_secs(60),
            processes: 1,
            child: false,
        };
        let usage = || -> ! {
            eprintln!(
                "usage: echo_server [--addr 127.0.0.1:7000] [--workers N] [--idle-timeout SECONDS] [--processes N]"
            );
            std::process::exit(2)
        };
        while let Some(flag) = args.next() {
            if flag == "--child" {
                options.child = true;
                continue;
            }
            let Some(value) = args.next() else { usage() };
            let number = || value.parse::<f64>().ok().filter(|n| *n > 0.0).unwrap_or_else(|| usage());
            match flag.as_str() {
                "--addr" => options.address = value,
                "--workers" => options.workers = number() as usize,
                "--idle-timeout" => options.idle_timeout = Duration::from_secs_f64(number()),
                "--processes" => options.processes = number() as usize,
                _ => usage(),
            }
        }
        options
    }
}
