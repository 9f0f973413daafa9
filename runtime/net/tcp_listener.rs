//! [`TcpListener`] and its [`Incoming`] iterator: the `std::net::TcpListener` mirror.

use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use super::accept::accept_retrying;
use super::socket::Socket;
use super::to_socket_addrs::{each_address, ToSocketAddrs};
use super::TcpStream;

/// A TCP server socket whose `accept` parks only the calling green thread.
///
/// The mirror of [`std::net::TcpListener`]. Differences a user may notice: the listen backlog is
/// [`DEFAULT_BACKLOG`] (1024; std's is 128), which suits a server accepting many connections at once, and
/// another one can be chosen ([`bind_with_backlog`](Self::bind_with_backlog), or [`builder`](Self::builder)
/// for `SO_REUSEPORT` too); and [`incoming`](Self::incoming) rides out transient errors instead of yielding
/// them (see [`accept_retrying`](Self::accept_retrying)).
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
    /// set, listening with a backlog of [`DEFAULT_BACKLOG`] (1024; std uses 128).
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
        TcpListener::builder().bind(address)
    }

    /// Like [`bind`](Self::bind), listening with a queue of `backlog` connections not yet accepted (what
    /// socket2's `Socket::listen(backlog)` and tokio's `TcpSocket::listen(backlog)` take). The kernel caps
    /// it at `net.core.somaxconn`.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_with_backlog<A: ToSocketAddrs>(address: A, backlog: u32) -> io::Result<TcpListener> {
        TcpListener::builder().backlog(backlog).bind(address)
    }

    /// Options for a listener beyond `bind`'s: the backlog and `SO_REUSEPORT`.
    ///
    /// ```no_run
    /// // Several processes (or listeners) on one port; the kernel spreads connections between them.
    /// let listener = green::net::TcpListener::builder().reuse_port(true).backlog(4096).bind("0.0.0.0:7000")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> TcpListenerBuilder {
        TcpListenerBuilder { backlog: DEFAULT_BACKLOG, reuse_port: false }
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

/// The listen backlog of [`TcpListener::bind`]: how many connections the kernel queues before `accept`.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// Builds a [`TcpListener`] with options `bind` does not take ([`TcpListener::builder`]).
///
/// The socket is created, given `SO_REUSEADDR` (and `SO_REUSEPORT` if asked), bound and put in the listening
/// state in that order, as socket2 or tokio's `TcpSocket` would be used.
#[derive(Debug, Clone)]
pub struct TcpListenerBuilder {
    /// The listen backlog.
    backlog: u32,
    /// Whether to set `SO_REUSEPORT` before binding.
    reuse_port: bool,
}

impl TcpListenerBuilder {
    /// The length of the queue of connections not yet accepted (default [`DEFAULT_BACKLOG`]; the kernel caps
    /// it at `net.core.somaxconn`).
    pub fn backlog(mut self, backlog: u32) -> TcpListenerBuilder {
        self.backlog = backlog;
        self
    }

    /// With `true`, sets `SO_REUSEPORT`: several sockets (of this or other processes of the same user) may
    /// bind the same address and port, and the kernel balances incoming connections between them.
    pub fn reuse_port(mut self, reuse_port: bool) -> TcpListenerBuilder {
        self.reuse_port = reuse_port;
        self
    }

    /// Creates the listener on the first resolved address that binds.
    ///
    /// # Errors
    /// The last address's error if none binds (e.g. `AddrInUse`).
    pub fn bind<A: ToSocketAddrs>(&self, address: A) -> io::Result<TcpListener> {
        let listener = each_address(&address, |address| self.listen_on(address))?;
        Ok(TcpListener { socket: Socket::from_nonblocking(mio::net::TcpListener::from_std(listener)) })
    }

    /// Creates, configures, binds and listens one non-blocking socket.
    fn listen_on(&self, address: &SocketAddr) -> io::Result<std::net::TcpListener> {
        let domain = if address.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
        // SAFETY: socket(2) takes plain integers; a negative result is checked below.
        let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        set_option(&socket, libc::SO_REUSEADDR)?;
        if self.reuse_port {
            set_option(&socket, libc::SO_REUSEPORT)?;
        }
        let (storage, length) = socket_address(address);
        // SAFETY: `storage` holds a socket address of `length` bytes, which bind(2) only reads.
        if unsafe { libc::bind(fd, std::ptr::addr_of!(storage).cast(), length) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let backlog = self.backlog.min(i32::MAX as u32) as i32;
        // SAFETY: listen(2) on a descriptor we own.
        if unsafe { libc::listen(fd, backlog) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(std::net::TcpListener::from(socket))
    }
}

/// Sets the boolean `SOL_SOCKET` option `option` on `socket`.
fn set_option(socket: &OwnedFd, option: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt(2) reads `size` bytes from `on`, a live local of that size.
    let result =
        unsafe { libc::setsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, option, std::ptr::addr_of!(on).cast(), size) };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `address` as the C socket address `bind(2)` takes, and its length.
fn socket_address(address: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain integers, for which all zeroes is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let length = match address {
        SocketAddr::V4(address) => {
            // SAFETY: sockaddr_storage is larger than and aligned for every socket address type.
            let c_address = unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in>() };
            c_address.sin_family = libc::AF_INET as libc::sa_family_t;
            c_address.sin_port = address.port().to_be();
            c_address.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(address.ip().octets()) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(address) => {
            // SAFETY: as above.
            let c_address = unsafe { &mut *std::ptr::addr_of_mut!(storage).cast::<libc::sockaddr_in6>() };
            c_address.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            c_address.sin6_port = address.port().to_be();
            c_address.sin6_flowinfo = address.flowinfo();
            c_address.sin6_addr = libc::in6_addr { s6_addr: address.ip().octets() };
            c_address.sin6_scope_id = address.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, length as libc::socklen_t)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The listen backlog of a listening socket, as the kernel reports it (`TCP_INFO`'s `tcpi_sacked` holds
    /// `sk_max_ack_backlog` for a socket in the LISTEN state).
    fn backlog(listener: &TcpListener) -> u32 {
        // SAFETY: tcp_info is plain integers, for which all zeroes is a valid value.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut size = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `size` bytes into `info`, a live local of that size.
        let result = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                std::ptr::addr_of_mut!(info).cast(),
                &mut size,
            )
        };
        assert_eq!(result, 0, "{}", io::Error::last_os_error());
        info.tcpi_sacked
    }

    #[test]
    fn bind_listens_with_the_documented_backlog_and_another_can_be_chosen() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(DEFAULT_BACKLOG);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(backlog(&listener), DEFAULT_BACKLOG.min(somaxconn));
        let listener = TcpListener::bind_with_backlog("127.0.0.1:0", 17).unwrap();
        assert_eq!(backlog(&listener), 17);
        let listener = TcpListener::bind_with_backlog("[::1]:0", 33);
        if let Ok(listener) = listener {
            assert_eq!(backlog(&listener), 33); // (IPv6 loopback may be missing in a container)
        }
    }

    #[test]
    fn reuse_port_lets_two_listeners_share_a_port() {
        let first = TcpListener::builder().reuse_port(true).bind("127.0.0.1:0").unwrap();
        let address = first.local_addr().unwrap();
        let second = TcpListener::builder().reuse_port(true).bind(address).unwrap();
        assert_eq!(second.local_addr().unwrap(), address);
        let error = TcpListener::bind(address).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        // Connections to the port reach one of the two.
        let _client = std::net::TcpStream::connect(address).unwrap();
        first.set_nonblocking(true).unwrap();
        second.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while first.accept().is_err() && second.accept().is_err() {
            assert!(std::time::Instant::now() < deadline, "neither listener got the connection");
            std::thread::yield_now();
        }
    }
}
