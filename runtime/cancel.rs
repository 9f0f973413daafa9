//! Cancellation and timeouts around any code, built on the park hook ([`crate::park`]).
//!
//! - [`JoinHandle::cancel`](crate::JoinHandle::cancel) makes a green thread unwind from its current or next
//!   blocking call with a [`Cancelled`] payload.
//! - [`timeout`] and [`deadline`] run a closure; if it is still blocked when the time is up, the blocking call
//!   unwinds with a payload only that `timeout` call catches, and it returns `Err(Elapsed)`.
//! - [`uncancellable`] shields a section from both.
//!
//! Both work by unwinding, so they run destructors like a panic does, do not fire in code that never blocks,
//! and need `panic = "unwind"` (the default). A `catch_unwind` in user code between the blocking call and the
//! `timeout` could swallow the unwinding: let payloads you do not recognise continue with
//! `std::panic::resume_unwind`.

use std::any::Any;
use std::fmt;

use std::time::{Duration, Instant};

use crate::context;
pub use crate::park::Cancelled;
use crate::park::{self, ScopeExpired};

/// The error of a [`timeout`] or [`deadline`] whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Whether a `join` error payload means the green thread was cancelled (rather than panicking).
///
/// ```
/// green::run(|| {
///     let sleeper = green::spawn(|| green::sleep(std::time::Duration::from_secs(60)));
///     sleeper.cancel();
///     let error = sleeper.join().unwrap_err();
///     assert!(green::is_cancelled(error.as_ref()));
/// });
/// ```
pub fn is_cancelled(payload: &(dyn Any + Send)) -> bool {
    payload.is::<Cancelled>()
}

/// Runs `f`; if it is still running after `duration`, interrupts the blocking call it is in (or its next one)
/// and returns `Err(Elapsed)`.
///
/// Works in green threads and on OS threads (for their `green` blocking calls). Nested timeouts each fire at
/// their own deadline and neither swallows the other's.
///
/// ```
/// use std::time::Duration;
/// green::run(|| {
///     let result = green::timeout(Duration::from_millis(20), || green::sleep(Duration::from_secs(10)));
///     assert!(result.is_err());
///     assert_eq!(green::timeout(Duration::from_secs(1), || 7), Ok(7));
/// });
/// ```
#[track_caller]
pub fn timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    match Instant::now().checked_add(duration) {
        Some(at) => deadline(at, f),
        None => Ok(f()),
    }
}

/// Like [`timeout`], with an absolute deadline.
#[track_caller]
pub fn deadline<T>(at: Instant, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    let scope = context::with_local(|local| local.scopes.borrow_mut().push_deadline(at));
    /// Closes the scope however `f` ends.
    struct Close(u64);
    impl Drop for Close {
        fn drop(&mut self) {
            context::with_local(|local| local.scopes.borrow_mut().pop_deadline(self.0));
        }
    }
    let close = Close(scope);
    let result = context::catch_unwind(f);
    drop(close);
    match result {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast_ref::<ScopeExpired>() {
            Some(expired) if expired.scope == scope => Err(Elapsed(())),
            _ => context::resume_unwind(payload),
        },
    }
}

/// Runs `f` so that neither cancellation nor an enclosing [`timeout`] interrupts it; a cancellation requested
/// or a timeout expired meanwhile takes effect at the first blocking call after `f` returns (if `f` is the
/// last thing inside the `timeout`, the `timeout` returns `Ok` late, with `f`'s value).
///
/// It does not hold off runtime shutdown: when its [`Runtime`](crate::Runtime) is dropped, a blocking call
/// inside `f` unwinds with [`Cancelled`] like any other, so that the drop can finish.
///
/// ```
/// use std::sync::atomic::{AtomicU8, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// green::run(|| {
///     let progress = Arc::new(AtomicU8::new(0));
///     let worker = green::spawn({
///         let progress = progress.clone();
///         move || {
///             green::uncancellable(|| {
///                 progress.store(1, Ordering::SeqCst);
///                 green::sleep(Duration::from_millis(20)); // not interrupted
///                 progress.store(2, Ordering::SeqCst);
///             });
///             green::sleep(Duration::from_secs(60)); // cancelled here
///             progress.store(3, Ordering::SeqCst);
///         }
///     });
///     while progress.load(Ordering::SeqCst) == 0 {
///         green::yield_now();
///     }
///     worker.cancel();
///     assert!(green::is_cancelled(worker.join().unwrap_err().as_ref()));
///     assert_eq!(progress.load(Ordering::SeqCst), 2);
/// });
/// ```
pub fn uncancellable<T>(f: impl FnOnce() -> T) -> T {
    park::shielded(f)
}
