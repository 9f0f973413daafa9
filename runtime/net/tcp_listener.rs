//! [`TcpListener`] and its [`Incoming`] iterator: the `std::net::TcpListener` mirror.

use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::accept::accept_retrying;
use super::socket::Socket;
use super::to_socket_addrs::{each_address, ToSocketAddrs};
use super::TcpStream;

/// A TCP server socket whose `accept` parks only the calling green thread.
///
/// The mirror of [`std::net::TcpListener`]. Differences a user may notice: the listen backlog is 1024
/// (std's is 128), which suits a server accepting many connections at once; and [`incoming`](Self::incoming)
/// rides out transient errors instead of yielding them (see [`accept_retrying`](Self::accept_retrying)).
///
/// Accepted streams are independent of the listener: move each to its own green thread.
///
/// ```no_run
/// use std::io::{self, Read, Write};
/// use green::net::TcpListener;
///
/// green::run(|| -> io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:7878")?;
///     for stream in listener.incoming() {
///         let mut stream = stream?;
///         green::spawn(move || {
///             let mut buf = [0; 4096];
///             while let Ok(n @ 1..) = stream.read(&mut buf) {
///                 if stream.write_all(&buf[..n]).is_err() {
///                     break;
///                 }
///             }
///         });
///     }
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    /// mio's listener (its `accept` uses `accept4` with `SOCK_NONBLOCK`: one system call per connection).
    socket: Socket<mio::net::TcpListener>,
}

impl TcpListener {
    /// Creates a listener bound to `address` (the first resolved address that binds), with `SO_REUSEADDR`
    /// set, listening with a backlog of 1024 (mio's `bind`; std uses 128).
    ///
    /// Port 0 asks the system for a free port; [`local_addr`](Self::local_addr) tells which.
    ///
    /// # Errors
    /// The last address's error if none binds (e.g. `AddrInUse`).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// let address = listener.local_addr()?;
    /// assert!(address.ip().is_loopback() && address.port() != 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind<A: ToSocketAddrs>(address: A) -> io::Result<TcpListener> {
        let listener = each_address(&address, |address| mio::net::TcpListener::bind(*address))?;
        Ok(TcpListener { socket: Socket::from_nonblocking(listener) })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Every error is returned as with std, including transient ones a server should ride out (an aborted
    /// connection, running out of descriptors): see [`accept_retrying`](Self::accept_retrying).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (stream, peer) = listener.accept()?; // parks until a client connects
    /// assert_eq!(peer, client.local_addr()?);
    /// assert_eq!(stream.local_addr()?, listener.local_addr()?);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.socket.accept(|listener| listener.accept())?;
        Ok((TcpStream::from_accepted(std::net::TcpStream::from(OwnedFd::from(stream))), peer))
    }

    /// Like [`accept`](Self::accept), but retries errors that concern one connection (`ECONNABORTED`, ...)
    /// and pauses — logging one warning — while the process or system is out of descriptors or memory
    /// (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`), so a server keeps running and accepts again once resources
    /// free up. Other errors are returned.
    ///
    /// The pauses (10 ms doubling to 100 ms) are cancellation points.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = green::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_stream, peer) = listener.accept_retrying()?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn accept_retrying(&self) -> io::Result<(TcpStream, SocketAddr)> {
        accept_retrying(&format_args!("listener fd {}", self.socket.as_raw_fd()), || self.accept())
    }

    /// An endless iterator over accepted connections, built on [`accept_retrying`](Self::accept_retrying):
    /// it yields `Err` only for errors that are not transient.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use green::net::{TcpListener, TcpStream};
    ///
    /// green::run(|| -> std::io::Result<()> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let address = listener.local_addr()?;
    ///     green::spawn(move || {
    ///         for stream in listener.incoming().take(2) {
    ///             let mut stream = stream.unwrap();
    ///             green::spawn(move || stream.write_all(b"welcome").unwrap()); // a green thread per connection
    ///         }
    ///     });
    ///     for _ in 0..2 {
    ///         let mut reply = String::new();
    ///         TcpStream::connect(address)?.read_to_string(&mut reply)?;
    ///         assert_eq!(reply, "welcome");
    ///     }
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address the listener is bound to.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert_eq!(listener.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// A second handle to the same listening socket (a duplicated descriptor).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// let clone = listener.try_clone()?;
    /// assert_eq!(clone.local_addr()?, listener.local_addr()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let socket = self
            .socket
            .try_clone(|listener| Ok(mio::net::TcpListener::from(listener.as_fd().try_clone_to_owned()?)))?;
        Ok(TcpListener { socket })
    }

    /// Sets the IP time-to-live of packets sent from accepted sockets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_ttl(100)?;
    /// assert_eq!(listener.ttl()?, 100);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live (see [`set_ttl`](Self::set_ttl)).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(listener.ttl()? > 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(listener.take_error()?.is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, `accept` on *this handle* fails with `WouldBlock` instead of waiting (per handle, unlike
    /// std; see [`TcpStream::set_nonblocking`]).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::TcpListener::bind("127.0.0.1:0")?;
    /// listener.set_nonblocking(true)?;
    /// let error = listener.accept().unwrap_err(); // nobody connects: no wait
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

/// The iterator of [`TcpListener::incoming`]: never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener accepting.
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept_retrying().map(|(stream, _)| stream))
    }
}

impl FusedIterator for Incoming<'_> {}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TcpListener");
        if let Ok(address) = self.local_addr() {
            debug.field("addr", &address);
        }
        debug.field("fd", &self.as_raw_fd()).finish()
    }
}

descriptor_conversions!(TcpListener, mio::net::TcpListener, "a listening TCP socket");
std_conversions!(TcpListener, std::net::TcpListener, "a std TCP listener");

impl From<std::net::TcpListener> for TcpListener {
    /// Adopts a std listener (keeping its backlog), switching it to non-blocking mode.
    fn from(listener: std::net::TcpListener) -> TcpListener {
        TcpListener::from(OwnedFd::from(listener))
    }
}
