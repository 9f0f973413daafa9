//! TCP echo: bulk data through one connection, many connections at once, Read/Write adapters.

mod util;

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

/// A deterministic byte stream (xorshift64*), so both ends can agree on the data without storing it.
struct Pattern(u64);

impl Pattern {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let word = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// FNV-1a over a stream of chunks.
struct Checksum(u64);

impl Checksum {
    fn new() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Echoes everything until end-of-file, then closes the write side.
fn echo(stream: TcpStream) -> io::Result<u64> {
    let (mut reader, mut writer) = (&stream, &stream);
    let copied = io::copy(&mut reader, &mut writer)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    Ok(copied)
}

#[test]
fn sixty_four_mib_echo_through_one_connection_keeps_every_byte() {
    const TOTAL: usize = 64 << 20;
    watchdog(Duration::from_secs(120), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let server = green::spawn(move || echo(listener.accept().unwrap().0).unwrap());

            let stream = TcpStream::connect(address).unwrap();
            let mut write_half = stream.try_clone().unwrap();
            let writer = green::spawn(move || {
                let mut pattern = Pattern(0x9e37_79b9_7f4a_7c15);
                let mut checksum = Checksum::new();
                let mut buf = vec![0; 61_440];
                let mut sent = 0;
                while sent < TOTAL {
                    let n = buf.len().min(TOTAL - sent);
                    pattern.fill(&mut buf[..n]);
                    checksum.update(&buf[..n]);
                    write_half.write_all(&buf[..n]).unwrap();
                    sent += n;
                }
                write_half.shutdown(std::net::Shutdown::Write).unwrap();
                checksum.0
            });
            let mut read_half = stream;
            let reader = green::spawn(move || {
                let mut checksum = Checksum::new();
                let mut buf = vec![0; 65_536];
                let mut received = 0;
                loop {
                    let n = read_half.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    checksum.update(&buf[..n]);
                    received += n;
                }
                (received, checksum.0)
            });

            let sent_checksum = writer.join().unwrap();
            let (received, received_checksum) = reader.join().unwrap();
            assert_eq!(server.join().unwrap(), TOTAL as u64);
            assert_eq!(received, TOTAL);
            assert_eq!(received_checksum, sent_checksum);
        });
    });
}

/// A countdown that parks green threads until `count` have arrived.
struct Gate {
    /// Arrivals still missing, and who waits.
    state: Mutex<(usize, Vec<green::Thread>)>,
}

impl Gate {
    fn new(count: usize) -> Gate {
        Gate { state: Mutex::new((count, Vec::new())) }
    }

    fn arrive_and_wait(&self) {
        let me = green::current();
        {
            let mut state = self.state.lock().unwrap();
            state.0 -= 1;
            if state.0 == 0 {
                for thread in state.1.drain(..) {
                    thread.unpark();
                }
                return;
            }
            state.1.push(me);
        }
        while self.state.lock().unwrap().0 != 0 {
            green::park();
        }
    }
}

#[test]
fn a_thousand_concurrent_connections_on_two_workers_each_echo_their_messages() {
    const CONNECTIONS: usize = 1000;
    const MESSAGES: usize = 3;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let served = Arc::new(AtomicUsize::new(0));
            let server = {
                let served = served.clone();
                green::spawn(move || {
                    let mut handlers = Vec::new();
                    for stream in listener.incoming().take(CONNECTIONS) {
                        let stream = stream.unwrap();
                        let served = served.clone();
                        handlers.push(green::spawn(move || {
                            // Line-based echo through BufReader, as a std server would do it.
                            let mut lines = BufReader::new(&stream);
                            let mut line = String::new();
                            let mut writer = &stream;
                            while lines.read_line(&mut line).unwrap() > 0 {
                                writer.write_all(line.as_bytes()).unwrap();
                                line.clear();
                            }
                            served.fetch_add(1, Ordering::Relaxed);
                        }));
                    }
                    for handler in handlers {
                        handler.join().unwrap();
                    }
                })
            };

            // Every client holds its connection open until all are connected and have echoed once.
            let all_connected = Arc::new(Gate::new(CONNECTIONS));
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|client| {
                    let all_connected = all_connected.clone();
                    green::spawn(move || {
                        let stream = TcpStream::connect(address).unwrap();
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut writer = BufWriter::new(stream);
                        let mut echoed = 0;
                        for message in 0..MESSAGES {
                            let sent = format!("client {client} message {message}\n");
                            writer.write_all(sent.as_bytes()).unwrap();
                            writer.flush().unwrap();
                            let mut received = String::new();
                            reader.read_line(&mut received).unwrap();
                            assert_eq!(received, sent);
                            echoed += 1;
                            if message == 0 {
                                all_connected.arrive_and_wait();
                            }
                        }
                        echoed
                    })
                })
                .collect();
            let echoed: usize = clients.into_iter().map(|client| client.join().unwrap()).sum();
            server.join().unwrap();
            assert_eq!(echoed, CONNECTIONS * MESSAGES);
            assert_eq!(served.load(Ordering::Relaxed), CONNECTIONS);
        });
    });
}

#[test]
fn connect_by_host_name_is_resolved_and_connects() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = green::spawn(move || {
                let (mut stream, _) = listener.accept().unwrap();
                stream.write_all(b"by name").unwrap();
            });
            // "localhost" needs a lookup, which runs on the offload pool; an IP address does not.
            let before = green::offload::stats().completed;
            let _ = green::net::ToSocketAddrs::to_socket_addrs(&("127.0.0.1", port)).unwrap();
            assert_eq!(green::offload::stats().completed, before, "no lookup for an IP address");
            let mut stream = TcpStream::connect(("localhost", port))
                .or_else(|_| TcpStream::connect(format!("127.0.0.1:{port}")))
                .unwrap();
            assert!(green::offload::stats().threads > 0, "the lookup ran on the offload pool");
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            assert_eq!(text, "by name");
            server.join().unwrap();
        });
    });
}

#[test]
fn connect_to_a_closed_port_fails_with_connection_refused() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let address = {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap()
            };
            let error = TcpStream::connect(address).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
            let error = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
            let error = TcpStream::connect_timeout(&address, Duration::ZERO).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        });
    });
}

#[test]
fn vectored_io_and_peek_work_across_green_threads() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let client = green::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.set_nodelay(true).unwrap();
                assert!(stream.nodelay().unwrap());
                let parts = [io::IoSlice::new(b"head:"), io::IoSlice::new(b"body")];
                let mut written = stream.write_vectored(&parts).unwrap();
                if written < 9 {
                    stream.write_all(&b"head:body"[written..]).unwrap();
                    written = 9;
                }
                written
            });
            let (stream, peer) = listener.accept().unwrap();
            assert_eq!(peer, stream.peer_addr().unwrap());
            assert_eq!(client.join().unwrap(), 9);
            let mut peeked = [0; 5];
            // Parks until the data is there, then leaves it queued.
            let n = stream.peek(&mut peeked).unwrap();
            assert!(n > 0 && peeked[..n] == b"head:"[..n]);
            let (mut head, mut body) = ([0; 5], [0; 4]);
            let mut total = 0;
            while total < 9 {
                let mut buffers = [io::IoSliceMut::new(&mut head), io::IoSliceMut::new(&mut body)];
                let mut slices = &mut buffers[..];
                io::IoSliceMut::advance_slices(&mut slices, total);
                let n = (&stream).read_vectored(slices).unwrap();
                assert!(n > 0);
                total += n;
            }
            assert_eq!(&head, b"head:");
            assert_eq!(&body, b"body");
        });
    });
}
