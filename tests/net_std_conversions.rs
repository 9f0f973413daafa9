//! Every socket type converts to its std twin and back (`into_std`, `From` both ways) and keeps working.

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use util::watchdog;

#[test]
fn tcp_types_convert_both_ways() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let listener: std::net::TcpListener = listener.into_std();
            assert_eq!(listener.local_addr().unwrap(), address);
            let listener = green::net::TcpListener::from(listener);
            let client = green::spawn(move || {
                let stream = green::net::TcpStream::connect(address).unwrap();
                let mut stream = green::net::TcpStream::from(std::net::TcpStream::from(stream));
                stream.write_all(b"ping").unwrap();
            });
            let (stream, _) = listener.accept().unwrap();
            let stream: std::net::TcpStream = stream.into();
            assert_eq!(stream.local_addr().unwrap(), address);
            let mut stream = green::net::TcpStream::from(stream);
            let mut message = [0; 4];
            stream.read_exact(&mut message).unwrap();
            assert_eq!(&message, b"ping");
            client.join().unwrap();
        });
    });
}

#[test]
fn udp_and_unix_types_convert_both_ways() {
    watchdog(Duration::from_secs(30), || {
        green::run(|| {
            let a = green::net::UdpSocket::from(green::net::UdpSocket::bind("127.0.0.1:0").unwrap().into_std());
            let b: std::net::UdpSocket = green::net::UdpSocket::bind("127.0.0.1:0").unwrap().into();
            let b = green::net::UdpSocket::from(b);
            a.send_to(b"datagram", b.local_addr().unwrap()).unwrap();
            let mut buf = [0; 16];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (&b"datagram"[..], a.local_addr().unwrap()));

            let (left, right) = green::net::unix::UnixStream::pair().unwrap();
            let mut left = green::net::unix::UnixStream::from(left.into_std());
            let mut right = green::net::unix::UnixStream::from(std::os::unix::net::UnixStream::from(right));
            left.write_all(b"unix").unwrap();
            let mut message = [0; 4];
            right.read_exact(&mut message).unwrap();
            assert_eq!(&message, b"unix");

            let (left, right) = green::net::unix::UnixDatagram::pair().unwrap();
            let left = green::net::unix::UnixDatagram::from(left.into_std());
            let right = green::net::unix::UnixDatagram::from(std::os::unix::net::UnixDatagram::from(right));
            left.send(b"dgram").unwrap();
            assert_eq!(right.recv(&mut buf).unwrap(), 5);

            let path = std::env::temp_dir().join(format!("green-net-std-conversions-{}", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = green::net::unix::UnixListener::bind(&path).unwrap();
            let listener = green::net::unix::UnixListener::from(std::os::unix::net::UnixListener::from(listener));
            let listener: std::os::unix::net::UnixListener = listener.into_std();
            let listener = green::net::unix::UnixListener::from(listener);
            let client = green::net::unix::UnixStream::connect(&path).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            drop((client, accepted));
            std::fs::remove_file(&path).unwrap();
        });
    });
}
