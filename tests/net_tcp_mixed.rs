//! Green threads and OS threads on the two ends of a connection; sockets moving between threads, workers and
//! runtimes.

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

/// Serves `connections` line-echo connections, each on its own green thread (or OS thread outside one).
fn line_echo(stream: TcpStream) {
    let mut lines = BufReader::new(&stream);
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap() > 0 {
        (&stream).write_all(line.as_bytes()).unwrap();
        line.clear();
    }
}

/// Sends `count` lines and checks each echo.
fn talk(stream: TcpStream, count: usize) -> usize {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut echoed = 0;
    for i in 0..count {
        let sent = format!("line {i}\n");
        writer.write_all(sent.as_bytes()).unwrap();
        let mut received = String::new();
        reader.read_line(&mut received).unwrap();
        assert_eq!(received, sent);
        echoed += 1;
    }
    echoed
}

#[test]
fn a_green_server_serves_plain_os_thread_clients() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = rt.spawn(move || {
            let handlers: Vec<_> =
                listener.incoming().take(4).map(|stream| green::spawn(move || line_echo(stream.unwrap()))).collect();
            handlers.into_iter().for_each(|handler| handler.join().unwrap());
        });
        let clients: Vec<_> =
            (0..4).map(|_| std::thread::spawn(move || talk(TcpStream::connect(address).unwrap(), 50))).collect();
        let echoed: usize = clients.into_iter().map(|client| client.join().unwrap()).sum();
        assert_eq!(echoed, 200);
        server.join().unwrap();
    });
}

#[test]
fn green_clients_talk_to_an_os_thread_server_with_std_sockets() {
    watchdog(Duration::from_secs(30), || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for _ in 0..4 {
                let (stream, _) = listener.accept().unwrap();
                std::thread::spawn(move || {
                    let mut lines = BufReader::new(&stream);
                    let mut line = String::new();
                    while lines.read_line(&mut line).unwrap() > 0 {
                        (&stream).write_all(line.as_bytes()).unwrap();
                        line.clear();
                    }
                });
            }
        });
        let rt = runtime(2);
        let echoed = rt.block_on(move || {
            let clients: Vec<_> =
                (0..4).map(|_| green::spawn(move || talk(TcpStream::connect(address).unwrap(), 50))).collect();
            clients.into_iter().map(|client| client.join().unwrap()).sum::<usize>()
        });
        assert_eq!(echoed, 200);
        server.join().unwrap();
    });
}

#[test]
fn a_socket_moves_from_a_green_thread_to_an_os_thread_and_back() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = rt.spawn(move || line_echo(listener.accept().unwrap().0));
        // Registered with a worker's reactor while a green thread waits on it...
        let stream = rt.block_on(move || {
            let stream = TcpStream::connect(address).unwrap();
            assert_eq!(talk(stream.try_clone().unwrap(), 5), 5);
            stream
        });
        // ...then used from this OS thread (poll(2))...
        assert_eq!(talk(stream.try_clone().unwrap(), 5), 5);
        // ...and from a green thread again.
        let stream = rt.block_on(move || {
            assert_eq!(talk(stream.try_clone().unwrap(), 5), 5);
            stream
        });
        drop(stream);
        server.join().unwrap();
    });
}

#[test]
fn a_socket_used_by_green_threads_on_every_worker_in_turn_keeps_working() {
    const HOPS: usize = 200;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let server = green::spawn(move || line_echo(listener.accept().unwrap().0));
            let mut stream = TcpStream::connect(address).unwrap();
            // Each hop is a new green thread, placed on either worker: the registration follows the socket.
            for hop in 0..HOPS {
                stream = green::spawn(move || {
                    let sent = format!("hop {hop}\n");
                    (&stream).write_all(sent.as_bytes()).unwrap();
                    let mut received = vec![0; sent.len()];
                    (&stream).read_exact(&mut received).unwrap();
                    assert_eq!(received, sent.as_bytes());
                    stream
                })
                .join()
                .unwrap();
            }
            drop(stream);
            server.join().unwrap();
        });
    });
}

#[test]
fn a_socket_outlives_the_runtime_it_was_registered_with() {
    watchdog(Duration::from_secs(30), || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut lines = BufReader::new(&stream);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap() > 0 {
                (&stream).write_all(line.as_bytes()).unwrap();
                line.clear();
            }
        });
        let stream = {
            let first = runtime(1);
            first.block_on(move || {
                let stream = TcpStream::connect(address).unwrap();
                assert_eq!(talk(stream.try_clone().unwrap(), 3), 3);
                // A read that has to wait registers the stream with this runtime's reactor.
                stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                let mut buf = [0; 1];
                assert!((&stream).read(&mut buf).is_err());
                stream.set_read_timeout(None).unwrap();
                stream
            })
        };
        // That reactor is gone now; a second runtime's green thread must re-register the stream.
        let second = runtime(1);
        let echoed = second.block_on(move || {
            let reader = {
                let stream = stream.try_clone().unwrap();
                green::spawn(move || {
                    let mut line = String::new();
                    BufReader::new(&stream).read_line(&mut line).unwrap();
                    line
                })
            };
            // Lets the reader park first (likely, not required).
            green::sleep(Duration::from_millis(10));
            (&stream).write_all(b"again\n").unwrap();
            reader.join().unwrap()
        });
        assert_eq!(echoed, "again\n");
        server.join().unwrap();
    });
}

#[test]
fn a_waiter_from_another_runtime_survives_the_shutdown_of_the_runtime_holding_the_registration() {
    watchdog(Duration::from_secs(30), || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = Arc::new(TcpStream::connect(address).unwrap());
        let (mut server, _) = listener.accept().unwrap();

        let first = runtime(1);
        let second = runtime(1);
        // A reader in the first runtime registers the socket there and stays parked.
        let first_reader = {
            let client = client.clone();
            first.spawn(move || {
                let mut buf = [0; 1];
                let _ = (&*client).read(&mut buf);
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        // A reader in the second runtime finds it registered (and waited on) there, and waits there too.
        let second_reader = {
            let client = client.clone();
            second.spawn(move || {
                let mut buf = [0; 6];
                (&*client).read_exact(&mut buf).map(|()| buf)
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        // Shutting the first runtime down unwinds its reader and closes its reactor; the second reader is
        // woken, re-registers with its own worker and gets the data.
        drop(first);
        assert!(green::is_cancelled(first_reader.join().unwrap_err().as_ref()));
        server.write_all(b"hello!").unwrap();
        assert_eq!(&second_reader.join().unwrap().unwrap(), b"hello!");
    });
}
