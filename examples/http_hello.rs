//! A small HTTP/1.1 server answering `Hello, World!`, one green thread per connection, with keep-alive and
//! pipelining, written as blocking code with a twenty-line request parser.
//!
//! Run it:  `cargo run --release --example http_hello -- --addr 127.0.0.1:8080 [--workers N] [--timeout 30]`
//! Talk to it:
//! - `curl -v http://127.0.0.1:8080/` (twice on one connection: `curl -v http://127.0.0.1:8080/{a,b}`)
//! - `wrk -t2 -c100 -d5s http://127.0.0.1:8080/`
//! - `ab -k -c 100 -n 100000 http://127.0.0.1:8080/` (HTTP/1.0 with keep-alive; without `-k` each request
//!   gets its own connection)
//! - `printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' | nc 127.0.0.1 8080`
//!   (two pipelined requests, two responses)
//!
//! Each connection's green thread keeps one buffer: it reads, answers *every* complete request in the buffer
//! in order with one write (a pipelining client sends several before reading), keeps the incomplete tail,
//! and reads again. The connection stays open (HTTP/1.1's default, or HTTP/1.0 with
//! `Connection: keep-alive`) until the client asks to close, sends something malformed — a bad request line
//! or header, a header section over 8 KiB — which gets `400 Bad Request`, or stays silent for `--timeout`
//! seconds (a read timeout on the socket; each read is bounded, not the whole request). Request bodies
//! announced by `Content-Length` are skipped; `Transfer-Encoding` is refused with a 400.
//! Omitted for brevity: the `Date` header, and `Expect: 100-continue`.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use green::net::{TcpListener, TcpStream};

/// The largest header section (request line and headers) accepted, and the largest whole request.
const MAX_REQUEST: usize = 8 * 1024;

/// The body of every answer.
const HELLO: &str = "Hello, World!";

fn main() -> io::Result<()> {
    env_logger::init();
    let options = Options::parse(std::env::args().skip(1));
    let runtime = green::Runtime::builder().workers(options.workers).build()?;
    runtime.block_on(|| {
        let listener = TcpListener::bind(options.address.as_str())?;
        println!("listening on {}", listener.local_addr()?);
        for stream in listener.incoming() {
            let stream = stream?;
            let timeout = options.timeout;
            green::spawn(move || {
                if let Err(error) = serve(stream, timeout) {
                    log::debug!("connection ended: {error}");
                }
            });
        }
        unreachable!("incoming() never ends")
    })
}

/// Serves one connection: answers requests until the client closes, asks to close, errs or idles.
fn serve(mut stream: TcpStream, idle_timeout: Duration) -> io::Result<()> {
    stream.set_read_timeout(Some(idle_timeout))?;
    let mut received = Vec::with_capacity(4096);
    let mut responses = Vec::with_capacity(4096);
    loop {
        // Answer every complete request in the buffer, in order, with one write.
        let mut consumed = 0;
        let mut close = false;
        while !close {
            match parse(&received[consumed..]) {
                Ok(Some(request)) => {
                    respond(&mut responses, &request);
                    consumed += request.length;
                    close = !request.keep_alive;
                }
                Ok(None) => break, // incomplete: read more
                Err(reason) => {
                    log::debug!("bad request: {reason}");
                    bad_request(&mut responses, reason);
                    close = true;
                }
            }
        }
        received.drain(..consumed);
        stream.write_all(&responses)?;
        responses.clear();
        if close {
            return close_gracefully(stream);
        }

        let mut chunk = [0; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()), // the client closed
            Ok(read) => received.extend_from_slice(&chunk[..read]),
            // The read timeout expired (std reports it as `WouldBlock` on Unix): drop the idle client.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                log::debug!("dropping a client idle for {idle_timeout:?}");
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
}

/// What the server needs to know about one parsed request.
struct Request {
    /// Bytes it occupies in the buffer: header section and body.
    length: usize,
    /// Whether the connection stays open after the answer.
    keep_alive: bool,
    /// A `HEAD` request: the answer has headers only.
    head_only: bool,
}

/// Parses the request at the start of `bytes`: `Ok(None)` if it is not complete yet, `Err` if it is
/// malformed or too large.
fn parse(bytes: &[u8]) -> Result<Option<Request>, &'static str> {
    let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") else {
        return if bytes.len() > MAX_REQUEST { Err("header section too large") } else { Ok(None) };
    };
    let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "header section is not UTF-8")?;
    let mut lines = head.split("\r\n");

    // The request line: `METHOD SP TARGET SP VERSION`.
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    if !is_token(method) || target.is_empty() {
        return Err("malformed request line");
    }
    let http_1_1 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err("unsupported HTTP version"),
    };

    // The headers this server cares about.
    let (mut close, mut keep_alive, mut host, mut body) = (false, false, false, None);
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("header line without a colon")?;
        if !is_token(name) {
            return Err("malformed header name");
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("connection") {
            close |= value.split(',').any(|option| option.trim().eq_ignore_ascii_case("close"));
            keep_alive |= value.split(',').any(|option| option.trim().eq_ignore_ascii_case("keep-alive"));
        } else if name.eq_ignore_ascii_case("host") {
            host = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            let length = value.parse::<usize>().ok().filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
            if length.is_none() || body.is_some_and(|body| Some(body) != length) {
                return Err("malformed Content-Length");
            }
            body = length;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("Transfer-Encoding is not supported");
        }
    }
    if http_1_1 && !host {
        return Err("HTTP/1.1 request without Host");
    }

    let length = end + 4 + body.unwrap_or(0);
    if length > MAX_REQUEST {
        return Err("request too large");
    }
    if bytes.len() < length {
        return Ok(None); // the body is still on its way
    }
    Ok(Some(Request { length, keep_alive: !close && (http_1_1 || keep_alive), head_only: method == "HEAD" }))
}

/// Whether `text` is a non-empty HTTP token (a method or a header name).
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Appends the answer to `request`.
fn respond(out: &mut Vec<u8>, request: &Request) {
    let connection = if request.keep_alive { "keep-alive" } else { "close" };
    let body = if request.head_only { "" } else { HELLO };
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
        HELLO.len()
    );
}

/// Appends a `400 Bad Request` that closes the connection.
fn bad_request(out: &mut Vec<u8>, reason: &str) {
    let _ = write!(
        out,
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n\
         {reason}\n",
        reason.len() + 1
    );
}

/// Closes after the last answer without losing it: send end-of-file, then read and discard what the client
/// still sends (for up to two seconds) until it closes too. Closing a socket with unread input would send
/// a reset instead, and the client could lose the answer — the 400 for an oversized request above all.
fn close_gracefully(mut stream: TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let _ = green::timeout(Duration::from_secs(2), || io::copy(&mut stream, &mut io::sink()));
    Ok(())
}

/// The command line.
struct Options {
    /// Where to listen.
    address: String,
    /// Worker OS threads.
    workers: usize,
    /// How long a client may stay silent.
    timeout: Duration,
}

impl Options {
    /// Parses `--addr ADDRESS`, `--workers N` and `--timeout SECONDS`; exits with a usage message on
    /// anything else.
    fn parse(mut args: impl Iterator<Item = String>) -> Options {
        let mut options = Options {
            address: "127.0.0.1:8080".into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Duration::from_secs(30),
        };
        let usage = || -> ! {
            eprintln!("usage: http_hello [--addr 127.0.0.1:8080] [--workers N] [--timeout SECONDS]");
            std::process::exit(2)
        };
        while let Some(flag) = args.next() {
            let Some(value) = args.next() else { usage() };
            let number = || value.parse::<f64>().ok().filter(|n| *n > 0.0).unwrap_or_else(|| usage());
            match flag.as_str() {
                "--addr" => options.address = value,
                "--workers" => options.workers = number() as usize,
                "--timeout" => options.timeout = Duration::from_secs_f64(number()),
                _ => usage(),
            }
        }
        options
    }
}
