//! The std/crossbeam mirror, name by name: every name resolves, Debug output matches crossbeam's, the new
//! primitives (Once, LazyLock, downgrade, select_biased) behave as their originals.

mod util;

use std::panic::{catch_unwind, AssertUnwindSafe, RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[allow(unused_imports)]
use green::sync::{
    atomic, mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once, OnceLock,
    OnceState, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, TryLockResult, WaitTimeoutResult,
    Weak,
};
#[allow(unused_imports)]
use green::thread::{
    available_parallelism, current, panicking, park, park_timeout, scope, sleep, sleep_until, spawn, yield_now,
    AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle, Thread, ThreadId,
};
use util::watchdog;

/// Every stable name of `std::{thread, sync, sync::mpsc, net, fs}` and `std::os::unix::net` resolves under
/// `green::` (a compile-time check: this module only has to build).
#[allow(unused_imports, deprecated)]
mod every_std_name_resolves {
    use green::fs::{
        canonicalize, copy, create_dir, create_dir_all, exists, hard_link, metadata, read, read_dir, read_link,
        read_to_string, remove_dir, remove_dir_all, remove_file, rename, set_permissions, soft_link, symlink_metadata,
        write, DirBuilder, DirEntry, File, FileTimes, FileType, Metadata, OpenOptions, Permissions, ReadDir,
    };
    use green::net::unix::{
        Incoming as UnixIncoming, SocketAddr as UnixSocketAddr, UnixDatagram, UnixListener, UnixStream,
    };
    use green::net::{
        AddrParseError, Incoming, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
        TcpListener, TcpStream, ToSocketAddrs, UdpSocket,
    };
    use green::sync::mpsc::{
        channel, sync_channel, IntoIter, Iter, Receiver, RecvError, RecvTimeoutError, SendError, Sender, SyncSender,
        TryIter, TryRecvError, TrySendError,
    };
    use green::sync::{
        atomic, mpsc, Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once,
        OnceLock, OnceState, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError, TryLockResult,
        WaitTimeoutResult, Weak, ONCE_INIT,
    };
    use green::thread::{
        available_parallelism, current, panicking, park, park_timeout, park_timeout_ms, scope, sleep, sleep_ms,
        sleep_until, spawn, yield_now, AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle,
        Thread, ThreadId,
    };
}

fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn locks_are_unwind_safe_as_std() {
    assert_unwind_safe::<Mutex<std::cell::Cell<i32>>>();
    assert_unwind_safe::<RwLock<std::cell::Cell<i32>>>();
    assert_unwind_safe::<std::sync::Mutex<std::cell::Cell<i32>>>();
}

#[test]
fn channel_error_debug_output_is_crossbeam_s() {
    use green::channel::{SendError, SendTimeoutError, TrySendError};
    // crossbeam formats these texts with `Debug`, so the quotes are part of the output.
    assert_eq!(format!("{:?}", SendError(1)), r#""SendError(..)""#);
    assert_eq!(format!("{:?}", TrySendError::Full(1)), r#""Full(..)""#);
    assert_eq!(format!("{:?}", TrySendError::Disconnected(1)), r#""Disconnected(..)""#);
    assert_eq!(format!("{:?}", SendTimeoutError::Timeout(1)), r#""SendTimeoutError(..)""#);
    assert_eq!(format!("{:?}", green::channel::RecvError), "RecvError");
    assert_eq!(format!("{:?}", green::channel::TryRecvError::Empty), "Empty");
    let (s, r) = green::channel::unbounded::<i32>();
    assert_eq!(format!("{s:?} {r:?}"), "Sender { .. } Receiver { .. }");
    assert_eq!(format!("{:?}", green::channel::Select::new()), "Select { .. }");
}

#[test]
fn debug_is_implemented_for_runtime_scope_and_group() {
    watchdog(Duration::from_secs(30), || {
        let rt = util::runtime(2);
        let shown = format!("{rt:?}");
        assert!(shown.starts_with("Runtime { workers: 2"), "{shown}");
        rt.block_on(|| {
            let mut group = green::Group::new();
            group.spawn(|| 1);
            assert!(format!("{group:?}").starts_with("Group { members: 1"));
            group.join_all();
            green::scope(|s| {
                assert!(format!("{s:?}").starts_with("Scope"));
                let handle = s.spawn(|| 2);
                assert!(format!("{handle:?}").starts_with("ScopedJoinHandle { thread: Thread"));
                assert_eq!(handle.join().unwrap(), 2);
            });
        });
    });
}

#[test]
fn select_biased_and_new_biased_prefer_the_first_ready_operation() {
    let (s1, r1) = green::channel::unbounded();
    let (s2, r2) = green::channel::unbounded();
    for i in 0..50 {
        s1.send(i).unwrap();
        s2.send(i).unwrap();
    }
    for i in 0..50 {
        green::select_biased! {
            recv(r1) -> message => assert_eq!(message, Ok(i)),
            recv(r2) -> _ => panic!("the first arm is ready"),
        }
    }
    let mut select = green::channel::Select::new_biased();
    let second = select.recv(&r2);
    select.recv(&r1);
    s1.send(99).unwrap();
    let operation = select.select();
    assert_eq!(operation.index(), second);
    assert_eq!(operation.recv(&r2), Ok(0));
}

#[test]
fn once_poisons_like_std_and_call_once_force_recovers() {
    static ONCE: Once = Once::new();
    let panicked = catch_unwind(|| ONCE.call_once(|| panic!("init failed")));
    assert!(panicked.is_err());
    assert!(!ONCE.is_completed());
    let again = catch_unwind(|| ONCE.call_once(|| {}));
    let message = again.unwrap_err().downcast::<&str>().map(|m| *m).unwrap_or_default();
    assert_eq!(message, "Once instance has previously been poisoned");
    let mut saw_poison = false;
    ONCE.call_once_force(|state| saw_poison = state.is_poisoned());
    assert!(saw_poison && ONCE.is_completed());
    ONCE.wait();
}

#[test]
fn once_runs_one_initialiser_while_the_others_park() {
    watchdog(Duration::from_secs(30), || {
        static ONCE: Once = Once::new();
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let rt = util::runtime(1);
        rt.block_on(|| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    green::spawn(|| {
                        ONCE.call_once(|| {
                            green::sleep(Duration::from_millis(5)); // the others park on the same worker
                            RUNS.fetch_add(1, Ordering::SeqCst);
                        });
                        assert!(ONCE.is_completed());
                    })
                })
                .collect();
            handles.into_iter().for_each(|h| h.join().unwrap());
        });
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn lazy_lock_is_poisoned_by_a_panicking_initialiser() {
    static LAZY: LazyLock<u32> = LazyLock::new(|| panic!("no value"));
    assert!(catch_unwind(|| *LAZY).is_err());
    let again = catch_unwind(|| *LAZY).unwrap_err();
    let message = again.downcast::<&str>().map(|m| *m).unwrap_or_default();
    assert_eq!(message, "LazyLock instance has previously been poisoned");
    static GOOD: LazyLock<Vec<u32>> = LazyLock::new(|| vec![1, 2, 3]);
    assert_eq!(GOOD.len(), 3);
    assert_eq!(format!("{:?}", *GOOD), "[1, 2, 3]");
}

#[test]
fn downgrade_admits_queued_readers_and_keeps_writers_out() {
    watchdog(Duration::from_secs(30), || {
        let rt = util::runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(0));
            let mut writer = lock.write().unwrap();
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    let lock = lock.clone();
                    green::spawn(move || *lock.read().unwrap())
                })
                .collect();
            let late_writer = {
                let lock = lock.clone();
                green::spawn(move || *lock.write().unwrap() += 10)
            };
            // Let every spawned green thread queue behind the write lock.
            let threads: Vec<Thread> =
                readers.iter().map(|h| h.thread().clone()).chain([late_writer.thread().clone()]).collect();
            while threads.iter().any(|thread| thread.parked_at().is_none()) {
                green::yield_now();
            }
            *writer = 1;
            let reader = RwLockWriteGuard::downgrade(writer);
            // The queued readers got in alongside us; the writer waits for every reader.
            for handle in readers {
                assert_eq!(handle.join().unwrap(), 1);
            }
            assert!(!late_writer.is_finished());
            assert_eq!(*reader, 1);
            drop(reader);
            late_writer.join().unwrap();
            assert_eq!(*lock.read().unwrap(), 11);
        });
    });
}

#[test]
fn a_poisoning_write_guard_that_is_downgraded_poisons_as_std() {
    let lock = RwLock::new(0);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let writer = lock.write().unwrap();
        let _reader = RwLockWriteGuard::downgrade(writer);
        panic!("while reading");
    }));
    assert!(result.is_err());
    // A read guard does not poison, and the write guard was given up before the panic.
    assert!(!lock.is_poisoned());
}
