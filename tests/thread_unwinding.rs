//! A green thread's unwinding is its own: while one green thread waits in a destructor during its unwinding,
//! the other green threads of its worker can still be timed out, cancelled and can lock without poisoning;
//! a panic hook that blocks does not make the next panic on that worker abort. Child processes: the defects
//! were hangs and aborts.

mod util;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use util::{in_child, runtime};

const LIMIT: Duration = Duration::from_secs(60);

/// Waits in its drop for a message: a destructor that blocks while its green thread unwinds.
struct RecvOnDrop(green::channel::Receiver<()>);

impl Drop for RecvOnDrop {
    fn drop(&mut self) {
        let _ = self.0.recv();
    }
}

/// Spawns a green thread that panics and then waits in a destructor until the returned sender is used or
/// dropped; returns once it is parked there.
fn spawn_unwinder_parked_in_destructor() -> (green::JoinHandle<()>, green::channel::Sender<()>) {
    let (release, wait) = green::channel::bounded(0);
    let unwinder = green::spawn(move || {
        let _waits = RecvOnDrop(wait);
        panic!("an unwinding green thread");
    });
    while unwinder.thread().parked_at().is_none() {
        green::yield_now();
    }
    (unwinder, release)
}

#[test]
fn others_on_the_worker_can_be_timed_out_while_one_unwinds_in_a_blocking_destructor() {
    in_child("others_on_the_worker_can_be_timed_out_while_one_unwinds_in_a_blocking_destructor", LIMIT, || {
        runtime(1).block_on(|| {
            let (unwinder, release) = spawn_unwinder_parked_in_destructor();
            assert!(green::timeout(Duration::from_millis(10), || green::sleep(Duration::from_secs(3600))).is_err());
            let sleeper = green::spawn(|| green::sleep(Duration::from_secs(3600)));
            sleeper.cancel();
            assert!(green::is_cancelled(sleeper.join().unwrap_err().as_ref()));
            assert!(!green::thread::panicking(), "this green thread is not unwinding");
            drop(release);
            assert!(unwinder.join().is_err());
        });
    });
}

#[test]
fn an_ordinary_unlock_does_not_poison_while_another_green_thread_unwinds() {
    in_child("an_ordinary_unlock_does_not_poison_while_another_green_thread_unwinds", LIMIT, || {
        runtime(1).block_on(|| {
            let lock = green::sync::Mutex::new(0);
            let guard = lock.lock().unwrap();
            let (unwinder, release) = spawn_unwinder_parked_in_destructor();
            drop(guard); // locked before the other thread unwound, unlocked while it is suspended mid-unwind
            assert!(!lock.is_poisoned());
            // A guard taken now and dropped by this thread's own panic still poisons.
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _guard = lock.lock().unwrap();
                panic!("poison it");
            }));
            assert!(panicked.is_err());
            assert!(lock.is_poisoned());
            drop(release);
            assert!(unwinder.join().is_err());
        });
    });
}

#[test]
fn a_panic_hook_that_blocks_does_not_make_the_next_panic_abort() {
    in_child("a_panic_hook_that_blocks_does_not_make_the_next_panic_abort", LIMIT, || {
        static HOOKED: AtomicBool = AtomicBool::new(false);
        let lock = Arc::new(green::sync::Mutex::new(0u32));
        let hook_lock = lock.clone();
        // Set before the runtime starts: green wraps it.
        std::panic::set_hook(Box::new(move |_| {
            *hook_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
            green::sleep(Duration::from_millis(2));
            HOOKED.store(true, Ordering::SeqCst);
        }));
        runtime(1).block_on(|| {
            let first = green::spawn(|| panic!("first"));
            let second = green::spawn(|| panic!("second"));
            assert!(first.join().is_err());
            assert!(second.join().is_err());
        });
        assert!(HOOKED.load(Ordering::SeqCst));
        assert_eq!(*lock.lock().unwrap(), 2);
    });
}
