//! The HTTP hello workload's servers: a minimal HTTP/1.1 keep-alive "Hello, World!" server written the way
//! each system is meant to be used, like the echo servers next door (`echo.rs`, whose listener setup and
//! client they share).
//!
//! Each server parses requests up to their blank line and answers each complete one with the fixed
//! [`RESPONSE`]; pipelined requests get their answers in order. The green and OS-thread servers run the very
//! same blocking handler ([`serve_connection`]) on a green thread or an OS thread per connection; the tokio
//! servers run its async twin as one task per connection. The accept loops are the echo workload's
//! (`serve_green_with`, ...), so every listener comes from [`super::echo::listen`]
//! (backlog 1024, prints `listening on <address>`), every stream has `TCP_NODELAY` set.
//!
//! Drive them with [`super::echo::Client::connect_with`]`(address, connections, REQUEST.to_vec(),
//! RESPONSE.to_vec())`: one request in flight per connection.

use std::io::{self, Read, Write};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the client sends per request.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// What the server answers to each request.
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\nHello, World!";

/// Bytes each server reads at most per call.
const BUFFER: usize = 4096;

/// Longest request header accepted.
const MAX_HEADER: usize = 8 * 1024;

/// A keep-alive connection's parsing state.
#[derive(Default)]
struct HttpConnection {
    /// Received bytes after the last complete request.
    pending: Vec<u8>,
    /// Responses to the requests completed by the last `received` call.
    responses: Vec<u8>,
}

impl HttpConnection {
    /// Takes in received bytes; returns the responses to write (empty while no request is complete).
    ///
    /// # Errors
    /// When a request header grows beyond [`MAX_HEADER`] without ending.
    fn received(&mut self, data: &[u8]) -> io::Result<&[u8]> {
        self.pending.extend_from_slice(data);
        self.responses.clear();
        let mut start = 0;
        while let Some(end) = self.pending[start..].windows(4).position(|window| window == b"\r\n\r\n") {
            start += end + 4;
            self.responses.extend_from_slice(RESPONSE);
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_HEADER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request header too large"));
        }
        Ok(&self.responses)
    }
}

/// Serves one connection until the peer closes it: the handler of the green and OS-thread servers.
///
/// # Errors
/// The stream's read and write errors, and a request header too large.
pub fn serve_connection(mut stream: impl Read + Write) -> io::Result<()> {
    let mut buffer = [0; BUFFER];
    let mut connection = HttpConnection::default();
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        let responses = connection.received(&buffer[..read])?;
        if !responses.is_empty() {
            stream.write_all(responses)?;
        }
    }
}

/// [`serve_connection`]'s async twin: the handler of the tokio servers.
async fn serve_connection_async(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    let mut buffer = [0; BUFFER];
    let mut connection = HttpConnection::default();
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        let responses = connection.received(&buffer[..read])?;
        if !responses.is_empty() {
            stream.write_all(responses).await?;
        }
    }
}

/// The green server: one green thread per connection (default runtime settings). Serves forever.
pub fn serve_green(address: &str) -> io::Result<()> {
    super::echo::serve_green_with(address, serve_connection)
}

/// The OS-thread server: one OS thread per connection. Serves forever.
pub fn serve_threads(address: &str) -> io::Result<()> {
    super::echo::serve_threads_with(address, serve_connection)
}

/// The tokio server: one task per connection on a multi-thread runtime (default worker count), or on a
/// current-thread runtime when `multi_thread` is false. Serves forever.
pub fn serve_tokio(address: &str, multi_thread: bool) -> io::Result<()> {
    super::echo::serve_tokio_with(address, multi_thread, serve_connection_async)
}
