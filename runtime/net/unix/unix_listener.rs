//! [`UnixListener`] and its [`Incoming`] iterator: the `std::os::unix::net::UnixListener` mirror.

use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

use super::UnixStream;
use crate::net::accept::accept_retrying;
use crate::net::socket::Socket;

/// A Unix stream server socket whose `accept` parks only the calling green thread.
///
/// The mirror of [`std::os::unix::net::UnixListener`] (same backlog as std). As with
/// [`TcpListener`](crate::net::TcpListener), `accept` keeps std's semantics and `incoming` rides out
/// transient errors (see [`accept_retrying`](Self::accept_retrying)).
///
/// ```
/// use std::io::{Read, Write};
/// use green::net::unix::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("green-doc-{}.sock", std::process::id()));
/// green::run(|| {
///     let listener = UnixListener::bind(&path).unwrap();
///     let server = green::spawn(move || {
///         let (mut stream, _) = listener.accept().unwrap();
///         stream.write_all(b"hi").unwrap();
///     });
///     let mut greeting = String::new();
///     UnixStream::connect(&path).unwrap().read_to_string(&mut greeting).unwrap();
///     assert_eq!(greeting, "hi");
///     server.join().unwrap();
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    /// mio's listener (its `accept` uses `accept4` with `SOCK_NONBLOCK`).
    socket: Socket<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates a listener bound to `path` (which must not exist yet).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener { socket: Socket::from_nonblocking(mio::net::UnixListener::bind(path)?) })
    }

    /// Creates a listener bound to `address`.
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixListener> {
        Ok(UnixListener { socket: Socket::from_nonblocking(mio::net::UnixListener::bind_addr(address)?) })
    }

    /// Waits for a connection and returns it with the peer's address. Every error is returned, as with std.
    #[track_caller]
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.socket.accept(|listener| listener.accept())?;
        Ok((UnixStream::from_accepted(net::UnixStream::from(OwnedFd::from(stream))), peer))
    }

    /// Like [`accept`](Self::accept), but rides out transient errors: see
    /// [`TcpListener::accept_retrying`](crate::net::TcpListener::accept_retrying).
    #[track_caller]
    pub fn accept_retrying(&self) -> io::Result<(UnixStream, SocketAddr)> {
        accept_retrying(&format_args!("unix listener fd {}", self.socket.as_raw_fd()), || self.accept())
    }

    /// An endless iterator over accepted connections, built on [`accept_retrying`](Self::accept_retrying).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// A second handle to the same listening socket (a duplicated descriptor).
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        let socket = self
            .socket
            .try_clone(|listener| Ok(mio::net::UnixListener::from(listener.as_fd().try_clone_to_owned()?)))?;
        Ok(UnixListener { socket })
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, `accept` on *this handle* fails with `WouldBlock` instead of waiting (per handle, unlike
    /// std).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

/// The iterator of [`UnixListener::incoming`]: never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener accepting.
    listener: &'a UnixListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept_retrying().map(|(stream, _)| stream))
    }
}

impl FusedIterator for Incoming<'_> {}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("UnixListener");
        debug.field("fd", &self.as_raw_fd());
        if let Ok(address) = self.local_addr() {
            debug.field("local", &address);
        }
        debug.finish()
    }
}

descriptor_conversions!(UnixListener, mio::net::UnixListener, "a listening Unix socket");

impl From<net::UnixListener> for UnixListener {
    /// Adopts a std listener, switching it to non-blocking mode.
    fn from(listener: net::UnixListener) -> UnixListener {
        UnixListener::from(OwnedFd::from(listener))
    }
}
