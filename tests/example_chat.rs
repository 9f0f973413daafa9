//! The `chat` example, run as a child process: lines reach every other client, arrivals and departures are
//! announced, overlong lines are rejected, a client that stops reading is dropped without holding up
//! the others for long, hundreds dropped at once do not crash the server, a fast talker is slowed rather
//! than its listeners dropped, idle clients are disconnected, and slowloris under a low descriptor limit
//! does not lock new clients out.

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
    /// The welcome line.
    welcome: String,
}

impl Client {
    /// Connects and reads the welcome line, which names the client.
    fn join(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut client = Client { name: String::new(), reader: BufReader::new(stream), welcome: String::new() };
        let welcome = client.line();
        let name = welcome.strip_prefix("* welcome, you are ").and_then(|rest| rest.split(';').next());
        client.name = name.unwrap_or_else(|| panic!("unexpected welcome {welcome:?}")).to_string();
        client.welcome = welcome;
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

    /// How many others the welcome line said were here.
    fn welcome_count(&self) -> usize {
        self.welcome.split("; ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse().ok()).unwrap()
    }

    fn say(&mut self, text: &str) {
        writeln!(self.reader.get_mut(), "{text}").unwrap();
    }
}

/// Three clients: each one's line reaches the two others and not itself; joins and leaves are announced.
#[test]
fn lines_reach_every_other_client_and_departures_are_announced() {
    example_process::watchdog("chat", Duration::from_secs(30), || {
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
    example_process::watchdog("chat", Duration::from_secs(30), || {
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
    example_process::watchdog("chat", Duration::from_secs(60), || {
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

/// Something that reads a chat conversation line by line.
trait Conversation {
    /// The next line, without its newline.
    fn next_line(&mut self) -> String;
    /// The reader's user name.
    fn name(&self) -> &str;
}

impl Conversation for Client {
    fn next_line(&mut self) -> String {
        self.line()
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Reads lines from `reader` until `done` (the talker's last line), checking that the talker's numbered lines
/// come in order and none is missing; returns the announcements seen (lines starting with `*`).
fn read_conversation(reader: &mut impl Conversation, talker: &str, expected: u64) -> Vec<String> {
    let (mut received, mut notices) = (0u64, Vec::new());
    loop {
        let line = reader.next_line();
        if line == format!("{talker}: done") {
            break;
        } else if line.starts_with('*') {
            notices.push(line);
        } else {
            let number = line.strip_prefix(&format!("{talker}: ")).and_then(|rest| rest.get(..8));
            assert_eq!(number, Some(format!("{received:08}").as_str()), "{}: line out of order", reader.name());
            received += 1;
        }
    }
    assert_eq!(received, expected, "{}: lines lost", reader.name());
    notices
}

/// Shrinks a socket's receive buffer, so that a client that never reads fills up after a few KiB.
fn shrink_receive_buffer(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 4096;
    // SAFETY: setsockopt reads one c_int from a live local; the descriptor is open.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            std::ptr::addr_of!(size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0);
}

/// 200 clients that never read and one talker sending 4 KiB lines: all 200 are dropped together, the
/// process lives (no recursion: it used to overflow its stack), and two healthy readers get every line.
#[test]
fn mass_drop_of_stuck_clients_keeps_the_server_and_the_healthy_readers() {
    const STUCK: usize = 200;
    example_process::watchdog("chat", Duration::from_secs(120), || {
        let (_server, address) = Example::server("chat", &["--slow-timeout", "0.5"]);
        let mut talker = Client::join(address);
        let mut readers: Vec<Client> = (0..2).map(|_| Client::join(address)).collect();
        let stuck: Vec<TcpStream> = (0..STUCK)
            .map(|_| {
                let stream = TcpStream::connect(address).unwrap();
                shrink_receive_buffer(&stream);
                stream
            })
            .collect();
        // Everyone has joined once the talker has seen the last stuck client's announcement... which it may
        // miss if its queue is full; so instead wait until a new client's welcome counts them all.
        loop {
            let probe = Client::join(address);
            let others: usize = probe.welcome_count();
            if others >= STUCK + 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let talker_name = talker.name.clone();
        let lines = 3000u64;
        let sender = {
            let mut writer = talker.reader.get_ref().try_clone().unwrap();
            std::thread::spawn(move || {
                for n in 0..lines {
                    writeln!(writer, "{n:08} {}", "x".repeat(4000)).unwrap();
                }
                writeln!(writer, "done").unwrap();
            })
        };
        let readers: Vec<_> = readers
            .drain(..)
            .map(|mut reader| {
                let talker_name = talker_name.clone();
                std::thread::spawn(move || read_conversation(&mut reader, &talker_name, lines))
            })
            .collect();
        for reader in readers {
            let notices = reader.join().unwrap();
            let dropped: usize = notices
                .iter()
                .filter(|notice| notice.contains("dropped"))
                .map(|notice| notice.split(' ').nth(1).and_then(|count| count.parse().ok()).unwrap_or(1))
                .sum();
            assert_eq!(dropped, STUCK, "{notices:?}");
        }
        sender.join().unwrap();
        drop(stuck);
        // The server still serves.
        let mut late = Client::join(address);
        talker.say("still alive");
        assert_eq!(late.line(), format!("{talker_name}: still alive"));
    });
}

/// One talker sending 10,000 lines of 1 KB as fast as it can to 15 listeners that read everything, but more slowly
/// than it talks (a pause every 10 lines): the talker is slowed to their pace and
/// none of them is dropped.
#[test]
fn a_fast_talker_is_slowed_and_no_reader_is_dropped() {
    example_process::watchdog("chat", Duration::from_secs(120), || {
        let (_server, address) = Example::server("chat", &[]);
        let talker = Client::join(address);
        let listeners: Vec<Client> = (0..15).map(|_| Client::join(address)).collect();
        let lines = 10_000u64;
        let talker_name = talker.name.clone();
        let mut writer = talker.reader.get_ref().try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let batch: String = (0..lines).map(|n| format!("{n:08} {}\n", "the quick brown fox ".repeat(50))).collect();
            writer.write_all(batch.as_bytes()).unwrap();
            writeln!(writer, "done").unwrap();
        });
        let readers: Vec<_> = listeners
            .into_iter()
            .map(|listener| {
                let talker_name = talker_name.clone();
                std::thread::spawn(move || {
                    let mut slow = SlowReader { client: listener, lines: 0 };
                    read_conversation(&mut slow, &talker_name, lines)
                })
            })
            .collect();
        for reader in readers {
            let notices = reader.join().unwrap();
            assert!(notices.iter().all(|notice| !notice.contains("dropped")), "{notices:?}");
        }
        sender.join().unwrap();
    });
}

/// A client that reads everything, pausing 1 ms every 10 lines: slower than a talker writing at full speed.
struct SlowReader {
    /// The connection.
    client: Client,
    /// Lines read so far.
    lines: u64,
}

impl Conversation for SlowReader {
    fn next_line(&mut self) -> String {
        self.lines += 1;
        if self.lines % 10 == 0 {
            std::thread::sleep(Duration::from_millis(1)); // a slow reader, not synchronisation
        }
        self.client.line()
    }

    fn name(&self) -> &str {
        &self.client.name
    }
}

/// A client silent for the idle timeout is disconnected and its departure announced.
#[test]
fn idle_clients_are_disconnected() {
    example_process::watchdog("chat", Duration::from_secs(30), || {
        let (_server, address) = Example::server("chat", &["--idle-timeout", "1"]);
        let mut a = Client::join(address);
        let b = Client::join(address);
        assert_eq!(a.line(), format!("* {} joined", b.name));
        // `a` keeps talking, `b` stays silent: `b` leaves after a second.
        let start = std::time::Instant::now();
        a.say("hello");
        let left = format!("* {} left", b.name);
        let mut b = b;
        assert_eq!(b.line(), format!("{}: hello", a.name));
        let mut rest = Vec::new();
        b.reader.read_to_end(&mut rest).expect("a clean close");
        assert!(start.elapsed() >= Duration::from_millis(900));
        // a was silent too, but may see b leave before it is disconnected itself.
        let mut line = String::new();
        let _ = a.reader.read_line(&mut line);
        assert!(line.is_empty() || line.trim_end() == left, "{line:?}");
    });
}

/// 150 slowloris connections (a byte every half second, never a whole line) against a server limited to 64
/// descriptors: new clients still join and chat.
#[test]
fn chat_survives_slowloris_under_a_low_descriptor_limit() {
    example_process::watchdog("chat", Duration::from_secs(60), || {
        let (_server, address) = Example::server_with_file_limit("chat", &[], example_process::SLOWLORIS_FILE_LIMIT);
        example_process::assert_survives_slowloris(address, b"x", b'x', |address| {
            let stream = TcpStream::connect(address)?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line)?;
            assert!(line.starts_with("* welcome"), "{line:?}");
            Ok(())
        });
    });
}
