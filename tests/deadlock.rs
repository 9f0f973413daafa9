//! The deadlock report, tested in processes of its own: it fires only when every OS thread of the process is
//! accounted for (workers, monitor, pool, OS threads blocked in `green` primitives), and the standard test
//! harness keeps a thread of its own waiting on a `std` channel, which would (rightly) disable it. So this test
//! has no harness (`harness = false` in Cargo.toml): run without arguments it re-runs itself once per scenario
//! and checks each child's exit and stderr.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The scenarios: name, whether the report must fire, the body run in the child.
const SCENARIOS: &[(&str, bool, fn())] = &[
    ("two_green_threads_waiting_on_each_other", true, two_green_threads_waiting_on_each_other),
    ("main_joins_a_green_thread_parked_forever", true, main_joins_a_green_thread_parked_forever),
    ("an_os_thread_blocked_in_green_is_asleep_too", true, an_os_thread_blocked_in_green_is_asleep_too),
    (
        "a_scope_join_that_cannot_unwind_aborts_with_the_report",
        true,
        a_scope_join_that_cannot_unwind_aborts_with_the_report,
    ),
    ("not_while_an_os_thread_holds_the_sender", false, not_while_an_os_thread_holds_the_sender),
    ("not_while_a_timer_is_armed", false, not_while_a_timer_is_armed),
    ("not_while_a_socket_is_registered", false, not_while_a_socket_is_registered),
];

/// How long a "does not fire" scenario keeps the runtime quiet: many looks of the monitor (every 25 ms).
const QUIET: Duration = Duration::from_millis(1500);

/// A: waits for B's message; B: waits for A's. Main joins A.
fn two_green_threads_waiting_on_each_other() {
    green::run(|| {
        let (to_a, a_inbox) = green::channel::bounded::<u32>(0);
        let (to_b, b_inbox) = green::channel::bounded::<u32>(0);
        let a = green::Builder::new()
            .name("a".into())
            .spawn(move || {
                let got = a_inbox.recv(); // line A
                to_b.send(1).unwrap();
                got
            })
            .unwrap();
        let b = green::Builder::new()
            .name("b".into())
            .spawn(move || {
                let got = b_inbox.recv(); // line B
                to_a.send(2).unwrap();
                got
            })
            .unwrap();
        let _ = a.join();
        let _ = b.join();
    });
}

fn main_joins_a_green_thread_parked_forever() {
    green::run(|| {
        let forever = green::spawn(|| loop {
            green::park();
        });
        let _ = forever.join();
    });
}

fn an_os_thread_blocked_in_green_is_asleep_too() {
    let (sender, receiver) = green::channel::bounded::<u32>(0);
    let (_keep, never) = green::channel::bounded::<u32>(0);
    // This OS thread waits in a green primitive with no deadline: only an unpark can end its wait.
    let os = std::thread::spawn(move || receiver.recv());
    green::run(move || {
        let holder = green::spawn(move || {
            let _sender = sender; // held by a green thread that waits forever
            never.recv()
        });
        let _ = holder.join();
    });
    let _ = os.join();
}

/// The main green thread waits in a scope's join, which must not unwind (the scoped green threads borrow its
/// frame): the report is printed and the process aborts.
fn a_scope_join_that_cannot_unwind_aborts_with_the_report() {
    green::run(|| {
        let (_keep, never) = green::channel::bounded::<u32>(0);
        let borrowed = [1, 2, 3];
        green::scope(|scope| {
            scope.spawn(|| {
                let _ = never.recv(); // waits forever, borrowing the main green thread's frame
                borrowed.len()
            });
        });
    });
}

fn not_while_an_os_thread_holds_the_sender() {
    let (sender, receiver) = green::channel::bounded::<u32>(0);
    let os = std::thread::spawn(move || {
        std::thread::sleep(QUIET); // blocked in std: it may still send, and it does
        sender.send(42).unwrap();
    });
    let got = green::run(move || green::spawn(move || receiver.recv().unwrap()).join().unwrap());
    assert_eq!(got, 42);
    os.join().unwrap();
}

fn not_while_a_timer_is_armed() {
    green::run(|| {
        let sleeper = green::spawn(|| green::sleep(QUIET));
        sleeper.join().unwrap();
    });
}

fn not_while_a_socket_is_registered() {
    green::run(|| {
        let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Another process connects later: no thread of this one could wake the acceptor.
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--connect-later", &port.to_string()])
            .spawn()
            .unwrap();
        let acceptor = green::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).unwrap();
            byte[0]
        });
        assert_eq!(acceptor.join().unwrap(), b'!');
        child.wait().unwrap();
    });
}

/// The helper process of `not_while_a_socket_is_registered`.
fn connect_later(port: &str) {
    std::thread::sleep(QUIET);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    stream.write_all(b"!").unwrap();
}

/// Runs scenario `name` in a child; returns its exit status and stderr, killing it after a limit.
fn run_child(name: &str) -> (Option<ExitStatus>, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--scenario", name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10)); // polling a child process's exit
    };
    (status, reader.join().unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|arg| arg == "--connect-later") {
        return connect_later(&args[position + 1]);
    }
    if let Some(position) = args.iter().position(|arg| arg == "--scenario") {
        let name = &args[position + 1];
        let (_, _, body) = SCENARIOS.iter().find(|(scenario, _, _)| scenario == name).expect("a known scenario");
        body();
        return;
    }
    let filter = args.iter().skip(1).find(|arg| !arg.starts_with('-'));
    let mut failed = 0;
    for (name, fires, _) in SCENARIOS {
        if filter.is_some_and(|filter| !name.contains(filter.as_str())) {
            continue;
        }
        let (status, stderr) = run_child(name);
        let reported = stderr.contains(green::inspect::DEADLOCK_MESSAGE);
        let verdict = match (fires, status) {
            (_, None) => Err("did not finish in 30 s".to_string()),
            (true, Some(status)) if !reported || status.success() => {
                Err(format!("expected the deadlock report and a failure, got {status}"))
            }
            (true, Some(_)) => check_report(name, &stderr),
            (false, Some(status)) if reported || !status.success() => {
                Err(format!("expected no report and success, got {status}"))
            }
            (false, Some(_)) => Ok(()),
        };
        match verdict {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED: {why}\n--- stderr ---\n{stderr}\n---");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} deadlock scenarios failed");
        std::process::exit(1);
    }
}

/// What the report of each firing scenario must show besides the message.
fn check_report(name: &str, stderr: &str) -> Result<(), String> {
    let needs: &[&str] = match name {
        "two_green_threads_waiting_on_each_other" => {
            &["'a': parked", "'b': parked", "channel recv", "tests/deadlock.rs:"]
        }
        "main_joins_a_green_thread_parked_forever" => &["parked", ": park\n", "'main': running", "tests/deadlock.rs:"],
        "an_os_thread_blocked_in_green_is_asleep_too" => &["channel recv", "tests/deadlock.rs:"],
        "a_scope_join_that_cannot_unwind_aborts_with_the_report" => {
            &["waits at tests/deadlock.rs:", ": scope join", "cannot unwind", "aborting"]
        }
        _ => &[],
    };
    match needs.iter().find(|need| !stderr.contains(**need)) {
        Some(missing) => Err(format!("the report lacks {missing:?}")),
        None => Ok(()),
    }
}
