//! [`offload`]: run a borrowing closure on the pool while only the calling green thread waits.
//!
//! # Soundness
//! The closure may borrow from the caller's stack, yet it runs on another OS thread, so the caller's frame
//! must outlive the job. The caller's wait is a lending wait ([`park::lending`]): nothing interrupts it — not
//! a cancellation, not an expired `timeout` scope, not runtime shutdown — so the frame is left only once the
//! job is done. If the pool cannot run the job at all, [`Pool::submit`](super::pool::Pool::submit) hands it
//! back and it runs inline.
//!
//! The job publishes DONE only after the closure has returned and been dropped (it is consumed by the call),
//! and after DONE it touches only the `'static` parts of the packet (the joiner's `Thread` and its own
//! reference count), never the result. The caller takes the result out of the packet before its frame ends,
//! so whichever side drops the packet last finds it empty: nothing borrowed is used, or dropped, once the
//! caller may have returned.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use super::pool::{Job, POOL};
use crate::context;
use crate::park;
use crate::thread::{current, Packet};

/// The packet a job reports to: the outer result is always `Ok` (the job's own panic is the inner `Err`),
/// so [`Packet`]'s drop never reports an offload panic as an unjoined green thread's.
pub(super) type OffloadPacket<T> = Packet<std::thread::Result<T>>;

/// Runs `f` on the offload pool and returns its result; only the calling green thread waits.
///
/// Use it for anything that would block the OS thread: file I/O, DNS (`ToSocketAddrs`), a C library call,
/// CPU-heavy work. `f` may borrow from the caller (buffers, `&File`), because the caller always waits for it.
///
/// # Blocking and cancellation
/// In a green thread, the green thread parks until `f` has finished; its worker keeps running other green
/// threads. The wait is **not** a cancellation point: a [`JoinHandle::cancel`](crate::JoinHandle::cancel) or an
/// expired [`timeout`](crate::timeout) that arrives meanwhile takes effect at the first blocking call after
/// `offload` returns (a `timeout` wrapped around `offload` alone therefore returns `Ok` late). It cannot stop
/// `f` anyway; if you want to stop *waiting* for a `'static` job, use [`spawn`](super::spawn).
///
/// Outside a green thread (a plain OS thread, or a pool thread offloading again) `f` runs inline on the
/// caller: the caller would block either way, and running inline means nested offloads cannot exhaust the
/// pool and deadlock.
///
/// # Panics
/// A panic in `f` is caught on the pool thread and resumed in the caller with the same payload.
///
/// ```
/// green::run(|| {
///     let text = String::from("hello");
///     let length = green::offload(|| text.len()); // borrows `text`
///     assert_eq!(length, 5);
/// });
/// ```
///
/// The closure crosses to another OS thread, so it must be `Send`; an `Rc` cannot go:
///
/// ```compile_fail
/// let shared = std::rc::Rc::new(5);
/// green::offload(|| *shared);
/// ```
#[track_caller]
pub fn offload<'a, F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    if !context::in_green_thread() {
        return f();
    }
    let packet: Arc<OffloadPacket<T>> = Arc::new(Packet::new(current(), None));
    let job = packaged(f, packet.clone());
    // SAFETY: only the lifetime bound changes. The job may borrow data living for `'a`; we do not return
    // before the job has finished with it: the wait below is a lending wait, which nothing interrupts (see the
    // module docs).
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Job>(job) };
    if let Err(job) = POOL.submit(job) {
        log::warn!(target: "green::offload", "no offload thread could be started: running the job inline");
        job();
    }
    let location = std::panic::Location::caller();
    let outcome = park::lending(|| packet.wait_at(location));
    match outcome {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => context::resume_unwind(payload),
        Err(_) => unreachable!("an offload job reports its panic inside Ok"),
    }
}

/// Wraps `f` into a job that runs it, catches its panic, and reports to `packet`.
pub(super) fn packaged<'a, F, T>(f: F, packet: Arc<OffloadPacket<T>>) -> Box<dyn FnOnce() + Send + 'a>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    Box::new(move || {
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        packet.finish(Ok(outcome));
    })
}
