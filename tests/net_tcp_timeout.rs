//! Socket timeouts with std's semantics, non-blocking handles, and `green::timeout` around socket calls.

mod util;

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Reads with a 100 ms timeout from a silent peer and checks std's error and the elapsed time.
fn assert_read_times_out(stream: &TcpStream) {
    let timeout = Duration::from_millis(100);
    stream.set_read_timeout(Some(timeout)).unwrap();
    assert_eq!(stream.read_timeout().unwrap(), Some(timeout));
    let started = Instant::now();
    let mut buf = [0; 8];
    let error = (&*stream).read(&mut buf).unwrap_err();
    let elapsed = started.elapsed();
    // std on Unix: EAGAIN, kind WouldBlock.
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock, "{error}");
    assert_eq!(error.raw_os_error(), Some(libc::EAGAIN));
    assert!(elapsed >= timeout, "timed out early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "timed out late: {elapsed:?}");
}

#[test]
fn a_read_timeout_fires_in_a_green_thread_after_at_least_the_timeout() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, mut server) = pair();
            assert_read_times_out(&client);
            // The stream is fine afterwards: data that arrives later is read normally.
            server.write_all(b"late").unwrap();
            let mut buf = [0; 4];
            (&client).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"late");
        });
    });
}

#[test]
fn a_read_timeout_fires_on_a_plain_os_thread_too() {
    watchdog(Duration::from_secs(30), || {
        let (client, _server) = pair();
        assert!(!green::current().is_green());
        assert_read_times_out(&client);
    });
}

#[test]
fn the_read_timeout_is_shared_with_clones_as_in_std() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (client, _server) = pair();
            let clone = client.try_clone().unwrap();
            // The kernel stores the timeout in clock ticks; 60 ms is a whole number of them at every usual HZ.
            client.set_read_timeout(Some(Duration::from_millis(60))).unwrap();
            assert_eq!(clone.read_timeout().unwrap(), Some(Duration::from_millis(60)));
            let mut buf = [0; 1];
            assert_eq!((&clone).read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
            client.set_read_timeout(None).unwrap();
            assert_eq!(clone.read_timeout().unwrap(), None);
        });
    });
}

#[test]
fn a_zero_timeout_is_rejected_as_in_std() {
    watchdog(Duration::from_secs(30), || {
        let (client, _server) = pair();
        let error = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let error = client.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn a_write_timeout_fires_when_the_peer_does_not_read() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, server) = pair();
            let timeout = Duration::from_millis(100);
            client.set_write_timeout(Some(timeout)).unwrap();
            assert_eq!(client.write_timeout().unwrap(), Some(timeout));
            let chunk = vec![7u8; 1 << 16];
            let mut written = 0usize;
            let error = loop {
                let started = Instant::now();
                match (&client).write(&chunk) {
                    Ok(n) => written += n,
                    Err(error) => break (error, started.elapsed()),
                }
                assert!(written < 1 << 30, "the peer's buffers cannot hold a GiB");
            };
            assert_eq!(error.0.kind(), io::ErrorKind::WouldBlock, "{}", error.0);
            assert!(error.1 >= timeout, "timed out early: {:?}", error.1);
            assert!(written > 0);
            drop(server);
        });
    });
}

#[test]
fn a_nonblocking_handle_fails_at_once_while_a_clone_still_waits() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, mut server) = pair();
            let clone = client.try_clone().unwrap();
            client.set_nonblocking(true).unwrap();
            let mut buf = [0; 4];
            let error = (&client).read(&mut buf).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
            let waiting = green::spawn(move || {
                let mut buf = [0; 4];
                (&clone).read_exact(&mut buf).map(|()| buf)
            });
            green::sleep(Duration::from_millis(20));
            server.write_all(b"wait").unwrap();
            assert_eq!(&waiting.join().unwrap().unwrap(), b"wait");
            client.set_nonblocking(false).unwrap();
            server.write_all(b"more").unwrap();
            (&client).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"more");
        });
    });
}

#[test]
fn green_timeout_interrupts_a_read_in_a_green_thread() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (client, mut server) = pair();
            let started = Instant::now();
            let result = green::timeout(Duration::from_millis(50), || {
                let mut buf = [0; 4];
                (&client).read(&mut buf)
            });
            assert!(result.is_err(), "the scope expired");
            assert!(started.elapsed() >= Duration::from_millis(50));
            // The interrupted read left nothing behind: the socket works.
            server.write_all(b"ok").unwrap();
            let mut buf = [0; 2];
            (&client).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"ok");
        });
    });
}

#[test]
fn green_timeout_interrupts_a_read_on_an_os_thread() {
    watchdog(Duration::from_secs(30), || {
        let (client, _server) = pair();
        let started = Instant::now();
        let result = green::timeout(Duration::from_millis(50), || {
            let mut buf = [0; 4];
            (&client).read(&mut buf)
        });
        assert!(result.is_err(), "the scope expired");
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(50) && elapsed < Duration::from_secs(5), "{elapsed:?}");
        // A socket timeout longer than the scope does not delay it; a shorter one fires first as an error.
        client.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let result = green::timeout(Duration::from_secs(10), || {
            let mut buf = [0; 4];
            (&client).read(&mut buf)
        });
        assert_eq!(result.unwrap().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    });
}

#[test]
fn connect_timeout_gives_up_when_the_server_never_answers() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            // A backlog of 0 holds one unaccepted connection; later handshakes are dropped, so their connects
            // hang in SYN retries.
            // SAFETY: listen(2) on our own open listening socket.
            assert_eq!(unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 0) }, 0);
            let timeout = Duration::from_millis(200);
            let mut held = Vec::new();
            let error = loop {
                let started = Instant::now();
                match TcpStream::connect_timeout(&address, timeout) {
                    Ok(stream) => held.push(stream),
                    Err(error) => break (error, started.elapsed()),
                }
                assert!(held.len() < 8, "the backlog never filled");
            };
            assert_eq!(error.0.kind(), io::ErrorKind::TimedOut, "{}", error.0);
            assert!(error.1 >= timeout, "gave up early: {:?}", error.1);
            assert!(error.1 < Duration::from_secs(5), "gave up late: {:?}", error.1);
            drop(listener);
        });
    });
}

#[test]
fn a_timeout_set_before_adopting_a_std_stream_still_bounds_its_reads() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let _server = listener.accept().unwrap();
            let timeout = Duration::from_millis(60);
            std_client.set_read_timeout(Some(timeout)).unwrap();
            let client = TcpStream::from(std_client);
            let started = Instant::now();
            let mut buf = [0; 4];
            let error = (&client).read(&mut buf).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::WouldBlock, "{error}");
            assert!(started.elapsed() >= timeout, "timed out early: {:?}", started.elapsed());
        });
    });
}

#[test]
fn a_timeout_change_on_a_clone_reaches_a_handle_that_already_waited() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (client, server) = pair();
            let clone = client.try_clone().unwrap();
            client.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
            let mut buf = [0; 4];
            // This wait looks the timeout up (and keeps it).
            assert_eq!((&clone).read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
            client.set_read_timeout(None).unwrap();
            // Without a timeout the clone's next read waits for the data that comes after 150 ms.
            let writer = green::spawn(move || {
                green::sleep(Duration::from_millis(150));
                (&server).write_all(b"late").unwrap();
                server
            });
            (&clone).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"late");
            drop(writer.join().unwrap());
        });
    });
}

#[test]
fn the_kernel_option_is_set_for_whoever_takes_the_descriptor() {
    use std::os::fd::{FromRawFd, IntoRawFd};
    watchdog(Duration::from_secs(30), || {
        let (client, _server) = pair();
        client.set_write_timeout(Some(Duration::from_millis(120))).unwrap();
        client.set_read_timeout(Some(Duration::from_millis(60))).unwrap();
        // SAFETY: the descriptor was just given up by `client`, and the std stream becomes its only owner.
        let std_client = unsafe { std::net::TcpStream::from_raw_fd(client.into_raw_fd()) };
        assert_eq!(std_client.read_timeout().unwrap(), Some(Duration::from_millis(60)));
        assert_eq!(std_client.write_timeout().unwrap(), Some(Duration::from_millis(120)));
    });
}
