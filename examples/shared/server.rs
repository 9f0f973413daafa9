//! What every example server shares: listening (with a clear message when the port is taken), and an accept
//! loop that survives a hostile internet. Each server includes it with `#[path = "shared/server.rs"] mod server;`.
//!
//! A server at its descriptor limit (`ulimit -n`) cannot accept: `accept` fails with `EMFILE` and the new
//! client waits in the kernel's queue. If the connections that hold the descriptors are slow clients that
//! never finish a request (a "slowloris" attack sends one header byte every few seconds), a server that only
//! waits refuses every normal client until they leave. So [`serve`] keeps a table of live connections with the
//! time each last completed a request, and when `accept` runs out of descriptors it **sheds the connections
//! that have been quiet the longest**: it cancels their green threads (`JoinHandle::cancel`), which unwind
//! from their blocking read and close their sockets. New clients get in; busy ones are never touched.
//!
//! Each server also closes idle connections itself (a read timeout) and bounds a request's total time; the
//! table only matters when descriptors run out.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use green::JoinHandle;

/// A connection quiet for less than this is never shed: it has just been accepted or is being served.
const MIN_QUIET: Duration = Duration::from_millis(200);

/// Binds `address` (with `SO_REUSEPORT` if `reuse_port`, so several processes can share it) and prints
/// `listening on <address>`, the first line of every server's output. Exits with a message naming the
/// address and `--addr` if it is taken.
pub fn listen(address: &str, reuse_port: bool) -> TcpListener {
    match TcpListener::builder().reuse_port(reuse_port).bind(address) {
        Ok(listener) => {
            println!("listening on {}", listener.local_addr().expect("a bound listener has an address"));
            listener
        }
        Err(error) => {
            eprintln!("cannot listen on {address}: {error}; choose another address with --addr HOST:PORT");
            std::process::exit(1);
        }
    }
}

/// The last time a connection completed a request, shared between its green thread and the accept loop.
#[derive(Clone)]
pub struct Activity {
    /// Milliseconds since the server's start.
    last: Arc<AtomicU64>,
    /// The server's start.
    epoch: Instant,
}

impl Activity {
    /// Records that the connection just did useful work: received a whole request (a line, a command), not
    /// a byte of one, so that a client dripping a request byte by byte still counts as quiet.
    pub fn touch(&self) {
        self.last.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// How long the connection has been quiet.
    fn quiet(&self) -> Duration {
        self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

/// The live connections: id → (its green thread, its activity).
type Table = Mutex<HashMap<u64, (JoinHandle<()>, Activity)>>;

/// Accepts connections forever, each served by `handler` on its own green thread, shedding the quietest
/// connections when descriptors run out (see the module docs).
pub fn serve<H>(listener: &TcpListener, handler: H) -> !
where
    H: Fn(TcpStream, Activity) + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let table: Arc<Table> = Arc::default();
    let epoch = Instant::now();
    let mut pause = Duration::from_millis(1);
    for id in 0.. {
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if out_of_descriptors(&error) => {
                    let shed = shed_quietest(&table);
                    log::debug!("accept: {error}; shed {shed} quiet connections");
                    // Let the cancelled green threads close their sockets (or, with nothing to shed, wait
                    // for descriptors: 1 ms doubling to 100 ms).
                    green::sleep(pause);
                    pause =
                        if shed > 0 { Duration::from_millis(1) } else { (pause * 2).min(Duration::from_millis(100)) };
                }
                Err(error) => log::debug!("accept: {error}"), // one failed connection (ECONNABORTED, ...)
            }
        };
        pause = Duration::from_millis(1);
        let activity = Activity { last: Arc::default(), epoch };
        activity.touch();
        let (handler, table_for_thread, mine) = (handler.clone(), table.clone(), activity.clone());
        // Hold the table while spawning, so the connection cannot remove its entry before it is inserted.
        let mut entries = table.lock().unwrap();
        let thread = green::spawn(move || {
            /// Removes the connection's entry when its green thread ends, however it ends.
            struct Leave(Arc<Table>, u64);
            impl Drop for Leave {
                fn drop(&mut self) {
                    self.0.lock().unwrap().remove(&self.1);
                }
            }
            let _leave = Leave(table_for_thread, id);
            handler(stream, mine);
        });
        entries.insert(id, (thread, activity));
    }
    unreachable!("the id counter never ends")
}

/// Whether an accept error means the process or system is out of descriptors.
fn out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Cancels the connections quiet the longest (one in 32 of them, at least one, each quiet at least
/// `MIN_QUIET`); returns how many.
fn shed_quietest(table: &Table) -> usize {
    let mut entries = table.lock().unwrap();
    let mut quiet: Vec<(Duration, u64)> = entries
        .iter()
        .map(|(&id, (_, activity))| (activity.quiet(), id))
        .filter(|&(quiet, _)| quiet >= MIN_QUIET)
        .collect();
    let count = quiet.len().min((entries.len() / 32).max(1));
    if count == 0 {
        return 0;
    }
    quiet.select_nth_unstable_by(count - 1, |a, b| b.0.cmp(&a.0));
    for &(_, id) in &quiet[..count] {
        if let Some((thread, _)) = entries.remove(&id) {
            thread.cancel();
        }
    }
    count
}
