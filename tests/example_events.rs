//! The `events` example, run as a child process: lines from two sockets reach the event loop, ticks report,
//! the Condvar watcher announces its milestone, and Ctrl-C (SIGINT) or a `quit` line stop it cleanly.

mod example_process;
mod util;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use example_process::Example;

/// Reads the example's lines until one equal to or starting with `wanted`; returns the lines read.
fn read_until(example: &mut Example, wanted: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = example.line().trim_end().to_string();
        let done = line.starts_with(wanted);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

#[test]
fn events_reacts_to_lines_ticks_and_ctrl_c() {
    example_process::watchdog("events", Duration::from_secs(30), || {
        let (mut events, address) = Example::server("events", &["--milestone", "3", "--report-ms", "100"]);
        let mut a = TcpStream::connect(address).unwrap();
        let mut b = TcpStream::connect(address).unwrap();
        a.write_all(b"one\ntwo\n").unwrap();
        b.write_all(b"three\n").unwrap();
        let seen = read_until(&mut events, "watcher: milestone of 3 lines reached");
        for line in ["one", "two", "three"] {
            assert!(seen.iter().any(|seen| seen.ends_with(&format!(": {line}"))), "{seen:?}");
        }
        read_until(&mut events, "tick: ");
        events.signal(libc::SIGINT);
        read_until(&mut events, "stopping (Ctrl-C): 3 lines in");
        assert!(events.wait().success());
    });
}

#[test]
fn events_stops_when_a_client_says_quit() {
    example_process::watchdog("events", Duration::from_secs(30), || {
        let (mut events, address) = Example::server("events", &["--milestone", "100"]);
        let mut a = TcpStream::connect(address).unwrap();
        a.write_all(b"hello\nquit\n").unwrap();
        let seen = read_until(&mut events, "stopping (a client said quit): 2 lines in");
        assert!(!seen.iter().any(|line| line.starts_with("watcher")), "{seen:?}");
        assert!(events.wait().success());
    });
}

/// 150 slowloris connections (a byte every half second, never a whole line) against the server limited to 64
/// descriptors: lines from normal clients still reach the event loop.
#[test]
fn events_survives_slowloris_under_a_low_descriptor_limit() {
    example_process::watchdog("events", Duration::from_secs(60), || {
        let (events, address) =
            Example::server_with_file_limit("events", &["--milestone", "1000"], example_process::SLOWLORIS_FILE_LIMIT);
        let (events, sent) = (std::cell::RefCell::new(events), std::cell::Cell::new(0));
        example_process::assert_survives_slowloris(address, b"x", b'x', |address| {
            let mut client = TcpStream::connect(address)?;
            sent.set(sent.get() + 1);
            writeln!(client, "normal {}", sent.get())?;
            let wanted = format!("normal {}", sent.get());
            let mut events = events.borrow_mut();
            while !events.line().trim_end().ends_with(&wanted) {}
            Ok(())
        });
    });
}
