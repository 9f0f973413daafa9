//! A Redis-compatible key-value server that real clients (`redis-cli`, `redis-benchmark`, client libraries)
//! talk to: the RESP2 protocol, pipelining, pub/sub and key expiry, one green thread per connection.
//!
//! Run it:     `cargo run --release --example mini_redis -- --addr 127.0.0.1:6380`
//! Talk to it: `redis-cli -p 6380 SET greeting hello EX 60`, `redis-cli -p 6380 GET greeting`, `redis-cli -p 6380`
//!             (interactive); `redis-cli -p 6380 SUBSCRIBE news` in one terminal and
//!             `redis-cli -p 6380 PUBLISH news hi` in another; load it with
//!             `redis-benchmark -p 6380 -t set,get,incr -n 100000 -c 50 [-P 16]`. Without redis-tools:
//!             `printf 'PING\r\n' | nc 127.0.0.1 6380` (inline commands work too).
//!
//! Commands: PING, ECHO, GET, SET (EX, PX, NX, XX), DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, EXPIRE, TTL,
//! KEYS (glob patterns), FLUSHDB, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, QUIT; plus the few that clients send on
//! their own (COMMAND, CONFIG GET, SELECT 0). Every value is a string.
//!
//! What to look at:
//! - **Pipelining for free.** A connection's green thread reads what arrived, runs *every* complete command
//!   in its buffer and answers them all with one write (`serve`). A client sending 16 commands before reading
//!   gets 16 answers in one system call.
//! - **Shared state.** The keys live in one `green::sync::Mutex<Db>`, held only for one command. A green
//!   thread waiting for it parks; the worker runs others.
//! - **Expiry by a timer thread.** A key with a deadline is also in a `BTreeSet` ordered by deadline; a green
//!   thread wakes every 100 ms and removes the keys due (a bounded number per tick). Reads check the
//!   deadline too, so an expired key is never seen even between ticks (Redis does both as well).
//! - **Pub/sub** gives a subscribed connection a second green thread, its writer, fed by a bounded channel:
//!   PUBLISH never waits on a subscriber; one whose queue is full (it stopped reading) is disconnected, as
//!   Redis does past its output buffer limit.
//! - **Hostile clients.** Malformed RESP, a bulk string over `--max-bulk` (1 MiB) — a 1 GiB bulk header
//!   included — get `-ERR Protocol error: ...` and a close, as Redis does; unknown commands and wrong
//!   arguments get `-ERR ...` and the connection goes on. A command must arrive whole within
//!   `--request-timeout` seconds (10), a silent connection is closed after `--idle-timeout` (300), a client
//!   that never reads its replies blocks only its own green thread and is closed when a write has waited
//!   that long; replies are flushed every 64 KiB, a command may not exceed twice `--max-bulk`, a subscriber's
//!   queue 8 MiB, the keys `--max-memory` (64 MiB; beyond it writes get `-OOM`), and the accept loop sheds the
//!   quietest connections when descriptors run out.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::channel::{self, Receiver, Sender};
use green::net::TcpStream;
use green::sync::Mutex;

/// Replies are written when this many bytes are waiting, even in the middle of a pipeline.
const FLUSH_AT: usize = 64 * 1024;
/// The longest inline command or `*`/`$` header line.
const MAX_LINE: usize = 64 * 1024;
/// The most arguments in one command.
const MAX_ARGUMENTS: usize = 1024 * 1024;
/// Messages that may wait for one subscriber...
const SUBSCRIBER_QUEUE: usize = 1024;
/// ...and bytes (Redis's default hard limit for pub/sub clients is 32 MiB).
const SUBSCRIBER_BYTES: usize = 8 << 20;

fn main() -> io::Result<()> {
    env_logger::init();
    let args = args::Args::parse(
        "mini_redis [--addr 127.0.0.1:6380] [--workers N] [--max-bulk BYTES] [--max-memory BYTES] \
         [--idle-timeout SECONDS] [--request-timeout SECONDS]",
        &["--addr", "--workers", "--max-bulk", "--max-memory", "--idle-timeout", "--request-timeout"],
    );
    let options = Options {
        max_bulk: args.count("--max-bulk", 1 << 20) as usize,
        max_memory: args.count("--max-memory", 64 << 20) as usize,
        idle_timeout: args.seconds("--idle-timeout", 300.0),
        request_timeout: args.seconds("--request-timeout", 10.0),
    };
    let runtime = green::Runtime::builder().workers(args.workers()).build()?;
    runtime.block_on(|| {
        let listener = server::listen(&args.text("--addr", "127.0.0.1:6380"), false);
        let shared = Arc::new(Shared { db: Mutex::default(), channels: Mutex::default(), options });
        let expirer = shared.clone();
        green::spawn(move || expire_forever(&expirer.db));
        let next_id = AtomicU64::new(1);
        server::serve(&listener, move |stream, activity| {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let mut connection = Connection { id, stream: Arc::new(stream), shared: shared.clone(), subscribed: None };
            if let Err(error) = connection.serve(&activity) {
                log::debug!("connection {id}: {error}");
            }
        })
    })
}

/// What every connection shares.
struct Shared {
    /// The keys.
    db: Mutex<Db>,
    /// Pub/sub: channel name → subscribed connection id → its subscriber handle.
    channels: Mutex<HashMap<Vec<u8>, HashMap<u64, Subscriber>>>,
    /// The limits from the command line.
    options: Options,
}

/// The key space.
#[derive(Default)]
struct Db {
    /// Key → value and deadline.
    entries: HashMap<Vec<u8>, (Vec<u8>, Option<Instant>)>,
    /// (deadline, key) for every key that has one.
    deadlines: BTreeSet<(Instant, Vec<u8>)>,
    /// Bytes of keys and values stored (what `--max-memory` bounds).
    used: usize,
}

impl Db {
    /// The live value of `key` (an expired one is removed first).
    fn get(&mut self, key: &[u8]) -> Option<&mut (Vec<u8>, Option<Instant>)> {
        if self.entries.get(key).is_some_and(|(_, deadline)| deadline.is_some_and(|at| at <= Instant::now())) {
            self.remove(key);
        }
        self.entries.get_mut(key)
    }

    /// Stores `value` under `key` with `deadline`, replacing any old value and deadline.
    fn set(&mut self, key: &[u8], value: Vec<u8>, deadline: Option<Instant>) {
        self.remove(key);
        self.used += key.len() + value.len();
        if let Some(at) = deadline {
            self.deadlines.insert((at, key.to_vec()));
        }
        self.entries.insert(key.to_vec(), (value, deadline));
    }

    /// Changes the deadline of an existing `key`.
    fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>) {
        if let Some((_, old)) = self.entries.get_mut(key) {
            if let Some(at) = std::mem::replace(old, deadline) {
                self.deadlines.remove(&(at, key.to_vec()));
            }
            if let Some(at) = deadline {
                self.deadlines.insert((at, key.to_vec()));
            }
        }
    }

    /// Removes `key`; returns whether it was there.
    fn remove(&mut self, key: &[u8]) -> bool {
        let Some((value, deadline)) = self.entries.remove(key) else { return false };
        self.used -= key.len() + value.len();
        if let Some(at) = deadline {
            self.deadlines.remove(&(at, key.to_vec()));
        }
        true
    }
}

/// Removes expired keys every 100 ms, at most 10,000 per tick so the lock is never held long.
fn expire_forever(db: &Mutex<Db>) {
    loop {
        green::sleep(Duration::from_millis(100));
        let mut db = db.lock().unwrap();
        let now = Instant::now();
        for _ in 0..10_000 {
            match db.deadlines.first() {
                Some((at, key)) if *at <= now => {
                    let key = key.clone();
                    db.remove(&key);
                }
                _ => break,
            }
        }
    }
}

/// A subscribed connection, as PUBLISH sees it.
struct Subscriber {
    /// Its writer's queue of encoded messages.
    push: Sender<Arc<[u8]>>,
    /// Bytes in that queue.
    queued: Arc<AtomicUsize>,
    /// Its socket, shut down if it falls too far behind.
    socket: Arc<TcpStream>,
}

/// One client connection.
struct Connection {
    /// Its number, its key in the pub/sub table.
    id: u64,
    /// The socket.
    stream: Arc<TcpStream>,
    /// The server's state.
    shared: Arc<Shared>,
    /// In pub/sub mode: the channels and the writer's queue.
    subscribed: Option<Subscription>,
}

/// A connection in pub/sub mode.
struct Subscription {
    /// The channels it is subscribed to.
    channels: HashSet<Vec<u8>>,
    /// Its writer's queue, through which every reply and message then goes (so they stay in order).
    push: Sender<Arc<[u8]>>,
    /// Bytes in that queue.
    queued: Arc<AtomicUsize>,
}

/// What the parser found at the start of the buffer.
enum Parsed {
    /// A command (its arguments) and the bytes it took.
    Command(Vec<Vec<u8>>, usize),
    /// Not complete yet.
    Incomplete,
    /// A protocol error: answered with `-ERR Protocol error: ...`, then the connection closes.
    Error(String),
}

impl Connection {
    /// Reads commands and answers them until the client quits, closes, errs or is too slow.
    fn serve(&mut self, activity: &server::Activity) -> io::Result<()> {
        let shared = self.shared.clone();
        let options = &shared.options;
        self.stream.set_write_timeout(Some(options.idle_timeout))?;
        let (mut received, mut out) = (Vec::with_capacity(16 * 1024), Vec::with_capacity(16 * 1024));
        let mut chunk = vec![0; 16 * 1024];
        let mut waiting_since = Instant::now();
        loop {
            let mut consumed = 0;
            loop {
                match parse(&received[consumed..], options.max_bulk) {
                    Parsed::Command(arguments, length) => {
                        consumed += length;
                        if arguments.is_empty() {
                            continue;
                        }
                        let quit = self.execute(&arguments, &mut out);
                        if out.len() >= FLUSH_AT || quit {
                            self.reply(&mut out)?;
                        }
                        if quit {
                            return Ok(());
                        }
                    }
                    Parsed::Incomplete if received.len() - consumed > options.max_bulk * 2 + MAX_LINE => {
                        // Many bulk strings, each under the limit, could still add up without end.
                        out.extend_from_slice(b"-ERR Protocol error: command too large\r\n");
                        self.reply(&mut out)?;
                        return self.stream.shutdown(Shutdown::Both);
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(error) => {
                        out.extend_from_slice(format!("-ERR Protocol error: {error}\r\n").as_bytes());
                        self.reply(&mut out)?;
                        return self.stream.shutdown(Shutdown::Both);
                    }
                }
            }
            received.drain(..consumed);
            if consumed > 0 {
                activity.touch();
                waiting_since = Instant::now();
            }
            self.reply(&mut out)?;
            // A command must arrive whole in time; between commands a client may idle (a subscriber forever).
            let limit = match (&self.subscribed, received.is_empty()) {
                (_, false) => Some(options.request_timeout),
                (None, true) => Some(options.idle_timeout),
                (Some(_), true) => None,
            };
            let deadline =
                limit.map_or(Instant::now() + Duration::from_secs(86_400 * 365), |limit| waiting_since + limit);
            match green::deadline(deadline, || (&*self.stream).read(&mut chunk)) {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(read)) => {
                    if received.is_empty() {
                        waiting_since = Instant::now();
                    }
                    received.extend_from_slice(&chunk[..read]);
                }
                Ok(Err(error)) => return Err(error),
                Err(_elapsed) => return Ok(()),
            }
        }
    }

    /// Sends the replies in `out` (through the writer in pub/sub mode, to keep them in order with messages).
    fn reply(&self, out: &mut Vec<u8>) -> io::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        match &self.subscribed {
            None => (&*self.stream).write_all(out)?,
            Some(Subscription { push, queued, .. }) => {
                queued.fetch_add(out.len(), Ordering::Relaxed);
                push.send(out.as_slice().into()).map_err(|_| io::ErrorKind::BrokenPipe)?
            }
        }
        out.clear();
        Ok(())
    }

    /// Runs one command, appending its reply to `out`; returns whether the connection should close.
    fn execute(&mut self, arguments: &[Vec<u8>], out: &mut Vec<u8>) -> bool {
        let name = String::from_utf8_lossy(&arguments[0]).to_ascii_lowercase();
        let arguments = &arguments[1..];
        if self.subscribed.is_some() && !matches!(name.as_str(), "subscribe" | "unsubscribe" | "ping" | "quit") {
            return error(
                out,
                &format!(
                    "Can't execute '{name}': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT are allowed in this context"
                ),
            );
        }
        let arity_ok = match name.as_str() {
            "ping" => arguments.len() <= 1,
            "quit" | "flushdb" | "flushall" | "command" => true,
            "echo" | "get" | "incr" | "decr" | "ttl" | "keys" | "select" => arguments.len() == 1,
            "incrby" | "decrby" | "expire" | "publish" => arguments.len() == 2,
            "set" => arguments.len() >= 2,
            "del" | "exists" | "subscribe" => !arguments.is_empty(),
            "unsubscribe" => true,
            "config" => arguments.len() >= 2,
            _ => {
                let first = arguments.first().map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
                return error(out, &format!("unknown command '{name}', with args beginning with: '{first}'"));
            }
        };
        if !arity_ok {
            return error(out, &format!("wrong number of arguments for '{name}' command"));
        }
        let shared = self.shared.clone();
        let db = || shared.db.lock().unwrap();
        match name.as_str() {
            "ping" if self.subscribed.is_some() => {
                array(out, 2);
                bulk(out, Some(b"pong"));
                bulk(out, Some(arguments.first().map_or(&b""[..], |a| a)));
            }
            "ping" => match arguments.first() {
                Some(message) => bulk(out, Some(message)),
                None => out.extend_from_slice(b"+PONG\r\n"),
            },
            "echo" => bulk(out, Some(&arguments[0])),
            "quit" => {
                out.extend_from_slice(b"+OK\r\n");
                return true;
            }
            "select" if arguments[0] == b"0" => out.extend_from_slice(b"+OK\r\n"),
            "select" => return error(out, "DB index is out of range"),
            "command" => array(out, 0),
            "config" => {
                array(out, 2);
                bulk(out, Some(&arguments[1]));
                bulk(out, Some(b""));
            }
            "get" => bulk(out, db().get(&arguments[0]).map(|(value, _)| value.as_slice())),
            "set" => return self.set(arguments, out),
            "del" | "exists" => {
                let mut db = db();
                let count = if name == "del" {
                    arguments.iter().filter(|key| db.remove(key)).count()
                } else {
                    arguments.iter().filter(|key| db.get(key).is_some()).count()
                };
                integer(out, count as i64);
            }
            "incr" | "decr" | "incrby" | "decrby" => {
                let by = match arguments.get(1).map(|by| parse_integer(by)) {
                    None => Some(1),
                    Some(by) => by,
                };
                let Some(by) = by.and_then(|by| if name.starts_with("decr") { by.checked_neg() } else { Some(by) })
                else {
                    return error(out, "value is not an integer or out of range");
                };
                let mut db = db();
                let (current, deadline) = match db.get(&arguments[0]) {
                    Some((value, deadline)) => (parse_integer(value), *deadline),
                    None => (Some(0), None),
                };
                match current.and_then(|current| current.checked_add(by)) {
                    Some(new) => {
                        db.set(&arguments[0], new.to_string().into_bytes(), deadline);
                        integer(out, new);
                    }
                    None => return error(out, "value is not an integer or out of range"),
                }
            }
            "expire" => {
                let Some(seconds) = parse_integer(&arguments[1]) else {
                    return error(out, "value is not an integer or out of range");
                };
                let mut db = db();
                let exists = db.get(&arguments[0]).is_some();
                if exists && seconds <= 0 {
                    db.remove(&arguments[0]);
                } else if exists {
                    let deadline = Instant::now().checked_add(Duration::from_secs(seconds as u64));
                    db.set_deadline(&arguments[0], deadline);
                }
                integer(out, exists as i64);
            }
            "ttl" => {
                let ttl = match db().get(&arguments[0]) {
                    None => -2,
                    Some((_, None)) => -1,
                    Some((_, Some(at))) => {
                        (at.saturating_duration_since(Instant::now()).as_millis() as i64 + 500) / 1000
                    }
                };
                integer(out, ttl);
            }
            "keys" => {
                let db = db();
                let now = Instant::now();
                let keys: Vec<&Vec<u8>> = db
                    .entries
                    .iter()
                    .filter(|(key, (_, deadline))| !deadline.is_some_and(|at| at <= now) && glob(&arguments[0], key))
                    .map(|(key, _)| key)
                    .collect();
                array(out, keys.len());
                for key in keys {
                    bulk(out, Some(key));
                }
            }
            "flushdb" | "flushall" => {
                *db() = Db::default();
                out.extend_from_slice(b"+OK\r\n");
            }
            "publish" => integer(out, self.publish(&arguments[0], &arguments[1]) as i64),
            "subscribe" => self.subscribe(arguments, out),
            "unsubscribe" => self.unsubscribe(arguments, out),
            _ => unreachable!("arity checked every known command"),
        }
        false
    }

    /// `SET key value [EX seconds | PX milliseconds] [NX | XX]`.
    fn set(&self, arguments: &[Vec<u8>], out: &mut Vec<u8>) -> bool {
        let (mut deadline, mut only_if) = (None, None);
        let mut options = arguments[2..].iter();
        while let Some(option) = options.next() {
            let option = String::from_utf8_lossy(option).to_ascii_uppercase();
            match option.as_str() {
                "NX" | "XX" if only_if.is_none() => only_if = Some(option == "XX"),
                "EX" | "PX" if deadline.is_none() => {
                    let Some(amount) = options.next().and_then(|amount| parse_integer(amount)) else {
                        return error(out, "value is not an integer or out of range");
                    };
                    if amount <= 0 {
                        return error(out, "invalid expire time in 'set' command");
                    }
                    let unit = if option == "EX" { 1000 } else { 1 };
                    let duration = Duration::from_millis((amount as u64).saturating_mul(unit));
                    deadline = Some(Instant::now().checked_add(duration).unwrap_or_else(far_future));
                }
                _ => return error(out, "syntax error"),
            }
        }
        let (key, value) = (&arguments[0], &arguments[1]);
        let mut db = self.shared.db.lock().unwrap();
        let exists = db.get(key).is_some();
        if only_if.is_some_and(|must_exist| must_exist != exists) {
            bulk(out, None);
        } else if db.used + key.len() + value.len() > self.shared.options.max_memory {
            out.extend_from_slice(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        } else {
            db.set(key, value.clone(), deadline);
            out.extend_from_slice(b"+OK\r\n");
        }
        false
    }

    /// Sends `message` to every subscriber of `channel`; returns how many got it. A subscriber whose queue
    /// is full is disconnected.
    fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        let mut encoded = Vec::with_capacity(channel.len() + message.len() + 32);
        array(&mut encoded, 3);
        bulk(&mut encoded, Some(b"message"));
        bulk(&mut encoded, Some(channel));
        bulk(&mut encoded, Some(message));
        let encoded: Arc<[u8]> = encoded.into();
        let mut channels = self.shared.channels.lock().unwrap();
        let Some(subscribers) = channels.get_mut(channel) else { return 0 };
        let mut received = 0;
        subscribers.retain(|id, subscriber| {
            let queued = subscriber.queued.fetch_add(encoded.len(), Ordering::Relaxed) + encoded.len();
            if queued <= SUBSCRIBER_BYTES && subscriber.push.try_send(encoded.clone()).is_ok() {
                received += 1;
                true
            } else {
                log::info!("disconnecting subscriber {id}: its queue is full ({queued} bytes)");
                let _ = subscriber.socket.shutdown(Shutdown::Both);
                false
            }
        });
        received
    }

    /// `SUBSCRIBE channel...`: enters pub/sub mode (starting the writer green thread) and subscribes.
    fn subscribe(&mut self, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        if self.subscribed.is_none() {
            let (push, queue) = channel::bounded(SUBSCRIBER_QUEUE);
            let (stream, queued) = (self.stream.clone(), Arc::new(AtomicUsize::new(0)));
            let writer_queued = queued.clone();
            green::spawn(move || write_pushed(&stream, queue, &writer_queued));
            // The replies so far go first, then everything through the writer.
            let _ = (&*self.stream).write_all(out);
            out.clear();
            self.subscribed = Some(Subscription { channels: HashSet::new(), push, queued });
        }
        let Subscription { channels: mine, push, queued } = self.subscribed.as_mut().expect("subscribed above");
        let mut table = self.shared.channels.lock().unwrap();
        for channel in channels {
            mine.insert(channel.clone());
            let subscriber = Subscriber { push: push.clone(), queued: queued.clone(), socket: self.stream.clone() };
            table.entry(channel.clone()).or_default().insert(self.id, subscriber);
            array(out, 3);
            bulk(out, Some(b"subscribe"));
            bulk(out, Some(channel));
            integer(out, mine.len() as i64);
        }
    }

    /// `UNSUBSCRIBE [channel...]` (none: all).
    fn unsubscribe(&mut self, channels: &[Vec<u8>], out: &mut Vec<u8>) {
        let Some(Subscription { channels: mine, .. }) = self.subscribed.as_mut() else {
            array(out, 3);
            bulk(out, Some(b"unsubscribe"));
            bulk(out, None);
            integer(out, 0);
            return;
        };
        let channels: Vec<Vec<u8>> =
            if channels.is_empty() { mine.iter().cloned().collect() } else { channels.to_vec() };
        let mut table = self.shared.channels.lock().unwrap();
        for channel in channels {
            mine.remove(&channel);
            if let Some(subscribers) = table.get_mut(&channel) {
                subscribers.remove(&self.id);
                if subscribers.is_empty() {
                    table.remove(&channel);
                }
            }
            array(out, 3);
            bulk(out, Some(b"unsubscribe"));
            bulk(out, Some(&channel));
            integer(out, mine.len() as i64);
        }
    }
}

impl Drop for Connection {
    /// Leaves every channel, however the connection ended (even cancelled to shed load).
    fn drop(&mut self) {
        if self.subscribed.is_some() {
            self.unsubscribe(&[], &mut Vec::new());
        }
    }
}

/// A subscribed connection's writer: writes replies and messages in order until the queue closes.
fn write_pushed(mut stream: &TcpStream, queue: Receiver<Arc<[u8]>>, queued: &AtomicUsize) {
    let mut batch = Vec::new();
    while let Ok(first) = queue.recv() {
        batch.clear();
        for bytes in std::iter::once(first).chain(queue.try_iter().take(64)) {
            batch.extend_from_slice(&bytes);
        }
        if stream.write_all(&batch).is_err() {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        queued.fetch_sub(batch.len(), Ordering::Relaxed);
    }
}

/// Parses one command at the start of `bytes`: a RESP array of bulk strings (what clients send) or an
/// inline command (`PING\r\n`, what a person types into `nc`).
fn parse(bytes: &[u8], max_bulk: usize) -> Parsed {
    let Some((first, mut at)) = line(bytes, 0) else {
        return if bytes.len() > MAX_LINE {
            Parsed::Error("too big inline request".into())
        } else {
            Parsed::Incomplete
        };
    };
    if !first.starts_with(b"*") {
        let arguments: Vec<Vec<u8>> =
            first.split(|b| b.is_ascii_whitespace()).filter(|a| !a.is_empty()).map(<[u8]>::to_vec).collect();
        return Parsed::Command(arguments, at); // empty for a blank line: skipped
    }
    let count = match parse_integer(&first[1..]) {
        Some(count) if count <= MAX_ARGUMENTS as i64 => count,
        _ => return Parsed::Error("invalid multibulk length".into()),
    };
    if count <= 0 {
        return Parsed::Command(Vec::new(), at); // skipped, as Redis does
    }
    let mut arguments = Vec::with_capacity((count as usize).min(64));
    for _ in 0..count {
        let Some((header, after)) = line(bytes, at) else {
            return if bytes.len() - at > MAX_LINE {
                Parsed::Error("too big bulk count string".into())
            } else {
                Parsed::Incomplete
            };
        };
        let Some(length) = header.strip_prefix(b"$") else {
            let got = header.first().map_or(' ', |&b| b as char);
            return Parsed::Error(format!("expected '$', got '{got}'"));
        };
        let length = match parse_integer(length) {
            Some(length) if (0..=max_bulk as i64).contains(&length) => length as usize,
            _ => return Parsed::Error("invalid bulk length".into()),
        };
        if bytes.len() < after + length + 2 {
            return Parsed::Incomplete;
        }
        if &bytes[after + length..after + length + 2] != b"\r\n" {
            return Parsed::Error("bulk string not followed by CRLF".into());
        }
        arguments.push(bytes[after..after + length].to_vec());
        at = after + length + 2;
    }
    Parsed::Command(arguments, at)
}

/// The line starting at `from` (without its CRLF, or bare LF) and where the next one starts.
fn line(bytes: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let end = from + bytes[from..].iter().take(MAX_LINE + 1).position(|&b| b == b'\n')?;
    let text = &bytes[from..end];
    Some((text.strip_suffix(b"\r").unwrap_or(text), end + 1))
}

/// A decimal integer (`-12`), or `None`.
fn parse_integer(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Whether `text` matches the glob `pattern`: `*` any run, `?` any byte, `[abc]`, `[a-z]`, `[^a]`, `\x` a
/// literal `x`. Iterative, backtracking only to the last `*`: linear in the pattern times the text.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None; // (pattern index after `*`, text index it matched up to)
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class(pattern, p, text[t]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(p + 2),
            Some(&literal) => (literal == text[t]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => (p, t) = (next, t + 1),
            (None, Some((after_star, matched))) => {
                (p, t) = (after_star, matched + 1);
                star = Some((after_star, matched + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches `byte` against the `[...]` class starting at `pattern[start]`; returns the index after the class
/// if it matches.
fn class(pattern: &[u8], start: usize, byte: u8) -> Option<usize> {
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&b'^');
    i += negate as usize;
    let mut matched = false;
    while i < pattern.len() && pattern[i] != b']' {
        if pattern[i] == b'\\' && i + 1 < pattern.len() {
            i += 1;
            matched |= pattern[i] == byte;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let (low, high) = (pattern[i].min(pattern[i + 2]), pattern[i].max(pattern[i + 2]));
            matched |= (low..=high).contains(&byte);
            i += 2;
        } else {
            matched |= pattern[i] == byte;
        }
        i += 1;
    }
    (matched != negate).then_some((i + 1).min(pattern.len()))
}

/// Appends an error reply; returns `false` (the connection goes on) for `execute`'s convenience.
fn error(out: &mut Vec<u8>, message: &str) -> bool {
    out.extend_from_slice(b"-ERR ");
    out.extend(message.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
    false
}

/// Appends an array header of `length` elements.
fn array(out: &mut Vec<u8>, length: usize) {
    out.extend_from_slice(format!("*{length}\r\n").as_bytes());
}

/// Appends a bulk string, or the null bulk string for `None`.
fn bulk(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => {
            out.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"$-1\r\n"),
    }
}

/// Appends an integer reply.
fn integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(format!(":{value}\r\n").as_bytes());
}

/// A deadline nobody will see (for expiry times too large to add to `now`).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// The limits from the command line.
struct Options {
    /// The longest bulk string accepted.
    max_bulk: usize,
    /// The most bytes of keys and values stored.
    max_memory: usize,
    /// How long a connection may stay silent between commands (or a write may wait).
    idle_timeout: Duration,
    /// How long one command may take to arrive.
    request_timeout: Duration,
}
