//! A small HTTP/1.1 server answering `Hello, World!`, one green thread per connection, with keep-alive and
//! pipelining, written as blocking code with a twenty-line request parser.
//!
//! Run it:  `cargo run --release --example http_hello -- --addr 127.0.0.1:8080 [--workers N]
//!           [--idle-timeout 30] [--request-timeout 10]`
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
//! or header, a header section over 8 KiB — which gets `400 Bad Request`, or is too slow. Lines may end with
//! CRLF or a bare LF.
//!
//! Hostile clients: between requests a client may stay silent `--idle-timeout` seconds (default 30); once a
//! request has begun, all of it must arrive within `--request-timeout` seconds (default 10) or it gets
//! `408 Request Timeout` and the connection closes. The deadline is for the whole request, not for each
//! read, so a "slowloris" client sending one byte every few seconds is cut off too. When descriptors run
//! out, the accept loop sheds the connections quiet the longest (`examples/shared/server.rs`). Request bodies
//! announced by `Content-Length` are skipped; `Transfer-Encoding` is refused with a 400.
//! Omitted for brevity: the `Date` header, and `Expect: 100-continue`.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use green::net::TcpStream;

/// The largest header section (request line and headers) accepted, and the largest whole request.
const MAX_REQUEST: usize = 8 * 1024;

/// The body of every answer.
const HELLO: &str = "Hello, World!";

fn main() -> io::Result<()> {
    env_logger::init();
    let args = args::Args::parse(
        "http_hello [--addr 127.0.0.1:8080] [--workers N] [--idle-timeout SECONDS] [--request-timeout SECONDS]",
        &["--addr", "--workers", "--idle-timeout", "--request-timeout"],
    );
    let limits =
        Limits { idle: args.seconds("--idle-timeout", 30.0), request: args.seconds("--request-timeout", 10.0) };
    let runtime = green::Runtime::builder().workers(args.workers()).build()?;
    runtime.block_on(|| {
        let listener = server::listen(&args.text("--addr", "127.0.0.1:8080"), false);
        server::serve(&listener, move |stream, activity| {
            if let Err(error) = serve(stream, activity, limits) {
                log::debug!("connection ended: {error}");
            }
        })
    })
}

/// How long a client may take.
#[derive(Clone, Copy)]
struct Limits {
    /// From a request's first byte to its last.
    request: Duration,
    /// Between requests (before a request's first byte).
    idle: Duration,
}

/// Serves one connection: answers requests until the client closes, asks to close, errs, idles or is too
/// slow to send a request.
fn serve(mut stream: TcpStream, activity: server::Activity, limits: Limits) -> io::Result<()> {
    let mut received = Vec::with_capacity(4096);
    let mut responses = Vec::with_capacity(4096);
    let mut waiting_since = Instant::now(); // the end of the last answer, or the start of a request
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
        (&stream).write_all(&responses)?;
        if !responses.is_empty() {
            waiting_since = Instant::now();
            activity.touch();
        }
        responses.clear();
        if close {
            return close_gracefully(stream);
        }

        // The time left: for the rest of the request if it has begun, else for the next one to begin. The
        // whole request counts, not each read: a client sending a byte every few seconds is still cut off.
        let limit = if received.is_empty() { limits.idle } else { limits.request };
        let mut chunk = [0; 4096];
        match green::deadline(waiting_since + limit, || stream.read(&mut chunk)) {
            Ok(Ok(0)) => return Ok(()), // the client closed
            Ok(Ok(read)) => {
                if received.is_empty() {
                    waiting_since = Instant::now(); // a request begins
                }
                received.extend_from_slice(&chunk[..read]);
            }
            Ok(Err(error)) => return Err(error),
            Err(_elapsed) if received.is_empty() => {
                log::debug!("dropping a client idle for {:?}", limits.idle);
                return Ok(());
            }
            Err(_elapsed) => {
                log::debug!("dropping a client whose request took over {:?}", limits.request);
                stream.write_all(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
                return Ok(());
            }
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
    let Some((head, header_length)) = header_section(bytes) else {
        return if bytes.len() > MAX_REQUEST { Err("header section too large") } else { Ok(None) };
    };
    let head = std::str::from_utf8(head).map_err(|_| "header section is not UTF-8")?;
    // Lines end with CRLF, or a bare LF as many clients (and `nc`) send and common servers accept.
    let mut lines = head.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line));

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

    let length = header_length + body.unwrap_or(0);
    if length > MAX_REQUEST {
        return Err("request too large");
    }
    if bytes.len() < length {
        return Ok(None); // the body is still on its way
    }
    Ok(Some(Request { length, keep_alive: !close && (http_1_1 || keep_alive), head_only: method == "HEAD" }))
}

/// Finds the end of the header section (the first empty line, CRLF or LF): returns the header lines without
/// the empty line, and the length of the whole section.
fn header_section(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let mut line_start = 0;
    for (index, _) in bytes.iter().enumerate().filter(|(_, &byte)| byte == b'\n') {
        if matches!(&bytes[line_start..index], b"" | b"\r") {
            return Some((&bytes[..line_start.saturating_sub(1)], index + 1));
        }
        line_start = index + 1;
    }
    None
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
