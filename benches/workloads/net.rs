//! The echo and HTTP servers, one per system, and the one client that drives them all.
//!
//! The servers do the same per-connection work: the echo server writes back what it reads (64-byte messages);
//! the HTTP server answers each complete request (ending in a blank line) with a fixed keep-alive
//! "Hello, World!" response. The green and OS-thread servers run the very same blocking handler
//! ([`serve_blocking`]) on a green thread or an OS thread per connection; the tokio server runs its async
//! twin ([`serve_async`]) as one task per connection. Every listener has a backlog of 1024 and every stream
//! has `TCP_NODELAY` set.
//!
//! The client ([`drive`]) is a tokio multi-thread runtime with 2 workers and one task per connection, each
//! sending a request and waiting for the whole answer (checking it) in a loop. It should run in another
//! process than the server, so that the two do not share a runtime.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes per echo message.
pub const MESSAGE: usize = 64;

/// What each client connection sends per HTTP request.
pub const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// What the server answers to each HTTP request.
pub const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\nHello, World!";

/// Listen backlog of every server.
pub const BACKLOG: i32 = 1024;

/// Which server to run or drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Write back every byte read.
    Echo,
    /// Answer each request with [`HTTP_RESPONSE`].
    Http,
}

impl Protocol {
    /// The name used on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Echo => "echo",
            Protocol::Http => "http",
        }
    }

    /// Parses [`Protocol::name`].
    pub fn parse(name: &str) -> Option<Protocol> {
        [Protocol::Echo, Protocol::Http].into_iter().find(|p| p.name() == name)
    }
}

/// An HTTP/1.1 keep-alive connection's state: bytes of a request not yet complete.
#[derive(Default)]
struct HttpConnection {
    /// Received bytes after the last complete request.
    pending: Vec<u8>,
    /// Responses to write for the requests completed by the last `received` call.
    responses: Vec<u8>,
}

impl HttpConnection {
    /// Takes in received bytes; returns the responses to write (empty while no request is complete).
    ///
    /// # Errors
    /// When a request grows beyond 8 KiB without ending.
    fn received(&mut self, data: &[u8]) -> io::Result<&[u8]> {
        self.pending.extend_from_slice(data);
        self.responses.clear();
        let mut start = 0;
        while let Some(end) = self.pending[start..].windows(4).position(|window| window == b"\r\n\r\n") {
            start += end + 4;
            self.responses.extend_from_slice(HTTP_RESPONSE);
        }
        self.pending.drain(..start);
        if self.pending.len() > 8 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request header too large"));
        }
        Ok(&self.responses)
    }
}

/// Serves one connection until the peer closes it: the handler of the green and OS-thread servers.
///
/// # Errors
/// The stream's read and write errors, and a malformed HTTP request.
pub fn serve_blocking<S: Read + Write>(protocol: Protocol, mut stream: S) -> io::Result<()> {
    let mut buffer = [0u8; 4096];
    let mut http = HttpConnection::default();
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        match protocol {
            Protocol::Echo => stream.write_all(&buffer[..read])?,
            Protocol::Http => {
                let responses = http.received(&buffer[..read])?;
                if !responses.is_empty() {
                    stream.write_all(responses)?;
                }
            }
        }
    }
}

/// [`serve_blocking`]'s async twin: the handler of the tokio server.
///
/// # Errors
/// As [`serve_blocking`].
pub async fn serve_async(protocol: Protocol, mut stream: tokio::net::TcpStream) -> io::Result<()> {
    let mut buffer = [0u8; 4096];
    let mut http = HttpConnection::default();
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        match protocol {
            Protocol::Echo => stream.write_all(&buffer[..read]).await?,
            Protocol::Http => {
                let responses = http.received(&buffer[..read])?;
                if !responses.is_empty() {
                    stream.write_all(responses).await?;
                }
            }
        }
    }
}

/// Binds a std listener on a free localhost port with a backlog of [`BACKLOG`] (std's `bind` uses 128).
pub fn std_listener() -> io::Result<std::net::TcpListener> {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    // SAFETY: listen(2) on a socket we own, with no pointers; calling it again on a listening socket only
    // changes its backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(listener)
}

/// The OS-thread server: one OS thread per connection, running [`serve_blocking`]. Never returns.
pub fn serve_std(protocol: Protocol, listener: std::net::TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        stream.set_nodelay(true)?;
        std::thread::spawn(move || serve_blocking(protocol, stream));
    }
    Ok(())
}

/// The tokio server: one task per connection, running [`serve_async`], on `runtime`. Never returns.
pub fn serve_tokio(
    runtime: &tokio::runtime::Runtime,
    protocol: Protocol,
    listener: std::net::TcpListener,
) -> io::Result<()> {
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(serve_async(protocol, stream));
        }
    })
}

/// What [`drive`] measured: requests per second in each sampling interval.
#[derive(Debug, Clone)]
pub struct Load {
    /// Requests completed per second, one entry per interval after the warm-up.
    pub rates: Vec<f64>,
}

/// One client connection: request, whole answer, check, count; until `stop`.
async fn client_connection(
    protocol: Protocol,
    mut stream: tokio::net::TcpStream,
    completed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let message = [0x5a_u8; MESSAGE];
    let (request, expected): (&[u8], &[u8]) = match protocol {
        Protocol::Echo => (&message, &message),
        Protocol::Http => (HTTP_REQUEST, HTTP_RESPONSE),
    };
    let mut answer = vec![0u8; expected.len()];
    while !stop.load(Ordering::Relaxed) {
        stream.write_all(request).await?;
        stream.read_exact(&mut answer).await?;
        if answer != expected {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong answer from the server"));
        }
        completed.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Drives the server at `address` with `connections` connections: a `warm_up`, then `samples` intervals of
/// `interval`, each giving one requests-per-second figure.
///
/// # Errors
/// When a connection fails, or the server answers wrongly.
pub fn drive(
    address: SocketAddr,
    protocol: Protocol,
    connections: usize,
    warm_up: Duration,
    samples: usize,
    interval: Duration,
) -> io::Result<Load> {
    let runtime = super::tokio_multi();
    runtime.block_on(async {
        let completed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut streams = Vec::with_capacity(connections);
        // One at a time, so the server's accept queue never overflows.
        for _ in 0..connections {
            let stream = tokio::net::TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            streams.push(stream);
        }
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|stream| tokio::spawn(client_connection(protocol, stream, completed.clone(), stop.clone())))
            .collect();
        tokio::time::sleep(warm_up).await;
        let mut rates = Vec::with_capacity(samples);
        let (mut last_count, mut last_time) = (completed.load(Ordering::Relaxed), Instant::now());
        for _ in 0..samples {
            tokio::time::sleep(interval).await;
            let (count, time) = (completed.load(Ordering::Relaxed), Instant::now());
            rates.push((count - last_count) as f64 / (time - last_time).as_secs_f64());
            (last_count, last_time) = (count, time);
        }
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.map_err(io::Error::other)??;
        }
        Ok(Load { rates })
    })
}
