// A realistic program written against `std`, included twice by `tests/port_std.rs`: once where `platform` is
// `std`, once where it is `green`. Nothing below names either; the only difference is that one `use` line.
//
// It runs a line-based TCP key-value server (a thread per connection, `Arc<Mutex<HashMap>>` for the data,
// `RwLock` for statistics), scoped clients that start together at a `Barrier`, a `Condvar` job queue feeding
// an `mpsc` worker pool, `OnceLock`/`LazyLock` statics, park/unpark, a UDP round trip, and file work. It
// returns a summary that must not depend on scheduling.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use platform::fs;
use platform::net::{TcpListener, TcpStream, UdpSocket};
use platform::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use platform::sync::{mpsc, Arc, Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock};
use platform::thread;

/// Settings computed once, on first use.
static LIMITS: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| HashMap::from([("clients", 6), ("keys_per_client", 20), ("jobs", 40), ("workers", 4)]));
/// The server's name, set once by `main`.
static SERVER_NAME: OnceLock<String> = OnceLock::new();
/// Logging is set up once, whoever gets there first.
static LOGGING: Once = Once::new();
/// How many times the logging setup ran.
static LOGGING_RUNS: AtomicUsize = AtomicUsize::new(0);

/// What the server counts, behind a `RwLock`.
#[derive(Default)]
struct Stats {
    /// SET commands handled.
    sets: usize,
    /// GET commands handled, and how many found their key.
    gets: usize,
    hits: usize,
    /// Connections served.
    connections: usize,
}

fn setup_logging() {
    LOGGING.call_once(|| {
        LOGGING_RUNS.fetch_add(1, Ordering::SeqCst);
    });
}

/// One connection: `SET key value`, `GET key`, `QUIT`.
fn serve(stream: TcpStream, store: Arc<Mutex<HashMap<String, String>>>, stats: Arc<RwLock<Stats>>) {
    setup_logging();
    stats.write().unwrap().connections += 1;
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(&stream).lines() {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        let reply = match (words.next(), words.next(), words.next()) {
            (Some("SET"), Some(key), Some(value)) => {
                store.lock().unwrap().insert(key.to_string(), value.to_string());
                stats.write().unwrap().sets += 1;
                "OK".to_string()
            }
            (Some("GET"), Some(key), None) => {
                let value = store.lock().unwrap().get(key).cloned();
                let mut stats = stats.write().unwrap();
                stats.gets += 1;
                match value {
                    Some(value) => {
                        stats.hits += 1;
                        value
                    }
                    None => "NONE".to_string(),
                }
            }
            (Some("QUIT"), None, None) => break,
            _ => "ERROR".to_string(),
        };
        writer.write_all(format!("{reply}\n").as_bytes()).unwrap(); // one segment per reply
    }
}

/// The accept loop: a named thread per connection, until `stop` is set.
fn run_server(listener: TcpListener, stop: Arc<AtomicBool>) -> usize {
    let store = Arc::new(Mutex::new(HashMap::new()));
    let stats = Arc::new(RwLock::new(Stats::default()));
    let mut handlers = Vec::new();
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let (store, stats) = (store.clone(), stats.clone());
        let name = format!("conn-{}", handlers.len());
        handlers.push(thread::Builder::new().name(name).spawn(move || serve(stream.unwrap(), store, stats)).unwrap());
    }
    for handler in handlers {
        handler.join().unwrap();
    }
    let stats = stats.read().unwrap();
    assert_eq!(stats.gets, stats.hits);
    stats.sets + stats.gets * 1000 + stats.connections * 1_000_000
}

/// A client: SETs then GETs its own keys, starting with the others at the barrier.
fn client(address: std::net::SocketAddr, id: usize, start: &Barrier) -> usize {
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap()).lines();
    let mut stream = stream;
    start.wait();
    let keys = LIMITS["keys_per_client"];
    let mut total = 0;
    for key in 0..keys {
        stream.write_all(format!("SET c{id}k{key} {}\n", id * 100 + key).as_bytes()).unwrap();
        assert_eq!(replies.next().unwrap().unwrap(), "OK");
    }
    for key in 0..keys {
        stream.write_all(format!("GET c{id}k{key}\n").as_bytes()).unwrap();
        total += replies.next().unwrap().unwrap().parse::<usize>().unwrap();
    }
    stream.write_all(b"QUIT\n").unwrap();
    total
}

/// A job queue on `Mutex<VecDeque>` + `Condvar`, drained by a pool whose results come back over `mpsc`.
fn job_pool() -> (u64, usize) {
    let queue = Arc::new((Mutex::new((VecDeque::new(), false)), Condvar::new()));
    let (results, collected) = mpsc::channel();
    let workers: Vec<_> = (0..LIMITS["workers"])
        .map(|_| {
            let (queue, results) = (queue.clone(), results.clone());
            thread::spawn(move || loop {
                let (lock, ready) = &*queue;
                let mut state =
                    ready.wait_while(lock.lock().unwrap(), |(jobs, done)| jobs.is_empty() && !*done).unwrap();
                let Some(job) = state.0.pop_front() else { break };
                drop(state);
                thread::sleep(Duration::from_millis(1)); // "work"
                results.send(job * job).unwrap();
            })
        })
        .collect();
    drop(results);
    let (lock, ready) = &*queue;
    for job in 0..LIMITS["jobs"] as u64 {
        lock.lock().unwrap().0.push_back(job);
        ready.notify_one();
    }
    lock.lock().unwrap().1 = true;
    ready.notify_all();
    let mut received = 0;
    let mut sum = 0;
    while let Ok(square) = collected.recv_timeout(Duration::from_secs(20)) {
        sum += square;
        received += 1;
    }
    for worker in workers {
        worker.join().unwrap();
    }
    (sum, received)
}

/// A thread parks until it is told to go on; a bounded pipeline hands values along.
fn park_and_pipeline() -> u32 {
    let go = Arc::new(AtomicBool::new(false));
    let parked = {
        let go = go.clone();
        thread::spawn(move || {
            while !go.load(Ordering::SeqCst) {
                thread::park_timeout(Duration::from_secs(1));
            }
            thread::current().name().is_none() as u32
        })
    };
    go.store(true, Ordering::SeqCst);
    parked.thread().unpark();
    let unnamed = parked.join().unwrap();

    let (to_doubler, doubler_input) = mpsc::sync_channel::<u32>(0);
    let (to_main, results) = mpsc::sync_channel::<u32>(2);
    let doubler = thread::spawn(move || doubler_input.iter().for_each(|n| to_main.send(n * 2).unwrap()));
    let producer = thread::spawn(move || (1..=10).for_each(|n| to_doubler.send(n).unwrap()));
    let total: u32 = results.iter().sum();
    producer.join().unwrap();
    doubler.join().unwrap();
    unnamed * 1000 + total
}

/// A UDP round trip on loopback.
fn udp_round_trip() -> String {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let server_address = server.local_addr().unwrap();
    let echo = thread::spawn(move || {
        let mut buf = [0; 64];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        buf[..n].make_ascii_uppercase();
        server.send_to(&buf[..n], from).unwrap();
    });
    client.send_to(b"ping over udp", server_address).unwrap();
    let mut buf = [0; 64];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from, server_address);
    echo.join().unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Writes a report file per section into a fresh directory, reads them back.
fn file_work(directory: &std::path::Path, sections: &[(String, String)]) -> String {
    let _ = fs::remove_dir_all(directory);
    fs::create_dir_all(directory).unwrap();
    for (name, body) in sections {
        fs::write(directory.join(name), body).unwrap();
    }
    let mut names: Vec<String> =
        fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let bytes: u64 = names.iter().map(|name| fs::metadata(directory.join(name)).unwrap().len()).sum();
    let first = fs::read_to_string(directory.join(&names[0])).unwrap();
    fs::remove_dir_all(directory).unwrap();
    format!("files {names:?}, {bytes} bytes, first {first:?}")
}

/// The whole program; returns its summary.
pub fn main(scratch: &std::path::Path) -> String {
    SERVER_NAME.set("kv-1".to_string()).unwrap();
    setup_logging();
    assert!(thread::available_parallelism().is_ok());

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop.clone();
        thread::Builder::new().name("acceptor".into()).spawn(move || run_server(listener, stop)).unwrap()
    };
    let clients = LIMITS["clients"];
    let start = Barrier::new(clients);
    let client_total: usize = thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                scope.spawn({
                    let start = &start;
                    move || client(address, id, start)
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).sum()
    });
    stop.store(true, Ordering::SeqCst);
    drop(TcpStream::connect(address).unwrap()); // wakes the accept loop, which sees `stop`
    let server_counts = server.join().unwrap();

    let (job_sum, jobs) = job_pool();
    let pipeline = park_and_pipeline();
    let udp = udp_round_trip();
    let sections = vec![
        ("clients".to_string(), format!("{client_total}\n")),
        ("server".to_string(), format!("{server_counts}\n")),
        ("jobs".to_string(), format!("{jobs} {job_sum}\n")),
    ];
    let files = file_work(scratch, &sections);
    format!(
        "{}: clients {client_total}, server {server_counts}, jobs {jobs} sum {job_sum}, pipeline {pipeline}, \
         udp {udp:?}, logging set up {} time(s), {files}",
        SERVER_NAME.get().unwrap(),
        LOGGING_RUNS.load(Ordering::SeqCst),
    )
}
