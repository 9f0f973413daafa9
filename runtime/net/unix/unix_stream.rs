//! [`UnixStream`]: the `std::os::unix::net::UnixStream` mirror.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::time::Duration;

use crate::context;
use crate::net::socket::{vectored_len, Socket};
use crate::reactor::Interest;

/// The first pause when the listener's backlog is full.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause when the listener's backlog is full.
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// A Unix stream connection whose blocking calls park only the calling green thread.
///
/// The mirror of [`std::os::unix::net::UnixStream`]; everything said on [`TcpStream`](crate::net::TcpStream)
/// (`Read`/`Write` on `&UnixStream`, clones, moving, timeouts with kind `WouldBlock`) holds here.
///
/// ```
/// use std::io::{Read, Write};
/// use green::net::unix::UnixStream;
///
/// green::run(|| {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     let echo = green::spawn(move || {
///         let mut buf = [0; 4];
///         b.read_exact(&mut buf).unwrap();
///         b.write_all(&buf).unwrap();
///     });
///     a.write_all(b"ping").unwrap();
///     let mut buf = [0; 4];
///     a.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
///     echo.join().unwrap();
/// });
/// ```
pub struct UnixStream {
    /// The std stream in non-blocking mode, and its registration.
    socket: Socket<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// A Unix connect does not wait for a handshake; it can only find the listener's backlog full, which
    /// std's blocking connect waits out. A green thread retries then, pausing 1 ms doubling to 100 ms.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-stream-connect.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let stream = green::net::unix::UnixStream::connect(&path)?;
    /// assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&SocketAddr::from_pathname(path)?)
    }

    /// Connects to the socket at `address` (see [`connect`](Self::connect)).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("green-doc-{}-stream-connect-addr.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # green::run(|| -> std::io::Result<()> {
    /// let listener = green::net::unix::UnixListener::bind(&path)?;
    /// let address = listener.local_addr()?;
    /// let stream = green::net::unix::UnixStream::connect_addr(&address)?;
    /// assert_eq!(stream.peer_addr()?.as_pathname(), address.as_pathname());
    /// # std::fs::remove_file(&path)?;
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn connect_addr(address: &SocketAddr) -> io::Result<UnixStream> {
        if !context::in_green_thread() {
            return Ok(UnixStream { socket: Socket::new(net::UnixStream::connect_addr(address)?)? });
        }
        let mut pause = FIRST_PAUSE;
        loop {
            match mio::net::UnixStream::connect_addr(address) {
                Ok(stream) => {
                    let stream = net::UnixStream::from(OwnedFd::from(stream));
                    return Ok(UnixStream { socket: Socket::from_nonblocking(stream) });
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    crate::time::sleep(pause);
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A connected pair of streams.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// (&a).write_all(b"over the pair")?;
    /// let mut buf = [0; 13];
    /// (&b).read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"over the pair");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        let wrap = |stream: mio::net::UnixStream| UnixStream {
            socket: Socket::from_nonblocking(net::UnixStream::from(OwnedFd::from(stream))),
        };
        Ok((wrap(a), wrap(b)))
    }

    /// Wraps a connection accepted in non-blocking mode.
    pub(crate) fn from_accepted(stream: net::UnixStream) -> UnixStream {
        UnixStream { socket: Socket::from_nonblocking(stream) }
    }

    /// A second handle to the same connection (a duplicated descriptor).
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// let clone = a.try_clone()?;
    /// (&clone).write_all(b"x")?; // the same connection
    /// let mut byte = [0];
    /// (&b).read_exact(&mut byte)?;
    /// assert_eq!(&byte, b"x");
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream { socket: self.socket.try_clone(|stream| stream.try_clone())? })
    }

    /// The local address.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed()); // a pair has no paths
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.get().peer_addr()
    }

    /// Sets how long a read may wait; `None` waits forever. `InvalidInput` for zero, as std.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// a.set_read_timeout(Some(Duration::from_millis(10)))?;
    /// let error = (&a).read(&mut [0; 8]).unwrap_err(); // nothing arrives
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_timeout(Interest::Read, timeout, |socket, timeout| socket.set_read_timeout(timeout))
    }

    /// Sets how long a write may wait; `None` waits forever. `InvalidInput` for zero, as std.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
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
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
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
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// assert_eq!(a.write_timeout()?, None);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.socket.get().write_timeout()
    }

    /// Shuts down the read half, the write half, or both (see
    /// [`TcpStream::shutdown`](crate::net::TcpStream::shutdown)).
    ///
    /// ```
    /// use std::io::Read;
    /// use green::net::Shutdown;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// a.shutdown(Shutdown::Write)?;
    /// assert_eq!((&b).read(&mut [0; 8])?, 0); // end-of-file
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket.get().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.get().take_error()
    }

    /// With `true`, calls on *this handle* fail with `WouldBlock` instead of waiting (per handle, unlike std;
    /// see [`TcpStream::set_nonblocking`](crate::net::TcpStream::set_nonblocking)).
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// # green::run(|| -> std::io::Result<()> {
    /// let (a, b) = green::net::unix::UnixStream::pair()?;
    /// a.set_nonblocking(true)?;
    /// let error = (&a).read(&mut [0; 8]).unwrap_err(); // no data: no wait
    /// assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok(()) }).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl Read for &UnixStream {
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

impl Write for &UnixStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.transfer(Interest::Write, buf.len(), |mut stream| stream.write(buf))
    }

    #[track_caller]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let len = vectored_len(bufs.iter().map(|buf| buf.len()));
        self.socket.transfer(Interest::Write, len, |mut stream| stream.write_vectored(bufs))
    }

    /// Nothing to flush: data is handed to the kernel by `write`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for UnixStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    #[track_caller]
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for UnixStream {
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

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.socket.get().fmt(f)
    }
}

descriptor_conversions!(UnixStream, std::os::unix::net::UnixStream, "a connected Unix stream socket");
std_conversions!(UnixStream, std::os::unix::net::UnixStream, "a std Unix stream");

impl From<net::UnixStream> for UnixStream {
    /// Adopts a std stream, switching it to non-blocking mode.
    fn from(stream: net::UnixStream) -> UnixStream {
        UnixStream { socket: Socket::adopt(stream) }
    }
}
