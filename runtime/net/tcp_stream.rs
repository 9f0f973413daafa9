//! [`TcpStream`]: the `std::net::TcpStream` mirror.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use super::socket::{vectored_len, Socket};
use super::to_socket_addrs::{each_address, ToSocketAddrs};
use crate::context;
use crate::reactor::Interest;

/// A TCP connection whose blocking calls park only the calling green thread.
///
/// The mirror of [`std::net::TcpStream`]: the same methods with the same semantics, so code written for std
/// runs in a green thread by swapping `std::net` for `green::net`. `Read` and `Write` are implemented for
/// `TcpStream` and `&TcpStream`, so [`io::BufReader`], [`io::BufWriter`], `read_to_end`, `io::copy` and
/// everything else built on them work unchanged. Outside a green thread it blocks the OS thread like std's.
///
/// One green thread may read while another writes, through `&TcpStream` (e.g. in a [`scope`](crate::scope))
/// or a [`try_clone`](TcpStream::try_clone). The stream may be moved to a green thread on another worker or
/// to a plain OS thread at any time.
///
/// # Timeouts
/// [`set_read_timeout`](TcpStream::set_read_timeout) and [`set_write_timeout`](TcpStream::set_write_timeout)
/// behave as std's on Unix: the timeout is stored on the socket (shared with clones), bounds each call, and
/// an expired call fails with `EAGAIN`, whose kind is [`io::ErrorKind::WouldBlock`] (not `TimedOut`).
///
/// # Example
/// ```
/// use std::io::{Read, Write};
/// use green::net::{TcpListener, TcpStream};
///
/// green::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let address = listener.local_addr().unwrap();
///     let server = green::spawn(move || {
///         let (mut stream, _) = listener.accept().unwrap();
///         let mut line = [0; 5];
///         stream.read_exact(&mut line).unwrap();
///         stream.write_all(&line).unwrap();
///     });
///     let mut client = TcpStream::connect(address).unwrap();
///     client.write_all(b"hello").unwrap();
///     let mut echo = String::new();
///     client.read_to_string(&mut echo).unwrap();
///     assert_eq!(echo, "hello");
///     server.join().unwrap();
/// });
/// ```
pub struct TcpStream {
    /// The std stream in non-blocking mode, and its registration.
    socket: Socket<std::net::TcpStream>,
}

/// The error std's `connect_timeout` returns when the time is up.
fn connect_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}

impl TcpStream {
    /// Opens a TCP connection to `address`, trying each resolved address in turn.
    ///
    /// Waits for the handshake (parking only the green thread). A host name is looked up off the worker
    /// (see [`ToSocketAddrs`]).
    ///
    /// # Errors
    /// The last address's error if none connects; `InvalidInput` if `address` resolves to nothing.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use green::net::{TcpListener, TcpStream};
    ///
    /// green::run(|| -> std::io::Result<()> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let address = listener.local_addr()?;
    ///     let server = green::spawn(move || -> std::io::Result<()> {
    ///         let (mut stream, _) = listener.accept()?;
    ///         stream.write_all(b"hello")
    ///     });
    ///     let mut stream = TcpStream::connect(address)?;
    ///     let mut greeting = String::new();
    ///     stream.read_to_string(&mut greeting)?;
    ///     assert_eq!(greeting, "hello");
    ///     server.join().unwrap()
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(address: A) -> io::Result<TcpStream> {
        each_address(&address, |address| TcpStream::connect_to(address, None))
    }

    /// Opens a TCP connection to `address`, giving up after `timeout`.
    ///
    /// # Errors
    /// `TimedOut` when the time is up; `InvalidInput` for a zero `timeout` (as std).
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::net::{TcpListener, TcpStream};
    ///
    /// green::run(|| -> std::io::Result<()> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = TcpStream::connect_timeout(&listener.local_addr()?, Duration::from_secs(5))?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn connect_timeout(address: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        TcpStream::connect_to(address, Some(timeout))
    }

    /// One connection attempt: std's blocking connect on an OS thread; in a green thread a non-blocking
    /// connect, then a wait for writability and a look at `SO_ERROR`.
    #[track_caller]
    fn connect_to(address: &SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        if !context::in_green_thread() {
            let stream = match timeout {
                None => std::net::TcpStream::connect(address)?,
                Some(timeout) => std::net::TcpStream::connect_timeout(address, timeout)?,
            };
            return Ok(TcpStream { socket: Socket::new(stream)? });
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let stream = std::net::TcpStream::from(OwnedFd::from(mio::net::TcpStream::connect(*address)?));
        let socket = Socket::from_nonblocking(stream);
        let connected = socket.io_until(Interest::Write, deadline, |stream| {
            if let Some(error) = stream.take_error()? {
                return Err(error);
            }
            match stream.peer_addr() {
                Ok(_) => Ok(()),
                // Still connecting: a spurious wake-up.
                Err(error) if error.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
                Err(error) => Err(error),
            }
        });
        match connected {
            Ok(()) => Ok(TcpStream { socket }),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Err(connect_timed_out()),
            Err(error) => Err(error),
        }
    }

    /// Wraps a connection accepted in non-blocking mode.
    pub(crate) fn from_accepted(stream: std::net::TcpStream) -> TcpStream {
        TcpStream { socket: Socket::from_nonblocking(stream) }
    }

    /// The address of the remote peer.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// The local address of this end.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert_eq!(stream.local_addr()?, accepted.peer_addr()?);
    /// assert!(stream.local_addr()?.ip().is_loopback());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// `Shutdown::Write` sends end-of-file to the peer, which can still send back. `Shutdown::Read` (or
    /// `Both`) wakes a thread parked in `read` on this stream, which then returns `Ok(0)`.
    ///
    /// ```
    /// use std::io::Read;
    /// use green::net::Shutdown;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.shutdown(Shutdown::Write)?; // the peer reads end-of-file
    /// assert_eq!((&accepted).read(&mut [0; 8])?, 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.get().shutdown(how)
    }

    /// A second handle to the same connection (a duplicated descriptor), e.g. to read in one green thread and
    /// write in another.
    ///
    /// Dropping one handle does not close the connection; [`shutdown`](TcpStream::shutdown) affects both.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// let mut clone = stream.try_clone()?;
    /// clone.write_all(b"x")?; // the same connection
    /// let mut byte = [0];
    /// (&accepted).read_exact(&mut byte)?;
    /// assert_eq!(&byte, b"x");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream { socket: self.socket.try_clone(|stream| stream.try_clone())? })
    }

    /// Sets how long a read may wait; `None` waits forever. See [Timeouts](TcpStream#timeouts).
    ///
    /// # Errors
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let error = (&stream).read(&mut [0; 8]).unwrap_err(); // nothing arrives
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Read, timeout, |socket, timeout| socket.set_read_timeout(timeout))
    }

    /// Sets how long a write may wait; `None` waits forever. See [Timeouts](TcpStream#timeouts).
    ///
    /// # Errors
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(stream.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Write, timeout, |socket, timeout| socket.set_write_timeout(timeout))
    }

    /// The read timeout (see [`set_read_timeout`](TcpStream::set_read_timeout)).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert_eq!(stream.read_timeout()?, None);
    /// stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(stream.read_timeout()?, Some(Duration::from_secs(2)));
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().read_timeout()
    }

    /// The write timeout (see [`set_write_timeout`](TcpStream::set_write_timeout)).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert_eq!(stream.write_timeout()?, None);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().write_timeout()
    }

    /// Reads without removing the data from the queue: the next read returns it again. Waits like `read`.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// (&accepted).write_all(b"peek")?;
    /// let mut buf = [0; 4];
    /// let n = stream.peek(&mut buf)?; // waits for data, leaves it in the socket
    /// assert_eq!(&buf[..n], &b"peek"[..n]);
    /// (&stream).read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"peek");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.io(Interest::Read, |stream| stream.peek(buf))
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.get().set_nodelay(nodelay)
    }

    /// The value of `TCP_NODELAY`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert!(!stream.nodelay()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.socket.get().nodelay()
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.set_ttl(100)?;
    /// assert_eq!(stream.ttl()?, 100);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert!(stream.ttl()? > 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// assert!(stream.take_error()?.is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, reads and writes of *this handle* fail with `WouldBlock` instead of waiting.
    ///
    /// Unlike std, where the flag lives on the shared socket, it is per handle: other handles (clones) keep
    /// waiting. The descriptor itself is always in non-blocking mode.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// # let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let stream = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (accepted, _) = listener.accept()?;
    /// stream.set_nonblocking(true)?;
    /// let error = (&stream).read(&mut [0; 8]).unwrap_err(); // no data: no wait at all
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl Read for &TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        self.socket.transfer(Interest::Read, len, |mut stream| stream.read(buf))
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = vectored_len(bufs.iter().map(|buf| buf.len()));
        self.socket.transfer(Interest::Read, len, |mut stream| stream.read_vectored(bufs))
    }
}

impl Write for &TcpStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.transfer(Interest::Write, buf.len(), |mut stream| stream.write(buf))
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let len = vectored_len(bufs.iter().map(|buf| buf.len()));
        self.socket.transfer(Interest::Write, len, |mut stream| stream.write_vectored(bufs))
    }

    /// Nothing to flush: TCP data is handed to the kernel by `write`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.socket.get().fmt(f)
    }
}

descriptor_conversions!(TcpStream, std::net::TcpStream, "a connected TCP socket");
std_conversions!(TcpStream, std::net::TcpStream, "a std TCP stream");

impl From<std::net::TcpStream> for TcpStream {
    /// Adopts a std stream, switching it to non-blocking mode.
    fn from(stream: std::net::TcpStream) -> TcpStream {
        TcpStream { socket: Socket::adopt(stream) }
    }
}
