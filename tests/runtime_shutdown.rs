//! Dropping a runtime unwinds its green threads: destructors run, joiners learn they were cancelled.

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use util::{in_child, runtime, watchdog, Lender, LenderFlag};

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_runtime_with_ten_thousand_parked_green_threads_runs_their_destructors() {
    watchdog(Duration::from_secs(120), || {
        const N: usize = 10_000;
        let dropped = Arc::new(AtomicUsize::new(0));
        let parked = Arc::new(AtomicUsize::new(0));
        let all_parked = Arc::new(Barrier::new(2));
        let rt = runtime(2);
        let mut handles = Vec::with_capacity(N);
        for _ in 0..N {
            let tracked = Tracked(dropped.clone());
            let parked = parked.clone();
            let all_parked = all_parked.clone();
            handles.push(rt.spawn(move || {
                let _held = tracked;
                if parked.fetch_add(1, Ordering::SeqCst) + 1 == N {
                    all_parked.wait();
                }
                loop {
                    green::park();
                }
            }));
        }
        all_parked.wait();
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), N, "every parked green thread's destructors ran");
        for handle in handles {
            let error = handle.join().unwrap_err();
            assert!(green::is_cancelled(error.as_ref()));
        }
    });
}

#[test]
fn green_threads_that_never_started_are_cancelled_at_shutdown() {
    watchdog(Duration::from_secs(30), || {
        let dropped = Arc::new(AtomicUsize::new(0));
        let rt = runtime(1);
        let gate = Arc::new(Barrier::new(2));
        // Occupy the only worker so the next spawns cannot start.
        let blocker = rt.spawn({
            let gate = gate.clone();
            move || {
                gate.wait(); // blocks the worker's OS thread on purpose
                loop {
                    green::park();
                }
            }
        });
        let never: Vec<_> = (0..100)
            .map(|_| {
                let tracked = Tracked(dropped.clone());
                rt.spawn(move || drop(tracked))
            })
            .collect();
        // Whether each of `never` starts before the shutdown is a race; either way its closure must be dropped
        // exactly once, and its join must report success (it ran) or cancellation (it never started).
        gate.wait();
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 100);
        for handle in never {
            match handle.join() {
                Ok(()) => {}
                Err(error) => assert!(green::is_cancelled(error.as_ref())),
            }
        }
        assert!(green::is_cancelled(blocker.join().unwrap_err().as_ref()));
    });
}

#[test]
fn a_scope_parent_and_its_children_unwind_children_first() {
    watchdog(Duration::from_secs(30), || {
        let rt = runtime(1);
        let started = Arc::new(Barrier::new(2));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let _parent = rt.spawn({
            let started = started.clone();
            let order = order.clone();
            move || {
                let local = vec![1, 2, 3];
                green::scope(|s| {
                    s.spawn(|| {
                        struct Child<'a>(&'a Vec<i32>, Arc<std::sync::Mutex<Vec<&'static str>>>);
                        impl Drop for Child<'_> {
                            fn drop(&mut self) {
                                assert_eq!(self.0.len(), 3, "the parent's stack is still there");
                                self.1.lock().unwrap().push("child");
                            }
                        }
                        let _child = Child(&local, order.clone());
                        started.wait();
                        loop {
                            green::park();
                        }
                    });
                });
                order.lock().unwrap().push("parent");
            }
        });
        started.wait();
        drop(rt);
        assert_eq!(order.lock().unwrap().first(), Some(&"child"));
    });
}

// ---- Hardening (issue 9): no frame that lends a borrow is unwound before its borrowers are gone, shutdown
// never spins, aborts or deadlocks on a blocking destructor. Each runs in a child process with a time limit.

/// The name of the worker OS thread running the caller.
fn worker_name() -> String {
    std::thread::current().name().unwrap_or_default().to_owned()
}

/// Waits (yielding, bounded by the child's time limit) until `thread` is parked.
fn until_parked(thread: &green::Thread) {
    while thread.parked_at().is_none() {
        std::thread::yield_now();
    }
}

#[test]
fn a_scope_join_outlasts_shutdown_while_a_child_runs_on_another_worker() {
    in_child("a_scope_join_outlasts_shutdown_while_a_child_runs_on_another_worker", Duration::from_secs(60), || {
        static FRAME: LenderFlag = LenderFlag::new();
        static CROSSED: AtomicBool = AtomicBool::new(false);
        let rt = runtime(2);
        let (crossed_tx, crossed_rx) = std::sync::mpsc::channel();
        let parent = rt.spawn(move || {
            let _lender = Lender(&FRAME);
            let data = vec![7u64; 4096];
            let home = worker_name();
            green::scope(|s| loop {
                // Children that start on the parent's worker return at once; the first one stolen by the other
                // worker keeps reading the parent's `data` for a while without ever parking.
                let child = s.spawn(|| {
                    if worker_name() == home {
                        return;
                    }
                    CROSSED.store(true, Ordering::SeqCst);
                    let _ = crossed_tx.send(());
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(300) {
                        FRAME.assert_alive("a scoped child");
                        assert_eq!(std::hint::black_box(&data).iter().sum::<u64>(), 7 * 4096);
                    }
                });
                while !child.is_finished() && !CROSSED.load(Ordering::SeqCst) {
                    green::yield_now();
                }
                if CROSSED.load(Ordering::SeqCst) {
                    break; // the body returns: the parent waits in the scope's implicit join
                }
            });
        });
        crossed_rx.recv().unwrap();
        until_parked(parent.thread());
        drop(rt);
        assert!(FRAME.is_gone(), "the parent's frame ended after its child");
    });
}

#[test]
fn block_on_from_a_green_thread_of_a_dropped_runtime_waits_for_the_borrowing_closure() {
    in_child(
        "block_on_from_a_green_thread_of_a_dropped_runtime_waits_for_the_borrowing_closure",
        Duration::from_secs(60),
        || {
            static FRAME: LenderFlag = LenderFlag::new();
            let a = Arc::new(runtime(1));
            let b = runtime(1);
            /// Tells the test when the closure has ended, however it ends.
            struct SendOnDrop(std::sync::mpsc::Sender<()>);
            impl Drop for SendOnDrop {
                fn drop(&mut self) {
                    let _ = self.0.send(());
                }
            }
            let (running_tx, running_rx) = std::sync::mpsc::channel();
            let (ended_tx, ended_rx) = std::sync::mpsc::channel();
            let caller = b.spawn({
                let a = a.clone();
                move || {
                    let _lender = Lender(&FRAME);
                    let data = vec![3u64; 1024];
                    a.block_on(|| {
                        let _ended = SendOnDrop(ended_tx);
                        let _ = running_tx.send(());
                        for _ in 0..200 {
                            FRAME.assert_alive("a block_on closure");
                            assert_eq!(data.iter().sum::<u64>(), 3 * 1024);
                            green::sleep(Duration::from_millis(1));
                        }
                    });
                }
            });
            running_rx.recv().unwrap();
            until_parked(caller.thread());
            drop(b);
            assert!(FRAME.is_gone());
            ended_rx.recv().unwrap(); // the closure ran on (or was cancelled) without seeing the frame gone
            drop(a);
        },
    );
}

#[test]
fn a_destructor_waiting_for_an_older_green_threads_mutex_does_not_deadlock_shutdown() {
    in_child(
        "a_destructor_waiting_for_an_older_green_threads_mutex_does_not_deadlock_shutdown",
        Duration::from_secs(60),
        || {
            struct LockOnDrop(Arc<green::sync::Mutex<u32>>, Arc<AtomicBool>);
            impl Drop for LockOnDrop {
                fn drop(&mut self) {
                    *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
                    self.1.store(true, Ordering::SeqCst);
                }
            }
            let rt = runtime(1);
            let lock = Arc::new(green::sync::Mutex::new(0));
            let locked_in_drop = Arc::new(AtomicBool::new(false));
            let (held_tx, held_rx) = std::sync::mpsc::channel();
            let older = rt.spawn({
                let lock = lock.clone();
                move || {
                    let _guard = lock.lock().unwrap();
                    held_tx.send(()).unwrap();
                    loop {
                        green::park();
                    }
                }
            });
            held_rx.recv().unwrap();
            let newer = rt.spawn({
                let on_drop = LockOnDrop(lock.clone(), locked_in_drop.clone());
                move || {
                    let _on_drop = on_drop;
                    loop {
                        green::park();
                    }
                }
            });
            until_parked(older.thread());
            until_parked(newer.thread());
            drop(rt);
            assert!(locked_in_drop.load(Ordering::SeqCst));
            assert_eq!(*lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()), 1);
        },
    );
}

#[test]
fn a_never_started_closure_whose_drop_blocks_parks_like_a_green_thread() {
    in_child("a_never_started_closure_whose_drop_blocks_parks_like_a_green_thread", Duration::from_secs(60), || {
        static DROPPING: AtomicBool = AtomicBool::new(false);
        struct RecvOnDrop(green::channel::Receiver<u32>, Arc<AtomicUsize>);
        impl Drop for RecvOnDrop {
            fn drop(&mut self) {
                DROPPING.store(true, Ordering::SeqCst);
                if let Ok(value) = self.0.recv() {
                    self.1.store(value as usize, Ordering::SeqCst);
                }
            }
        }
        let received = Arc::new(AtomicUsize::new(0));
        runtime(1).block_on(|| {
            let (tx, rx) = green::channel::bounded(0); // the send below waits for the drop's recv
            let capture = RecvOnDrop(rx, received.clone());
            let victim = green::spawn(move || drop(capture));
            victim.cancel();
            // The worker drops the victim's closure; its drop waits in `recv` before anything is sent.
            while !DROPPING.load(Ordering::SeqCst) {
                green::yield_now();
            }
            tx.send(42).unwrap();
            assert!(green::is_cancelled(victim.join().unwrap_err().as_ref()));
        });
        assert_eq!(received.load(Ordering::SeqCst), 42);
    });
}

#[test]
fn a_never_started_closure_whose_drop_panics_does_not_kill_the_worker() {
    in_child("a_never_started_closure_whose_drop_panics_does_not_kill_the_worker", Duration::from_secs(60), || {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("the drop of a never-run closure panics");
            }
        }
        runtime(1).block_on(|| {
            let capture = PanicOnDrop;
            let victim = green::spawn(move || drop(capture));
            victim.cancel();
            let payload = victim.join().unwrap_err();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"the drop of a never-run closure panics"));
            // The worker is alive: later green threads still run there.
            assert_eq!(green::spawn(|| 5).join().unwrap(), 5);
        });
    });
}

#[test]
fn dropping_the_runtime_while_a_green_thread_waits_in_a_destructor_during_its_unwinding_does_not_abort() {
    in_child(
        "dropping_the_runtime_while_a_green_thread_waits_in_a_destructor_during_its_unwinding_does_not_abort",
        Duration::from_secs(60),
        || {
            static IN_DROP: AtomicBool = AtomicBool::new(false);
            struct MarkOnDrop;
            impl Drop for MarkOnDrop {
                fn drop(&mut self) {
                    IN_DROP.store(true, Ordering::SeqCst);
                }
            }
            let rt = runtime(1);
            // The member waits for a message only this (OS) thread could send, shielded from cancellation.
            let (release_tx, release_rx) = green::channel::bounded::<()>(0);
            let unwinder = rt.spawn(move || {
                let mut group = green::Group::new();
                let member = group
                    .spawn(move || {
                        let _ = green::uncancellable(|| release_rx.recv());
                    })
                    .clone();
                while member.parked_at().is_none() {
                    green::yield_now(); // the member must have started, or the group's drop never waits
                }
                let _mark = MarkOnDrop; // dropped first: the group's drop (joining the member) comes next
                panic!("unwinding with a group to join");
            });
            while !IN_DROP.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            until_parked(unwinder.thread());
            drop(rt);
            let payload = unwinder.join().unwrap_err();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"unwinding with a group to join"));
            drop(release_tx);
        },
    );
}

#[test]
fn a_destructor_run_by_shutdown_may_spawn() {
    in_child("a_destructor_run_by_shutdown_may_spawn", Duration::from_secs(60), || {
        type Outcome = Arc<std::sync::Mutex<Option<Result<u32, bool>>>>;
        struct SpawnOnDrop(Outcome);
        impl Drop for SpawnOnDrop {
            fn drop(&mut self) {
                let joined = green::spawn(|| 5).join().map_err(|payload| green::is_cancelled(payload.as_ref()));
                *self.0.lock().unwrap() = Some(joined);
            }
        }
        let outcome: Outcome = Arc::default();
        let rt = runtime(1);
        let parked = rt.spawn({
            let on_drop = SpawnOnDrop(outcome.clone());
            move || {
                let _on_drop = on_drop;
                loop {
                    green::park();
                }
            }
        });
        until_parked(parked.thread());
        drop(rt);
        // The thread spawned during shutdown never starts: its join reports cancellation, it does not panic.
        assert_eq!(*outcome.lock().unwrap(), Some(Err(true)));
    });
}
