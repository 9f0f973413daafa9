//! [`spawn`] and [`OffloadHandle`]: a `'static` job on the pool that the caller may stop waiting for.

use std::fmt;
use std::sync::Arc;

use super::offload::{packaged, OffloadPacket};
use super::pool::POOL;
use crate::thread::{current, Packet};

/// Starts `f` on the offload pool and returns a handle to wait for its result.
///
/// Unlike [`offload`](fn@super::offload), the caller does not wait here, `f` must be `'static`, and the wait
/// ([`OffloadHandle::join`]) is a cancellation point: a cancelled or timed-out caller stops waiting while the
/// job runs to completion on its pool thread and its result is dropped. Dropping the handle detaches the job
/// the same way.
///
/// Works from green threads and plain OS threads alike (from both, the job goes to the pool). A job that
/// joins another pool job while the pool is at its bound can deadlock, as on any bounded pool.
///
/// ```
/// use std::time::Duration;
/// green::run(|| {
///     let lookup = green::offload::spawn(|| {
///         std::thread::sleep(Duration::from_millis(10)); // a blocking call
///         42
///     });
///     // ... other work while the job runs ...
///     assert_eq!(lookup.join().unwrap(), 42);
/// });
/// ```
pub fn spawn<F, T>(f: F) -> OffloadHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let packet: Arc<OffloadPacket<T>> = Arc::new(Packet::new(current(), None));
    if let Err(job) = POOL.submit(packaged(f, packet.clone())) {
        log::warn!(target: "green::offload", "no offload thread could be started: running the job inline");
        job();
    }
    OffloadHandle { packet }
}

/// An owned permission to wait for a job started with [`spawn`] and take its result.
///
/// Dropping it detaches the job: it still runs to completion and its result (or panic payload) is dropped.
pub struct OffloadHandle<T> {
    /// Shared with the job, which reports into it.
    packet: Arc<OffloadPacket<T>>,
}

impl<T> OffloadHandle<T> {
    /// Waits for the job and returns its value, or `Err(payload)` if it panicked (as
    /// [`JoinHandle::join`](crate::JoinHandle::join)).
    ///
    /// In a green thread only that green thread waits; on an OS thread it blocks. A cancellation point: if the
    /// caller is cancelled or its [`timeout`](crate::timeout) expires, it unwinds from here, the handle is
    /// dropped and the job's result with it.
    ///
    /// ```
    /// green::run(|| {
    ///     let job = green::offload::spawn(|| 6 * 7);
    ///     assert_eq!(job.join().unwrap(), 42);
    ///     let failed = green::offload::spawn(|| panic!("inside the job"));
    ///     assert!(failed.join().is_err());
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        match self.packet.wait() {
            Ok(outcome) => outcome,
            Err(_) => unreachable!("an offload job reports its panic inside Ok"),
        }
    }

    /// Whether the job has finished (then [`join`](OffloadHandle::join) does not block).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// green::run(|| {
    ///     let job = green::offload::spawn(|| std::thread::sleep(Duration::from_millis(5)));
    ///     while !job.is_finished() {
    ///         green::sleep(Duration::from_millis(1));
    ///     }
    ///     job.join().unwrap();
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.packet.is_done()
    }
}

impl<T> fmt::Debug for OffloadHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OffloadHandle").field("finished", &self.is_finished()).finish()
    }
}
