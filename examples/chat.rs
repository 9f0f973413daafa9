//! A line-based chat server: green threads that own their state and talk through channels (no shared
//! client list, no lock in user code).
//!
//! Run it:    `cargo run --release --example chat -- --addr 127.0.0.1:7001 [--slow-timeout 2] [--idle-timeout 600]`
//! Talk to it: `nc 127.0.0.1 7001` in two or three terminals; type lines. Each client is `user<N>`; every
//! line one sends reaches all the others as `user<N>: text`; `* user<N> joined` / `* user<N> left` announce
//! arrivals and departures; `! ...` lines are errors meant only for you.
//!
//! Who does what:
//! - **The accept loop** gives each connection a green thread (`examples/shared/server.rs`, which also sheds
//!   the connections quiet the longest when descriptors run out).
//! - **A connection's green thread** reads lines and sends them as events to the broker. Next to it, in a
//!   [`green::scope`], a **writer** green thread takes lines from the connection's own queue — a bounded
//!   `green::channel` — and writes them to the socket.
//! - **The broker**, one green thread, owns the list of clients. It takes events one at a time (joined,
//!   line, left) and puts each line into the queue of every other client, then yields, so that the writers
//!   it woke run before its next event even when they share its worker (green threads are not preempted).
//!
//! Everybody who stays connected sees the whole conversation, so the conversation goes at the pace of its
//! slowest reader: when a client's queue is full (256 lines waiting), the broker waits for room — up to
//! `--slow-timeout` seconds (default 2) for all full queues together — before taking the next event. Its
//! inbox is bounded too, so a fast talker's sends wait: **a fast talker is slowed down, not the listeners**.
//! A client whose queue is still full after that wait has stopped reading: the broker **drops it** (shuts
//! its socket down, which ends both of its green threads). The others are held up at most that long.
//! Drops are announced in one line per event (`* 3 users were dropped: too slow (user4, user7, user9)`),
//! and announcements go only to queues with room: the work per event is one pass over the clients, however
//! many are dropped at once. A line longer than 4 KiB is not sent: its author gets an error line and the
//! rest of it is skipped. A client silent for `--idle-timeout` seconds (default 600) is disconnected.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::channel::{self, Receiver, Sender, TrySendError};
use green::net::TcpStream;
use server::Activity;

/// The longest line a client may send, in bytes (without its newline).
const MAX_LINE: usize = 4096;

/// How many lines may wait for one client before it counts as too slow.
const QUEUE: usize = 256;

/// What connections tell the broker.
enum Event {
    /// A client connected: a handle to shut its socket down, and its queue of outgoing lines.
    Joined { id: u64, socket: Arc<TcpStream>, outgoing: Sender<Arc<str>> },
    /// A client sent a line.
    Line { id: u64, text: String },
    /// A client sent a line over `MAX_LINE` bytes.
    TooLong { id: u64 },
    /// A client disconnected.
    Left { id: u64 },
}

fn main() -> io::Result<()> {
    env_logger::init();
    let args = args::Args::parse(
        "chat [--addr 127.0.0.1:7001] [--slow-timeout SECONDS] [--idle-timeout SECONDS]",
        &["--addr", "--slow-timeout", "--idle-timeout"],
    );
    let (slow_timeout, idle_timeout) = (args.seconds("--slow-timeout", 2.0), args.seconds("--idle-timeout", 600.0));
    green::run(|| {
        let listener = server::listen(&args.text("--addr", "127.0.0.1:7001"), false);
        let (events, inbox) = channel::bounded(1024);
        green::spawn(move || broker(inbox, slow_timeout));
        let next_id = AtomicU64::new(1);
        server::serve(&listener, move |stream, activity| {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            connection(id, stream, activity, idle_timeout, events.clone())
        })
    })
}

/// Serves one client: registers it with the broker, then reads its lines while a writer green thread
/// sends it everybody else's.
fn connection(id: u64, stream: TcpStream, activity: Activity, idle_timeout: Duration, events: Sender<Event>) {
    let (outgoing, queue) = channel::bounded(QUEUE);
    // Shared with the broker, which may shut it down (an `Arc`, not `try_clone`: no second descriptor).
    let stream = Arc::new(stream);
    let socket = stream.clone();
    if stream.set_read_timeout(Some(idle_timeout)).is_err()
        || events.send(Event::Joined { id, socket, outgoing }).is_err()
    {
        return;
    }
    green::scope(|scope| {
        scope.spawn(|| write_lines(&stream, queue));
        // However the reader ends (end of file, an error, the idle timeout, or cancelled by the accept loop
        // to shed load), the broker hears of it, shuts the socket down and drops our queue: the writer ends.
        let _leave = Leave { id, events: &events };
        if let Err(error) = read_lines(id, &stream, &activity, &events) {
            log::debug!("user{id}: {error}");
        }
    });
}

/// Tells the broker that a client left, when dropped.
struct Leave<'a> {
    /// The client.
    id: u64,
    /// The broker's inbox.
    events: &'a Sender<Event>,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let _ = self.events.send(Event::Left { id: self.id });
    }
}

/// Sends each line the client sends to the broker, until end of file.
fn read_lines(id: u64, stream: &TcpStream, activity: &Activity, events: &Sender<Event>) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // At most one byte more than a line may have: enough to tell that it is too long.
        if (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        activity.touch();
        let event = if line.len() > MAX_LINE && !line.ends_with(b"\n") {
            skip_line(&mut reader)?;
            Event::TooLong { id }
        } else {
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Event::Line { id, text: String::from_utf8_lossy(text).into_owned() }
        };
        if events.send(event).is_err() {
            return Ok(());
        }
    }
}

/// Discards input up to and including the next newline.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffered = reader.fill_buf()?;
        if buffered.is_empty() {
            return Ok(());
        }
        match buffered.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let length = buffered.len();
                reader.consume(length);
            }
        }
    }
}

/// Writes the client's queued lines to it (all that are waiting, in one write), until the broker lets go
/// of the queue or the connection fails.
fn write_lines(mut stream: &TcpStream, queue: Receiver<Arc<str>>) {
    let mut batch = String::new();
    while let Ok(first) = queue.recv() {
        batch.clear();
        for line in std::iter::once(first).chain(queue.try_iter()) {
            batch.push_str(&line);
            batch.push('\n');
        }
        if stream.write_all(batch.as_bytes()).is_err() {
            return;
        }
    }
}

/// What the broker keeps per client.
struct Client {
    /// The client's socket, to disconnect it.
    socket: Arc<TcpStream>,
    /// The client's queue of outgoing lines.
    outgoing: Sender<Arc<str>>,
}

/// Owns the clients and routes every event, one at a time.
fn broker(inbox: Receiver<Event>, slow_timeout: Duration) {
    let mut clients = BTreeMap::new();
    for event in inbox {
        match event {
            Event::Joined { id, socket, outgoing } => {
                let welcome = format!("* welcome, you are user{id}; {} others here", clients.len());
                let _ = outgoing.try_send(welcome.into());
                announce(&clients, id, format!("* user{id} joined"));
                clients.insert(id, Client { socket, outgoing });
            }
            Event::Line { id, text } => {
                let too_slow = broadcast(&clients, id, format!("user{id}: {text}").into(), slow_timeout);
                drop_clients(&mut clients, &too_slow);
            }
            Event::TooLong { id } => {
                if let Some(client) = clients.get(&id) {
                    let error = format!("! line too long (over {MAX_LINE} bytes): not sent");
                    let _ = client.outgoing.try_send(error.into());
                }
            }
            Event::Left { id } => {
                if let Some(client) = clients.remove(&id) {
                    // Also ends a writer stuck on a client that stopped reading.
                    let _ = client.socket.shutdown(Shutdown::Both);
                    announce(&clients, id, format!("* user{id} left"));
                }
            }
        }
        // Let the writers this event woke run before the next event: green threads are not preempted, so
        // without it a burst of events could fill the queue of a writer that shares our worker and keeps up.
        green::yield_now();
    }
}

/// Queues `line` for every client but `from`. Full queues get `slow_timeout` in all to make room; returns
/// the clients whose queue stayed full.
fn broadcast(clients: &BTreeMap<u64, Client>, from: u64, line: Arc<str>, slow_timeout: Duration) -> Vec<u64> {
    let mut full = Vec::new();
    for (&id, client) in clients.iter().filter(|(&id, _)| id != from) {
        if let Err(TrySendError::Full(_)) = client.outgoing.try_send(line.clone()) {
            full.push(id);
        }
    }
    let deadline = Instant::now() + slow_timeout;
    full.retain(|id| {
        let wait = deadline.saturating_duration_since(Instant::now());
        clients[id].outgoing.send_timeout(line.clone(), wait).is_err()
    });
    full
}

/// Queues `notice` for every client but `from` that has room (a client with a full queue misses it).
fn announce(clients: &BTreeMap<u64, Client>, from: u64, notice: String) {
    let notice: Arc<str> = notice.into();
    for (_, client) in clients.iter().filter(|(&id, _)| id != from) {
        let _ = client.outgoing.try_send(notice.clone());
    }
}

/// Disconnects the clients `ids` (each one's reader sees end of file, its writer an error or the end of its
/// queue) and tells the others in one line.
fn drop_clients(clients: &mut BTreeMap<u64, Client>, ids: &[u64]) {
    for id in ids {
        if let Some(client) = clients.remove(id) {
            log::info!("dropping user{id}: too slow");
            let _ = client.socket.shutdown(Shutdown::Both);
        }
    }
    let names: Vec<String> = ids.iter().take(10).map(|id| format!("user{id}")).collect();
    let more = if ids.len() > 10 { format!(" and {} more", ids.len() - 10) } else { String::new() };
    match ids {
        [] => {}
        [id] => announce(clients, 0, format!("* user{id} was dropped: too slow")),
        _ => announce(clients, 0, format!("* {} users were dropped: too slow ({}{more})", ids.len(), names.join(", "))),
    }
}
