//! [`LocalQueue`]: a worker's not-yet-started green threads, in a fixed ring that its owner uses without locks
//! and that idle workers steal half of.
//!
//! The design of Go's `runq` and tokio's local queue: one owner thread pushes at the tail and pops at the
//! head; any other thread may *steal* half of what is queued, with compare-and-swaps on the head. A full ring
//! moves half of its content to the caller's overflow queue in one batch, so a burst of spawns costs one lock
//! per `CAPACITY / 2` of them.
//!
//! # State
//! ```text
//!   head = (steal, real) packed in one AtomicU64        tail: AtomicU32 (written by the owner only)
//!
//!   buffer:  ... │ being copied by a thief │ queued, owner pops here ──► │ free ...
//!                ▲ steal                   ▲ real                        ▲ tail
//! ```
//! Indices grow forever (wrapping `u32`); a slot is `index % CAPACITY`.
//! - `[real, tail)`: queued tasks. `tail - steal <= CAPACITY`.
//! - `[steal, real)`: tasks a thief has claimed and is copying out; the owner does not reuse those slots until
//!   the thief sets `steal = real` again. `steal == real` when no steal is in progress (one thief at a time).
//!
//! # Protocol
//! 1. **Push** (owner): if `tail - steal < CAPACITY`, write the slot, then publish it with a release store of
//!    `tail`. Otherwise claim the oldest half by CASing `head` from `(real, real)` to `(real + half, ...)` and
//!    hand those and the new task to the overflow queue (if a thief is at work, just the new task).
//! 2. **Pop** (owner): CAS `real` one forward (keeping `steal`, or moving it along if no thief is at work),
//!    then read the slot: a thief can no longer claim it.
//! 3. **Steal** (any thread, into its own `LocalQueue`): CAS `real` forward by half of `tail - real`, leaving
//!    `steal` behind (claims those slots; fails if another thief is at work); copy them into the destination
//!    ring; then CAS `steal` up to the current `real` (the owner may have popped meanwhile), which hands the
//!    slots back to the owner. Publish the copies with the destination's `tail`.
//!
//! # Ownership
//! `push` and `pop` may be called only by the owner (the worker's OS thread); `steal_into`'s destination must
//! be owned by the caller. Nothing here checks it: the worker (`scheduler/worker.rs`) and its handle keep to it.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Slots in a ring (a power of two).
pub(crate) const CAPACITY: u32 = 256;

/// `index % CAPACITY`.
const MASK: u32 = CAPACITY - 1;

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// A worker's ring of not-yet-started tasks (see the module docs).
pub(crate) struct LocalQueue<T> {
    /// `(steal, real)`: where thieves and the owner take from (module docs).
    head: AtomicU64,
    /// Where the owner pushes next; written by the owner only.
    tail: AtomicU32,
    /// The slots; `[real, tail)` hold initialized tasks.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: slots are handed between threads through `head` and `tail` (module docs): a slot is written only by
// the owner while no one else may read it, and read by one thread (owner or the thief that claimed it) that
// then owns the task. Tasks move between threads, hence `T: Send`.
unsafe impl<T: Send> Send for LocalQueue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for LocalQueue<T> {}

impl<T> LocalQueue<T> {
    pub(crate) fn new() -> LocalQueue<T> {
        let buffer = (0..CAPACITY).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
        LocalQueue { head: AtomicU64::new(0), tail: AtomicU32::new(0), buffer }
    }

    /// Tasks queued (a snapshot; exact on the owner's thread when no thief is at work).
    pub(crate) fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        self.tail.load(Ordering::Acquire).wrapping_sub(real) as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, index: u32) -> *mut MaybeUninit<T> {
        self.buffer[(index & MASK) as usize].get()
    }

    /// Protocol step 1 (owner only). When the ring is full, returns the tasks the caller must queue elsewhere
    /// (the oldest half of the ring and `task`, in order).
    pub(crate) fn push(&self, task: T) -> Result<(), Vec<T>> {
        loop {
            let (steal, real) = unpack(self.head.load(Ordering::Acquire));
            // Relaxed: only this thread writes `tail`.
            let tail = self.tail.load(Ordering::Relaxed);
            if tail.wrapping_sub(steal) < CAPACITY {
                // SAFETY: the slot is outside `[steal, tail)`, so no one reads it, and only the owner writes.
                unsafe { (*self.slot(tail)).write(task) };
                self.tail.store(tail.wrapping_add(1), Ordering::Release);
                return Ok(());
            }
            if steal != real {
                // A thief is copying out and will make room; this one task overflows.
                return Err(vec![task]);
            }
            let half = CAPACITY / 2;
            let claimed = pack(real.wrapping_add(half), real.wrapping_add(half));
            if self.head.compare_exchange(pack(real, real), claimed, Ordering::AcqRel, Ordering::Acquire).is_err() {
                continue; // a thief claimed some meanwhile: there may be room now
            }
            let mut overflow = Vec::with_capacity(half as usize + 1);
            for index in 0..half {
                // SAFETY: the CAS made `[real, real + half)` ours: they are initialized (below `tail`) and no
                // thief can claim them any more; each is read once.
                overflow.push(unsafe { (*self.slot(real.wrapping_add(index))).assume_init_read() });
            }
            overflow.push(task);
            return Err(overflow);
        }
    }

    /// Protocol step 2 (owner only): the oldest task.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            if real == self.tail.load(Ordering::Relaxed) {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real { pack(next_real, next_real) } else { pack(steal, next_real) };
            match self.head.compare_exchange_weak(head, next, Ordering::AcqRel, Ordering::Acquire) {
                // SAFETY: the slot was below `tail` (initialized) and the CAS took it from every thief.
                Ok(_) => return Some(unsafe { (*self.slot(real)).assume_init_read() }),
                Err(actual) => head = actual,
            }
        }
    }

    /// Protocol step 3: moves half of this ring's tasks into `destination` (owned by the caller) and returns
    /// one of them to run now; `None` if there was nothing to take (or another thief is at work, or the
    /// destination has no room for half a ring).
    pub(crate) fn steal_into(&self, destination: &LocalQueue<T>) -> Option<T> {
        // Relaxed: the caller owns `destination`, so only it writes that `tail`.
        let destination_tail = destination.tail.load(Ordering::Relaxed);
        let (destination_steal, _) = unpack(destination.head.load(Ordering::Acquire));
        if destination_tail.wrapping_sub(destination_steal) > CAPACITY / 2 {
            return None;
        }
        let (first, count) = self.claim_half()?;
        for index in 0..count {
            // SAFETY: `claim_half` made `[first, first + count)` ours until we release `steal`: initialized,
            // read once, and the destination slots are free (room checked above) and written only by their
            // owner, the caller.
            unsafe {
                let task = (*self.slot(first.wrapping_add(index))).assume_init_read();
                (*destination.slot(destination_tail.wrapping_add(index))).write(task);
            }
        }
        // Hand the claimed slots back to the owner: `steal` catches up with `real`.
        let mut head = pack(first, first.wrapping_add(count));
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, first, "one thief at a time");
            match self.head.compare_exchange_weak(head, pack(real, real), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        // Keep the last one to run now; publish the others.
        let last = destination_tail.wrapping_add(count - 1);
        // SAFETY: written just above, not yet published, so only we can read it.
        let task = unsafe { (*destination.slot(last)).assume_init_read() };
        destination.tail.store(last, Ordering::Release);
        Some(task)
    }

    /// Claims half (rounded up) of the queued tasks for a steal: returns their first index and count.
    fn claim_half(&self) -> Option<(u32, u32)> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None; // another thief is at work
            }
            let queued = self.tail.load(Ordering::Acquire).wrapping_sub(real);
            let count = queued - queued / 2;
            if count == 0 {
                return None;
            }
            let claimed = pack(steal, real.wrapping_add(count));
            match self.head.compare_exchange_weak(head, claimed, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some((real, count)),
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};

    #[test]
    fn pops_in_order_and_overflows_half() {
        let queue = LocalQueue::new();
        for i in 0..CAPACITY {
            queue.push(i).unwrap();
        }
        let overflow = queue.push(CAPACITY).unwrap_err();
        let expected: Vec<u32> = (0..CAPACITY / 2).chain([CAPACITY]).collect();
        assert_eq!(overflow, expected);
        assert_eq!(queue.len(), (CAPACITY / 2) as usize);
        for i in CAPACITY / 2..CAPACITY {
            assert_eq!(queue.pop(), Some(i));
        }
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn steals_half() {
        let victim = LocalQueue::new();
        let thief = LocalQueue::new();
        for i in 0..10 {
            victim.push(i).unwrap();
        }
        assert_eq!(victim.steal_into(&thief), Some(4));
        assert_eq!(victim.len(), 5);
        assert_eq!(thief.len(), 4);
        assert_eq!((0..4).map(|_| thief.pop().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        assert_eq!(victim.pop(), Some(5));
    }

    #[test]
    fn drops_what_is_left() {
        let counter = Arc::new(());
        let queue = LocalQueue::new();
        for _ in 0..5 {
            queue.push(counter.clone()).unwrap();
        }
        drop(queue);
        assert_eq!(Arc::strong_count(&counter), 1);
    }

    /// The owner pushes and pops while two thieves steal: every task comes out exactly once.
    #[test]
    fn concurrent_steals_lose_nothing() {
        const TASKS: u64 = 200_000;
        let victim = Arc::new(LocalQueue::new());
        let overflow = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (victim, done) = (victim.clone(), done.clone());
                std::thread::spawn(move || {
                    let own = LocalQueue::new();
                    let mut sum = 0u64;
                    while !done.load(Ordering::Acquire) || !victim.is_empty() {
                        if let Some(task) = victim.steal_into(&own) {
                            sum += task;
                        }
                        while let Some(task) = own.pop() {
                            sum += task;
                        }
                        std::hint::spin_loop();
                    }
                    sum
                })
            })
            .collect();
        let mut sum = 0u64;
        for task in 1..=TASKS {
            if let Err(spilled) = victim.push(task) {
                overflow.lock().unwrap().extend(spilled);
            }
            if task % 3 == 0 {
                sum += victim.pop().unwrap_or(0);
            }
        }
        while let Some(task) = victim.pop() {
            sum += task;
        }
        done.store(true, Ordering::Release);
        for thief in thieves {
            sum += thief.join().unwrap();
        }
        sum += overflow.lock().unwrap().iter().sum::<u64>();
        assert_eq!(sum, TASKS * (TASKS + 1) / 2);
    }
}
