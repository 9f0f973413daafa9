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

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::io::{self, BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use green::net::TcpStream;

fn main() -> io::Result<()> {
    env_logger::init();
    let args = args::Args::parse(
        "echo_server [--addr 127.0.0.1:7000] [--workers N] [--idle-timeout SECONDS] [--processes N]",
        &["--addr", "--workers", "--idle-timeout", "--processes", "--child"],
    );
    let (address, workers, processes) =
        (args.text("--addr", "127.0.0.1:7000"), args.workers(), args.count("--processes", 1));
    let (idle_timeout, child) = (args.seconds("--idle-timeout", 60.0), args.value("--child").is_some());
    let runtime = green::Runtime::builder().workers(workers).build()?;
    runtime.block_on(|| {
        let listener = server::listen(&address, processes > 1 || child);
        let address = listener.local_addr()?.to_string(); // the port resolved, if 0 was asked
                                                          // The other processes share the port this one resolved; each exits when our end of its stdin closes.
        let mut children = Vec::new();
        for _ in 1..processes {
            children.push(
                Command::new(std::env::current_exe()?)
                    .args(["--addr", &address, "--workers", &workers.to_string(), "--child", "yes"])
                    .args(["--idle-timeout", &idle_timeout.as_secs_f64().to_string()])
                    .stdin(Stdio::piped())
                    .spawn()?,
            );
        }
        if child {
            std::thread::spawn(|| {
                let _ = io::stdin().lock().read_line(&mut String::new());
                std::process::exit(0);
            });
        }
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
