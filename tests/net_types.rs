//! Type-level promises of `green::net`: every socket may cross threads and be shared, like std's.

use green::net::unix::{UnixDatagram, UnixListener, UnixStream};
use green::net::{Incoming, TcpListener, TcpStream, UdpSocket};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn sockets_are_send_and_sync() {
    assert_send_sync::<TcpListener>();
    assert_send_sync::<TcpStream>();
    assert_send_sync::<UdpSocket>();
    assert_send_sync::<UnixListener>();
    assert_send_sync::<UnixStream>();
    assert_send_sync::<UnixDatagram>();
    assert_send_sync::<Incoming<'static>>();
}

#[test]
fn std_io_adapters_accept_the_sockets_and_their_references() {
    fn reader_and_writer<T: std::io::Read + std::io::Write>() {}
    reader_and_writer::<TcpStream>();
    reader_and_writer::<&TcpStream>();
    reader_and_writer::<UnixStream>();
    reader_and_writer::<&UnixStream>();
}
