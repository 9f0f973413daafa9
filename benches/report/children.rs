//! The parts of the report that run in a child process (the bench binary re-executed with `--child ...`): the
//! servers the client drives, and the spawn burst, memory and capacity measurements, which need a fresh
//! process each.
//!
//! A child prints its result as one line starting with `RESULT ` (or, for a server, `LISTENING <address>`
//! once it accepts connections). A server exits when its stdin closes; the parent also kills it by its id.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::machine::{meminfo, resident_bytes};
use super::workloads::{self, echo, http, tasks};

/// The child side: runs the mode named by `args` and exits.
pub fn run(args: &[String]) -> ! {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve", workload, system] => serve(workload, system),
        ["parked", system, count] => parked(system, count.parse().expect("task count")),
        ["spawn-burst", system, count] => spawn_burst(system, count.parse().expect("task count")),
        ["max-green", limit, seconds] => {
            max_green(limit.parse().expect("limit"), Duration::from_secs(seconds.parse().expect("seconds")))
        }
        _ => {
            eprintln!("unknown child mode {args:?}");
            std::process::exit(2)
        }
    }
}

/// Runs the `system`'s server for `workload` (`echo` or `http`) on a free port until stdin closes. The server
/// prints `listening on <address>` once bound.
fn serve(workload: &str, system: &str) -> ! {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0)
    });
    let address = "127.0.0.1:0";
    let result = match (workload, system) {
        ("echo", "green") => echo::serve_green(address),
        ("echo", "std_thread") => echo::serve_threads(address),
        ("echo", "tokio_multi_thread") => echo::serve_tokio(address, true),
        ("echo", "tokio_current_thread") => echo::serve_tokio(address, false),
        ("http", "green") => http::serve_green(address),
        ("http", "std_thread") => http::serve_threads(address),
        ("http", "tokio_multi_thread") => http::serve_tokio(address, true),
        ("http", "tokio_current_thread") => http::serve_tokio(address, false),
        _ => panic!("no {system} server for {workload}"),
    };
    eprintln!("the {system} {workload} server stopped: {result:?}");
    std::process::exit(1)
}

/// Spawns the bench binary as a child in `mode`.
fn spawn_child(mode: &[&str]) -> Result<Child, String> {
    let executable = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(executable)
        .arg("--child")
        .args(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start a child process: {e}"))
}

/// A server running in a child process; killed on drop.
pub struct Server {
    /// The child process.
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl Server {
    /// Starts `system`'s server for `workload` (`echo` or `http`) and waits until it listens.
    pub fn start(workload: &str, system: &str) -> Result<Server, String> {
        let mut child = spawn_child(&["serve", workload, system])?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let read = BufReader::new(stdout).read_line(&mut line);
        let address = match read {
            Ok(_) => line.trim().strip_prefix("listening on ").and_then(|address| address.parse().ok()),
            Err(_) => None,
        };
        match address {
            Some(address) => Ok(Server { child, address }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the {system} {workload} server did not start (said {line:?})"))
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The CPU time (user and system, all threads) the server process has used so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces: state is field 3,
        // utime and stime (in clock ticks) are fields 14 and 15.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Duration::from_secs_f64(ticks as f64 / per_second)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the child `mode` to its end (killing it after `limit`) and returns the words of its `RESULT` line.
pub fn result_of(mode: &[&str], limit: Duration) -> Result<Vec<String>, String> {
    let mut child = spawn_child(mode)?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut output = String::new();
        let _ = stdout.read_to_string(&mut output);
        output
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("the child {mode:?} did not finish within {limit:?}"));
            }
            Err(error) => break Err(error.to_string()),
        }
    };
    let output = reader.join().unwrap_or_default();
    let status = status?;
    output
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .map(|words| words.split_whitespace().map(String::from).collect())
        .ok_or_else(|| format!("the child {mode:?} gave no result ({status})"))
}

/// Prints a result line and exits without tearing down the parked tasks.
fn finish(words: &[String]) -> ! {
    println!("RESULT {}", words.join(" "));
    std::io::stdout().flush().unwrap();
    std::process::exit(0)
}

/// `count` trivial tasks of `system` spawned, then all joined, in this fresh process: nothing is pooled or
/// warmed yet (stacks, records, the allocator's bins). The runtime is built before the clock starts. Prints
/// `RESULT <nanoseconds from the first spawn to the last join>`.
fn spawn_burst(system: &str, count: u64) -> ! {
    let elapsed = match system {
        "green" => tasks::spawn_burst_green(&workloads::green(2), count),
        "std_thread" => tasks::spawn_burst_std(count),
        "tokio_multi_thread" => tasks::spawn_burst_tokio(&workloads::tokio_multi(), count),
        "tokio_current_thread" => tasks::spawn_burst_tokio(&workloads::tokio_current(), count),
        _ => panic!("unknown system {system}"),
    };
    finish(&[elapsed.as_nanos().to_string()])
}

/// How long parked tasks are left to settle before the resident set is read.
const SETTLE: Duration = Duration::from_millis(200);

/// `count` tasks of `system` each parked on its own channel's receive; prints the resident set before the
/// first was spawned and after all are parked (`RESULT <before> <after>`).
fn parked(system: &str, count: usize) -> ! {
    let ready = Arc::new(AtomicUsize::new(0));
    match system {
        "green" => {
            let runtime = workloads::green(2);
            runtime.block_on(|| {
                let before = resident_bytes();
                let mut senders = Vec::with_capacity(count);
                let mut handles = Vec::with_capacity(count);
                for _ in 0..count {
                    let (sender, receiver) = green::channel::bounded::<u64>(1);
                    let ready = ready.clone();
                    handles.push(green::spawn(move || {
                        ready.fetch_add(1, Ordering::Relaxed);
                        receiver.recv().ok()
                    }));
                    senders.push(sender);
                }
                while ready.load(Ordering::Relaxed) < count {
                    green::sleep(Duration::from_millis(1));
                }
                green::sleep(SETTLE);
                finish(&[before.to_string(), resident_bytes().to_string()])
            })
        }
        "tokio_multi_thread" | "tokio_current_thread" => {
            let runtime =
                if system == "tokio_multi_thread" { workloads::tokio_multi() } else { workloads::tokio_current() };
            runtime.block_on(async {
                let before = resident_bytes();
                let mut senders = Vec::with_capacity(count);
                let mut handles = Vec::with_capacity(count);
                for _ in 0..count {
                    let (sender, mut receiver) = tokio::sync::mpsc::channel::<u64>(1);
                    let ready = ready.clone();
                    handles.push(tokio::spawn(async move {
                        ready.fetch_add(1, Ordering::Relaxed);
                        receiver.recv().await
                    }));
                    senders.push(sender);
                }
                while ready.load(Ordering::Relaxed) < count {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(SETTLE).await;
                finish(&[before.to_string(), resident_bytes().to_string()])
            })
        }
        "std_thread" => {
            let before = resident_bytes();
            let mut senders = Vec::with_capacity(count);
            let mut handles = Vec::with_capacity(count);
            for _ in 0..count {
                let (sender, receiver) = std::sync::mpsc::sync_channel::<u64>(1);
                let ready = ready.clone();
                handles.push(std::thread::spawn(move || {
                    ready.fetch_add(1, Ordering::Relaxed);
                    receiver.recv().ok()
                }));
                senders.push(sender);
            }
            while ready.load(Ordering::Relaxed) < count {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(SETTLE);
            finish(&[before.to_string(), resident_bytes().to_string()])
        }
        _ => panic!("unknown system {system}"),
    }
}

/// Spawns green threads that stay parked, with the default runtime settings, one at a time (each is seen to
/// start before the next is spawned), until `Builder::spawn` errors, a green thread fails to start, `limit` is
/// reached, the machine's available memory falls below a quarter of its total (it is shared), or `budget` has
/// passed. Prints `RESULT <parked> <resident bytes> <why it stopped...>`.
fn max_green(limit: usize, budget: Duration) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let started = Arc::new(AtomicUsize::new(0));
    let runtime = green::Runtime::builder().build().unwrap();
    runtime.block_on(|| {
        let memory_floor = meminfo("MemTotal").unwrap_or(0) / 4;
        let deadline = Instant::now() + budget;
        let mut handles = Vec::new();
        let mut reason = format!("reached the limit of {limit} that the report sets");
        'spawning: for spawned in 0..limit {
            if spawned % 10_000 == 0 && meminfo("MemAvailable").unwrap_or(u64::MAX) < memory_floor {
                reason = "stopped: the machine's available memory fell below a quarter of its total".into();
                break;
            }
            if spawned % 100 == 0 && Instant::now() >= deadline {
                reason = format!("stopped by the report's time budget of {} s, so a lower bound", budget.as_secs());
                break;
            }
            let started_now = started.clone();
            let handle = match green::Builder::new().spawn(move || {
                started_now.fetch_add(1, Ordering::Relaxed);
                while !STOP.load(Ordering::Relaxed) {
                    green::park();
                }
            }) {
                Ok(handle) => handle,
                Err(error) => {
                    reason = format!("Builder::spawn failed: {error}");
                    break;
                }
            };
            while started.load(Ordering::Relaxed) <= spawned {
                if handle.is_finished() {
                    let error = match handle.join() {
                        Err(payload) => match payload.downcast::<std::io::Error>() {
                            Ok(error) => error.to_string(),
                            Err(_) => "a panic".to_string(),
                        },
                        Ok(()) => "none".to_string(),
                    };
                    reason = format!("a green thread failed to start: {error}");
                    break 'spawning;
                }
                green::yield_now();
            }
            handles.push(handle);
        }
        let mut words = vec![started.load(Ordering::Relaxed).to_string(), resident_bytes().to_string()];
        words.extend(reason.split_whitespace().map(String::from));
        finish(&words)
    })
}
