//! Closing TCP connections: half-close, reset, and threads parked on a socket when its peer goes away.

mod util;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::time::Duration;

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

/// A connected pair on loopback: (client side, server side).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Makes the next close of `stream` send a reset (RST) instead of a FIN.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a live local; the descriptor is open.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "setsockopt(SO_LINGER): {}", io::Error::last_os_error());
}

/// Gives the other green threads time to park in their socket call first, to make the interesting interleaving
/// (close while parked) likely. The tests pass either way; this only makes them test more.
fn let_it_park() {
    for _ in 0..10 {
        green::yield_now();
    }
    green::sleep(Duration::from_millis(20));
}

#[test]
fn half_close_gives_the_peer_end_of_file_and_it_can_still_answer() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (mut client, server) = pair();
            let peer = green::spawn(move || {
                let mut server = server;
                let mut request = Vec::new();
                // Parks until the client's FIN: read_to_end needs end-of-file.
                server.read_to_end(&mut request).unwrap();
                server.write_all(b"answer to ").unwrap();
                server.write_all(&request).unwrap();
            });
            client.write_all(b"the question").unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut answer = String::new();
            client.read_to_string(&mut answer).unwrap();
            assert_eq!(answer, "answer to the question");
            peer.join().unwrap();
            // Writing after our own shutdown(Write) fails, as with std.
            assert_eq!(client.write(b"late").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        });
    });
}

#[test]
fn a_reset_wakes_a_parked_reader_with_an_error() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, server) = pair();
            let reader = green::spawn(move || {
                let mut buf = [0; 16];
                (&client).read(&mut buf)
            });
            let_it_park();
            reset_on_close(&server);
            drop(server);
            let error = reader.join().unwrap().unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
        });
    });
}

#[test]
fn a_read_after_a_reset_fails_at_once_and_writes_fail_too() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (mut client, server) = pair();
            reset_on_close(&server);
            drop(server);
            let mut buf = [0; 16];
            let error = client.read(&mut buf).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
            // The reset is consumed; the connection is dead for writes.
            let mut failed = false;
            for _ in 0..3 {
                if client.write(b"x").is_err() {
                    failed = true;
                    break;
                }
            }
            assert!(failed, "writes to a reset connection must fail");
        });
    });
}

#[test]
fn a_shared_socket_wakes_its_parked_reader_when_the_peer_closes() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, server) = pair();
            green::scope(|scope| {
                // Two green threads share `&client`: one parks in read, the other writes, then the peer closes.
                let client = &client;
                let reader = scope.spawn(move || {
                    let mut all = Vec::new();
                    let mut reader = client;
                    reader.read_to_end(&mut all).unwrap();
                    all
                });
                scope.spawn(move || {
                    let_it_park();
                    let mut writer = client;
                    writer.write_all(b"from the other green thread").unwrap();
                });
                let mut server = server;
                let mut got = [0; 27];
                server.read_exact(&mut got).unwrap();
                assert_eq!(&got, b"from the other green thread");
                let_it_park();
                server.write_all(b"bye").unwrap();
                drop(server);
                assert_eq!(reader.join().unwrap(), b"bye");
            });
        });
    });
}

#[test]
fn shutdown_read_from_another_green_thread_ends_a_parked_read() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, _server) = pair();
            green::scope(|scope| {
                let reader = scope.spawn(|| {
                    let mut buf = [0; 8];
                    (&client).read(&mut buf)
                });
                let_it_park();
                client.shutdown(Shutdown::Read).unwrap();
                assert_eq!(reader.join().unwrap().unwrap(), 0);
            });
        });
    });
}

#[test]
fn dropping_a_clone_leaves_the_other_handle_reading_as_with_std() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, mut server) = pair();
            let clone = client.try_clone().unwrap();
            let reader = green::spawn(move || {
                let mut buf = [0; 5];
                let mut client = client;
                client.read_exact(&mut buf).map(|()| buf)
            });
            let_it_park();
            drop(clone);
            server.write_all(b"still").unwrap();
            assert_eq!(&reader.join().unwrap().unwrap(), b"still");
        });
    });
}

#[test]
fn many_readers_parked_on_one_socket_all_wake_on_close() {
    const READERS: usize = 8;
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, server) = pair();
            let client = std::sync::Arc::new(client);
            let readers: Vec<_> = (0..READERS)
                .map(|_| {
                    let client = client.clone();
                    green::spawn(move || {
                        let mut buf = [0; 1];
                        (&*client).read(&mut buf).unwrap()
                    })
                })
                .collect();
            let_it_park();
            drop(server);
            let total: usize = readers.into_iter().map(|reader| reader.join().unwrap()).sum();
            assert_eq!(total, 0, "every reader sees end-of-file");
        });
    });
}

#[test]
fn shutting_down_a_listener_wakes_a_parked_accept_and_incoming_reports_the_error() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            green::scope(|scope| {
                let acceptor = scope.spawn(|| listener.incoming().next().unwrap().map(|_| ()));
                let_it_park();
                // SAFETY: shutdown(2) on our own open listening socket.
                assert_eq!(unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) }, 0);
                let error = acceptor.join().unwrap().unwrap_err();
                assert_eq!(error.raw_os_error(), Some(libc::EINVAL), "not a transient error: {error}");
            });
        });
    });
}
