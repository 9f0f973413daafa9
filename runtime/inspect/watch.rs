//! [`Watch`]: what a worker publishes for observers on other OS threads — the monitor thread and thread
//! dumps — and how they ask it for more.
//!
//! # What the worker publishes, and what it costs
//! - At every switch into a green thread: its record ([`Thread`]'s pointer) in `current`, and the worker's
//!   switch count (in its [`WorkerCounters`](super::WorkerCounters)). Relaxed stores on lines only the worker
//!   writes; `current` is cleared when the green thread switches back. Where the green thread resumed is its
//!   parker's last park location, which the park leaves in place.
//! - Before it sleeps in `epoll_wait`: whether nothing but another thread could wake it (no timer armed, no
//!   socket registered): `asleep_forever`, for the deadlock detector.
//!
//! # Reading `current` from another thread
//! The pointer is only a hint: the green thread may finish and its record be freed while an observer looks.
//! So an observer reads `current` and takes its own reference under `lock`, and the worker keeps its
//! references to finished green threads' records in a short list until the end of its batch, then takes the
//! same lock once to clear `current` and drops them after unlocking. An observer that saw a record's pointer
//! took its reference before the worker got the lock (the record was still in the list then); one that locks
//! after finds `current` cleared, or pointing to a green thread that started since, which its worker's slab
//! keeps alive. The drops happen outside the lock because they may run user destructors (a detached green
//! thread's result). One uncontended lock per batch of green threads that finished — not per switch.
//!
//! # Dump requests
//! A thread that wants the worker's list of green threads queues a [`DumpRequest`] here and wakes the worker;
//! between two batches the worker answers every queued request (`Worker::answer_dump_requests`). A worker that
//! does not answer — one of its green threads holds it — is described from `current` instead.

use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::dump::DumpRequest;
use crate::thread::Thread;

/// The observable side of one worker (see the module docs).
#[repr(align(128))]
pub(crate) struct Watch {
    /// The record of the green thread running now, null between switches (see the module docs).
    current: AtomicPtr<()>,
    /// True while the worker sleeps with no timer armed and no socket registered.
    asleep_forever: AtomicBool,
    /// Held while a finished green thread's record is released by the worker, or `current` read by an observer.
    lock: Mutex<()>,
    /// Set while `requests` holds a request.
    dump_pending: AtomicBool,
    /// Dump requests the worker has not answered yet.
    requests: Mutex<Vec<DumpRequest>>,
}

/// A poisoned lock here only means a panic while pushing or popping plain values.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            current: AtomicPtr::new(ptr::null_mut()),
            asleep_forever: AtomicBool::new(false),
            lock: Mutex::new(()),
            dump_pending: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// The worker switches into `thread` (worker only).
    #[inline]
    pub(crate) fn enter(&self, thread: &Thread) {
        self.current.store(thread.as_raw() as *mut (), Ordering::Relaxed);
    }

    /// The green thread switched back (worker only).
    #[inline]
    pub(crate) fn leave(&self) {
        self.current.store(ptr::null_mut(), Ordering::Relaxed);
    }

    /// Waits out any observer reading `current` and clears it (worker only): after this the worker may drop
    /// its references to the records of green threads that finished (see the module docs).
    pub(crate) fn clear_current(&self) {
        let _guard = lock(&self.lock);
        self.current.store(ptr::null_mut(), Ordering::Relaxed);
    }

    /// The green thread running on the worker now and where it resumed, if one is.
    pub(crate) fn running(&self) -> Option<(Thread, Option<&'static Location<'static>>)> {
        let _guard = lock(&self.lock);
        let current = self.current.load(Ordering::Relaxed);
        if current.is_null() {
            return None;
        }
        // SAFETY: under `lock` a non-null `current` points to a live record: the worker drops its reference to
        // a finished green thread only under this lock, after clearing `current` (module docs).
        let thread = unsafe { Thread::clone_from_raw(current) };
        let resumed_at = thread.last_parked_at();
        Some((thread, resumed_at))
    }

    /// The running green thread's record address, null between switches (an identity: never dereferenced).
    pub(crate) fn current_raw(&self) -> *const () {
        self.current.load(Ordering::Relaxed)
    }

    /// The worker is about to sleep; `forever` when no timer is armed and no socket registered (worker only).
    pub(crate) fn set_asleep(&self, forever: bool) {
        self.asleep_forever.store(forever, Ordering::Relaxed);
    }

    /// Whether the worker sleeps with nothing of its own that could wake it.
    pub(crate) fn is_asleep_forever(&self) -> bool {
        self.asleep_forever.load(Ordering::Relaxed)
    }

    /// Queues a dump request; the caller then wakes the worker.
    pub(crate) fn request_dump(&self, request: DumpRequest) {
        lock(&self.requests).push(request);
        self.dump_pending.store(true, Ordering::Release);
    }

    /// Whether a dump request waits (checked by the worker between batches and before it sleeps).
    #[inline]
    pub(crate) fn has_dump_request(&self) -> bool {
        self.dump_pending.load(Ordering::Acquire)
    }

    /// Takes the queued dump requests (worker only).
    pub(crate) fn take_dump_requests(&self) -> Vec<DumpRequest> {
        let mut requests = lock(&self.requests);
        self.dump_pending.store(false, Ordering::Relaxed);
        std::mem::take(&mut *requests)
    }
}
