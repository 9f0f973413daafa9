//! Fetching many URLs at once — what Python does with `asyncio.gather` and aiohttp, or
//! `concurrent.futures.as_completed` — with plain blocking-looking code: a 30-line HTTP/1.1 client over
//! `green::net`, one green thread per URL.
//!
//! Run it: `cargo run --release --example downloads [-- --urls 1000 --concurrency 50 --timeout-ms 500]`
//!
//! It starts a local HTTP server (in the same process) whose pages take 5–25 ms, a few of which fail once
//! with `503` and a few of which never answer in time, then fetches `--urls` pages from it:
//! - **a concurrency limit**: a `green::Group::with_limit(n)` runs at most n fetches at once (gevent's
//!   `Pool(n)`, an `asyncio.Semaphore`); `spawn` waits for room.
//! - **a per-request timeout**: `green::timeout` around the whole request interrupts whatever call it is in
//!   (connect, write or read) — `asyncio.wait_for`.
//! - **retries** with a growing pause, for errors and timeouts alike.
//! - **results as completed** (`join_next`, like `as_completed`) and **in input order** (put back by index,
//!   like `gather`), and a live progress line on stderr.
//!
//! What to look at: the wall time against the sum of all page times (what one-at-a-time code would take).

#[path = "shared/args.rs"]
mod args;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};

/// The outcome of fetching one URL: its body, the attempts it took and the time spent.
type Outcome = (Result<String, String>, u32, Duration);

fn main() -> io::Result<()> {
    let args = args::Args::parse(
        "downloads [--urls 1000] [--concurrency 50] [--timeout-ms 500]",
        &["--urls", "--concurrency", "--timeout-ms"],
    );
    let flag = |name: &str, default: u64| args.count(name, default);
    let (count, limit) = (flag("--urls", 1000) as usize, flag("--concurrency", 50) as usize);
    let timeout = Duration::from_millis(flag("--timeout-ms", 500));
    green::run(|| {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        green::spawn(move || serve(listener));
        let urls: Vec<String> = (0..count).map(|i| format!("http://{address}/page/{i}")).collect();

        let start = Instant::now();
        let done = Arc::new(AtomicUsize::new(0));
        let mut group = green::Group::with_limit(limit);
        for (index, url) in urls.iter().cloned().enumerate() {
            let done = done.clone();
            group.spawn(move || {
                let outcome = fetch_with_retries(&url, timeout, 3);
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                eprint!("\r{finished}/{count} fetched");
                (index, outcome)
            });
        }
        // As completed...
        let mut completion_order = Vec::new();
        let mut in_order: Vec<Option<Outcome>> = (0..count).map(|_| None).collect();
        while let Some(result) = group.join_next() {
            let (index, outcome) = result.expect("a fetch panicked");
            completion_order.push(index);
            in_order[index] = Some(outcome);
        }
        let elapsed = start.elapsed();
        eprintln!();
        // ...and in input order.
        let outcomes: Vec<Outcome> = in_order.into_iter().map(|outcome| outcome.expect("every URL fetched")).collect();
        let failed: Vec<usize> = (0..count).filter(|&i| outcomes[i].0.is_err()).collect();
        let retried = outcomes.iter().filter(|(result, attempts, _)| result.is_ok() && *attempts > 1).count();
        let sequential: Duration = outcomes.iter().map(|(_, _, time)| *time).sum();
        println!("first to complete: {:?}", &completion_order[..completion_order.len().min(10)]);
        for (index, (result, attempts, _)) in outcomes.iter().enumerate().take(3) {
            println!("{}: {result:?} after {attempts} attempt(s)", urls[index]);
        }
        println!("{} URLs, at most {limit} at once: {:.0} ms", count, elapsed.as_secs_f64() * 1e3);
        println!("  ok: {} ({retried} after a retry), failed: {} {:?}", count - failed.len(), failed.len(), failed);
        println!("  one at a time, the same fetches would take about {:.0} ms", sequential.as_secs_f64() * 1e3);
        Ok(())
    })
}

/// Fetches `url`, retrying up to `attempts` times after an error or a timeout (pausing 10 ms, 20 ms, ...).
fn fetch_with_retries(url: &str, timeout: Duration, attempts: u32) -> Outcome {
    let start = Instant::now();
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        match green::timeout(timeout, || get(url, attempt)) {
            Ok(Ok(body)) => return (Ok(body), attempt, start.elapsed()),
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_elapsed) => last_error = format!("no answer within {timeout:?}"),
        }
        green::sleep(Duration::from_millis(10) * attempt);
    }
    (Err(last_error), attempts, start.elapsed())
}

/// A minimal HTTP/1.1 GET of `http://host:port/path`: one connection per request (`Connection: close`),
/// the body is whatever follows the header section. It looks blocking; only this green thread waits.
fn get(url: &str, attempt: u32) -> io::Result<String> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let rest = url.strip_prefix("http://").ok_or_else(|| invalid("not an http:// URL"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Attempt: {attempt}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(|| invalid("no header section"))?;
    match head.split(' ').nth(1) {
        Some("200") => Ok(body.to_string()),
        Some(status) => Err(invalid(&format!("status {status}"))),
        None => Err(invalid("no status line")),
    }
}

/// The local server: page N takes 5–25 ms; pages 7, 107, ... fail with 503 on a first attempt; pages 13,
/// 263, 513, ... take 2 s (longer than the client's timeout). Closes each connection after its answer.
fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        green::spawn(move || {
            let mut request = Vec::new();
            let mut chunk = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") && request.len() < 8192 {
                match green::timeout(Duration::from_secs(5), || stream.read(&mut chunk)) {
                    Ok(Ok(read @ 1..)) => request.extend_from_slice(&chunk[..read]),
                    _ => return,
                }
            }
            let request = String::from_utf8_lossy(&request);
            let page: u64 = request.split(['/', ' ']).nth(3).and_then(|n| n.parse().ok()).unwrap_or(0);
            let first_attempt = request.contains("X-Attempt: 1\r\n");
            green::sleep(Duration::from_millis(if page % 250 == 13 { 2000 } else { 5 + page * 7919 % 21 }));
            let (status, body) = if page % 100 == 7 && first_attempt {
                ("503 Busy", String::new())
            } else {
                ("200 OK", format!("page {page}"))
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
    }
}
