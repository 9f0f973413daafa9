//! A server loop survives running out of file descriptors (`EMFILE`): it warns once, pauses, and accepts
//! again when descriptors free up.
//!
//! The scenario lowers `RLIMIT_NOFILE`, so it runs in a child process: the test re-executes this test binary
//! with `GREEN_NET_EMFILE_CHILD=1` and checks the child's exit status and output.

mod util;

use std::io::{Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use green::net::{TcpListener, TcpStream};
use util::{runtime, watchdog};

/// Set in the child process.
const CHILD: &str = "GREEN_NET_EMFILE_CHILD";
/// The descriptor limit in the child.
const LIMIT: u64 = 64;

/// Counts `green::net` warnings and info records and wakes a waiting green thread on each; prints everything
/// at `info` and above to stderr for the parent to read.
struct Recorder {
    /// Records with level `warn` (the "pausing accepts" message).
    warnings: AtomicUsize,
    /// Records with level `info` (the "accepting again" message).
    recoveries: AtomicUsize,
    /// Who to wake when a record arrives.
    waiter: Mutex<Option<green::Thread>>,
}

impl log::Log for Recorder {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
        if record.target() == "green::net" {
            match record.level() {
                log::Level::Warn => self.warnings.fetch_add(1, Ordering::SeqCst),
                log::Level::Info => self.recoveries.fetch_add(1, Ordering::SeqCst),
                _ => 0,
            };
            if let Some(waiter) = self.waiter.lock().unwrap().as_ref() {
                waiter.unpark();
            }
        }
    }

    fn flush(&self) {}
}

/// Parks the current green thread until `done()` holds; whoever changes it unparks `waiter`.
fn park_until(deadline: Instant, what: &str, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        green::park_timeout(Duration::from_millis(100));
    }
}

fn lower_descriptor_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write one rlimit struct, a live local.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = LIMIT.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// The scenario, run in the child.
fn child() {
    let recorder: &'static Recorder = Box::leak(Box::new(Recorder {
        warnings: AtomicUsize::new(0),
        recoveries: AtomicUsize::new(0),
        waiter: Mutex::new(None),
    }));
    log::set_logger(recorder).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    watchdog(Duration::from_secs(30), move || {
        let rt = runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        lower_descriptor_limit();
        rt.block_on(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            *recorder.waiter.lock().unwrap() = Some(green::current());

            // 1. Connect until this process has no descriptor left. Nobody accepts yet: the kernel completes
            //    the handshakes and queues the connections in the listener's backlog.
            let mut clients = Vec::new();
            let exhausted = loop {
                match TcpStream::connect(address) {
                    Ok(stream) => clients.push(stream),
                    Err(error) => break error,
                }
                assert!(clients.len() < LIMIT as usize, "the descriptor limit was not applied");
            };
            assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE), "{exhausted}");
            let connected = clients.len();
            assert!(connected >= 10, "only {connected} connections fit under the limit");

            // 2. The server starts: its first accept fails with EMFILE.
            let accepted = Arc::new(AtomicUsize::new(0));
            let closed = Arc::new(AtomicUsize::new(0));
            let main = green::current();
            let server = {
                let (accepted, closed) = (accepted.clone(), closed.clone());
                green::spawn(move || {
                    for stream in listener.incoming() {
                        let stream = stream.expect("incoming() rides out EMFILE");
                        accepted.fetch_add(1, Ordering::SeqCst);
                        main.unpark();
                        let (closed, main) = (closed.clone(), main.clone());
                        green::spawn(move || {
                            // Echo until end-of-file, then close: frees the descriptor.
                            let (mut reader, mut writer) = (&stream, &stream);
                            let _ = std::io::copy(&mut reader, &mut writer);
                            drop(stream);
                            closed.fetch_add(1, Ordering::SeqCst);
                            main.unpark();
                        });
                    }
                })
            };
            park_until(deadline, "the EMFILE warning", || recorder.warnings.load(Ordering::SeqCst) > 0);
            assert_eq!(accepted.load(Ordering::SeqCst), 0, "no descriptor was free");

            // 3. The clients close: descriptors free up, the server accepts every queued connection (running out
            //    again on the way, while its handlers still hold the accepted ones).
            drop(clients);
            park_until(deadline, "the queued connections", || closed.load(Ordering::SeqCst) == connected);
            assert_eq!(accepted.load(Ordering::SeqCst), connected);

            // 4. The server still serves new connections.
            let mut fresh = TcpStream::connect(address).unwrap();
            fresh.write_all(b"still serving").unwrap();
            let mut echo = [0; 13];
            fresh.read_exact(&mut echo).unwrap();
            assert_eq!(&echo, b"still serving");
            assert_eq!(accepted.load(Ordering::SeqCst), connected + 1);
            park_until(deadline, "the recovery message", || recorder.recoveries.load(Ordering::SeqCst) > 0);

            // One warning per episode of exhaustion, not one per failed accept (there were many of those).
            let warnings = recorder.warnings.load(Ordering::SeqCst);
            let recoveries = recorder.recoveries.load(Ordering::SeqCst);
            assert!(warnings >= 1 && warnings == recoveries, "{warnings} warnings, {recoveries} recoveries");
            println!("EMFILE-CHILD-OK connected={connected} accepted={} warnings={warnings}", connected + 1);
            server.cancel();
            let _ = server.join();
        });
    });
}

#[test]
fn accept_survives_emfile() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    watchdog(Duration::from_secs(60), || {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["accept_survives_emfile", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "child failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
        assert!(stdout.contains("EMFILE-CHILD-OK"), "stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains("pausing accepts"), "the warning is logged:\n{stderr}");
        assert!(stderr.contains("accepting again"), "the recovery is logged:\n{stderr}");
    });
}
