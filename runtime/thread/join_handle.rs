//! [`JoinHandle`], the [`ResultSlot`] a thread of execution leaves its result in, and the [`GreenBody`] that
//! holds a green thread's closure and result inside its [`Thread`] record.
//!
//! # Protocol of a result slot
//! The slot's `state` goes RUNNING → (WAITING →) DONE:
//!
//! 1. The producer stores its result, then swaps in DONE. If it saw WAITING, it takes the joiner's
//!    [`Thread`] and unparks it.
//! 2. A joiner that finds the state not DONE stores its own [`Thread`], then CASes RUNNING → WAITING and parks
//!    until DONE. If the CAS fails the result is already there (and the joiner takes its `Thread` back).
//!
//! Each cell is written by one side before the atomic that publishes it and read by the other only after
//! observing that atomic, so the `UnsafeCell`s are never accessed concurrently.
//!
//! # One allocation per green thread
//! A green thread's [`Thread`] record (`thread.rs`) ends with a [`GreenBody`]:
//!
//! ```text
//!   Thread record: header │ GreenPacket<T> { slot: ResultSlot<T>, scope, owners } │ closure: F
//! ```
//!
//! The [`JoinHandle<T>`] keeps a `Thread` (the reference count) and a pointer to the `GreenPacket<T>` inside
//! the record, so it does not need the closure's type. Two *owners* use the parts that may borrow (closure,
//! result, scope): the green thread until it has finished, and the `JoinHandle` until it is dropped. The last
//! of the two to let go (`owners` reaches zero) drops the result if nobody took it (reporting an unjoined
//! panic) and only then tells the scope that the child is gone. Other `Thread` clones (a scope's list of
//! children, a waker) may keep the record alive longer, but by then it holds nothing borrowed: the closure was
//! run or dropped, the result taken or dropped, the scope reference released.
//!
//! [`Packet`] is the same slot in its own allocation, for the offload pool's jobs.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::scope::ScopeData;
use super::thread::Body;
use super::Thread;
use crate::coroutine::task::Start;
use crate::inspect::WaitReason;
use crate::park;

/// The producer has not finished.
const RUNNING: u8 = 0;
/// Not finished, and a joiner waits (its `Thread` is in `joiner`).
const WAITING: u8 = 1;
/// The result is in `result`.
const DONE: u8 = 2;

/// Where a producer (a green thread, an offload job) leaves its result for one joiner.
pub(crate) struct ResultSlot<T> {
    /// RUNNING, WAITING or DONE (see the module docs).
    state: AtomicU8,
    /// Written once by the producer before DONE; taken by the joiner after DONE.
    result: UnsafeCell<Option<std::thread::Result<T>>>,
    /// Written by the joiner before WAITING; taken by the producer after seeing WAITING.
    joiner: UnsafeCell<Option<Thread>>,
}

impl<T> ResultSlot<T> {
    fn new() -> ResultSlot<T> {
        ResultSlot { state: AtomicU8::new(RUNNING), result: UnsafeCell::new(None), joiner: UnsafeCell::new(None) }
    }

    /// Protocol step 1; called exactly once, by the producer.
    fn publish(&self, result: std::thread::Result<T>) {
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

    fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Protocol step 2: parks until DONE, calling `on_wake` after every wake-up that did not find the result,
    /// then takes the result. Called at most once (there is one joiner).
    #[track_caller]
    fn wait_with(
        &self,
        location: &'static Location<'static>,
        reason: WaitReason,
        mut on_wake: impl FnMut(),
    ) -> std::thread::Result<T> {
        if !self.is_done() {
            // SAFETY: the producer reads `joiner` only after seeing WAITING, which we have not published yet;
            // there is one joiner.
            unsafe { *self.joiner.get() = Some(super::current()) };
            if self.state.compare_exchange(RUNNING, WAITING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                while !self.is_done() {
                    park::park_until_at(location, reason, None);
                    if !self.is_done() {
                        on_wake();
                    }
                }
            } else {
                // SAFETY: WAITING was never published, so the producer never reads `joiner`.
                drop(unsafe { (*self.joiner.get()).take() });
            }
        }
        // SAFETY: DONE was observed with Acquire, so the producer's write is visible and it will not touch
        // `result` again.
        unsafe { (*self.result.get()).take() }.expect("a result is taken once")
    }

    /// Takes the result if it is still there.
    ///
    /// # Safety
    /// Neither side may use the slot any more: the caller is the last of them (it synchronized with the other
    /// through an acquire-release operation).
    unsafe fn take_last(&self) -> Option<std::thread::Result<T>> {
        // SAFETY: the caller guarantees exclusive access.
        unsafe { (*self.result.get()).take() }
    }
}

/// A [`ResultSlot`] in its own allocation, with the thread that waits on it: what offload jobs report to.
pub(crate) struct Packet<T> {
    /// The thread that created it (for reports).
    pub(crate) thread: Thread,
    /// Where the result goes.
    slot: ResultSlot<T>,
    /// A scope told when the packet (and so the result) is dropped.
    pub(crate) scope: Option<Arc<ScopeData>>,
}

// SAFETY: the slot's cells are handed over through its state (module docs), so `&Packet` is safe to share as
// long as the result itself may cross threads.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> Packet<T> {
    pub(crate) fn new(thread: Thread, scope: Option<Arc<ScopeData>>) -> Packet<T> {
        Packet { thread, slot: ResultSlot::new(), scope }
    }

    /// Protocol step 1; called exactly once, by the producer.
    pub(crate) fn finish(&self, result: std::thread::Result<T>) {
        if let (Err(payload), Some(scope)) = (&result, &self.scope) {
            if !crate::is_cancelled(payload.as_ref()) {
                scope.child_panicked(&self.thread);
            }
        }
        self.slot.publish(result);
    }

    pub(crate) fn is_done(&self) -> bool {
        self.slot.is_done()
    }

    /// Protocol step 2: parks until DONE (a cancellation point unless shielded), then takes the result.
    #[track_caller]
    pub(crate) fn wait(&self) -> std::thread::Result<T> {
        self.wait_at(Location::caller())
    }

    /// [`wait`](Self::wait) on behalf of the user's call at `location` (from inside a closure).
    pub(crate) fn wait_at(&self, location: &'static Location<'static>) -> std::thread::Result<T> {
        self.slot.wait_with(location, WaitReason::Offload, || {})
    }
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else uses the slot.
        let result = unsafe { self.slot.take_last() };
        report_unjoined(&self.thread, result, self.scope.as_ref());
        if let Some(scope) = &self.scope {
            scope.child_done();
        }
    }
}

/// Drops a result nobody took, reporting it if it is a panic (and telling `scope`, which re-raises it).
fn report_unjoined<T>(thread: &Thread, result: Option<std::thread::Result<T>>, scope: Option<&Arc<ScopeData>>) {
    if let Some(Err(payload)) = &result {
        if !crate::is_cancelled(payload.as_ref()) {
            log::error!(
                target: "green::thread",
                "{} panicked and nobody joined it: {}",
                thread.describe(),
                payload_message(payload.as_ref())
            );
            if let Some(scope) = scope {
                scope.unjoined_panic();
            }
        }
    }
    // The result may borrow from the scope: it is dropped here, before the caller tells the scope.
    drop(result);
}

/// The result side of a green thread's cell: what its [`JoinHandle`] reaches without knowing the closure type.
pub(crate) struct GreenPacket<T> {
    /// Where the green thread's result goes.
    slot: ResultSlot<T>,
    /// The scope the green thread belongs to. Read by the green thread while it is an owner; taken by the last
    /// owner (see the module docs).
    scope: UnsafeCell<Option<Arc<ScopeData>>>,
    /// Owners that have not let go: 2 at spawn (the green thread and its `JoinHandle`).
    owners: AtomicU8,
}

impl<T> GreenPacket<T> {
    /// Delivers the green thread's result (protocol step 1), telling its scope if it panicked.
    fn finish(&self, thread: &Thread, result: std::thread::Result<T>) {
        // SAFETY: the green thread is still an owner, so the last owner has not taken `scope`.
        let scope = unsafe { &*self.scope.get() };
        if let (Err(payload), Some(scope)) = (&result, scope) {
            if !crate::is_cancelled(payload.as_ref()) {
                scope.child_panicked(thread);
            }
        }
        self.slot.publish(result);
    }

    /// One owner lets go; the last one drops what is left of the result and tells the scope.
    fn release(&self, thread: &Thread) {
        if self.owners.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // SAFETY: both owners have let go, and the AcqRel decrement ordered their last uses before this point;
        // nobody uses the slot or the scope field any more.
        let (result, scope) = unsafe { (self.slot.take_last(), (*self.scope.get()).take()) };
        report_unjoined(thread, result, scope.as_ref());
        if let Some(scope) = scope {
            scope.child_done();
        }
    }
}

/// The body of a green thread's record: its result side and its closure, in the record's allocation.
pub(crate) struct GreenBody<F, T> {
    /// The result side, pointed to by the `JoinHandle`.
    packet: GreenPacket<T>,
    /// The closure; taken once by [`Body::run`] (never dropped in place: a record whose body never ran, which
    /// only a leaked task can be, leaks its closure rather than drop it after what it borrows).
    closure: UnsafeCell<ManuallyDrop<F>>,
}

// SAFETY: the cells are never used concurrently: `closure` only by `Body::run`, called once by one thread;
// the packet's cells through the slot protocol and the owner count (module docs). Which OS thread may touch the
// closure and the result is decided where the green thread is built (`Builder::build`, an `unsafe fn`): a
// `Send` closure and result for green threads that may start anywhere; for `spawn_local`, the task never
// leaves its worker's OS thread, where `run` is called, and its `JoinHandle<T>` is `!Send` when `T` is.
unsafe impl<F, T> Send for GreenBody<F, T> {}
// SAFETY: see `Send` above.
unsafe impl<F, T> Sync for GreenBody<F, T> {}

impl<F, T> GreenBody<F, T> {
    pub(crate) fn new(closure: F, scope: Option<Arc<ScopeData>>) -> GreenBody<F, T> {
        GreenBody {
            packet: GreenPacket { slot: ResultSlot::new(), scope: UnsafeCell::new(scope), owners: AtomicU8::new(2) },
            closure: UnsafeCell::new(ManuallyDrop::new(closure)),
        }
    }

    /// The result side, for the `JoinHandle`.
    pub(crate) fn packet(&self) -> &GreenPacket<T> {
        &self.packet
    }
}

impl<F: FnOnce() -> T, T> Body for GreenBody<F, T> {
    fn run(&self, thread: &Thread, start: Start) {
        // SAFETY: `run` is called once, by one thread (the `Body::run` contract), and nothing else touches the
        // closure.
        let f = unsafe { ManuallyDrop::take(&mut *self.closure.get()) };
        let result = match start {
            Ok(()) => panic::catch_unwind(AssertUnwindSafe(f)),
            // Never run: the closure's captures are dropped here, where a panic cannot escape. Like
            // destructors during unwinding, nothing interrupts them (the cancellation has taken effect).
            Err(payload) => match panic::catch_unwind(AssertUnwindSafe(move || park::lending(|| drop(f)))) {
                Ok(()) => Err(payload),
                Err(panic) => Err(panic),
            },
        };
        let mut result = result;
        super::builder::destroy_locals(&mut result);
        self.packet.finish(thread, result);
        self.packet.release(thread);
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
    /// The green thread's record; keeps `packet` alive.
    thread: Thread,
    /// The result side inside that record (see the module docs); this handle is one of its owners.
    packet: NonNull<GreenPacket<T>>,
}

// SAFETY: the handle gives access to the result (a `T` taken by `join`) and to the `Thread` (Send + Sync), as
// an `Arc` of a packet holding a `T` would: it may cross threads when `T` may.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads the slot's state and the `Thread`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// The handle of a green thread whose result side is `packet`, inside `thread`'s record.
    ///
    /// # Safety
    /// `packet` must point into `thread`'s record, and this handle must be the owner that `GreenPacket`'s
    /// count reserved for it (one handle per green thread).
    pub(crate) unsafe fn new(thread: Thread, packet: NonNull<GreenPacket<T>>) -> JoinHandle<T> {
        JoinHandle { thread, packet }
    }

    fn packet(&self) -> &GreenPacket<T> {
        // SAFETY: the packet lies in the record that `self.thread` keeps alive (see `new`).
        unsafe { self.packet.as_ref() }
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
        self.packet().slot.wait_with(Location::caller(), WaitReason::Join(self.thread.id()), || {})
    }

    /// `join` for a caller that lent the green thread borrows (`Runtime::block_on`): a lending wait, which
    /// nothing interrupts (see [`park::lending`]). If the caller's own runtime shuts down meanwhile, the awaited
    /// green thread is cancelled, so that the wait ends even when it runs on another runtime.
    #[track_caller]
    pub(crate) fn join_lending(self) -> std::thread::Result<T> {
        let caller = super::current();
        let location = Location::caller();
        park::lending(|| {
            self.packet().slot.wait_with(location, WaitReason::Join(self.thread.id()), || {
                if caller.is_shutdown_requested() {
                    self.thread.cancel();
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
        self.packet().slot.is_done()
    }

    /// The handle of the green thread.
    ///
    /// ```
    /// let handle = green::Builder::new().name("named".into()).spawn(|| ()).unwrap();
    /// assert_eq!(handle.thread().name(), Some("named"));
    /// handle.join().unwrap();
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
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
        if !self.is_finished() {
            self.thread.cancel();
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.packet().release(&self.thread);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("thread", self.thread()).field("finished", &self.is_finished()).finish()
    }
}
