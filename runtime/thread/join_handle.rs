//! [`JoinHandle`] and the [`Packet`] a green thread leaves its result in.
//!
//! # Protocol
//! The packet's `state` goes RUNNING → (WAITING →) DONE:
//!
//! 1. The green thread stores its result, then swaps in DONE. If it saw WAITING, it takes the joiner's
//!    [`Thread`] and unparks it.
//! 2. A joiner that finds the state not DONE stores its own [`Thread`], then CASes RUNNING → WAITING and parks
//!    until DONE. If the CAS fails the result is already there.
//!
//! Each cell is written by one side before the atomic that publishes it and read by the other only after
//! observing that atomic, so the `UnsafeCell`s are never accessed concurrently.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::scope::ScopeData;
use super::Thread;
use crate::park;

/// The green thread has not finished.
const RUNNING: u8 = 0;
/// Not finished, and a joiner waits (its `Thread` is in `joiner`).
const WAITING: u8 = 1;
/// The result is in `result`.
const DONE: u8 = 2;

/// Where a green thread leaves its result for its [`JoinHandle`].
pub(crate) struct Packet<T> {
    /// The green thread it belongs to.
    pub(crate) thread: Thread,
    /// RUNNING, WAITING or DONE (see the module docs).
    state: AtomicU8,
    /// Written once by the green thread before DONE; taken by the joiner after DONE.
    result: UnsafeCell<Option<std::thread::Result<T>>>,
    /// Written by the joiner before WAITING; taken by the green thread after seeing WAITING.
    joiner: UnsafeCell<Option<Thread>>,
    /// The scope this green thread belongs to, told when the packet (and so the result) is dropped.
    pub(crate) scope: Option<Arc<ScopeData>>,
}

// SAFETY: the cells are handed over through `state` (module docs), so `&Packet` is safe to share as long as the
// result itself may cross threads.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> Packet<T> {
    pub(crate) fn new(thread: Thread, scope: Option<Arc<ScopeData>>) -> Packet<T> {
        Packet {
            thread,
            state: AtomicU8::new(RUNNING),
            result: UnsafeCell::new(None),
            joiner: UnsafeCell::new(None),
            scope,
        }
    }

    /// Protocol step 1; called exactly once, by the green thread (or for it, if it never ran).
    pub(crate) fn finish(&self, result: std::thread::Result<T>) {
        if let (Err(payload), Some(scope)) = (&result, &self.scope) {
            if !crate::is_cancelled(payload.as_ref()) {
                scope.child_panicked(&self.thread);
            }
        }
        // SAFETY: only this call writes `result`, and the joiner reads it only after seeing DONE below.
        unsafe { *self.result.get() = Some(result) };
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: the joiner wrote `joiner` before publishing WAITING, which we just observed; it never
            // touches it again.
            let joiner = unsafe { (*self.joiner.get()).take() };
            if let Some(joiner) = joiner {
                joiner.unpark();
            }
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Protocol step 2: parks until DONE (a cancellation point unless shielded), then takes the result.
    #[track_caller]
    pub(crate) fn wait(&self) -> std::thread::Result<T> {
        self.wait_with(|| {})
    }

    /// [`wait`](Packet::wait), calling `on_wake` after every wake-up that did not find the result.
    #[track_caller]
    pub(crate) fn wait_with(&self, mut on_wake: impl FnMut()) -> std::thread::Result<T> {
        if !self.is_done() {
            // SAFETY: the green thread reads `joiner` only after seeing WAITING, which we have not published
            // yet; there is one joiner (`join` takes the handle by value).
            unsafe { *self.joiner.get() = Some(super::current()) };
            if self.state.compare_exchange(RUNNING, WAITING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                while !self.is_done() {
                    park::park_until(None);
                    if !self.is_done() {
                        on_wake();
                    }
                }
            }
        }
        // SAFETY: DONE was observed with Acquire, so the green thread's write is visible and it will not touch
        // `result` again.
        unsafe { (*self.result.get()).take() }.expect("a green thread's result is taken once")
    }
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        let result = self.result.get_mut().take();
        if let Some(Err(payload)) = &result {
            if !crate::is_cancelled(payload.as_ref()) {
                log::error!(
                    target: "green::thread",
                    "{} panicked and nobody joined it: {}",
                    self.thread.describe(),
                    payload_message(payload.as_ref())
                );
                if let Some(scope) = &self.scope {
                    scope.unjoined_panic();
                }
            }
        }
        // The result may borrow from the scope: drop it before telling the scope this child is gone.
        drop(result);
        if let Some(scope) = &self.scope {
            scope.child_done();
        }
    }
}

/// The text of a panic payload, for reports.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else if payload.is::<std::io::Error>() {
        // Stack allocation failures carry the io::Error.
        "could not start (see the io::Error payload)"
    } else {
        "a non-string payload"
    }
}

/// An owned permission to join a green thread (block until it ends and take its result).
///
/// Mirrors [`std::thread::JoinHandle`]. Dropping it detaches the green thread; a detached green thread that
/// panics is reported through `log::error!` with its name.
///
/// ```
/// use std::time::Duration;
///
/// green::run(|| {
///     let handle: green::JoinHandle<u64> = green::spawn(|| {
///         green::sleep(Duration::from_millis(5));
///         (1..=10).sum()
///     });
///     assert!(handle.thread().is_green());
///     assert_eq!(handle.join().unwrap(), 55); // parks until the green thread returns
///
///     let detached = green::spawn(|| ());
///     drop(detached); // it runs on, nobody waits for it
/// });
/// ```
pub struct JoinHandle<T> {
    /// Shared with the green thread.
    packet: Arc<Packet<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(packet: Arc<Packet<T>>) -> JoinHandle<T> {
        JoinHandle { packet }
    }

    /// Waits for the green thread to finish and returns its value, or `Err(payload)` if it panicked (as
    /// `std::thread::JoinHandle::join`) or was [cancelled](JoinHandle::cancel) (the payload is
    /// [`Cancelled`](crate::Cancelled); see [`is_cancelled`](crate::is_cancelled)).
    ///
    /// In a green thread only that green thread waits. A cancellation point.
    ///
    /// ```
    /// green::run(|| {
    ///     let handle = green::spawn(|| 6 * 7);
    ///     assert_eq!(handle.join().unwrap(), 42);
    ///     let failed = green::spawn(|| panic!("oops"));
    ///     assert!(failed.join().is_err()); // the panic's payload
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        self.packet.wait()
    }

    /// `join` for a caller that lent the green thread borrows (`Runtime::block_on`): a lending wait, which
    /// nothing interrupts (see [`park::lending`]). If the caller's own runtime shuts down meanwhile, the awaited
    /// green thread is cancelled, so that the wait ends even when it runs on another runtime.
    #[track_caller]
    pub(crate) fn join_lending(self) -> std::thread::Result<T> {
        let caller = super::current();
        let awaited = self.packet.thread.clone();
        park::lending(|| {
            self.packet.wait_with(|| {
                if caller.is_shutdown_requested() {
                    awaited.cancel();
                }
            })
        })
    }

    /// Whether the green thread has finished (then `join` does not block).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// green::run(|| {
    ///     let handle = green::spawn(|| green::sleep(Duration::from_millis(5)));
    ///     while !handle.is_finished() {
    ///         green::sleep(Duration::from_millis(1));
    ///     }
    ///     handle.join().unwrap(); // does not wait now
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.packet.is_done()
    }

    /// The handle of the green thread.
    ///
    /// ```
    /// let handle = green::Builder::new().name("named".into()).spawn(|| ()).unwrap();
    /// assert_eq!(handle.thread().name(), Some("named"));
    /// handle.join().unwrap();
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.packet.thread
    }

    /// Cancels the green thread, from any thread: it unwinds from the blocking call it is parked in, or from its
    /// next one, running its destructors; `join` then returns `Err` with a [`Cancelled`](crate::Cancelled)
    /// payload. A green thread that has not started never runs; one that has finished is not affected.
    ///
    /// A green thread that never blocks again (a pure computation loop) cannot be interrupted; code inside
    /// [`uncancellable`](crate::uncancellable) is interrupted only when it leaves that section.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// green::run(|| {
    ///     let sleeper = green::spawn(|| green::sleep(Duration::from_secs(3600)));
    ///     sleeper.cancel(); // unwinds from the sleep
    ///     let payload = sleeper.join().unwrap_err();
    ///     assert!(green::is_cancelled(payload.as_ref()));
    /// });
    /// ```
    pub fn cancel(&self) {
        if !self.packet.is_done() {
            self.packet.thread.cancel();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("thread", self.thread()).field("finished", &self.is_finished()).finish()
    }
}
