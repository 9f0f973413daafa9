//! Dropping a runtime whose worker has sockets registered and has been sleeping: the worker must see the
//! shutdown wake-up even when it arrives while the worker gives its CPU away before a sleep
//! (`reactor/yield_policy.rs`), whose poll consumes it.

mod util;

use std::io::Read;
use std::time::Duration;

use green::net::TcpStream;
use util::{runtime, watchdog};

/// Each round: a 1-worker runtime whose green thread waits on a socket until a read timeout (so the worker
/// has a registered socket and has slept: it yields before its next sleeps), then the runtime is dropped
/// right away. Four such loops run at once, more threads than the machine's cores, so that a worker's yield
/// often hands its CPU to the very thread that drops its runtime. A lost shutdown wake-up leaves the drop
/// waiting forever: the watchdog fails the test.
#[test]
fn runtimes_with_sockets_are_dropped_while_their_workers_idle() {
    watchdog(Duration::from_secs(60), || {
        let loops: Vec<_> = (0..4).map(|_| std::thread::spawn(drop_runtimes_after_socket_waits)).collect();
        for handle in loops {
            handle.join().unwrap();
        }
    });
}

/// 50 rounds of: a runtime waits on a socket's read timeout, then is dropped.
fn drop_runtimes_after_socket_waits() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    for _ in 0..50 {
        let runtime = runtime(1);
        let stream = runtime.block_on(move || {
            let stream = TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            // Nothing is sent: the read times out, after the worker slept in `epoll_wait`.
            assert!((&stream).read(&mut [0; 1]).is_err());
            stream
        });
        drop(runtime);
        drop(stream);
        drop(listener.accept().unwrap());
    }
}
