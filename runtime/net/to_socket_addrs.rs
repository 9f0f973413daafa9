//! [`ToSocketAddrs`]: std's address conversion, with host-name lookups kept off the worker.

#![forbid(unsafe_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::{iter, option, slice, vec};

use crate::{context, offload};

/// Conversion into the socket addresses a `green::net` call should use: the mirror of
/// [`std::net::ToSocketAddrs`], implemented for the same types.
///
/// Addresses and strings that parse as an IP address convert at once. A host name (`"localhost:80"`,
/// `("example.com", 443)`) needs a DNS lookup (`getaddrinfo`), which blocks: in a green thread it runs on the
/// [offload pool](mod@crate::offload) while only that green thread waits (a cancellation point); elsewhere it runs
/// in place, as in std.
///
/// A separate trait rather than std's, because std's `to_socket_addrs` cannot be moved off the worker: it
/// borrows the address, which need not be `Send`. Code generic over `std::net::ToSocketAddrs` switches its
/// bound to this one; implement it for your own types like std's.
///
/// ```
/// use green::net::ToSocketAddrs;
///
/// let addrs: Vec<_> = ("127.0.0.1", 8080).to_socket_addrs().unwrap().collect();
/// assert_eq!(addrs, ["127.0.0.1:8080".parse().unwrap()]);
/// ```
pub trait ToSocketAddrs {
    /// The iterator over the addresses.
    type Iter: Iterator<Item = SocketAddr>;

    /// The addresses, in the order to try them.
    ///
    /// # Errors
    /// A string that is neither an address nor a `host:port` pair, or a failed lookup.
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

/// The single address of the types that are one address already.
macro_rules! single {
    ($($address:ty),*) => {$(
        impl ToSocketAddrs for $address {
            type Iter = option::IntoIter<SocketAddr>;
            fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
                std::net::ToSocketAddrs::to_socket_addrs(self)
            }
        }
    )*};
}

single!(SocketAddr, SocketAddrV4, SocketAddrV6, (IpAddr, u16), (Ipv4Addr, u16), (Ipv6Addr, u16));

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)].into_iter());
        }
        lookup((host.to_owned(), port))
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(address) = self.parse::<SocketAddr>() {
            return Ok(vec![address].into_iter());
        }
        lookup(self.to_owned())
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = iter::Cloned<slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Resolves a host name with std: on the [offload pool](mod@crate::offload) when called from a green thread (the
/// green thread parks until the answer is in), in place otherwise.
///
/// The wait is a cancellation point: a cancelled caller, or one whose [`timeout`](crate::timeout) expires,
/// stops waiting at once and the lookup finishes alone on its pool thread (it owns its input).
fn lookup<A>(address: A) -> io::Result<vec::IntoIter<SocketAddr>>
where
    A: std::net::ToSocketAddrs + Send + 'static,
{
    let resolve = move || std::net::ToSocketAddrs::to_socket_addrs(&address).map(|found| found.collect::<Vec<_>>());
    let addresses = if context::in_green_thread() {
        match offload::spawn(resolve).join() {
            Ok(addresses) => addresses,
            Err(payload) => context::resume_unwind(payload),
        }
    } else {
        resolve()
    };
    Ok(addresses?.into_iter())
}

/// Resolves `address`; the error std gives when there is no address at all.
pub(crate) fn resolve<A: ToSocketAddrs + ?Sized>(address: &A) -> io::Result<Vec<SocketAddr>> {
    let addresses: Vec<SocketAddr> = address.to_socket_addrs()?.collect();
    if addresses.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any addresses"));
    }
    Ok(addresses)
}

/// Tries `f` on each address in turn; returns the first success or the last error (std's rule).
pub(crate) fn each_address<A: ToSocketAddrs + ?Sized, T>(
    address: &A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for address in resolve(address)? {
        match f(&address) {
            Ok(value) => return Ok(value),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("resolve returns at least one address"))
}
