//! Runs an example binary as a child process for the `example_*` tests.
//!
//! Cargo builds examples before the integration tests on a plain `cargo test`, into
//! `target/<profile>/examples/`, next to this test binary's `target/<profile>/deps/`. With a target filter
//! (`cargo test --test example_echo`) it does not: then, or when the binary is older than its sources, the
//! helper builds it with `cargo build --example`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::SystemTime;

/// A running example, killed when dropped.
pub struct Example {
    /// The child process.
    process: Child,
    /// Its standard output, after the lines already read.
    pub stdout: BufReader<ChildStdout>,
}

impl Example {
    /// Starts example `name` with `args`, standard output piped.
    pub fn start(name: &str, args: &[&str]) -> Example {
        let mut process = Command::new(path(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start example {name}: {error}"));
        let stdout = BufReader::new(process.stdout.take().unwrap());
        Example { process, stdout }
    }

    /// Starts example `name` with `args` and at most `max_files` open descriptors (`RLIMIT_NOFILE`), standard
    /// output piped.
    pub fn start_with_file_limit(name: &str, args: &[&str], max_files: u64) -> Example {
        let mut command = Command::new(path(name));
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // SAFETY: the closure runs in the child between fork and exec and only calls setrlimit, which is
        // async-signal-safe, on a local struct.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: max_files, rlim_max: max_files };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut process = command.spawn().unwrap_or_else(|error| panic!("cannot start example {name}: {error}"));
        let stdout = BufReader::new(process.stdout.take().unwrap());
        Example { process, stdout }
    }

    /// Starts server example `name` on a free loopback port (`--addr 127.0.0.1:0` and `args`) and returns it
    /// with the address from its first line, `listening on <address>`.
    pub fn server(name: &str, args: &[&str]) -> (Example, SocketAddr) {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Example::listening(name, Example::start(name, &all))
    }

    /// Like [`server`](Self::server), with at most `max_files` open descriptors in the server.
    pub fn server_with_file_limit(name: &str, args: &[&str], max_files: u64) -> (Example, SocketAddr) {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Example::listening(name, Example::start_with_file_limit(name, &all, max_files))
    }

    /// Reads the `listening on <address>` line of a server just started.
    fn listening(name: &str, mut example: Example) -> (Example, SocketAddr) {
        let line = example.line();
        let address = line
            .strip_prefix("listening on ")
            .and_then(|address| address.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: expected `listening on <address>`, got {line:?}"));
        (example, address)
    }

    /// Sends `signal` (`libc::SIGINT`, ...) to the example.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's process id; no memory is involved.
        assert_eq!(unsafe { libc::kill(self.process.id() as libc::pid_t, signal) }, 0);
    }

    /// Waits for the example to exit and returns its status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.process.wait().expect("wait for the example")
    }

    /// The process id of the running example.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// The example's resident memory in KiB (`VmRSS` in `/proc/<pid>/status`).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.id())).expect("read /proc status");
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("a VmRSS line");
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
    }

    /// The next line of standard output (panics at end of file).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).expect("read the example's output");
        assert!(read > 0, "the example ended its output early");
        line
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Runs example `name` with `args` to completion and returns its output (standard error inherited).
pub fn run(name: &str, args: &[&str]) -> Output {
    Command::new(path(name))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("cannot run example {name}: {error}"))
}

/// Builds example `name` if needed (slow under load, but not a hang), then runs `body` under the watchdog.
pub fn watchdog<T: Send + 'static>(
    name: &str,
    limit: std::time::Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    path(name);
    crate::util::watchdog(limit, body)
}

/// The path of example `name`'s binary, built first if missing or stale.
pub fn path(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join("examples").join(name);
    /// One cargo invocation at a time per test binary.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let stale = match modified(&binary) {
        Some(built) => built < newest_source(name),
        None => true,
    };
    if stale {
        build(name, profile_dir);
    }
    binary
}

/// Runs `cargo build --example name` for the profile and target directory of this test binary.
fn build(name: &str, profile_dir: &Path) {
    let mut command = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["build", "--quiet", "--example", name]);
    match profile_dir.file_name().and_then(|profile| profile.to_str()) {
        Some("debug") => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => panic!("unexpected target directory layout: {profile_dir:?}"),
    }
    command.arg("--target-dir").arg(profile_dir.parent().unwrap());
    let status = command.status().expect("run cargo build --example");
    assert!(status.success(), "cargo build --example {name} failed");
}

/// The newest modification time of the example's source, the library's sources and the manifest.
fn newest_source(name: &str) -> SystemTime {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut visit = vec![root.join("runtime")];
    for file in [root.join("examples").join(format!("{name}.rs")), root.join("Cargo.toml")] {
        newest = newest.max(modified(&file).unwrap_or(newest));
    }
    while let Some(directory) = visit.pop() {
        for entry in std::fs::read_dir(directory).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                visit.push(path);
            } else {
                newest = newest.max(modified(&path).unwrap_or(newest));
            }
        }
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

/// A "slowloris" attacker: keeps `connections` connections open to a server, each sending `opening` and then
/// one byte of `drip` every half second (never finishing a request), and reopening any the server closes. Stops
/// when dropped.
pub struct Slowloris {
    /// Set to stop the attacker.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The attacker's OS thread; returns how many connections it opened in all.
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Slowloris {
    /// Starts the attack on `address` and returns once `connections` are open.
    pub fn start(address: SocketAddr, connections: usize, opening: &'static [u8], drip: u8) -> Slowloris {
        use std::io::Write;
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (opened, all_open) = std::sync::mpsc::channel();
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let open = || {
                    let mut stream = std::net::TcpStream::connect(address).ok()?;
                    stream.set_write_timeout(Some(std::time::Duration::from_millis(100))).ok()?;
                    stream.write_all(opening).ok()?;
                    Some(stream)
                };
                let mut streams: Vec<_> = (0..connections).filter_map(|_| open()).collect();
                let mut total = streams.len();
                let _ = opened.send(());
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    for stream in &mut streams {
                        if stream.write_all(&[drip]).is_err() {
                            if let Some(new) = open() {
                                *stream = new;
                                total += 1;
                            }
                        }
                    }
                }
                total
            })
        };
        all_open.recv().expect("the attacker thread started");
        Slowloris { stop, thread: Some(thread) }
    }

    /// Stops the attack; returns how many connections it opened in all (more than it keeps open means the
    /// server closed some).
    pub fn stop(mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Slowloris {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// The descriptor limit the slowloris tests give a server: far fewer than the attacker's connections.
pub const SLOWLORIS_FILE_LIMIT: u64 = 64;

/// Runs a slowloris attack of 150 connections against `server` (started with [`SLOWLORIS_FILE_LIMIT`]
/// descriptors) and checks that `normal_client` — one request and its answer — succeeds 20 times meanwhile,
/// each within 5 seconds.
pub fn assert_survives_slowloris(
    address: SocketAddr,
    opening: &'static [u8],
    drip: u8,
    normal_client: impl Fn(SocketAddr) -> std::io::Result<()>,
) {
    let attack = Slowloris::start(address, 150, opening, drip);
    for attempt in 0..20 {
        let start = std::time::Instant::now();
        normal_client(address).unwrap_or_else(|error| panic!("normal client {attempt} failed: {error}"));
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "normal client {attempt} waited too long");
    }
    let opened = attack.stop();
    assert!(opened >= 150, "the attacker opened {opened} connections");
}

/// Whether `program` can be run (`program --version` succeeds); if not, prints why the caller skips.
pub fn have_tool(program: &str) -> bool {
    let found = Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    let found = found.is_ok_and(|status| status.success());
    if !found {
        eprintln!(
            "SKIPPED: `{program}` is not installed (Debian package redis-tools; .ci/run installs it when it can)"
        );
    }
    found
}
