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
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::bind(path)?)? })
    }

    /// Creates a socket bound to `address`.
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::bind_addr(address)?)? })
    }

    /// Creates a socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: Socket::new(net::UnixDatagram::unbound()?)? })
    }

    /// A pair of connected sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = net::UnixDatagram::pair()?;
        Ok((UnixDatagram { socket: Socket::new(a)? }, UnixDatagram { socket: Socket::new(b)? }))
    }

    /// Sets the default peer for `send` and `recv` to the socket at `path`.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.socket.get().connect(path)
    }

    /// Sets the default peer for `send` and `recv` to `address`.
    pub fn connect_addr(&self, address: &SocketAddr) -> io::Result<()> {
        self.socket.get().connect_addr(address)
    }

    /// A second handle to the same socket (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram { socket: self.socket.try_clone(|socket| socket.try_clone())? })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// Waits for a datagram; returns its length and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.io(Interest::Read, |socket| socket.recv_from(buf))
    }

    /// Waits for a datagram.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.io(Interest::Read, |socket| socket.recv(buf))
    }

    /// Sends `buf` to the socket at `path`.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.socket.io(Interest::Write, |socket| socket.send_to(buf, path))
    }

    /// Sends `buf` to `address`.
    pub fn send_to_addr(&self, buf: &[u8], address: &SocketAddr) -> io::Result<usize> {
        self.socket.io(Interest::Write, |socket| socket.send_to_addr(buf, address))
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.socket.io(Interest::Write, |socket| socket.send(buf))
    }

    /// Sets how long a receive may wait; `None` waits forever. `InvalidInput` for zero, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Read, timeout, |socket, timeout| socket.set_read_timeout(timeout))
    }

    /// Sets how long a send may wait; `None` waits forever. `InvalidInput` for zero, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Write, timeout, |socket, timeout| socket.set_write_timeout(timeout))
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().read_timeout()
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().write_timeout()
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.get().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, calls on *this handle* fail with `WouldBlock` instead of waiting (per handle, unlike std).
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

impl From<net::UnixDatagram> for UnixDatagram {
    /// Adopts a std socket, switching it to non-blocking mode.
    fn from(socket: net::UnixDatagram) -> UnixDatagram {
        UnixDatagram { socket: Socket::adopt(socket) }
    }
}
