//! Unix domain sockets: stream and datagram round trips, listeners, pairs, timeouts.

mod util;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use green::net::unix::{UnixDatagram, UnixListener, UnixStream};
use util::{runtime, watchdog};

/// A fresh socket path in the temporary directory, removed when dropped.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let path = std::env::temp_dir().join(format!("green-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn unix_stream_echo_through_a_listener_for_many_green_clients() {
    const CLIENTS: usize = 50;
    watchdog(Duration::from_secs(30), || {
        let path = SocketPath::new("stream-echo");
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = UnixListener::bind(&path.0).unwrap();
            assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.0.as_path()));
            let server = green::spawn(move || {
                let handlers: Vec<_> = listener
                    .incoming()
                    .take(CLIENTS)
                    .map(|stream| {
                        let stream = stream.unwrap();
                        green::spawn(move || {
                            let mut lines = BufReader::new(&stream);
                            let mut line = String::new();
                            while lines.read_line(&mut line).unwrap() > 0 {
                                (&stream).write_all(line.as_bytes()).unwrap();
                                line.clear();
                            }
                        })
                    })
                    .collect();
                handlers.into_iter().for_each(|handler| handler.join().unwrap());
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|client| {
                    let path = path.0.clone();
                    green::spawn(move || {
                        let stream = UnixStream::connect(&path).unwrap();
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut total = 0;
                        for message in 0..5 {
                            let sent = format!("{client}:{message}\n");
                            (&stream).write_all(sent.as_bytes()).unwrap();
                            let mut received = String::new();
                            reader.read_line(&mut received).unwrap();
                            assert_eq!(received, sent);
                            total += 1;
                        }
                        total
                    })
                })
                .collect();
            let total: usize = clients.into_iter().map(|client| client.join().unwrap()).sum();
            assert_eq!(total, CLIENTS * 5);
            server.join().unwrap();
        });
    });
}

#[test]
fn a_unix_stream_pair_carries_a_mebibyte_both_ways_and_half_closes() {
    const TOTAL: usize = 1 << 20;
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (a, b) = UnixStream::pair().unwrap();
            let echo = green::spawn(move || {
                let (mut reader, mut writer) = (&b, &b);
                let copied = io::copy(&mut reader, &mut writer).unwrap();
                b.shutdown(std::net::Shutdown::Write).unwrap();
                copied
            });
            let writer = {
                let a = a.try_clone().unwrap();
                green::spawn(move || {
                    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
                    (&a).write_all(&data).unwrap();
                    a.shutdown(std::net::Shutdown::Write).unwrap();
                })
            };
            let mut back = Vec::new();
            (&a).read_to_end(&mut back).unwrap();
            writer.join().unwrap();
            assert_eq!(echo.join().unwrap(), TOTAL as u64);
            assert_eq!(back.len(), TOTAL);
            assert!(back.iter().enumerate().all(|(i, &byte)| byte == (i % 251) as u8));
        });
    });
}

#[test]
fn a_unix_stream_read_timeout_fires_and_an_os_thread_client_works() {
    watchdog(Duration::from_secs(30), || {
        let path = SocketPath::new("stream-os");
        let rt = runtime(1);
        let listener = UnixListener::bind(&path.0).unwrap();
        let server = rt.spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0; 4];
            stream.read_exact(&mut request).unwrap();
            stream.write_all(&request).unwrap();
            // Keeps the connection open but silent until the client is done.
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).unwrap();
        });
        // The client is this OS thread, blocking in poll(2).
        let mut client = UnixStream::connect(&path.0).unwrap();
        client.write_all(b"ping").unwrap();
        let mut reply = [0; 4];
        client.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"ping");
        client.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let started = Instant::now();
        let error = client.read(&mut reply).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(client);
        server.join().unwrap();
    });
}

#[test]
fn unix_datagrams_round_trip_between_bound_sockets() {
    watchdog(Duration::from_secs(30), || {
        let server_path = SocketPath::new("dgram-server");
        let client_path = SocketPath::new("dgram-client");
        let rt = runtime(2);
        rt.block_on(|| {
            let server = UnixDatagram::bind(&server_path.0).unwrap();
            let echo = green::spawn(move || {
                let mut buf = [0; 64];
                for _ in 0..100 {
                    let (n, from) = server.recv_from(&mut buf).unwrap();
                    server.send_to(&buf[..n], from.as_pathname().unwrap()).unwrap();
                }
            });
            let client = UnixDatagram::bind(&client_path.0).unwrap();
            client.connect(&server_path.0).unwrap();
            for i in 0..100u32 {
                client.send(&i.to_be_bytes()).unwrap();
                let mut buf = [0; 4];
                assert_eq!(client.recv(&mut buf).unwrap(), 4);
                assert_eq!(u32::from_be_bytes(buf), i);
            }
            echo.join().unwrap();
        });
    });
}

#[test]
fn a_unix_datagram_pair_parks_the_receiver_and_times_out_when_silent() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (a, b) = UnixDatagram::pair().unwrap();
            let receiver = green::spawn(move || {
                let mut buf = [0; 16];
                let n = b.recv(&mut buf).unwrap();
                b.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
                let timed_out = b.recv(&mut buf).unwrap_err().kind();
                (buf[..n].to_vec(), timed_out)
            });
            green::sleep(Duration::from_millis(10));
            a.send(b"wake up").unwrap();
            let (bytes, timed_out) = receiver.join().unwrap();
            assert_eq!(bytes, b"wake up");
            assert_eq!(timed_out, io::ErrorKind::WouldBlock);
            let unbound = UnixDatagram::unbound().unwrap();
            assert!(unbound.local_addr().unwrap().is_unnamed());
        });
    });
}

#[test]
fn a_unix_connect_to_a_full_backlog_waits_until_the_server_accepts() {
    watchdog(Duration::from_secs(30), || {
        let path = SocketPath::new("backlog");
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = UnixListener::bind(&path.0).unwrap();
            // A backlog of 0: one connection may queue, the next connect fails with EAGAIN until it is accepted.
            // SAFETY: listen(2) on our own open listening socket.
            assert_eq!(unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 0) }, 0);
            let first = UnixStream::connect(&path.0).unwrap();
            let second = {
                let path = path.0.clone();
                green::spawn(move || {
                    let mut stream = UnixStream::connect(&path).unwrap();
                    stream.write_all(b"second").unwrap();
                })
            };
            green::sleep(Duration::from_millis(30));
            assert!(!second.is_finished(), "the queue was full: the second connect waits");
            let (accepted_first, _) = listener.accept().unwrap();
            let (mut accepted_second, _) = listener.accept().unwrap();
            let mut buf = [0; 6];
            accepted_second.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"second");
            second.join().unwrap();
            drop((first, accepted_first));
        });
    });
}
