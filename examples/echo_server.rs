//! An echo server: one green thread per connection, written as plain blocking code.
//!
//! Run it:   `cargo run --release --example echo_server -- --addr 127.0.0.1:7000 --workers 2`
//! Talk to it: `nc 127.0.0.1 7000` (type a line, get it back), or load it with the green load generator:
//! `cargo run --release --example echo_client -- --addr 127.0.0.1:7000 --connections 100 --seconds 5`
//!
//! Each connection gets a green thread running the loop you would write with `std::net` and one OS thread
//! per connection: `read` what arrived, `write_all` it back. Here `read` parks only that green thread, so
//! thousands of connections share `--workers` OS threads (default: one per core). The accept loop uses
//! `incoming()`, which rides out transient accept errors: when the process runs out of descriptors
//! (`EMFILE`) it logs one warning and pauses instead of spinning or dying (see `green::net`'s docs).
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).
//! Log connections with `RUST_LOG=debug`.

use std::io::{self, Read, Write};

use green::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    env_logger::init();
    let options = Options::parse(std::env::args().skip(1));
    let runtime = green::Runtime::builder().workers(options.workers).build()?;
    runtime.block_on(|| serve(&options.address))
}

/// Accepts connections forever, each served by its own green thread.
fn serve(address: &str) -> io::Result<()> {
    let listener = TcpListener::bind(address)?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        green::spawn(move || {
            let peer = stream.peer_addr();
            match echo(stream) {
                Ok(bytes) => log::debug!("{peer:?}: closed after echoing {bytes} bytes"),
                Err(error) => log::debug!("{peer:?}: {error}"),
            }
        });
    }
    unreachable!("incoming() never ends")
}

/// Writes back everything the peer sends until it closes; returns the byte count.
fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buffer = [0; 4096];
    let mut total = 0;
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(total);
        }
        stream.write_all(&buffer[..read])?;
        total += read as u64;
    }
}

/// The command line.
struct Options {
    /// Where to listen.
    address: String,
    /// Worker OS threads.
    workers: usize,
}

impl Options {
    /// Parses `--addr ADDRESS` and `--workers N`; exits with a usage message on anything else.
    fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut options = Options {
            address: "127.0.0.1:7000".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        while let Some(flag) = args.next() {
            let value = args.next();
            match (flag.as_str(), value) {
                ("--addr", Some(value)) => options.address = value,
                ("--workers", Some(value)) if value.parse::<usize>().is_ok_and(|n| n > 0) => {
                    options.workers = value.parse().unwrap();
                }
                _ => {
                    eprintln!("usage: echo_server [--addr 127.0.0.1:7000] [--workers N]");
                    std::process::exit(2);
                }
            }
        }
        options
    }
}
