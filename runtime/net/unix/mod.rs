//! Unix domain sockets: the `std::os::unix::net` mirror.
//!
//! Same design as the TCP and UDP types (see [`crate::net`]): a std or mio socket in non-blocking mode, whose
//! blocking calls wait on the current worker's reactor in a green thread and in `poll(2)` elsewhere.
//!
//! # Layout
//! - [`UnixListener`] and its [`Incoming`] iterator.
//! - [`UnixStream`]: a connection, and `pair()`.
//! - [`UnixDatagram`]: datagrams, bound, unbound or paired.

mod unix_datagram;
mod unix_listener;
mod unix_stream;

pub use std::os::unix::net::SocketAddr;
pub use unix_datagram::UnixDatagram;
pub use unix_listener::{Incoming, UnixListener};
pub use unix_stream::UnixStream;
