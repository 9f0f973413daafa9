//! The `chat` example, run as a child process: lines reach every other client, arrivals and departures are
//! announced, overlong lines are rejected, and a client that stops reading is dropped without holding up
//! the others.

mod example_process;
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use example_process::Example;

/// A chat client.
struct Client {
    /// Its name, from the welcome line.
    name: String,
    /// Reads the server's lines.
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects and reads the welcome line, which names the client.
    fn join(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut client = Client { name: String::new(), reader: BufReader::new(stream) };
        let welcome = client.line();
        let name = welcome.strip_prefix("* welcome, you are ").and_then(|rest| rest.split(';').next());
        client.name = name.unwrap_or_else(|| panic!("unexpected welcome {welcome:?}")).to_string();
        client
    }

    /// The next line from the server, without its newline.
    fn line(&mut self) -> String {
        let mut line = String::new();
        let read = self.reader.read_line(&mut line).unwrap();
        assert!(read > 0 && line.ends_with('\n'), "{}: connection closed, got {line:?}", self.name);
        line.pop();
        line
    }

    fn say(&mut self, text: &str) {
        writeln!(self.reader.get_mut(), "{text}").unwrap();
    }
}

/// Three clients: each one's line reaches the two others and not itself; joins and leaves are announced.
#[test]
fn lines_reach_every_other_client_and_departures_are_announced() {
    util::watchdog(Duration::from_secs(30), || {
        let (_server, address) = Example::server("chat", &[]);
        let mut a = Client::join(address);
        let mut b = Client::join(address);
        assert_eq!(a.line(), format!("* {} joined", b.name));
        let mut c = Client::join(address);
        assert_eq!(a.line(), format!("* {} joined", c.name));
        assert_eq!(b.line(), format!("* {} joined", c.name));

        a.say("hello from a");
        assert_eq!(b.line(), format!("{}: hello from a", a.name));
        assert_eq!(c.line(), format!("{}: hello from a", a.name));
        b.say("hi");
        // The next line `a` gets is `b`'s: its own line was not echoed to it (each queue is in order).
        assert_eq!(a.line(), format!("{}: hi", b.name));
        assert_eq!(c.line(), format!("{}: hi", b.name));
        c.say("and c\r"); // a CRLF line ending is stripped like LF

        assert_eq!(a.line(), format!("{}: and c", c.name));
        assert_eq!(b.line(), format!("{}: and c", c.name));
        let c_name = c.name.clone();
        drop(c);
        assert_eq!(a.line(), format!("* {c_name} left"));
        assert_eq!(b.line(), format!("* {c_name} left"));
    });
}

/// A line over 4 KiB gets an error line back and reaches nobody; the connection goes on; a line of exactly
/// 4 KiB is fine.
#[test]
fn overlong_line_is_rejected_with_an_error_line() {
    util::watchdog(Duration::from_secs(30), || {
        let (_server, address) = Example::server("chat", &[]);
        let mut a = Client::join(address);
        let mut b = Client::join(address);
        assert_eq!(a.line(), format!("* {} joined", b.name));

        a.say(&format!("{}\nafter", "x".repeat(100_000)));
        assert!(a.line().starts_with("! line too long"));
        assert_eq!(b.line(), format!("{}: after", a.name));

        let longest = "y".repeat(4096);
        a.say(&longest);
        assert_eq!(b.line(), format!("{}: {longest}", a.name));
        b.say("still here");
        assert_eq!(a.line(), format!("{}: still here", b.name));
    });
}

/// A client that never reads is dropped once its queue fills, and the others get every line meanwhile.
#[test]
fn a_client_that_stops_reading_is_dropped_without_holding_up_the_others() {
    util::watchdog(Duration::from_secs(60), || {
        let (_server, address) = Example::server("chat", &[]);
        let mut talker = Client::join(address);
        let mut listener = Client::join(address);
        assert_eq!(talker.line(), format!("* {} joined", listener.name));
        let slow = Client::join(address); // reads its welcome, then nothing more
        assert_eq!(talker.line(), format!("* {} joined", slow.name));
        assert_eq!(listener.line(), format!("* {} joined", slow.name));

        // The talker sends 1 KiB lines in batches, each once the listener has read the one before (so the
        // listener never lags), until the listener has seen the slow client dropped (bounded).
        const BATCH: u64 = 64;
        let dropped = Arc::new(AtomicBool::new(false));
        let (acknowledge, acknowledged) = mpsc::channel();
        let mut writer = talker.reader.get_ref().try_clone().unwrap();
        let sending = {
            let dropped = dropped.clone();
            std::thread::spawn(move || {
                let mut sent = 0u64;
                while !dropped.load(Ordering::Acquire) && sent < 100_000 {
                    let batch: String =
                        (sent..sent + BATCH).map(|n| format!("{n:08} {}\n", "z".repeat(1000))).collect();
                    writer.write_all(batch.as_bytes()).unwrap();
                    sent += BATCH;
                    if acknowledged.recv().is_err() {
                        break;
                    }
                }
                writeln!(writer, "done").unwrap();
                sent
            })
        };
        let (mut received, mut saw_drop) = (0u64, false);
        loop {
            let line = listener.line();
            if line == format!("* {} was dropped: too slow", slow.name) {
                saw_drop = true;
                dropped.store(true, Ordering::Release);
            } else if line == format!("{}: done", talker.name) {
                break;
            } else {
                let expected = format!("{}: {received:08} ", talker.name);
                assert!(line.starts_with(&expected), "line {received} out of order: {:?}", &line[..40]);
                received += 1;
                if received % BATCH == 0 {
                    let _ = acknowledge.send(());
                }
            }
        }
        let sent = sending.join().unwrap();
        assert!(saw_drop, "the slow client was never dropped ({sent} lines sent)");
        assert_eq!(received, sent);
        // The server shut the slow client's connection down: what was queued for it, then end of file.
        let mut slow = slow;
        let mut rest = Vec::new();
        slow.reader.read_to_end(&mut rest).expect("the dropped client's connection ends");
    });
}
