//! [`Group`]: many green threads as one unit — join them all or in completion order, bound how many run at
//! once, cancel the rest when the group goes away.
//!
//! The shapes come from gevent's `Group`/`Pool`, Java's `StructuredTaskScope`, tokio's `JoinSet` and Python's
//! `concurrent.futures.as_completed`. Structured concurrency: dropping a `Group` cancels its green threads
//! and waits for them, so none outlives it.
//!
//! # State
//! [`GroupShared`] holds, under one short lock, the number of members still running, the ids of members that
//! finished but were not yet collected (in completion order), and the owner thread when it waits. A member
//! reports its completion from a guard that runs when its closure returns, panics or is cancelled — after its
//! result is computed and just before its packet is filled, so a collected id's `join` returns at once or after
//! one short park.
//!
//! # Ownership
//! One owner uses a `Group` (`&mut self`); members touch only the shared part.

use std::collections::{BTreeMap, VecDeque};
use std::panic;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::park;
use crate::thread::{current, Builder, JoinHandle, Thread};

/// What a group's members share with its owner.
struct GroupShared {
    /// Guarded state (see the module docs).
    state: Mutex<GroupState>,
}

/// The counters and queues of a group.
#[derive(Default)]
struct GroupState {
    /// Members whose closure has not finished.
    running: usize,
    /// Members that finished and were not collected, oldest first.
    completed: VecDeque<u64>,
    /// The owner, while it waits for a completion or for room under the limit.
    waiter: Option<Thread>,
}

impl GroupShared {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Parks the owner until `ready` holds for the state, then returns the guard.
    #[track_caller]
    fn wait_until(&self, mut ready: impl FnMut(&GroupState) -> bool) -> MutexGuard<'_, GroupState> {
        loop {
            let mut state = self.lock();
            if ready(&state) {
                state.waiter = None;
                return state;
            }
            state.waiter = Some(current());
            drop(state);
            park::park_until(crate::inspect::WaitReason::Group, None);
        }
    }
}

/// Tells the group a member finished, however its closure ended.
struct Completion {
    /// The group.
    shared: Arc<GroupShared>,
    /// The member's id in the group.
    id: u64,
}

impl Drop for Completion {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.running -= 1;
        state.completed.push_back(self.id);
        let waiter = state.waiter.take();
        drop(state);
        if let Some(waiter) = waiter {
            waiter.unpark();
        }
    }
}

/// A set of green threads joined and cancelled together.
///
/// ```
/// green::run(|| {
///     let mut group = green::Group::with_limit(3);
///     for i in 0..10u64 {
///         group.spawn(move || {
///             green::sleep(std::time::Duration::from_millis(10 - i));
///             i * i
///         });
///     }
///     let mut squares: Vec<u64> = group.join_all().into_iter().map(|r| r.unwrap()).collect();
///     squares.sort();
///     assert_eq!(squares[9], 81);
/// });
/// ```
pub struct Group<T> {
    /// Shared with the members.
    shared: Arc<GroupShared>,
    /// Handles of the members not collected yet, by id (ids grow in spawn order).
    members: BTreeMap<u64, JoinHandle<T>>,
    /// The id of the next member.
    next_id: u64,
    /// At most this many members run at once; `spawn` parks for room.
    limit: Option<usize>,
}

impl<T: Send + 'static> Group<T> {
    /// An empty group without a concurrency limit.
    ///
    /// ```
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     group.spawn(|| 1);
    ///     group.spawn(|| 2);
    ///     let total: i32 = group.join_all().into_iter().map(Result::unwrap).sum();
    ///     assert_eq!(total, 3);
    /// });
    /// ```
    pub fn new() -> Group<T> {
        Group {
            shared: Arc::new(GroupShared { state: Mutex::new(GroupState::default()) }),
            members: BTreeMap::new(),
            next_id: 0,
            limit: None,
        }
    }

    /// An empty group in which at most `limit` members run at once (gevent's `Pool(size)`).
    ///
    /// # Panics
    /// If `limit` is 0.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// green::run(|| {
    ///     let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ///     let mut group = green::Group::with_limit(2);
    ///     for _ in 0..6 {
    ///         let (running, peak) = (running.clone(), peak.clone());
    ///         group.spawn(move || {
    ///             peak.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
    ///             green::sleep(std::time::Duration::from_millis(2));
    ///             running.fetch_sub(1, Ordering::SeqCst);
    ///         });
    ///     }
    ///     group.join_all();
    ///     assert!(peak.load(Ordering::SeqCst) <= 2);
    /// });
    /// ```
    pub fn with_limit(limit: usize) -> Group<T> {
        assert!(limit > 0, "a group limit must be at least 1");
        let mut group = Group::new();
        group.limit = Some(limit);
        group
    }

    /// Spawns a member (see [`crate::spawn`]). With a limit, parks first until fewer than `limit` members run.
    ///
    /// # Panics
    /// When the green thread cannot be created.
    ///
    /// ```
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     let member = group.spawn(|| "done").clone();
    ///     assert!(member.is_green());
    ///     assert_eq!(group.join_next().unwrap().unwrap(), "done");
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, f: F) -> &Thread
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let limit = self.limit.unwrap_or(usize::MAX);
        let mut state = self.shared.wait_until(|state| state.running < limit);
        state.running += 1;
        drop(state);
        let id = self.next_id;
        self.next_id += 1;
        let completion = Completion { shared: self.shared.clone(), id };
        let spawned = Builder::new().spawn(move || {
            let _completion = completion;
            f()
        });
        let handle = spawned.unwrap_or_else(|error| panic!("{error}"));
        self.members.entry(id).or_insert(handle).thread()
    }

    /// Waits for the next member to finish, in completion order, and returns its result; `None` when no member
    /// is left. The group's answer to "wait for the first of several green threads".
    #[track_caller]
    ///
    /// ```
    /// use std::time::Duration;
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     group.spawn(|| { green::sleep(Duration::from_millis(50)); "slow" });
    ///     group.spawn(|| "fast");
    ///     assert_eq!(group.join_next().unwrap().unwrap(), "fast");
    ///     assert_eq!(group.join_next().unwrap().unwrap(), "slow");
    ///     assert!(group.join_next().is_none());
    /// });
    /// ```
    pub fn join_next(&mut self) -> Option<std::thread::Result<T>> {
        self.join_next_member().map(|(_, result)| result)
    }

    /// [`join_next`](Group::join_next), with the member's id (its position in spawn order, from the first id).
    #[track_caller]
    fn join_next_member(&mut self) -> Option<(u64, std::thread::Result<T>)> {
        if self.members.is_empty() {
            return None;
        }
        let id = self.shared.wait_until(|state| !state.completed.is_empty()).completed.pop_front()?;
        let handle = self.members.remove(&id).expect("a completed member is in the group");
        Some((id, handle.join()))
    }

    /// Collects every member's value in completion order; on the first panic (or cancellation) of a member,
    /// cancels the others and re-raises it: the group's drop then waits for them, so none outlives the call.
    #[track_caller]
    fn join_each(&mut self, mut each: impl FnMut(u64, T)) {
        while let Some((id, result)) = self.join_next_member() {
            match result {
                Ok(value) => each(id, value),
                Err(payload) => {
                    self.cancel_all();
                    crate::context::resume_unwind(payload);
                }
            }
        }
    }

    /// Waits for every member and returns their results in spawn order.
    #[track_caller]
    ///
    /// ```
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     for i in 0..3 {
    ///         group.spawn(move || if i == 1 { panic!("one fails") } else { i });
    ///     }
    ///     let results = group.join_all();
    ///     assert_eq!(results.len(), 3);
    ///     assert!(results[1].is_err());
    ///     assert_eq!(*results[2].as_ref().unwrap(), 2);
    /// });
    /// ```
    pub fn join_all(mut self) -> Vec<std::thread::Result<T>> {
        let members = std::mem::take(&mut self.members);
        members.into_values().map(JoinHandle::join).collect()
    }

    /// Cancels every member still running (see [`JoinHandle::cancel`]); they stay in the group to be joined.
    ///
    /// ```
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     group.spawn(|| green::sleep(std::time::Duration::from_secs(3600)));
    ///     group.cancel_all();
    ///     let error = group.join_next().unwrap().unwrap_err();
    ///     assert!(green::is_cancelled(error.as_ref()));
    /// });
    /// ```
    pub fn cancel_all(&self) {
        for member in self.members.values() {
            member.cancel();
        }
    }

    /// The number of members not collected yet.
    ///
    /// ```
    /// green::run(|| {
    ///     let mut group = green::Group::new();
    ///     group.spawn(|| ());
    ///     assert_eq!(group.len(), 1);
    ///     group.join_next();
    ///     assert_eq!(group.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether every member was collected.
    ///
    /// ```
    /// green::run(|| {
    ///     let group: green::Group<()> = green::Group::new();
    ///     assert!(group.is_empty());
    /// });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl<T: Send + 'static> Default for Group<T> {
    fn default() -> Self {
        Group::new()
    }
}

impl<T> Drop for Group<T> {
    /// Cancels the members still running and waits for them: nothing outlives its group. The wait is a lending
    /// wait (a lending wait, see DESIGN.md): neither a timeout nor cancellation nor shutdown cuts it short.
    fn drop(&mut self) {
        for member in self.members.values() {
            member.cancel();
        }
        park::lending(|| {
            for (_, member) in std::mem::take(&mut self.members) {
                let _ = member.join();
            }
        });
    }
}

impl<U: Send + 'static> Group<U> {
    /// Runs `f` on every item in its own green thread (at most `limit` at once for a limited group) and returns
    /// the results in input order, like `multiprocessing.Pool.map`. A panic in one call cancels the others,
    /// waits for them, and is re-raised here.
    ///
    /// ```
    /// let squares = green::run(|| green::Group::with_limit(4).map(1..=5u64, |x| x * x));
    /// assert_eq!(squares, vec![1, 4, 9, 16, 25]);
    /// ```
    #[track_caller]
    pub fn map<I, F>(mut self, items: I, f: F) -> Vec<U>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> U + Send + Sync + 'static,
    {
        self.spawn_all(items, f);
        let first = self.members.keys().next().copied().unwrap_or(0);
        let mut results: Vec<Option<U>> = (0..self.members.len()).map(|_| None).collect();
        self.join_each(|id, value| results[(id - first) as usize] = Some(value));
        results.into_iter().map(|r| r.expect("every member joined")).collect()
    }

    /// Like [`map`](Group::map), but returns the results in completion order (`as_completed`).
    #[track_caller]
    ///
    /// ```
    /// use std::time::Duration;
    /// let done = green::run(|| {
    ///     green::Group::new().map_unordered([30u64, 10, 20], |ms| {
    ///         green::sleep(Duration::from_millis(ms));
    ///         ms
    ///     })
    /// });
    /// assert_eq!(done, vec![10, 20, 30]);
    /// ```
    pub fn map_unordered<I, F>(mut self, items: I, f: F) -> Vec<U>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> U + Send + Sync + 'static,
    {
        self.spawn_all(items, f);
        let mut results = Vec::with_capacity(self.members.len());
        self.join_each(|_, value| results.push(value));
        results
    }

    fn spawn_all<I, F>(&mut self, items: I, f: F)
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        for item in items {
            let f = f.clone();
            self.spawn(move || f(item));
        }
    }
}

impl<T> std::fmt::Debug for Group<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("members", &self.members.len())
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}
