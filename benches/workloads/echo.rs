//! The echo workload: one echo server per system, and one client that drives all of them.
//!
//! The servers do the same thing the way each system is meant to be used: accept in a loop, hand each
//! connection to its own thread of control, which reads up to 4 KiB and writes it back until the peer
//! closes. They share the listener setup ([`listen`]: backlog 1024, as `green::net`'s own listener has) and
//! set `TCP_NODELAY` on every accepted stream.
//!
//! - [`serve_green`]: a `green` runtime with the default worker count, one green thread per connection
//!   (the `echo_server` example's loop).
//! - [`serve_threads`]: `std::net`, one OS thread per connection (default stack size).
//! - [`serve_tokio`]: a tokio multi-thread runtime with the default worker count, or a current-thread one,
//!   one task per connection.
//!
//! The client ([`Client`], [`run_client`]) is one OS thread with a bare mio `Poll`: no runtime, no thread
//! per connection, so it spends as little CPU as a client can and shares no scheduler with any server. Each
//! connection keeps one message in flight: write it, read the whole echo back, check it, count one round
//! trip, write the next. [`Client::connect_with`] sends any fixed request and expects a fixed response
//! instead (the report's HTTP workload drives its servers with it). Run the server in another process (the `net` bench re-executes itself) so the two
//! share only the machine.
//!
//! Each `serve_*` prints `listening on <address>` on standard output once bound, then serves forever.

#![allow(dead_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Bytes each server reads at most per call.
const BUFFER: usize = 4096;

/// The listen backlog of every server (std's `bind` uses 128; a burst of 1,000 connects needs more).
const BACKLOG: i32 = 1024;

/// Binds a std listener on `address` with a backlog of [`BACKLOG`], in blocking mode, and prints
/// `listening on <address>`.
pub fn listen(address: &str) -> io::Result<std::net::TcpListener> {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind(address)?;
    // SAFETY: listen(2) on a socket this function owns, with no pointers; on a socket that is already
    // listening it only changes the backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    println!("listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// Echoes until the peer closes: the loop of the green and OS-thread servers.
fn echo(mut stream: impl Read + Write) -> io::Result<()> {
    let mut buffer = [0; BUFFER];
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        stream.write_all(&buffer[..read])?;
    }
}

/// The green server: one green thread per connection. Serves forever.
pub fn serve_green(address: &str) -> io::Result<()> {
    serve_green_with(address, echo)
}

/// A green server running `connection` in one green thread per connection (shared with the HTTP workload).
pub fn serve_green_with(address: &str, connection: fn(green::net::TcpStream) -> io::Result<()>) -> io::Result<()> {
    let listener = green::net::TcpListener::from(listen(address)?);
    green::Runtime::new()?.block_on(|| {
        for stream in listener.incoming() {
            let stream = stream?;
            stream.set_nodelay(true)?;
            green::spawn(move || connection(stream));
        }
        Ok(())
    })
}

/// The OS-thread server: one OS thread per connection. Serves forever.
pub fn serve_threads(address: &str) -> io::Result<()> {
    serve_threads_with(address, echo)
}

/// An OS-thread server running `connection` in one OS thread per connection (shared with the HTTP workload).
pub fn serve_threads_with(address: &str, connection: fn(std::net::TcpStream) -> io::Result<()>) -> io::Result<()> {
    let listener = listen(address)?;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            // Out of descriptors or an aborted connection: keep serving the others.
            Err(error) => {
                eprintln!("accept: {error}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        stream.set_nodelay(true)?;
        std::thread::spawn(move || connection(stream));
    }
    Ok(())
}

/// The tokio server: one task per connection on a multi-thread runtime (default worker count), or on a
/// current-thread runtime when `multi_thread` is false. Serves forever.
pub fn serve_tokio(address: &str, multi_thread: bool) -> io::Result<()> {
    serve_tokio_with(address, multi_thread, echo_async)
}

/// [`echo`]'s async twin: the task of the tokio servers.
async fn echo_async(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = [0; BUFFER];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        stream.write_all(&buffer[..read]).await?;
    }
}

/// A tokio server (multi-thread or current-thread runtime) running `connection` as one task per connection
/// (shared with the HTTP workload).
pub fn serve_tokio_with<F, Fut>(address: &str, multi_thread: bool, connection: F) -> io::Result<()>
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = io::Result<()>> + Send + 'static,
{
    let listener = listen(address)?;
    listener.set_nonblocking(true)?;
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    eprintln!("accept: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            stream.set_nodelay(true)?;
            tokio::spawn(connection(stream));
        }
    })
}

/// Connects `connections` connections to `address`, does round trips of `size`-byte messages on all of
/// them for `duration`, and returns the round trips per second.
///
/// # Errors
/// When a connection fails or an echo differs from its message.
pub fn run_client(address: SocketAddr, connections: usize, duration: Duration, size: usize) -> io::Result<f64> {
    Ok(Client::connect(address, connections, size)?.run(duration)?.per_second())
}

/// What one [`Client::run`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Round trips completed.
    pub round_trips: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl Measured {
    /// Round trips per second.
    pub fn per_second(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64()
    }
}

/// The echo client: many connections on one OS thread and one mio `Poll`. Keeps its connections, and
/// each one's message in flight, from one [`run`](Client::run) to the next.
pub struct Client {
    /// The poller every connection is registered with (token = index in `connections`).
    poll: Poll,
    /// Reused across `run`s.
    events: Events,
    /// The tokens of one `poll`'s events (reused).
    ready: Vec<usize>,
    /// Every connection's state.
    connections: Vec<Connection>,
    /// The message every connection sends.
    request: Vec<u8>,
    /// What every connection expects back for each request (for echo, the request itself).
    response: Vec<u8>,
}

/// One client connection with one message in flight.
struct Connection {
    /// The socket, non-blocking.
    stream: TcpStream,
    /// Bytes of the current message written so far.
    written: usize,
    /// Bytes of its echo read so far (into `echo`).
    received: usize,
    /// The echo (or response) being read, as long as the expected response.
    echo: Vec<u8>,
    /// Whether the registration includes WRITABLE (only while a write is stuck).
    waiting_to_write: bool,
}

impl Client {
    /// Opens `connections` connections, one at a time (so the server's accept queue never overflows), and
    /// sends the first message on each.
    pub fn connect(address: SocketAddr, connections: usize, size: usize) -> io::Result<Client> {
        let message: Vec<u8> = (0..size).map(|i| i as u8).collect();
        Client::connect_with(address, connections, message.clone(), message)
    }

    /// Like [`connect`](Client::connect), but each round trip sends `request` and expects exactly `response`
    /// back (which the server must send only in answer to a whole request).
    pub fn connect_with(
        address: SocketAddr,
        connections: usize,
        request: Vec<u8>,
        response: Vec<u8>,
    ) -> io::Result<Client> {
        let poll = Poll::new()?;
        let size = response.len();
        let mut client = Client {
            poll,
            events: Events::with_capacity(1024),
            ready: Vec::new(),
            connections: Vec::new(),
            request,
            response,
        };
        for index in 0..connections {
            let stream = std::net::TcpStream::connect(address)?;
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
            let mut stream = TcpStream::from_std(stream);
            client.poll.registry().register(&mut stream, Token(index), Interest::READABLE)?;
            let echo = vec![0; size];
            client.connections.push(Connection { stream, written: 0, received: 0, echo, waiting_to_write: false });
            client.write(index)?;
        }
        Ok(client)
    }

    /// Does round trips on every connection for `duration`.
    ///
    /// # Errors
    /// When a connection fails or an echo differs from its message.
    pub fn run(&mut self, duration: Duration) -> io::Result<Measured> {
        let start = Instant::now();
        let end = start + duration;
        let mut completed = 0u64;
        loop {
            let now = Instant::now();
            if now >= end {
                return Ok(Measured { round_trips: completed, elapsed: now - start });
            }
            self.poll.poll(&mut self.events, Some(end - now))?;
            let mut ready = std::mem::take(&mut self.ready);
            ready.extend(self.events.iter().map(|event| event.token().0));
            for &index in &ready {
                completed += self.ready(index)?;
            }
            ready.clear();
            self.ready = ready;
        }
    }

    /// Handles an event on connection `index`: finishes a stuck write, reads what arrived, and on a
    /// complete echo starts the next round trip. Returns the round trips completed.
    fn ready(&mut self, index: usize) -> io::Result<u64> {
        self.write(index)?;
        let (request_size, size) = (self.request.len(), self.response.len());
        let connection = &mut self.connections[index];
        if connection.written < request_size {
            return Ok(0);
        }
        loop {
            match connection.stream.read(&mut connection.echo[connection.received..]) {
                Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "the server closed a connection")),
                Ok(read) => connection.received += read,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(0),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
            if connection.received == size {
                if connection.echo != self.response {
                    return Err(io::Error::new(ErrorKind::InvalidData, "an answer differs from the one expected"));
                }
                connection.received = 0;
                connection.written = 0;
                // The receive queue is empty now: the server sends only echoes of what we sent, and all of
                // it has been read. The next echo comes after this write, with a new readiness event, so
                // there is no need to read until `WouldBlock` (one system call saved per round trip).
                self.write(index)?;
                return Ok(1);
            }
        }
    }

    /// Writes what is left of connection `index`'s message; asks for WRITABLE events only while stuck.
    fn write(&mut self, index: usize) -> io::Result<()> {
        let connection = &mut self.connections[index];
        while connection.written < self.request.len() {
            match connection.stream.write(&self.request[connection.written..]) {
                Ok(written) => connection.written += written,
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    if !connection.waiting_to_write {
                        connection.waiting_to_write = true;
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        self.poll.registry().reregister(&mut connection.stream, Token(index), interest)?;
                    }
                    return Ok(());
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        if connection.waiting_to_write {
            connection.waiting_to_write = false;
            self.poll.registry().reregister(&mut connection.stream, Token(index), Interest::READABLE)?;
        }
        Ok(())
    }
}
