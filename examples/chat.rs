//! A line-based chat server: green threads that own their state and talk through channels (no shared
//! client list, no lock in user code).
//!
//! Run it:    `cargo run --release --example chat -- --addr 127.0.0.1:7001`
//! Talk to it: `nc 127.0.0.1 7001` in two or three terminals; type lines. Each client is `user<N>`; every
//! line one sends reaches all the others as `user<N>: text`; `* user<N> joined` / `* user<N> left` announce
//! arrivals and departures; `! ...` lines are errors meant only for you.
//!
//! Who does what:
//! - **The accept loop** gives each connection a number and a green thread.
//! - **A connection's green thread** reads lines and sends them as events to the broker. Next to it, in a
//!   [`green::scope`], a **writer** green thread takes lines from the connection's own queue — a bounded
//!   `green::channel` — and writes them to the socket.
//! - **The broker**, one green thread, owns the list of clients. It takes events one at a time (joined,
//!   line, left) and puts each line into the queue of every other client, then yields, so that the writers
//!   it woke run before its next event even when they share its worker (green threads are not preempted).
//!
//! A slow client must not hold up the others, so the broker never waits on a client: it uses `try_send`,
//! and when a client's queue is full (256 lines waiting: it stopped reading, or reads far slower than the
//! others talk) the broker **drops that client** — it shuts the socket down, which ends both of its green
//! threads — and tells the others. We drop the client rather than some of its lines so that whoever stays
//! connected sees the whole conversation. A line longer than 4 KiB is not sent: its author gets an error
//! line and the rest of it is skipped. Senders wait when the broker falls behind (its inbox is bounded
//! too): a fast talker is slowed down, not the listeners.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use green::channel::{self, Receiver, Sender, TrySendError};
use green::net::{TcpListener, TcpStream};

/// The longest line a client may send, in bytes (without its newline).
const MAX_LINE: usize = 4096;

/// How many lines may wait for one client before it counts as too slow.
const QUEUE: usize = 256;

/// What connections tell the broker.
enum Event {
    /// A client connected: a handle to shut its socket down, and its queue of outgoing lines.
    Joined { id: u64, socket: TcpStream, outgoing: Sender<Arc<str>> },
    /// A client sent a line.
    Line { id: u64, text: String },
    /// A client sent a line over `MAX_LINE` bytes.
    TooLong { id: u64 },
    /// A client disconnected.
    Left { id: u64 },
}

fn main() -> io::Result<()> {
    env_logger::init();
    let address = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => "127.0.0.1:7001".to_string(),
        [flag, address] if flag == "--addr" => address.clone(),
        _ => {
            eprintln!("usage: chat [--addr 127.0.0.1:7001]");
            std::process::exit(2);
        }
    };
    green::run(|| {
        let listener = TcpListener::bind(address.as_str())?;
        println!("listening on {}", listener.local_addr()?);
        let (events, inbox) = channel::bounded(1024);
        green::spawn(move || broker(inbox));
        for (id, stream) in (1..).zip(listener.incoming()) {
            let (stream, events) = (stream?, events.clone());
            green::spawn(move || connection(id, stream, events));
        }
        unreachable!("incoming() never ends")
    })
}

/// Serves one client: registers it with the broker, then reads its lines while a writer green thread
/// sends it everybody else's.
fn connection(id: u64, stream: TcpStream, events: Sender<Event>) {
    let (outgoing, queue) = channel::bounded(QUEUE);
    let Ok(socket) = stream.try_clone() else { return };
    if events.send(Event::Joined { id, socket, outgoing }).is_err() {
        return;
    }
    green::scope(|scope| {
        scope.spawn(|| write_lines(&stream, queue));
        if let Err(error) = read_lines(id, &stream, &events) {
            log::debug!("user{id}: {error}");
        }
        // The broker shuts the socket down and drops our queue's sender: the writer ends.
        let _ = events.send(Event::Left { id });
    });
}

/// Sends each line the client sends to the broker, until end of file.
fn read_lines(id: u64, stream: &TcpStream, events: &Sender<Event>) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // At most one byte more than a line may have: enough to tell that it is too long.
        if (&mut reader).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
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
    /// A handle to the client's socket, to disconnect it.
    socket: TcpStream,
    /// The client's queue of outgoing lines.
    outgoing: Sender<Arc<str>>,
}

/// Owns the clients and routes every event, one at a time, never waiting on a client.
fn broker(inbox: Receiver<Event>) {
    let mut clients = BTreeMap::new();
    for event in inbox {
        match event {
            Event::Joined { id, socket, outgoing } => {
                let welcome = format!("* welcome, you are user{id}; {} others here", clients.len());
                let _ = outgoing.try_send(welcome.into());
                broadcast(&mut clients, id, format!("* user{id} joined"));
                clients.insert(id, Client { socket, outgoing });
            }
            Event::Line { id, text } => broadcast(&mut clients, id, format!("user{id}: {text}")),
            Event::TooLong { id } => {
                if let Some(client) = clients.get(&id) {
                    let error = format!("! line too long (over {MAX_LINE} bytes): not sent");
                    if let Err(TrySendError::Full(_)) = client.outgoing.try_send(error.into()) {
                        drop_client(&mut clients, id, "too slow");
                    }
                }
            }
            Event::Left { id } => {
                if let Some(client) = clients.remove(&id) {
                    // Also ends a writer stuck on a client that stopped reading.
                    let _ = client.socket.shutdown(Shutdown::Both);
                    broadcast(&mut clients, id, format!("* user{id} left"));
                }
            }
        }
        // Let the writers this event woke run before the next event: green threads are not preempted, so
        // without it a burst of events could fill the queue of a writer that shares our worker and keeps up.
        green::yield_now();
    }
}

/// Queues `line` for every client but `from`; drops the clients whose queue is full.
fn broadcast(clients: &mut BTreeMap<u64, Client>, from: u64, line: String) {
    let line: Arc<str> = line.into();
    let mut too_slow = Vec::new();
    for (&id, client) in clients.iter() {
        if id != from {
            if let Err(TrySendError::Full(_)) = client.outgoing.try_send(line.clone()) {
                too_slow.push(id);
            }
        }
    }
    for id in too_slow {
        drop_client(clients, id, "too slow");
    }
}

/// Disconnects client `id` (its reader sees end of file, its writer an error or the end of its queue) and
/// tells the others why.
fn drop_client(clients: &mut BTreeMap<u64, Client>, id: u64, reason: &str) {
    if let Some(client) = clients.remove(&id) {
        log::info!("dropping user{id}: {reason}");
        let _ = client.socket.shutdown(Shutdown::Both);
        broadcast(clients, id, format!("* user{id} was dropped: {reason}"));
    }
}
