//! Placement of the green threads an accept loop spawns: a started green thread never moves, so where each
//! connection's green thread starts is the whole balance of a server (see `runtime/net/accept.rs`).

mod util;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use util::{runtime, watchdog};

/// Connections, one at a time, as the echo bench's client opens them.
const CONNECTIONS: usize = 40;

#[test]
fn an_accept_loop_spreads_its_connections_over_the_workers() {
    watchdog(Duration::from_secs(60), || {
        let rt = runtime(2);
        let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = rt.spawn(move || {
            let mut handles = Vec::new();
            for stream in listener.incoming().take(CONNECTIONS) {
                let mut stream = stream.unwrap();
                handles.push(green::spawn(move || {
                    // Tell the client which worker serves it, then echo until it closes.
                    let worker = std::thread::current().name().unwrap_or("?").to_string();
                    stream.write_all(&[worker.len() as u8]).unwrap();
                    stream.write_all(worker.as_bytes()).unwrap();
                    let mut buf = [0; 64];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        stream.write_all(&buf[..n]).unwrap();
                    }
                }));
            }
            for handle in handles {
                handle.join().unwrap();
            }
        });
        // Plain OS thread clients; each connection stays open, and busy, while the next ones are opened.
        let mut per_worker: HashMap<String, usize> = HashMap::new();
        let mut clients = Vec::new();
        for _ in 0..CONNECTIONS {
            let mut client = std::net::TcpStream::connect(address).unwrap();
            let mut len = [0; 1];
            client.read_exact(&mut len).unwrap();
            let mut name = vec![0; len[0] as usize];
            client.read_exact(&mut name).unwrap();
            *per_worker.entry(String::from_utf8(name).unwrap()).or_default() += 1;
            client.write_all(b"ping").unwrap();
            let mut echo = [0; 4];
            client.read_exact(&mut echo).unwrap();
            assert_eq!(&echo, b"ping");
            clients.push(client);
        }
        drop(clients);
        server.join().unwrap();
        assert_eq!(per_worker.len(), 2, "every connection on one worker: {per_worker:?}");
        for (worker, count) in &per_worker {
            assert!(*count >= CONNECTIONS / 4, "{worker} serves only {count} of {CONNECTIONS}: {per_worker:?}");
        }
    });
}
