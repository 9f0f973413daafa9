//! Thread dumps and stats: every green thread is listed with its state, the user's own blocking call
//! (file:line) and what it waits for; the counters add up.

mod util;

use std::io::Read;
use std::time::Duration;

use green::inspect::{ThreadInfo, ThreadState, WaitReason};
use green::sync::{Arc, Mutex};
use green::thread::ThreadId;

/// Yields until `thread` is parked (a green thread's own progress, not a sleep).
fn until_parked(thread: &green::Thread) {
    while thread.parked_at().is_none() {
        green::yield_now();
    }
}

/// Spawns `count` green threads on `runtime` that each wait on `receiver`, and returns once all are parked.
fn spawn_waiting(
    runtime: &green::Runtime,
    receiver: &green::channel::Receiver<()>,
    count: usize,
) -> Vec<green::JoinHandle<Result<(), green::channel::RecvError>>> {
    let waiters: Vec<_> = (0..count)
        .map(|_| {
            let receiver = receiver.clone();
            runtime.spawn(move || receiver.recv())
        })
        .collect();
    for waiter in &waiters {
        while waiter.thread().parked_at().is_none() {
            std::thread::yield_now();
        }
    }
    waiters
}

/// The entry of `id` in a fresh dump of the current runtime.
fn entry(id: ThreadId) -> ThreadInfo {
    green::dump().thread(id).cloned().expect("the green thread is listed")
}

/// Asserts `info` is parked for `reason` at `line` of this file.
fn assert_parked(info: &ThreadInfo, reason: WaitReason, line: u32) {
    match info.state {
        ThreadState::Parked { reason: actual, at, .. } => {
            assert_eq!(actual, reason, "{info:?}");
            assert_eq!(at.file(), file!(), "the user's call, not green's internals: {info:?}");
            assert_eq!(at.line(), line, "{info:?}");
        }
        other => panic!("expected parked for {reason}, found {other:?}"),
    }
}

#[test]
fn a_dump_lists_recv_sleep_lock_and_socket_waits_at_the_callers_lines() {
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(2);
        runtime.block_on(|| {
            let (sender, receiver) = green::channel::bounded::<u32>(0);
            let recv_line = line!() + 1;
            let receiving = green::Builder::new().name("receiver".into()).spawn(move || receiver.recv()).unwrap();

            let sleep_line = line!() + 1;
            let sleeping = green::spawn(|| green::sleep(Duration::from_secs(3600)));

            let mutex = Arc::new(Mutex::new(0));
            let held = mutex.lock().unwrap();
            let locking = {
                let mutex = mutex.clone();
                green::spawn(move || {
                    let lock_line = line!() + 1;
                    let guard = mutex.lock().unwrap();
                    drop(guard);
                    lock_line
                })
            };

            let listener = green::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let client = green::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (server, _) = listener.accept().unwrap();
            let server_fd = {
                use std::os::fd::AsRawFd;
                server.as_raw_fd()
            };
            let read_line = line!() + 4;
            let reading = green::spawn(move || {
                let mut server = server;
                let mut byte = [0u8; 1];
                server.read(&mut byte).map(|n| (n, byte[0]))
            });

            for handle in [receiving.thread(), sleeping.thread(), locking.thread(), reading.thread()] {
                until_parked(handle);
            }
            let dump = green::dump();
            let text = dump.to_string();
            println!("{text}");

            let receiver_entry = dump.thread(receiving.thread().id()).unwrap();
            assert_parked(receiver_entry, WaitReason::ChannelRecv, recv_line);
            assert_eq!(receiver_entry.name.as_deref(), Some("receiver"));
            assert_eq!(receiver_entry.spawned_at.line(), recv_line);
            assert_parked(&entry(sleeping.thread().id()), WaitReason::Sleep, sleep_line);
            let locking_entry = entry(locking.thread().id());
            match locking_entry.state {
                ThreadState::Parked { reason: WaitReason::Mutex, at, .. } => assert_eq!(at.file(), file!()),
                other => panic!("expected a mutex wait, found {other:?}"),
            }
            assert_parked(&entry(reading.thread().id()), WaitReason::SocketRead { fd: server_fd }, read_line);

            // The text says the same, with the names the trace uses.
            assert!(text.contains(&format!("channel recv\n    at {}:{recv_line}:", file!())), "{text}");
            assert!(text.contains(&format!("sleep\n    at {}:{sleep_line}:", file!())), "{text}");
            assert!(text.contains("mutex lock\n"), "{text}");
            assert!(
                text.contains(&format!("socket read on fd {server_fd}\n    at {}:{read_line}:", file!())),
                "{text}"
            );
            assert!(text.contains("green thread #") && text.contains("'receiver'"), "{text}");
            // The dumping thread itself is running; the main green thread of block_on was spawned by it.
            let me = dump.thread(green::current().id()).unwrap();
            assert!(matches!(me.state, ThreadState::Running { .. }), "{me:?}");
            assert_eq!(dump.count("parked"), 4, "{text}");

            // Let everyone go.
            sender.send(7).unwrap();
            assert_eq!(receiving.join().unwrap(), Ok(7));
            sleeping.cancel();
            assert!(sleeping.join().is_err());
            drop(held);
            let lock_line = locking.join().unwrap();
            if let ThreadState::Parked { at, .. } = locking_entry.state {
                assert_eq!(at.line(), lock_line);
            }
            let mut client = client;
            std::io::Write::write_all(&mut client, b"x").unwrap();
            assert_eq!(reading.join().unwrap().unwrap(), (1, b'x'));
        });
    });
}

#[test]
fn not_started_and_runnable_green_threads_are_listed_too() {
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(1);
        runtime.block_on(|| {
            // One worker, and we do not yield: the new green threads cannot start before the dump.
            let queued: Vec<_> = (0..3).map(|_| green::spawn(|| ())).collect();
            let dump = green::dump();
            for handle in &queued {
                let info = dump.thread(handle.thread().id()).expect("listed");
                assert_eq!(info.state, ThreadState::NotStarted, "{dump}");
            }
            assert_eq!(dump.count("not started"), 3, "{dump}");
            for handle in queued {
                handle.join().unwrap();
            }
        });
    });
}

#[test]
fn a_dump_from_an_os_thread_lists_every_worker() {
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(2);
        let (sender, receiver) = green::channel::bounded::<()>(0);
        let waiters = spawn_waiting(&runtime, &receiver, 4);
        let dump = runtime.dump();
        assert!(dump.unanswered.is_empty(), "{dump}");
        assert_eq!(dump.count("parked"), 4, "{dump}");
        for waiter in &waiters {
            assert!(matches!(
                dump.thread(waiter.thread().id()).unwrap().state,
                ThreadState::Parked { reason: WaitReason::ChannelRecv, .. }
            ));
        }
        drop(sender);
        for waiter in waiters {
            assert!(waiter.join().unwrap().is_err());
        }
    });
}

#[test]
fn a_worker_held_by_a_green_thread_is_named_instead_of_listed() {
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(1);
        let (started, running) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let line = line!() + 1;
        let holder = runtime.spawn(move || {
            started.send(()).unwrap();
            released.recv().unwrap(); // a std wait: holds the worker until the test lets go
        });
        running.recv().unwrap();
        let dump = runtime.dump();
        release.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(dump.unanswered.len(), 1, "{dump}");
        let running = dump.unanswered[0].running.as_ref().expect("the holder is named");
        assert_eq!(running.id, holder_id(&dump));
        assert_eq!(running.spawned_at.line(), line);
        assert!(dump.to_string().contains("did not answer"), "{dump}");
    });
}

/// The id of the one green thread named in `dump`'s unanswered worker.
fn holder_id(dump: &green::inspect::Dump) -> ThreadId {
    dump.unanswered[0].running.as_ref().unwrap().id
}

#[test]
fn stats_add_up() {
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(2);
        let (sender, receiver) = green::channel::bounded::<()>(0);
        let finished: Vec<_> = (0..20).map(|i| runtime.spawn(move || i)).collect();
        for handle in finished {
            handle.join().unwrap();
        }
        let parked = spawn_waiting(&runtime, &receiver, 5);
        // Every worker publishes its gauges before it sleeps: wait until both are asleep (bounded by the watchdog).
        let stats = loop {
            let stats = runtime.stats();
            if stats.live == 5 && stats.parked == 5 {
                break stats;
            }
            std::thread::yield_now();
        };
        println!("{stats}");
        assert_eq!(stats.spawned, 25);
        assert_eq!(stats.finished, 20);
        assert_eq!(stats.spawned, stats.finished + stats.live + stats.not_started);
        assert_eq!(stats.not_started, 0);
        assert_eq!(stats.parks_of("channel recv"), 5);
        assert!(stats.switches >= 25, "{stats}");
        assert_eq!(stats.workers.len(), 2);
        assert_eq!(stats.workers.iter().map(|w| w.started).sum::<u64>(), 25);
        drop(sender);
        for handle in parked {
            assert!(handle.join().unwrap().is_err());
        }
        // A join returns once the result is published; the worker counts the green thread as finished when
        // it switches back from it, a moment later.
        while runtime.stats().finished < 25 {
            std::thread::yield_now();
        }
        let after = runtime.stats();
        assert_eq!((after.spawned, after.finished, after.live), (25, 25, 0), "{after}");
    });
}

#[test]
fn a_dump_from_an_os_thread_outside_any_runtime_does_not_start_the_default_one() {
    util::watchdog(Duration::from_secs(30), || {
        // This test binary never uses the default runtime: a dump must not start its workers.
        let dump = green::dump();
        assert_eq!((dump.workers, dump.threads.len()), (0, 0));
        assert_eq!(green::inspect::stats().workers.len(), 0);
        assert_eq!(green::dump().workers, 0, "still not started");
    });
}

/// The SIGQUIT action in place now.
fn sigquit_action() -> libc::sighandler_t {
    // SAFETY: queries the action into a zeroed local; no action is changed.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(libc::SIGQUIT, std::ptr::null(), &mut action), 0);
        action.sa_sigaction
    }
}

#[test]
fn dump_on_sigquit_takes_the_signal_only_while_a_runtime_asks_for_it() {
    util::watchdog(Duration::from_secs(30), || {
        assert_eq!(sigquit_action(), libc::SIG_DFL);
        let first = green::Runtime::builder().workers(1).dump_on_sigquit(true).build().unwrap();
        let second = green::Runtime::builder().workers(1).dump_on_sigquit(true).build().unwrap();
        assert_ne!(sigquit_action(), libc::SIG_DFL);
        drop(first);
        assert_ne!(sigquit_action(), libc::SIG_DFL, "the second runtime still prints dumps");
        drop(second);
        assert_eq!(sigquit_action(), libc::SIG_DFL, "the default action (a core dump) is back");
    });
}
