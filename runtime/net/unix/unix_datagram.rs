//! [`UnixDatagram`]: the `std::os::unix::net::UnixDatagram` mirror.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::time::Duration;

use crate::net::socket::Socket;
use crate::reactor::Interest;

/// A Unix datagram socket whose blocking calls park only the calling green thread.
///
/// The mirror of [`std::os::unix::net::UnixDatagram`]; timeouts as on
/// [`TcpStream`](crate::net::TcpStream#timeouts).
///
/// ```
/// use green::net::unix::UnixDatagram;
///
/// green::run(|| {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"ping").unwrap();
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct UnixDatagram {
    /// The std socket in non-blocking mode, and its registration.
    socket: Socket<net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to `path` (which must not exist yet).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-bind.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::bind(path)?)? })
    }

    /// Creates a socket bound to `address`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-bind-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let address = std::os::unix::net::SocketAddr::from_pathname(&path)?;
    /// let socket = green::net::unix::UnixDatagram::bind_addr(&address)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::bind_addr(address)?)? })
    }

    /// Creates a socket bound to no address.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-unbound.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let receiver = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// sender.send_to(b"anonymous", &path)?;
    /// let mut buf = [0; 16];
    /// let (n, from) = receiver.recv_from(&mut buf)?;
    /// assert_eq!((&buf[..n], from.is_unnamed()), (&b"anonymous"[..], true));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::unbound()?)? })
    }

    /// A pair of connected sockets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.send(b"one")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf)?, 3);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = net::UnixDatagram::pair()?;
        Ok((UnixDatagram { socket: Socket::new(a)? }, UnixDatagram { socket: Socket::new(b)? }))
    }

    /// Sets the default peer for `send` and `recv` to the socket at `path`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-connect.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// sender.connect(&path)?;
    /// sender.send(b"connected")?;
    /// assert_eq!(socket.recv(&mut [0; 16])?, 9);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.socket.get().connect(path)
    }

    /// Sets the default peer for `send` and `recv` to `address`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-connect-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// sender.connect_addr(&socket.local_addr()?)?;
    /// assert_eq!(sender.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn connect_addr(&self, address: &SocketAddr) -> io::Result<()> {
        self.socket.get().connect_addr(address)
    }

    /// A second handle to the same socket (a duplicated descriptor).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// let clone = a.try_clone()?;
    /// clone.send(b"x")?;
    /// assert_eq!(b.recv(&mut [0; 4])?, 1);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: self.socket.try_clone(|socket| socket.try_clone())? })
    }

    /// The local address.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-local-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// Waits for a datagram; returns its length and its sender.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-recv-from.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// sender.send_to(b"hello", &path)?;
    /// let mut buf = [0; 16];
    /// let (n, _from) = socket.recv_from(&mut buf)?; // parks until a datagram arrives
    /// assert_eq!(&buf[..n], b"hello");
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.io(Interest::Read, |socket| socket.recv_from(buf))
    }

    /// Waits for a datagram.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.send(b"datagram")?;
    /// let mut buf = [0; 16];
    /// let n = b.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"datagram");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.io(Interest::Read, |socket| socket.recv(buf))
    }

    /// Sends `buf` to the socket at `path`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-send-to.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// assert_eq!(sender.send_to(b"to a path", &path)?, 9);
    /// assert_eq!(socket.recv(&mut [0; 16])?, 9);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.socket.io(Interest::Write, |socket| socket.send_to(buf, path))
    }

    /// Sends `buf` to `address`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-dgram-send-to-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::unix::UnixDatagram::bind(&path)?;
    /// let sender = green::net::unix::UnixDatagram::unbound()?;
    /// sender.send_to_addr(b"to an address", &socket.local_addr()?)?;
    /// assert_eq!(socket.recv(&mut [0; 16])?, 13);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn send_to_addr(&self, buf: &[u8], address: &SocketAddr) -> io::Result<usize> {
        self.socket.io(Interest::Write, |socket| socket.send_to_addr(buf, address))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"hi")?, 2);
    /// assert_eq!(b.recv(&mut [0; 4])?, 2);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.socket.io(Interest::Write, |socket| socket.send(buf))
    }

    /// Sets how long a receive may wait; `None` waits forever. `InvalidInput` for zero, as std.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let error = a.recv(&mut [0; 8]).unwrap_err(); // nothing arrives
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Read, timeout, |socket, timeout| socket.set_read_timeout(timeout))
    }

    /// Sets how long a send may wait; `None` waits forever. `InvalidInput` for zero, as std.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(a.write_timeout()?, Some(Duration::from_secs(1)));
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Write, timeout, |socket, timeout| socket.set_write_timeout(timeout))
    }

    /// The read timeout.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// assert_eq!(a.read_timeout()?, None);
    /// a.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(a.read_timeout()?, Some(Duration::from_secs(2)));
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().read_timeout()
    }

    /// The write timeout.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// assert_eq!(a.write_timeout()?, None);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().write_timeout()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// ```
    /// use green::net::Shutdown;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.shutdown(Shutdown::Both)?;
    /// assert!(a.send(b"late").is_err());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.get().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, calls on *this handle* fail with `WouldBlock` instead of waiting (per handle, unlike std).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixDatagram::pair()?;
    /// a.set_nonblocking(true)?;
    /// let error = a.recv(&mut [0; 8]).unwrap_err(); // nothing queued: no wait
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.socket.get().fmt(f)
    }
}

descriptor_conversions!(UnixDatagram, std::os::unix::net::UnixDatagram, "a Unix datagram socket");
std_conversions!(UnixDatagram, std::os::unix::net::UnixDatagram, "a std Unix datagram socket");

impl From<net::UnixDatagram> for UnixDatagram {
    /// Adopts a std socket, switching it to non-blocking mode.
    fn from(socket: net::UnixDatagram) -> UnixDatagram {
        UnixDatagram { socket: Socket::adopt(socket) }
    }
}
