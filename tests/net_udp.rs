//! UDP sockets: round trips between green threads and OS threads, connected sockets, timeouts.

mod util;

use std::io;
use std::time::{Duration, Instant};

use green::net::UdpSocket;
use util::{runtime, watchdog};

#[test]
fn a_thousand_datagrams_ping_pong_between_green_threads_on_two_workers() {
    const ROUNDS: u32 = 1000;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let server = UdpSocket::bind("127.0.0.1:0").unwrap();
            let server_address = server.local_addr().unwrap();
            let echo = green::spawn(move || {
                let mut buf = [0; 64];
                let mut echoed = 0;
                while echoed < ROUNDS {
                    let (n, from) = server.recv_from(&mut buf).unwrap();
                    server.send_to(&buf[..n], from).unwrap();
                    echoed += 1;
                }
                echoed
            });
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.connect(server_address).unwrap();
            assert_eq!(client.peer_addr().unwrap(), server_address);
            let mut sum = 0u64;
            for round in 0..ROUNDS {
                client.send(&round.to_le_bytes()).unwrap();
                let mut buf = [0; 4];
                // Loopback does not drop datagrams at this rate; a timeout turns a loss into a failure, not a hang.
                client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                assert_eq!(client.recv(&mut buf).unwrap(), 4);
                let value = u32::from_le_bytes(buf);
                assert_eq!(value, round);
                sum += u64::from(value);
            }
            assert_eq!(echo.join().unwrap(), ROUNDS);
            assert_eq!(sum, u64::from(ROUNDS) * u64::from(ROUNDS - 1) / 2);
        });
    });
}

#[test]
fn a_green_receiver_gets_datagrams_from_an_os_thread_sender() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = receiver.local_addr().unwrap();
        let received = rt.spawn(move || {
            let mut buf = [0; 16];
            let mut peeked = [0; 16];
            let (n, from) = receiver.peek_from(&mut peeked).unwrap();
            let (m, from_again) = receiver.recv_from(&mut buf).unwrap();
            assert_eq!((n, from), (m, from_again));
            assert_eq!(peeked[..n], buf[..m]);
            (buf[..m].to_vec(), from)
        });
        std::thread::sleep(Duration::from_millis(20));
        // A plain OS thread sends with a green socket: it just blocks like std's would.
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(sender.send_to(b"from the OS", address).unwrap(), 11);
        let (bytes, from) = received.join().unwrap();
        assert_eq!(bytes, b"from the OS");
        assert_eq!(from, sender.local_addr().unwrap());
    });
}

#[test]
fn a_receive_timeout_fires_as_in_std() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_read_timeout(Some(Duration::from_millis(60))).unwrap();
            assert_eq!(socket.read_timeout().unwrap(), Some(Duration::from_millis(60)));
            let started = Instant::now();
            let mut buf = [0; 8];
            let error = socket.recv_from(&mut buf).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
            assert!(started.elapsed() >= Duration::from_millis(60));
        });
    });
}

#[test]
fn clones_share_the_socket_and_options_pass_through() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let clone = socket.try_clone().unwrap();
            assert_eq!(clone.local_addr().unwrap(), socket.local_addr().unwrap());
            socket.set_broadcast(true).unwrap();
            assert!(clone.broadcast().unwrap());
            socket.set_ttl(42).unwrap();
            assert_eq!(clone.ttl().unwrap(), 42);
            assert!(socket.take_error().unwrap().is_none());
            // One clone parks in recv on one green thread while the other sends to itself from another.
            let address = socket.local_addr().unwrap();
            let receiver = green::spawn(move || {
                let mut buf = [0; 8];
                let (n, _) = clone.recv_from(&mut buf).unwrap();
                buf[..n].to_vec()
            });
            green::sleep(Duration::from_millis(10));
            socket.send_to(b"to self", address).unwrap();
            assert_eq!(receiver.join().unwrap(), b"to self");
            let no_addresses: &[std::net::SocketAddr] = &[];
            let error = socket.send_to(b"x", no_addresses).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        });
    });
}
