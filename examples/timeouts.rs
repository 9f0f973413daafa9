//! Timeouts and cancellation around blocking socket calls: `green::timeout` and `JoinHandle::cancel`.
//!
//! Run it: `cargo run --example timeouts`
//!
//! A tiny server answers each request after the delay the request asks for. The client code is plain
//! blocking code (`connect`, `write_all`, `read_line`) that knows nothing about timeouts; wrapping a call in
//! `green::timeout(100 ms, || ...)` bounds it from the outside:
//!
//! 1. A slow call (the server waits 500 ms): the `read_line` blocked inside is interrupted at 100 ms — it
//!    unwinds, the connection is dropped on the way out, and `timeout` returns `Err(Elapsed)`.
//! 2. A fast call (10 ms) returns its answer as `Ok`.
//! 3. A green thread blocked in a socket read that would last a minute is cancelled with
//!    `JoinHandle::cancel`: the read unwinds at once and `join` reports the cancellation.
//!
//! Compare with `set_read_timeout`, which bounds each read separately and must be set on every socket: a
//! `green::timeout` bounds the whole call — connect, writes and reads, however many there are.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};

fn main() -> io::Result<()> {
    env_logger::init();
    green::run(|| {
        let server = slow_server()?;
        println!("server listening on {server}");

        let start = Instant::now();
        match green::timeout(Duration::from_millis(100), || call(server, 500)) {
            Err(elapsed) => println!("slow call: timed out after 100 ms: {elapsed} ({:?})", start.elapsed()),
            Ok(answer) => println!("slow call: unexpected answer {answer:?}"),
        }

        let start = Instant::now();
        match green::timeout(Duration::from_millis(100), || call(server, 10)) {
            Ok(answer) => println!("fast call: {} ({:?})", answer?, start.elapsed()),
            Err(_) => println!("fast call: unexpectedly timed out"),
        }

        let start = Instant::now();
        let reader = green::spawn(move || call(server, 60_000));
        green::sleep(Duration::from_millis(50)); // let it block in `read_line`
        reader.cancel();
        match reader.join() {
            Err(payload) if green::is_cancelled(payload.as_ref()) => {
                println!("blocked reader: cancelled ({:?})", start.elapsed())
            }
            other => println!("blocked reader: unexpected {other:?}"),
        }
        Ok(())
    })
}

/// Sends `delay_ms` to the server and waits for its answer line.
fn call(server: SocketAddr, delay_ms: u64) -> io::Result<String> {
    let mut stream = TcpStream::connect(server)?;
    writeln!(stream, "{delay_ms}")?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer.trim_end().to_string())
}

/// Starts a server on a free port: for each connection, read a number of milliseconds, sleep that long,
/// answer. Returns its address.
fn slow_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    green::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            green::spawn(move || -> io::Result<()> {
                let mut request = String::new();
                BufReader::new(&stream).read_line(&mut request)?;
                let delay = request.trim().parse().unwrap_or(0);
                green::sleep(Duration::from_millis(delay));
                writeln!(&stream, "done after {delay} ms")
            });
        }
    });
    Ok(address)
}
