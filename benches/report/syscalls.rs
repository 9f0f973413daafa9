//! System calls per request, by kind: a server process's system calls counted with perf's syscall
//! tracepoints (`perf stat -e syscalls:sys_enter_<name> -p <pid>`) over one measured interval of the client.
//!
//! # Method
//! 1. [`Counter::attach`] starts `perf stat` on the server process, counting but *disabled* (`-D -1`), one
//!    tracepoint per system call of [`KINDS`] that the kernel has, plus `raw_syscalls:sys_enter` for the total.
//!    perf follows every thread of the server, and the threads those start later (counters are inherited).
//! 2. [`Counter::enable`] switches counting on through perf's control FIFO (`--control`) and waits for perf's
//!    acknowledgement; the caller then runs the client for one interval; [`Counter::finish`] switches it off the
//!    same way and stops perf. So the counts and the client's round trips cover the same span.
//! 3. Counts are per thread (`--per-thread`), which also shows how the work spreads over a server's threads: a
//!    server answers each request with one `sendto`, so each thread's share of them is its share of requests.
//!
//! Counts do not depend on how fast the machine is, which makes them the robust figure on a shared machine;
//! how often a server finds its queues empty (and so polls or sleeps) still does, a little.
//!
//! Where perf is missing or may not attach (no tracefs, `perf_event_paranoid`, no permission),
//! [`Counter::attach`] says why and the report prints that instead of the table.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system calls counted one by one, in the table's column order; the rest only count in the total.
pub const KINDS: [&str; 22] = [
    "read",
    "recvfrom",
    "readv",
    "recvmsg",
    "write",
    "sendto",
    "writev",
    "sendmsg",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "getsockopt",
    "setsockopt",
    "futex",
    "sched_yield",
    "poll",
    "ppoll",
    "accept4",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
];

/// What every server answers a request with: its count is the request count per thread.
const ANSWER: &str = "sendto";

/// How long perf may take to start, answer a control command, or stop.
const PERF_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the kernel lists its syscall tracepoints (tracefs, or its older debugfs mount).
const TRACEPOINTS: [&str; 2] = ["/sys/kernel/tracing/events/syscalls", "/sys/kernel/debug/tracing/events/syscalls"];

/// A running `perf stat` attached to one process (see the module docs).
pub struct Counter {
    /// The perf process.
    perf: Child,
    /// perf's control FIFO, written to.
    control: File,
    /// perf's acknowledgement FIFO, read from (non-blocking).
    ack: File,
    /// perf's output file.
    output: PathBuf,
    /// The directory holding the FIFOs and the output; removed on drop.
    directory: PathBuf,
}

/// One interval's counts for one process.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Calls per kind of [`KINDS`] (kinds the kernel has no tracepoint for are absent).
    pub by_kind: BTreeMap<String, u64>,
    /// Every system call, of any kind.
    pub total: u64,
    /// `sendto` calls per thread (`name-tid`), largest first.
    pub answers_by_thread: Vec<(String, u64)>,
}

/// Creates a FIFO at `path`.
fn make_fifo(path: &Path) -> Result<(), String> {
    let name = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: `name` is a NUL-terminated path that lives across the call; mkfifo only reads it.
    if unsafe { libc::mkfifo(name.as_ptr(), 0o600) } != 0 {
        return Err(format!("mkfifo {}: {}", path.display(), std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Raises this process's descriptor limit as far as allowed, for the perf it starts: perf opens one descriptor
/// per event and thread, 23 × 1,001 for the OS-thread server at 1,000 connections.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let wanted = libc::rlimit { rlim_cur: 1 << 20, rlim_max: limit.rlim_max.max(1 << 20) };
    // SAFETY: setrlimit reads one rlimit from the live local; raising the hard limit needs privileges, and
    // without them it fails harmlessly, leaving the soft limit to be raised to the hard one below.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } != 0 {
        let soft = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: as above; raising the soft limit up to the hard one is always allowed.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &soft) };
    }
}

/// The kinds counted when the process has too many threads for one descriptor per kind and thread (the
/// OS-thread server at 1,000 connections): the ones the servers here make.
const FEW_KINDS: [&str; 8] = ["read", "recvfrom", "write", "sendto", "epoll_wait", "getsockopt", "futex", "poll"];

/// This process's descriptor limit (after [`raise_descriptor_limit`]).
fn descriptor_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_cur
}

/// The tracepoint names to count in process `pid`: `raw_syscalls:sys_enter` and those of [`KINDS`] the kernel
/// has, or only of [`FEW_KINDS`] if perf's descriptors (one per event and thread) would not fit the limit.
fn events(pid: u32) -> Result<Vec<String>, String> {
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(1, |tasks| tasks.count()) as u64;
    let kinds: &[&str] =
        if threads * (KINDS.len() as u64 + 1) + 64 <= descriptor_limit() { &KINDS } else { &FEW_KINDS };
    let directory = TRACEPOINTS
        .iter()
        .map(Path::new)
        .find(|directory| directory.is_dir())
        .ok_or("the kernel's syscall tracepoints are not visible (no tracefs under /sys/kernel)")?;
    let mut events = vec!["raw_syscalls:sys_enter".to_string()];
    events.extend(
        kinds
            .iter()
            .filter(|kind| directory.join(format!("sys_enter_{kind}")).is_dir())
            .map(|kind| format!("syscalls:sys_enter_{kind}")),
    );
    Ok(events)
}

impl Counter {
    /// Starts perf on process `pid`, counting nothing until [`enable`](Counter::enable).
    ///
    /// # Errors
    /// Why perf cannot count here (not installed, no tracepoints, not permitted, ...).
    pub fn attach(pid: u32) -> Result<Counter, String> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        raise_descriptor_limit();
        let events = events(pid)?;
        let directory = std::env::temp_dir().join(format!(
            "green-report-syscalls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).map_err(|e| format!("create {}: {e}", directory.display()))?;
        Counter::start(pid, &events, directory.clone()).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&directory);
        })
    }

    /// [`attach`](Counter::attach) once `directory` exists.
    fn start(pid: u32, events: &[String], directory: PathBuf) -> Result<Counter, String> {
        let (control_path, ack_path, output) =
            (directory.join("control"), directory.join("ack"), directory.join("counts.csv"));
        make_fifo(&control_path)?;
        make_fifo(&ack_path)?;
        // Both opened before perf starts. The control FIFO read-write, which on Linux never blocks: a command
        // written before perf opens it waits in the FIFO. The acknowledgement FIFO read-only and non-blocking,
        // so perf's open of its write end does not block either.
        let control = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&control_path)
            .map_err(|e| format!("open {}: {e}", control_path.display()))?;
        let ack = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&ack_path)
            .map_err(|e| format!("open {}: {e}", ack_path.display()))?;
        let perf = Command::new("perf")
            .args(["stat", "-D", "-1", "--per-thread", "-x", ","])
            .arg(format!("--control=fifo:{},{}", control_path.display(), ack_path.display()))
            .arg("-o")
            .arg(&output)
            .args(["-e", &events.join(",")])
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run perf: {e}"))?;
        Ok(Counter { perf, control, ack, output, directory })
    }

    /// Fails with perf's own message if it has exited.
    fn check_running(&mut self) -> Result<(), String> {
        if let Ok(Some(status)) = self.perf.try_wait() {
            let mut message = String::new();
            if let Some(mut stderr) = self.perf.stderr.take() {
                let _ = stderr.read_to_string(&mut message);
            }
            let message = message.lines().filter(|line| !line.trim().is_empty()).collect::<Vec<_>>().join(" / ");
            return Err(format!("perf stopped ({status}): {message}"));
        }
        Ok(())
    }

    /// Sends `command` (`enable`, `disable`) and waits for perf's `ack`.
    fn command(&mut self, command: &str) -> Result<(), String> {
        self.control.write_all(format!("{command}\n").as_bytes()).map_err(|e| format!("perf control: {e}"))?;
        let deadline = Instant::now() + PERF_TIMEOUT;
        let mut answer = Vec::new();
        loop {
            let mut buffer = [0; 64];
            match self.ack.read(&mut buffer) {
                Ok(n) if n > 0 => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(3).any(|window| window == b"ack") {
                        return Ok(());
                    }
                }
                // No data yet (EAGAIN), or no writer yet (0).
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    self.check_running()?;
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => return Err(format!("perf did not acknowledge `{command}` within {PERF_TIMEOUT:?}")),
            }
        }
    }

    /// Starts counting (once perf is attached: it acknowledges only then).
    ///
    /// # Errors
    /// When perf does not acknowledge, with perf's own message if it stopped (not permitted, ...).
    pub fn enable(&mut self) -> Result<(), String> {
        self.command("enable")
    }

    /// Stops counting, stops perf and returns the counts.
    ///
    /// # Errors
    /// When perf does not acknowledge, does not stop, or writes nothing readable.
    pub fn finish(mut self) -> Result<Counts, String> {
        self.command("disable")?;
        // SAFETY: kill(2) with the id of our own child process, which we have not reaped yet.
        unsafe { libc::kill(self.perf.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + PERF_TIMEOUT;
        while self.perf.try_wait().map_err(|e| e.to_string())?.is_none() {
            if Instant::now() >= deadline {
                return Err("perf did not stop".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let text = std::fs::read_to_string(&self.output).map_err(|e| format!("perf output: {e}"))?;
        parse(&text)
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.perf.kill();
        let _ = self.perf.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Reads `perf stat --per-thread -x,` output: `<name>-<tid>,<count>,<unit>,<event>,...` lines.
fn parse(text: &str) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let mut answers: BTreeMap<String, u64> = BTreeMap::new();
    let mut lines = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(thread), Some(count), Some(event)) = (fields.first(), fields.get(1), fields.get(3)) else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else { continue };
        lines += 1;
        if *event == "raw_syscalls:sys_enter" {
            counts.total += count;
        } else if let Some(kind) = event.strip_prefix("syscalls:sys_enter_") {
            *counts.by_kind.entry(kind.to_string()).or_default() += count;
            if kind == ANSWER && count > 0 {
                *answers.entry(thread.to_string()).or_default() += count;
            }
        }
    }
    if lines == 0 {
        return Err("perf counted nothing (its output has no counts)".into());
    }
    counts.answers_by_thread = answers.into_iter().collect();
    counts.answers_by_thread.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    Ok(counts)
}

/// One server's counts in one network table.
pub struct Measured {
    /// The network table (`echo 100 conns`, `http hello`).
    pub workload: String,
    /// The server (`green`, `tokio_multi_thread`, ...).
    pub system: String,
    /// The counts and the requests the client completed meanwhile, or why there are none.
    pub result: Result<(Counts, u64), String>,
}

impl Measured {
    /// System calls of every kind per request.
    pub fn total_per_request(&self) -> Option<f64> {
        let (counts, requests) = self.result.as_ref().ok()?;
        Some(counts.total as f64 / (*requests).max(1) as f64)
    }
}

/// Calls per request to show, or "—" below one in a thousand requests.
fn per_request(count: u64, requests: u64) -> String {
    let value = count as f64 / requests.max(1) as f64;
    if value < 0.0005 {
        "—".to_string()
    } else {
        format!("{value:.3}")
    }
}

/// The table's "how the requests spread" cell: each thread's share of the answers, for servers with a few
/// threads (a thread per connection says nothing).
fn spread(counts: &Counts) -> String {
    let answers: u64 = counts.answers_by_thread.iter().map(|(_, count)| count).sum();
    if answers == 0 || counts.answers_by_thread.len() > 8 {
        return format!("{} threads", counts.answers_by_thread.len());
    }
    counts
        .answers_by_thread
        .iter()
        .map(|(_, count)| format!("{:.0}%", *count as f64 * 100.0 / answers as f64))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Renders the table: one row per (workload, server), one column per kind that any row calls at least once
/// per thousand requests, then the rest and the total.
pub fn markdown(out: &mut String, rows: &[Measured], interval: Duration) {
    let _ = writeln!(out, "### System calls per request, by kind\n");
    let _ = writeln!(
        out,
        "Each server's system calls while the client did {:.0} s of requests, right after the requests-per-second \
         rounds of its table, counted with perf's syscall tracepoints (`perf stat -e 'syscalls:sys_enter_*' -p \
         <pid>`, every thread of the server), divided by the requests the client completed in that time. \
         Sockets are read with `recvfrom` and written with `sendto` by every server here (std and mio call \
         `recv`/`send`), so `write` is an eventfd wake-up of a sleeping worker, `futex` a thread parking or \
         waking another, `epoll_wait` a look at (or a sleep on) the ready sockets, `sched_yield` a green worker \
         giving its CPU to another thread instead of sleeping (where its sleeps have been ending with that \
         thread's data). *Requests by thread*: each \
         thread's share of the `sendto` calls (one per answer), for servers with a few threads: how evenly the \
         connections spread over the workers.\n",
        interval.as_secs_f64()
    );
    let measured: Vec<(&Measured, &Counts, u64)> = rows
        .iter()
        .filter_map(|row| row.result.as_ref().ok().map(|(counts, requests)| (row, counts, *requests)))
        .collect();
    let columns: Vec<&str> = KINDS
        .iter()
        .copied()
        .filter(|kind| {
            measured.iter().any(|(_, counts, requests)| {
                counts.by_kind.get(*kind).is_some_and(|&count| count as f64 / (*requests).max(1) as f64 >= 0.001)
            })
        })
        .collect();
    let _ = write!(out, "| workload | server |");
    for column in &columns {
        let _ = write!(out, " {column} |");
    }
    let _ = writeln!(out, " other | **total** | requests by thread |");
    let _ = writeln!(out, "|---|---|{}---:|---:|---|", "---:|".repeat(columns.len()));
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.workload, row.system);
        match &row.result {
            Ok((counts, requests)) => {
                let mut shown = 0;
                for column in &columns {
                    let count = counts.by_kind.get(*column).copied().unwrap_or(0);
                    shown += count;
                    let _ = write!(out, " {} |", per_request(count, *requests));
                }
                let other = counts.total.saturating_sub(shown);
                let _ = writeln!(
                    out,
                    " {} | **{}** | {} |",
                    per_request(other, *requests),
                    per_request(counts.total, *requests),
                    spread(counts)
                );
            }
            Err(reason) => {
                let _ = writeln!(out, "{} not measured: {reason} | | |", " |".repeat(columns.len()));
            }
        }
    }
    out.push('\n');
}

/// Checks the parser on a sample of perf's output (the report's smoke test calls it: a bench binary has no
/// unit tests).
pub fn check_parser() {
    let text = "# started on Wed Dec  2 13:15:54 2026\n\n\
                green-worker-0-23923,71648,,raw_syscalls:sys_enter,295600031,100.00,,\n\
                green-worker-1-23924,26475,,raw_syscalls:sys_enter,148202596,100.00,,\n\
                net-a60bd890e86-23921,<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n\
                green-worker-0-23923,23320,,syscalls:sys_enter_sendto,295600031,100.00,,\n\
                green-worker-1-23924,3186,,syscalls:sys_enter_sendto,148202596,100.00,,\n\
                green-worker-1-23924,16917,,syscalls:sys_enter_epoll_wait,148202596,100.00,,\n";
    let counts = parse(text).unwrap();
    assert_eq!(counts.total, 71648 + 26475);
    assert_eq!(counts.by_kind["sendto"], 23320 + 3186);
    assert_eq!(counts.by_kind["epoll_wait"], 16917);
    assert_eq!(counts.answers_by_thread[0], ("green-worker-0-23923".to_string(), 23320));
    assert_eq!(spread(&counts), "88% / 12%");
}
