//! `green` primitives used from a plain OS thread's thread-local destructors (which run after green's own
//! thread-local state may be gone) still work and block only that OS thread, as std's and crossbeam's do.

mod util;

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use util::in_child;

/// What a thread-local destructor does with green primitives.
struct UsesGreenOnDrop {
    /// Locked in the destructor; the test holds it so the lock must wait.
    lock: Arc<green::sync::Mutex<u32>>,
    /// Received from in the destructor.
    messages: green::channel::Receiver<u32>,
    /// Tells the test the destructor started.
    started: mpsc::Sender<()>,
}

impl Drop for UsesGreenOnDrop {
    fn drop(&mut self) {
        let _ = self.started.send(());
        *self.lock.lock().unwrap() += 1;
        let value = self.messages.recv().unwrap();
        *self.lock.lock().unwrap() += value;
    }
}

thread_local! {
    static LATE: RefCell<Option<UsesGreenOnDrop>> = const { RefCell::new(None) };
}

/// Runs one OS thread whose thread-local destructor blocks on a green mutex and a green channel.
/// `green_first`: whether the thread used green before creating its thread-local (which decides whether the
/// destructor runs before or after green's own thread-local state is destroyed).
fn scenario(green_first: bool) {
    let lock = Arc::new(green::sync::Mutex::new(0));
    let (tx, rx) = green::channel::bounded(0);
    let (started_tx, started_rx) = mpsc::channel();
    let held = lock.lock().unwrap();
    let thread = std::thread::spawn({
        let lock = lock.clone();
        move || {
            if green_first {
                let _ = green::current();
            }
            LATE.with(|late| {
                *late.borrow_mut() = Some(UsesGreenOnDrop { lock: lock.clone(), messages: rx, started: started_tx })
            });
            if !green_first {
                let _ = green::current();
            }
        }
    });
    started_rx.recv().unwrap();
    drop(held); // the destructor's lock waits for this (or finds it free)
    tx.send(41).unwrap(); // rendezvous with the destructor's recv
    thread.join().unwrap();
    assert_eq!(*lock.lock().unwrap(), 42);
}

#[test]
fn green_primitives_work_in_an_os_threads_thread_local_destructor() {
    in_child("green_primitives_work_in_an_os_threads_thread_local_destructor", Duration::from_secs(60), || {
        for _ in 0..20 {
            scenario(false);
            scenario(true);
        }
    });
}
