//! [`UdpSocket`]: the `std::net::UdpSocket` mirror.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::socket::Socket;
use super::to_socket_addrs::{each_address, ToSocketAddrs};
use crate::reactor::Interest;

/// A UDP socket whose blocking calls park only the calling green thread.
///
/// The mirror of [`std::net::UdpSocket`], with its semantics: timeouts as on
/// [`TcpStream`](super::TcpStream#timeouts) (an expired call fails with kind `WouldBlock`), and `send_to`
/// with a host name looks it up off the worker (see [`ToSocketAddrs`]).
///
/// ```
/// use green::net::UdpSocket;
///
/// green::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    /// The std socket in non-blocking mode, and its registration.
    socket: Socket<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Creates a socket bound to `address` (the first resolved address that binds).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.local_addr()?.port() != 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind<A: ToSocketAddrs>(address: A) -> io::Result<UdpSocket> {
        let socket = each_address(&address, |address| std::net::UdpSocket::bind(address))?;
        Ok(UdpSocket { socket: Socket::new(socket)? })
    }

    /// Waits for a datagram; returns its length (the rest of a longer one is discarded) and its sender.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// a.send_to(b"hello", b.local_addr()?)?;
    /// let mut buf = [0; 16];
    /// let (n, from) = b.recv_from(&mut buf)?; // parks until a datagram arrives
    /// assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.io(Interest::Read, |socket| socket.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// a.send_to(b"hello", b.local_addr()?)?;
    /// let mut buf = [0; 16];
    /// let (n, _) = b.peek_from(&mut buf)?;
    /// assert_eq!(b.recv(&mut buf)?, n); // still there
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.io(Interest::Read, |socket| socket.peek_from(buf))
    }

    /// Sends `buf` to the first address `address` resolves to; waits while the send buffer is full.
    ///
    /// # Errors
    /// `InvalidInput` if `address` resolves to nothing.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// assert_eq!(a.send_to(b"datagram", b.local_addr()?)?, 8);
    /// assert_eq!(b.recv(&mut [0; 16])?, 8);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], address: A) -> io::Result<usize> {
        let Some(address) = address.to_socket_addrs()?.next() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to"));
        };
        self.socket.io(Interest::Write, |socket| socket.send_to(buf, address))
    }

    /// Sets the default peer (the first resolved address that works) for `send` and `recv`, and filters
    /// incoming datagrams to it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?; // `send` and `recv` now talk to `b` only
    /// a.send(b"to b")?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// assert_eq!(b.recv(&mut [0; 16])?, 4);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, address: A) -> io::Result<()> {
        each_address(&address, |address| self.socket.get().connect(address))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.send(b"hi")?, 2);
    /// assert_eq!(b.recv(&mut [0; 16])?, 2);
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.socket.io(Interest::Write, |socket| socket.send(buf))
    }

    /// Waits for a datagram from the connected peer.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// b.connect(a.local_addr()?)?;
    /// a.send_to(b"for b", b.local_addr()?)?;
    /// let mut buf = [0; 16];
    /// let n = b.recv(&mut buf)?;
    /// assert_eq!(&buf[..n], b"for b");
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.io(Interest::Read, |socket| socket.recv(buf))
    }

    /// Like [`recv`](Self::recv), but leaves the datagram queued.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// b.connect(a.local_addr()?)?;
    /// a.send_to(b"look", b.local_addr()?)?;
    /// let mut buf = [0; 16];
    /// assert_eq!(b.peek(&mut buf)?, 4);
    /// assert_eq!(b.recv(&mut buf)?, 4); // the peeked datagram
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.io(Interest::Read, |socket| socket.peek(buf))
    }

    /// The connected peer's address.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// A second handle to the same socket (a duplicated descriptor).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = (green::net::UdpSocket::bind("127.0.0.1:0")?, green::net::UdpSocket::bind("127.0.0.1:0")?);
    /// let clone = a.try_clone()?;
    /// clone.send_to(b"x", b.local_addr()?)?;
    /// let (_, from) = b.recv_from(&mut [0; 4])?;
    /// assert_eq!(from, a.local_addr()?); // the same socket
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket { socket: self.socket.try_clone(|socket| socket.try_clone())? })
    }

    /// Sets how long a receive may wait; `None` waits forever. `InvalidInput` for zero, as std.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let error = socket.recv_from(&mut [0; 8]).unwrap_err(); // nothing arrives
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
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(socket.write_timeout()?, Some(Duration::from_secs(1)));
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
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.read_timeout()?, None);
    /// socket.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(socket.read_timeout()?, Some(Duration::from_secs(2)));
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().read_timeout()
    }

    /// The write timeout.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.write_timeout()?, None);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().write_timeout()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.socket.get().set_broadcast(broadcast)
    }

    /// The value of `SO_BROADCAST`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(!socket.broadcast()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.socket.get().broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_multicast_loop_v4(false)?;
    /// assert!(!socket.multicast_loop_v4()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_multicast_loop_v4(&self, multicast_loop: bool) -> io::Result<()> {
        self.socket.get().set_multicast_loop_v4(multicast_loop)
    }

    /// The value of `IP_MULTICAST_LOOP`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.multicast_loop_v4()?); // on by default
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.socket.get().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_multicast_ttl_v4(4)?;
    /// assert_eq!(socket.multicast_ttl_v4()?, 4);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_multicast_ttl_v4(ttl)
    }

    /// The value of `IP_MULTICAST_TTL`.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(socket.multicast_ttl_v4()?, 1); // the default
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.socket.get().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// ```no_run
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("[::1]:0")?;
    /// socket.set_multicast_loop_v6(false)?;
    /// assert!(!socket.multicast_loop_v6()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_multicast_loop_v6(&self, multicast_loop: bool) -> io::Result<()> {
        self.socket.get().set_multicast_loop_v6(multicast_loop)
    }

    /// The value of `IPV6_MULTICAST_LOOP`.
    ///
    /// ```no_run
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("[::1]:0")?;
    /// assert!(socket.multicast_loop_v6()?);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.socket.get().multicast_loop_v6()
    }

    /// Joins an IPv4 multicast group on `interface`.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let group = Ipv4Addr::new(239, 1, 2, 3);
    /// socket.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    /// socket.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.socket.get().join_multicast_v4(group, interface)
    }

    /// Joins an IPv6 multicast group on interface number `interface` (0: any).
    ///
    /// ```no_run
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("[::1]:0")?;
    /// let group = "ff02::1:3".parse::<std::net::Ipv6Addr>().unwrap();
    /// socket.join_multicast_v6(&group, 0)?;
    /// socket.leave_multicast_v6(&group, 0)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.socket.get().join_multicast_v6(group, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let group = Ipv4Addr::new(239, 1, 2, 4);
    /// socket.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?;
    /// socket.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST)?; // no longer a member
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.socket.get().leave_multicast_v4(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// ```no_run
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("[::1]:0")?;
    /// let group = "ff02::1:4".parse::<std::net::Ipv6Addr>().unwrap();
    /// socket.join_multicast_v6(&group, 0)?;
    /// socket.leave_multicast_v6(&group, 0)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.socket.get().leave_multicast_v6(group, interface)
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_ttl(42)?;
    /// assert_eq!(socket.ttl()?, 42);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.socket.get().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.ttl()? > 0);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.socket.get().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(socket.take_error()?.is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, calls on *this handle* fail with `WouldBlock` instead of waiting (per handle, unlike std;
    /// see [`TcpStream::set_nonblocking`](super::TcpStream::set_nonblocking)).
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let socket = green::net::UdpSocket::bind("127.0.0.1:0")?;
    /// socket.set_nonblocking(true)?;
    /// let error = socket.recv(&mut [0; 8]).unwrap_err(); // nothing queued: no wait
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.socket.get().fmt(f)
    }
}

descriptor_conversions!(UdpSocket, std::net::UdpSocket, "a UDP socket");
std_conversions!(UdpSocket, std::net::UdpSocket, "a std UDP socket");

impl From<std::net::UdpSocket> for UdpSocket {
    /// Adopts a std socket, switching it to non-blocking mode.
    fn from(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket { socket: Socket::adopt(socket) }
    }
}
