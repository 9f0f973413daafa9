//! Networking: the `std::net` (and `std::os::unix::net`) mirror, with calls that park only the calling green
//! thread.
//!
//! Swap `std::net::TcpStream` for `green::net::TcpStream` (and so on) and code written for blocking sockets
//! runs in green threads unchanged: same methods, same errors, same timeouts, `Read`/`Write` on the type and
//! on `&Type`, so `BufReader`, `BufWriter`, `io::copy` and the rest of `std::io` just work. Outside a green
//! thread the types block the OS thread, as std's do, so a green server can talk to an OS-thread client in the
//! same process and the other way round.
//!
//! # How a call waits
//! Every socket is a std (or mio) socket whose descriptor is always in non-blocking mode, plus a
//! `Registration` with a reactor. A call tries the system call; on `EAGAIN` a green thread parks until its
//! worker's `epoll_wait` reports readiness, and an OS thread waits in `poll(2)`. The reactor's module docs
//! (`runtime/reactor/mod.rs`, linked from DESIGN.md) trace one `read()` through every layer, step by step.
//!
//! # Differences from std a user may notice
//! - Addresses go through [`ToSocketAddrs`], this module's mirror of std's trait: a host name is looked up on
//!   the offload pool when the caller is a green thread (a DNS lookup blocks).
//! - `set_nonblocking(true)` applies to the handle it is called on, not to every clone of the socket.
//! - `TcpListener::bind` listens with a backlog of 1024, not 128; `TcpListener::bind_with_backlog` and
//!   `TcpListener::builder` (backlog, `SO_REUSEPORT`) choose.
//! - `incoming()` does not yield transient accept errors (`ECONNABORTED`, `EMFILE`, ...): it retries, pausing
//!   while out of descriptors. `accept()` returns every error, as std's.
//! - Descriptors handed out by `into_raw_fd` are in non-blocking mode.
//! - Read and write timeouts are kept in the socket (a wait reads no socket option); the setters also set the
//!   kernel's, as std does. A timeout set with `setsockopt` on the raw descriptor is seen only until the
//!   socket's first wait in that direction.
//!
//! # Layout
//! - [`TcpListener`] (and [`Incoming`], [`TcpListenerBuilder`]), [`TcpStream`], [`UdpSocket`]: the `std::net` types.
//! - [`unix`]: [`UnixListener`](unix::UnixListener), [`UnixStream`](unix::UnixStream),
//!   [`UnixDatagram`](unix::UnixDatagram).
//! - [`ToSocketAddrs`]: address conversion with off-worker lookups.
//! - `socket`: what every type above is made of: a non-blocking socket and its registration.
//! - `accept`: the error policy of `incoming()` and `accept_retrying()`.

/// The descriptor conversions every socket type has, as its std twin does: `AsRawFd`, `AsFd`, `FromRawFd`,
/// `IntoRawFd`, `From<OwnedFd>` and `From<Self> for OwnedFd`. `$inner` is the type the socket wraps, `$what` how
/// the docs name the descriptor it adopts ("a connected TCP socket").
macro_rules! descriptor_conversions {
    ($type:ident, $inner:ty, $what:literal) => {
        impl std::os::fd::AsRawFd for $type {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.socket.as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $type {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.socket.get())
            }
        }

        impl std::os::fd::FromRawFd for $type {
            #[doc = concat!("Adopts ", $what, ", switching it to non-blocking mode.")]
            ///
            /// # Safety
            /// `fd` must be an open descriptor that nothing else owns (as for std's `from_raw_fd`).
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> $type {
                // SAFETY: the caller hands over ownership of an open descriptor (this function's contract).
                let inner = unsafe { <$inner as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                $type { socket: $crate::net::socket::Socket::adopt(inner) }
            }
        }

        impl std::os::fd::IntoRawFd for $type {
            /// Gives up the descriptor, deregistered and still in non-blocking mode.
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(self.socket.into_inner())
            }
        }

        impl From<std::os::fd::OwnedFd> for $type {
            #[doc = concat!("Adopts ", $what, ", switching it to non-blocking mode.")]
            fn from(fd: std::os::fd::OwnedFd) -> $type {
                $type { socket: $crate::net::socket::Socket::adopt(<$inner>::from(fd)) }
            }
        }

        impl From<$type> for std::os::fd::OwnedFd {
            /// Gives up the descriptor, deregistered and still in non-blocking mode.
            fn from(socket: $type) -> std::os::fd::OwnedFd {
                socket.socket.into_inner().into()
            }
        }
    };
}

/// The conversions to and from the std twin of a socket type: `into_std`, `From<std>` is written per type (it
/// may keep settings), and `From<Self> for std`. `$std` names the std type, `$what` how the docs name it.
macro_rules! std_conversions {
    ($type:ident, $std:ty, $what:literal) => {
        impl $type {
            #[doc = concat!("Gives up the socket as ", $what, " (`", stringify!($std), "`), deregistered.")]
            ///
            /// The descriptor stays in non-blocking mode, as tokio's `into_std` leaves it: a std call on it
            /// returns `WouldBlock` instead of waiting. Call `set_nonblocking(false)` on the result for std's
            /// blocking behaviour — only once no green clone (`try_clone`) of it is in use, since the mode is
            /// shared by every duplicate of the descriptor and a blocking one would block a worker.
            pub fn into_std(self) -> $std {
                <$std>::from(std::os::fd::OwnedFd::from(self))
            }
        }

        impl From<$type> for $std {
            #[doc = concat!("As [`", stringify!($type), "::into_std`]: deregistered, still non-blocking.")]
            fn from(socket: $type) -> $std {
                socket.into_std()
            }
        }
    };
}

mod accept;
mod socket;
mod tcp_listener;
mod tcp_stream;
mod to_socket_addrs;
mod udp_socket;
pub mod unix;

pub(crate) use accept::take_spread_hint;
pub use std::net::{AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
pub use tcp_listener::{Incoming, TcpListener, TcpListenerBuilder, DEFAULT_BACKLOG};
pub use tcp_stream::TcpStream;
pub use to_socket_addrs::ToSocketAddrs;
pub use udp_socket::UdpSocket;
