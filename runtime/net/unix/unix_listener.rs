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
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-bind.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener { socket: Socket::from_nonblocking(mio::net::UnixListener::bind(path)?) })
    }

    /// Creates a listener bound to `address`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-bind-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let address = std::os::unix::net::SocketAddr::from_pathname(&path)?;
    /// let listener = green::net::unix::UnixListener::bind_addr(&address)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn bind_addr(address: &SocketAddr) -> io::Result<UnixListener> {
        Ok(UnixListener { socket: Socket::from_nonblocking(mio::net::UnixListener::bind_addr(address)?) })
    }

    /// Waits for a connection and returns it with the peer's address. Every error is returned, as with std.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-accept.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let client = green::net::unix::UnixStream::connect(&path)?;
    /// let (stream, _peer) = listener.accept()?; // parks until a client connects
    /// assert_eq!(stream.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(client);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.socket.accept(|listener| listener.accept())?;
        Ok((UnixStream::from_accepted(net::UnixStream::from(OwnedFd::from(stream))), peer))
    }

    /// Like [`accept`](Self::accept), but rides out transient errors: see
    /// [`TcpListener::accept_retrying`](crate::net::TcpListener::accept_retrying).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-accept-retrying.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let _client = green::net::unix::UnixStream::connect(&path)?;
    /// let (stream, _) = listener.accept_retrying()?;
    /// assert!(stream.peer_addr()?.is_unnamed());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    #[track_caller]
    pub fn accept_retrying(&self) -> io::Result<(UnixStream, SocketAddr)> {
        accept_retrying(&format_args!("unix listener fd {}", self.socket.as_raw_fd()), || self.accept())
    }

    /// An endless iterator over accepted connections, built on [`accept_retrying`](Self::accept_retrying).
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-incoming.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let server = green::spawn(move || {
    ///     for stream in listener.incoming().take(2) {
    ///         stream.unwrap().write_all(b"hi").unwrap();
    ///     }
    /// });
    /// for _ in 0..2 {
    ///     let mut reply = String::new();
    ///     green::net::unix::UnixStream::connect(&path)?.read_to_string(&mut reply)?;
    ///     assert_eq!(reply, "hi");
    /// }
    /// server.join().unwrap();
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The local address.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-local-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// A second handle to the same listening socket (a duplicated descriptor).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-try-clone.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let clone = listener.try_clone()?;
    /// assert_eq!(clone.local_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        let socket = self
            .socket
            .try_clone(|listener| Ok(mio::net::UnixListener::from(listener.as_fd().try_clone_to_owned()?)))?;
        Ok(UnixListener { socket })
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-take-error.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// assert!(listener.take_error()?.is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, `accept` on *this handle* fails with `WouldBlock` instead of waiting (per handle, unlike
    /// std).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-nonblocking.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// listener.set_nonblocking(true)?;
    /// let error = listener.accept().unwrap_err(); // nobody connects: no wait
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
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
std_conversions!(UnixListener, std::os::unix::net::UnixListener, "a std Unix listener");

impl From<net::UnixListener> for UnixListener {
    /// Adopts a std listener, switching it to non-blocking mode.
    fn from(listener: net::UnixListener) -> UnixListener {
        UnixListener::from(OwnedFd::from(listener))
    }
}
