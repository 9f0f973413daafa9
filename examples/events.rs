//! Event-driven code — one loop reacting to whatever happens next: a line from a socket, a timer, a shutdown
//! signal — written with green threads, channels and `select!`, plus the two classic ways threads wait for
//! each other: an `Event` (a flag others wait on, Python's `threading.Event`) and a `Condvar`.
//!
//! Run it:     `cargo run --release --example events -- --addr 127.0.0.1:7002`
//! Talk to it: `nc 127.0.0.1 7002`, type lines (`quit` stops the server); press Ctrl-C to stop it.
//!
//! Who does what:
//! - **The event loop** (the main green thread) waits in one `select!` on three channels: lines from every
//!   connection, a `tick` every `--report-ms` (a stats line), and `shutdown`. Whichever comes first runs;
//!   nothing is polled.
//! - **Socket readers**: a green thread per connection turns its socket into messages on the lines channel.
//! - **Ctrl-C**: the signal handler may only do async-signal-safe things, so it writes one byte into a
//!   socket pair (the "self-pipe trick"); a green thread blocked reading the other end wakes and sends on
//!   `shutdown`. The loop then stops accepting, lets the readers go, prints a summary and exits 0.
//! - **`Event`**: the readers wait on `ready` (set once the loop runs) before reading, so no line arrives
//!   before anyone listens; `stopping` tells them to finish.
//! - **`Condvar`**: a watcher sleeps on a condition variable until `--milestone` lines have arrived (or
//!   shutdown), without polling, and announces it.
//!
//! The server prints `listening on <address>` first (port 0 picks a free port; the tests use that).

#[path = "shared/args.rs"]
mod args;
#[path = "shared/server.rs"]
mod server;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use green::channel::{bounded, tick, Sender};
use green::net::unix::UnixStream;
use green::sync::{Condvar, Event, Mutex};

/// The write end of the self-pipe, for the signal handler (-1 until set).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// What the loop shares with the readers and the watcher.
#[derive(Default)]
struct Shared {
    /// Set once the event loop runs: readers wait for it.
    ready: Event,
    /// Set when shutting down: readers stop.
    stopping: Event,
    /// Lines counted so far, and whether we are stopping; the watcher waits on `changed` for them.
    progress: Mutex<(u64, bool)>,
    /// Notified whenever `progress` changes.
    changed: Condvar,
}

fn main() -> io::Result<()> {
    let args = args::Args::parse(
        "events [--addr 127.0.0.1:7002] [--report-ms 1000] [--milestone 10]",
        &["--addr", "--report-ms", "--milestone"],
    );
    let (address, milestone) = (args.text("--addr", "127.0.0.1:7002"), args.count("--milestone", 10));
    let report = Duration::from_millis(args.count("--report-ms", 1000));
    green::run(|| {
        let shared = Arc::new(Shared::default());
        let (shutdown, shutdown_signal) = bounded::<&str>(1);
        watch_ctrl_c(shutdown.clone())?;
        let (lines, incoming) = bounded::<(u64, String)>(64);
        let listener = server::listen(&address, false);
        let accepting = {
            let shared = shared.clone();
            green::spawn(move || {
                server::serve(&listener, move |stream, activity| read_lines(stream, &activity, &lines, &shared))
            })
        };
        let watcher = {
            let shared = shared.clone();
            green::spawn(move || {
                let progress = shared.progress.lock().unwrap();
                let progress = shared.changed.wait_while(progress, |(count, stop)| *count < milestone && !*stop);
                if progress.unwrap().0 >= milestone {
                    println!("watcher: milestone of {milestone} lines reached");
                }
            })
        };

        shared.ready.set();
        let (start, ticker, mut total, mut since_report) = (Instant::now(), tick(report), 0u64, 0u64);
        let reason = loop {
            green::select! {
                recv(incoming) -> message => {
                    let (connection, line) = message.expect("the accept loop keeps a sender");
                    println!("connection {connection}: {line}");
                    (total, since_report) = (total + 1, since_report + 1);
                    shared.progress.lock().unwrap().0 = total;
                    shared.changed.notify_all();
                    if line.trim() == "quit" {
                        break "a client said quit";
                    }
                },
                recv(ticker) -> _ => {
                    println!("tick: {since_report} lines in the last {report:?}, {total} in all");
                    since_report = 0;
                },
                recv(shutdown_signal) -> reason => break reason.unwrap_or("shutdown"),
            }
        };
        // Shut down: stop accepting, tell the readers and the watcher, wait for the watcher.
        accepting.cancel();
        shared.stopping.set();
        shared.progress.lock().unwrap().1 = true;
        shared.changed.notify_all();
        watcher.join().unwrap();
        println!("stopping ({reason}): {total} lines in {:.1} s", start.elapsed().as_secs_f64());
        io::stdout().flush()
    })
}

/// A socket reader: waits until the loop is ready, then sends each line until end of file or shutdown.
fn read_lines(
    stream: green::net::TcpStream,
    activity: &server::Activity,
    lines: &Sender<(u64, String)>,
    shared: &Shared,
) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let connection = NEXT.fetch_add(1, Ordering::Relaxed);
    shared.ready.wait();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300))); // idle connections close
    for line in BufReader::new(&stream).take(1 << 20).lines() {
        let Ok(line) = line else { break };
        activity.touch(); // a whole line: this connection is not one to shed when descriptors run out
        if shared.stopping.is_set() || lines.send((connection, line)).is_err() {
            break;
        }
    }
}

/// Installs a SIGINT handler that wakes a green thread through a socket pair; it sends on `shutdown`.
fn watch_ctrl_c(shutdown: Sender<&'static str>) -> io::Result<()> {
    let (mut reader, writer) = UnixStream::pair()?;
    SIGNAL_PIPE.store(std::os::fd::IntoRawFd::into_raw_fd(writer), Ordering::Relaxed);
    extern "C" fn on_signal(_: libc::c_int) {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the descriptor stays open for the life of the process.
        unsafe { libc::write(SIGNAL_PIPE.load(Ordering::Relaxed), std::ptr::addr_of!(byte).cast(), 1) };
    }
    // SAFETY: the handler only calls write(2), which is async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t) };
    green::spawn(move || {
        if reader.read(&mut [0]).is_ok() {
            let _ = shutdown.send("Ctrl-C");
        }
    });
    Ok(())
}
