//! [`scope`]: green threads that borrow from the caller's stack, all joined before `scope` returns.
//!
//! # Soundness
//! A scoped child may hold references into the stack frame that called `scope`. `scope` therefore waits until
//! every child's packet is dropped — after its closure and result are gone — and that wait is a lending wait
//! ([`park::lending`]): nothing cuts it short, not a cancellation or timeout of the parent, not runtime
//! shutdown (which stops the children, wherever they run, while the parent waits for them). An expired
//! `timeout` around the scope takes effect at the parent's first cancellation point after `scope` returns.
//!
//! # Panics
//! When the body or a child panics, the other children are cancelled (they unwind from their next blocking
//! call), then all are joined, then the panic continues (a child's panic that nobody joined becomes a panic
//! of `scope`, as with `std::thread::scope`).

use std::marker::PhantomData;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{current, JoinHandle, Thread};
use crate::{context, park};

/// What a scope and its children share.
pub(crate) struct ScopeData {
    /// Children whose packet is still alive.
    running: AtomicUsize,
    /// Set when a child's panic was not joined by anyone.
    unjoined_panic: AtomicBool,
    /// The thread waiting in `scope`, unparked when `running` drops to zero.
    owner: Thread,
    /// Every child, to cancel them when one panics.
    children: Mutex<Vec<Thread>>,
}

impl ScopeData {
    pub(crate) fn add_child(&self, thread: Thread) {
        self.running.fetch_add(1, Ordering::Relaxed);
        self.children.lock().unwrap_or_else(|e| e.into_inner()).push(thread);
    }

    /// A child finished with a panic: cancel its siblings.
    pub(crate) fn child_panicked(&self, who: &Thread) {
        self.cancel_children(Some(who));
    }

    fn cancel_children(&self, except: Option<&Thread>) {
        let children = self.children.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for child in children.iter().filter(|child| Some(child.id()) != except.map(Thread::id)) {
            child.cancel();
        }
    }

    pub(crate) fn unjoined_panic(&self) {
        self.unjoined_panic.store(true, Ordering::Relaxed);
    }

    pub(crate) fn child_done(&self) {
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.owner.unpark();
        }
    }
}

/// A scope to spawn green threads that borrow non-`'static` data, like [`std::thread::Scope`].
pub struct Scope<'scope, 'env: 'scope> {
    /// Shared with the children.
    data: Arc<ScopeData>,
    /// Invariance over 'scope, as in std.
    scope: PhantomData<&'scope mut &'scope ()>,
    /// Invariance over 'env, as in std.
    env: PhantomData<&'env mut &'env ()>,
}

/// The handle of a scoped green thread, like [`std::thread::ScopedJoinHandle`].
pub struct ScopedJoinHandle<'scope, T> {
    /// The ordinary handle; its packet tells the scope when it is gone.
    inner: JoinHandle<T>,
    /// Cannot outlive the scope.
    scope: PhantomData<&'scope ()>,
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    pub(crate) fn new(inner: JoinHandle<T>) -> Self {
        ScopedJoinHandle { inner, scope: PhantomData }
    }

    /// Waits for the green thread and returns its result (see [`JoinHandle::join`]).
    ///
    /// ```
    /// let numbers = vec![1, 2, 3];
    /// green::scope(|s| {
    ///     let sum = s.spawn(|| numbers.iter().sum::<i32>());
    ///     assert_eq!(sum.join().unwrap(), 6);
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        self.inner.join()
    }

    /// Whether it has finished.
    ///
    /// ```
    /// green::scope(|s| {
    ///     let handle = s.spawn(|| 1);
    ///     while !handle.is_finished() {
    ///         green::yield_now();
    ///     }
    ///     assert_eq!(handle.join().unwrap(), 1);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Its thread handle.
    ///
    /// ```
    /// green::scope(|s| {
    ///     let handle = s.spawn(|| green::current().id());
    ///     let id = handle.thread().id();
    ///     assert_eq!(handle.join().unwrap(), id);
    /// });
    /// ```
    pub fn thread(&self) -> &Thread {
        self.inner.thread()
    }

    /// Cancels it (see [`JoinHandle::cancel`]).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// green::scope(|s| {
    ///     let sleeper = s.spawn(|| green::sleep(Duration::from_secs(3600)));
    ///     sleeper.cancel();
    ///     assert!(green::is_cancelled(sleeper.join().unwrap_err().as_ref()));
    /// });
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel()
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a green thread that may borrow anything that outlives the scope.
    ///
    /// # Panics
    /// When the green thread cannot be created (see [`crate::Builder::spawn`]).
    ///
    /// ```
    /// let mut results = vec![0; 4];
    /// green::scope(|s| {
    ///     for (i, slot) in results.iter_mut().enumerate() {
    ///         s.spawn(move || *slot = i * i); // each green thread borrows its own slot
    ///     }
    /// }); // every scoped green thread has finished here
    /// assert_eq!(results, [0, 1, 4, 9]);
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        crate::Builder::new().spawn_scoped(self, f).unwrap_or_else(|error| panic!("{error}"))
    }

    pub(crate) fn data(&self) -> &Arc<ScopeData> {
        &self.data
    }
}

/// Creates a scope for spawning green threads that borrow local variables; every one is joined before
/// `scope` returns. Mirrors [`std::thread::scope`].
///
/// ```
/// let mut numbers = vec![1, 2, 3];
/// green::scope(|s| {
///     s.spawn(|| assert_eq!(numbers.len(), 3));
///     s.spawn(|| assert_eq!(numbers[0], 1));
/// });
/// numbers.push(4);
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            unjoined_panic: AtomicBool::new(false),
            owner: current(),
            children: Mutex::new(Vec::new()),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = context::catch_unwind(|| f(&scope));
    if result.is_err() {
        scope.data.cancel_children(None);
    }
    let location = std::panic::Location::caller();
    park::lending(|| {
        while scope.data.running.load(Ordering::Acquire) != 0 {
            park::park_until_at(location, crate::inspect::WaitReason::Scope, None);
        }
    });
    match result {
        Err(payload) => context::resume_unwind(payload),
        Ok(_) if scope.data.unjoined_panic.load(Ordering::Relaxed) => panic!("a scoped green thread panicked"),
        Ok(value) => value,
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedJoinHandle").field("thread", self.thread()).finish_non_exhaustive()
    }
}
