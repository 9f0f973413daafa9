//! The `inspect` example: a thread dump over the protocol and on SIGQUIT, the stall warning, the deadlock
//! report — each in a child process, as a user would run them.

mod example_process;
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts the example with `args`, both output streams piped.
fn start(args: &[&str]) -> Child {
    Command::new(example_process::path("inspect"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the inspect example")
}

/// The address from the server's first line, `listening on <address>`.
fn address(child: &mut Child) -> (std::net::SocketAddr, BufReader<std::process::ChildStdout>) {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let address = line.strip_prefix("listening on ").unwrap().trim().parse().unwrap();
    (address, stdout)
}

/// Sends `command` and reads the answer (up to its `end` line, or until the server closes: the client closes
/// its side after the command).
fn ask(address: std::net::SocketAddr, command: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(format!("{command}\n").as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    for line in BufReader::new(stream).lines() {
        let line = line.unwrap();
        if line == "end" {
            break;
        }
        answer.push_str(&line);
        answer.push('\n');
    }
    answer
}

/// Reads `stderr` line by line until a line contains every needle; returns what was read.
fn read_until(stderr: &mut impl BufRead, needles: &[&str]) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stderr ended before {needles:?}:\n{seen}");
        seen.push_str(&line);
        if needles.iter().all(|needle| seen.contains(needle)) {
            return seen;
        }
    }
}

#[test]
fn the_server_answers_a_dump_and_prints_one_on_sigquit() {
    example_process::watchdog("inspect", Duration::from_secs(60), || {
        let mut child = start(&["--addr", "127.0.0.1:0", "--workers", "2"]);
        let (address, _stdout) = address(&mut child);
        // A client whose job parks its connection's green thread in a sleep.
        let mut sleeper = TcpStream::connect(address).unwrap();
        sleeper.write_all(b"sleep 20000\n").unwrap();
        let dump = loop {
            let dump = ask(address, "dump");
            if dump.contains(": sleep\n") {
                break dump;
            }
        };
        assert!(dump.starts_with("green thread dump: "), "{dump}");
        assert!(dump.contains("'main': parked") && dump.contains("socket read on fd"), "{dump}");
        assert!(
            dump.contains("'pool-0': parked") && dump.contains("channel recv\n    at examples/inspect.rs:"),
            "{dump}"
        );
        assert!(dump.contains(": sleep\n    at examples/inspect.rs:"), "{dump}");
        assert!(dump.contains("running"), "the green thread answering is listed as running: {dump}");
        let stats = ask(address, "work 100");
        assert_eq!(stats.trim(), (0..100u64).map(|n| n * n).sum::<u64>().to_string());
        let stats = ask(address, "stats");
        assert!(stats.contains("green threads: ") && stats.contains("channel recv"), "{stats}");

        // SIGQUIT: the same dump on stderr, and the server goes on.
        // SAFETY: kill(2) on our own child's process id.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGQUIT) }, 0);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let printed = read_until(&mut stderr, &["green thread dump: ", ": sleep"]);
        assert!(printed.contains("'pool-3': parked"), "{printed}");
        assert!(ask(address, "dump").starts_with("green thread dump: "), "still serving after SIGQUIT");
        drop(sleeper);
        let _ = child.kill();
        let _ = child.wait();
    });
}

#[test]
fn a_housekeeping_loop_that_never_parks_is_reported() {
    example_process::watchdog("inspect", Duration::from_secs(60), || {
        let mut child = start(&["--addr", "127.0.0.1:0", "--workers", "2", "--mode", "stall"]);
        let (_address, _stdout) = address(&mut child);
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let warnings = read_until(&mut stderr, &["'housekeeping' has held worker", "let worker"]);
        assert!(warnings.contains("spawned at examples/inspect.rs:"), "{warnings}");
        assert!(warnings.contains("resumed at examples/inspect.rs:"), "where it had last parked: {warnings}");
        let _ = child.kill();
        let _ = child.wait();
    });
}

#[test]
fn two_transfers_locking_in_opposite_order_get_the_deadlock_report() {
    example_process::watchdog("inspect", Duration::from_secs(60), || {
        let mut child = start(&["--mode", "deadlock", "--workers", "2"]);
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(101), "a panic in main: {stderr}");
        assert!(stderr.contains(green::inspect::DEADLOCK_MESSAGE), "{stderr}");
        for name in ["'checking->savings': parked", "'savings->checking': parked"] {
            assert!(stderr.contains(name), "{name} in {stderr}");
        }
        assert_eq!(stderr.matches(": mutex lock\n    at examples/inspect.rs:").count(), 2, "{stderr}");
    });
}
