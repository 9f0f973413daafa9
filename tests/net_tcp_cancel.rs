//! Cancelling green threads parked in socket calls.

mod util;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn a_cancelled_reader_unwinds_and_the_shared_socket_stays_usable() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, mut server) = pair();
            let client = Arc::new(client);
            let reader = {
                let client = client.clone();
                green::spawn(move || {
                    let mut buf = [0; 4];
                    let _ = (&*client).read(&mut buf);
                    unreachable!("the read is cancelled before any data arrives");
                })
            };
            green::sleep(Duration::from_millis(20));
            reader.cancel();
            let payload = reader.join().unwrap_err();
            assert!(green::is_cancelled(payload.as_ref()));
            // The cancelled read left its waiter queue clean: a new reader gets the data.
            server.write_all(b"next").unwrap();
            let mut buf = [0; 4];
            (&*client).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"next");
        });
    });
}

#[test]
fn cancelling_the_owner_of_a_socket_drops_it_and_the_peer_sees_end_of_file() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, mut server) = pair();
            let owner = green::spawn(move || {
                let mut client = client;
                let mut buf = [0; 4];
                let _ = client.read(&mut buf);
            });
            green::sleep(Duration::from_millis(20));
            owner.cancel();
            assert!(green::is_cancelled(owner.join().unwrap_err().as_ref()));
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        });
    });
}

#[test]
fn cancelling_a_thread_parked_in_accept_leaves_the_listener_usable() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
            let acceptor = {
                let listener = listener.clone();
                green::spawn(move || {
                    let _ = listener.accept();
                })
            };
            green::sleep(Duration::from_millis(20));
            acceptor.cancel();
            assert!(green::is_cancelled(acceptor.join().unwrap_err().as_ref()));
            let address = listener.local_addr().unwrap();
            let client = green::spawn(move || TcpStream::connect(address).unwrap().write_all(b"hi").unwrap());
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0; 2];
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"hi");
            client.join().unwrap();
        });
    });
}

#[test]
fn cancel_storm_on_parked_readers_keeps_every_byte_for_the_survivors() {
    const ROUNDS: usize = 200;
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (client, server) = pair();
            let client = Arc::new(client);
            let writer = green::spawn(move || {
                let mut server = server;
                for round in 0..ROUNDS {
                    server.write_all(&[round as u8]).unwrap();
                    green::yield_now();
                }
            });
            // Each round: a victim parks in read next to a survivor; the victim is cancelled at some point.
            let mut received = Vec::new();
            while received.len() < ROUNDS {
                let victim = {
                    let client = client.clone();
                    green::spawn(move || {
                        let mut buf = [0; 1];
                        (&*client).read(&mut buf).map(|n| buf[..n].to_vec())
                    })
                };
                let mut buf = [0; 1];
                let n = (&*client).read(&mut buf).unwrap();
                received.extend_from_slice(&buf[..n]);
                victim.cancel();
                match victim.join() {
                    Ok(bytes) => received.extend_from_slice(&bytes.unwrap()),
                    Err(payload) => assert!(green::is_cancelled(payload.as_ref())),
                }
            }
            writer.join().unwrap();
            let expected: Vec<u8> = (0..ROUNDS).map(|round| round as u8).collect();
            received.sort_unstable();
            assert_eq!(received, expected, "no byte lost or duplicated by a cancelled reader");
        });
    });
}
