//! A per-worker cache of green thread stacks, so that spawning in steady state
//! makes no system call.
//!
//! # Stack strategy
//!
//! Every green thread gets one fixed-size [`GuardedStack`]: stacks never grow
//! and are never copied, so pointers into a stack stay valid for the life of
//! its green thread. That fixed size is a reservation of address space, not of
//! memory. The kernel commits the pages of an anonymous mapping lazily, one
//! page fault at a time, when they are first touched, so a green thread that
//! never goes deeper than 8 KiB costs two or three resident pages, whatever
//! size its stack was given. This is why the default can be generous.
//!
//! A stack that runs out does not corrupt its neighbour: the lowest page of
//! every stack is a guard page, and touching it faults. The overflow module
//! turns that fault into `green thread '<name>' overflowed its stack` and an
//! abort, instead of a bare `SIGSEGV`. Rust's stack probes guarantee that no
//! Rust frame steps over a one-page guard.
//!
//! Where the kernel has `MADV_GUARD_INSTALL` (Linux 6.13 and later), the guard
//! is a page-table marker and stacks are slots of shared arenas: a green
//! thread costs no kernel memory area, and the number of live green threads
//! is bounded by memory (one resident page each when parked) and address
//! space, not by `vm.max_map_count`. On older kernels each stack is two memory
//! areas (the `mprotect`ed guard and the usable part), which caps a process
//! at about 32,000 live green threads with the default `vm.max_map_count` of
//! 65530; past that `GuardedStack::new` fails with an error naming the limit.
//! See [`stack`](super::stack) and [`stack_arena`](super::stack_arena).
//!
//! # Default size
//!
//! [`DEFAULT_STACK_SIZE`] is 256 KiB. Deepest stack use measured inside a
//! corosensei coroutine on a `GuardedStack` (usable part filled with a pattern
//! beforehand, lowest overwritten byte found afterwards; each case in a fresh
//! process, so first-use costs are included), Rust 1.95, Linux x86_64, in
//! bytes from the top of the stack:
//!
//! ```text
//!  code run on the green thread                              debug   release
//!  --------------------------------------------------------  ------  -------
//!  nothing (corosensei's entry frames)                          728       72
//!  println! with five formatted arguments (first use)         3 480    2 760
//!  format! of a nested derive(Debug) struct, {:?} and {:#?}   4 120    2 072
//!  panic! caught by catch_unwind, RUST_BACKTRACE=1, default
//!    hook printing the backtrace (first panic)               22 960   22 192
//!  the same, second panic (symbols cached)                   22 976   22 208
//!  the same, RUST_BACKTRACE=full                             22 960   22 192
//! ```
//!
//! Release figures are the same with `debug = 1` or `2` (line tables to
//! symbolize). The backtrace path is deep because of the unwinder and the
//! symbolizer inside the prebuilt standard library, so it barely changes with
//! the profile; it is what any green thread that panics goes through, at
//! whatever depth it panics. 256 KiB is more than ten times that, leaving
//! room for the program's own frames, which in debug builds are several times
//! larger than in release. 128 KiB would leave five times; the difference
//! costs only address space, since untouched pages are never resident:
//! 1,000,000 stacks of 256 KiB reserve 260 GiB of the 128 TiB a process can
//! address (keep that in mind under an `RLIMIT_AS`).
//!
//! # State
//!
//! The pool holds up to `max_cached` unused stacks, all of the default usable
//! size, most recently returned last (the one handed out next has the warmest
//! pages). Stacks of other sizes are never cached: they come from a `spawn`
//! that asked for a size explicitly, which is rare enough to pay for `mmap`.
//!
//! How many it keeps adapts to the load: it counts the stacks in use and their
//! peak, and [`StackPool::trim`] (called by the worker about once a second)
//! gives back the cached stacks beyond what the recent peak would need again.
//! A burst of 100,000 green threads that repeats every few milliseconds is
//! served from the cache after the first one (no system call and no page
//! fault per stack); once the bursts stop, the cache is released within three
//! trims (the peak of the last two trim windows is kept).
//!
//! A cached stack keeps the pages its earlier green threads dirtied resident:
//! the pool's memory is the high-water mark of the stacks it caches, not their
//! current use. The pool does not `madvise` them away on `put`, because that
//! would be the system call the pool exists to avoid. Trimmed stacks are given
//! back all at once ([`GuardedStack::release_all`]): arena slots have their
//! pages dropped in one `madvise` per run of adjacent slots and stay guarded
//! for the next taker; stacks with a mapping of their own are unmapped.
//!
//! # Ownership
//!
//! One pool per worker, used only by that worker's thread: no lock, no atomic.
//! The type is `Send` (a worker's pool is built before its thread starts) but
//! not `Sync`. A stack taken out with [`StackPool::get`] belongs to the green
//! thread's coroutine until it finishes and the worker gives it back with
//! [`StackPool::put`]. A stack may be put into a pool other than the one it came
//! from; it is plain memory.

use std::cell::Cell;
use std::io;
use std::marker::PhantomData;

use super::stack::GuardedStack;

/// Stack size, in bytes, of a green thread spawned without an explicit size.
///
/// Chosen from the measurements in the [module documentation](self): more than
/// ten times the deepest use of the standard library's heaviest path (a panic
/// printing a backtrace, about 22 KiB). It is address space, not memory: only
/// the pages a green thread touches become resident.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// A cache of unused green thread stacks owned by one worker.
///
/// See the [module documentation](self) for the strategy.
pub(crate) struct StackPool {
    /// Usable size of the stacks the pool caches: the default size rounded as
    /// `GuardedStack::new` rounds it.
    cached_size: usize,
    /// Most stacks kept in `cached`; more are given back on `put`.
    max_cached: usize,
    /// Unused stacks of `cached_size`, at most `max_cached`. Used as a stack:
    /// the last one put is the first one taken.
    cached: Vec<GuardedStack>,
    /// Stacks this pool had to map because none was cached.
    allocated: u64,
    /// Stacks this pool handed out again from `cached`.
    reused: u64,
    /// Stacks handed out by `get` and not yet returned by `put`.
    in_use: usize,
    /// The largest `in_use` since the last `trim`.
    peak_in_use: usize,
    /// `peak_in_use` as the last `trim` found it: the peak of the window before.
    previous_peak: usize,
    /// Makes the pool `!Sync`: it belongs to one worker thread.
    not_sync: PhantomData<Cell<()>>,
}

impl StackPool {
    /// Creates an empty pool that caches up to `max_cached` stacks of
    /// `default_size` usable bytes.
    ///
    /// Maps nothing: stacks are created by the first calls to [`get`](Self::get).
    pub(crate) fn new(default_size: usize, max_cached: usize) -> StackPool {
        StackPool {
            // A size too large to round can never be allocated, so it never
            // matches a stack either.
            cached_size: GuardedStack::usable_size_for(default_size).unwrap_or(usize::MAX),
            max_cached,
            cached: Vec::new(),
            allocated: 0,
            reused: 0,
            in_use: 0,
            peak_in_use: 0,
            previous_peak: 0,
            not_sync: PhantomData,
        }
    }

    /// Returns a stack with `size` usable bytes (rounded as
    /// [`GuardedStack::new`] rounds it): a cached one if the size is the
    /// pool's default and one is cached, otherwise a newly mapped one.
    ///
    /// # Errors
    ///
    /// The errors of [`GuardedStack::new`]: notably `OutOfMemory` with a message
    /// naming `vm.max_map_count` or `RLIMIT_AS` when the kernel refuses the
    /// mapping.
    pub(crate) fn get(&mut self, size: usize) -> io::Result<GuardedStack> {
        if GuardedStack::usable_size_for(size) == Some(self.cached_size) {
            if let Some(stack) = self.cached.pop() {
                self.reused += 1;
                self.count_out();
                return Ok(stack);
            }
        }
        let stack = GuardedStack::new(size)?;
        self.count_out();
        self.allocated += 1;
        log::trace!(
            "stack pool: made a new stack of {} bytes ({} mapped, {} reused, {} cached)",
            stack.usable_size(),
            self.allocated,
            self.reused,
            self.cached.len()
        );
        Ok(stack)
    }

    /// Takes back the stack of a finished green thread.
    ///
    /// Keeps it for a later [`get`](Self::get) if it has the default size and
    /// fewer than `max_cached` stacks are cached; otherwise gives it back
    /// (to its arena, or unmapped).
    ///
    /// A stack passed here is no longer in use: corosensei only hands a stack
    /// back from a coroutine that has finished (`Coroutine::into_stack`).
    pub(crate) fn put(&mut self, stack: GuardedStack) {
        self.in_use -= 1;
        if stack.usable_size() == self.cached_size && self.cached.len() < self.max_cached {
            self.cached.push(stack);
        } else {
            log::trace!(
                "stack pool: gave back a stack of {} bytes ({} cached)",
                stack.usable_size(),
                self.cached.len()
            );
            drop(stack);
        }
    }

    fn count_out(&mut self) {
        self.in_use += 1;
        self.peak_in_use = self.peak_in_use.max(self.in_use);
    }

    /// Gives back the cached stacks the recent peak would not need again (see
    /// the module docs); returns how many were given back.
    pub(crate) fn trim(&mut self) -> usize {
        let keep = self.recent_peak() - self.in_use;
        self.previous_peak = self.peak_in_use;
        self.peak_in_use = self.in_use;
        let excess = self.cached.len().saturating_sub(keep);
        if excess > 0 {
            // The oldest (coldest) stacks are at the front.
            GuardedStack::release_all(self.cached.drain(..excess));
            log::debug!(target: "green::coroutine", "stack pool: trimmed {excess} cached stacks, {} left", self.cached.len());
        }
        excess
    }

    /// Whether a `trim` could release anything.
    pub(crate) fn has_excess(&self) -> bool {
        self.cached.len() > self.recent_peak() - self.in_use
    }

    /// The most stacks in use at once over the last two trim windows. Two, not one: a worker's share of a
    /// repeated burst varies from one round to the next (placement), and with one window every trim gave back
    /// what the next round took again, a page fault per stack and an `madvise` per 64.
    fn recent_peak(&self) -> usize {
        self.peak_in_use.max(self.previous_peak).max(self.in_use)
    }

    /// Returns how many stacks this pool has mapped because none was cached.
    pub(crate) fn allocated(&self) -> u64 {
        self.allocated
    }

    /// Returns how many stacks this pool has handed out again from its cache.
    pub(crate) fn reused(&self) -> u64 {
        self.reused
    }

    /// Returns how many unused stacks the pool holds now.
    pub(crate) fn cached(&self) -> usize {
        self.cached.len()
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        log::trace!(
            "stack pool: dropped with {} cached stacks ({} mapped, {} reused)",
            self.cached.len(),
            self.allocated,
            self.reused
        );
        GuardedStack::release_all(self.cached.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use corosensei::stack::Stack;
    use corosensei::Coroutine;

    use crate::coroutine::stack_arena::{guard_kind, GuardKind};

    #[test]
    fn pool_is_send_but_not_sync() {
        fn assert_send<T: Send>() {}
        assert_send::<StackPool>();

        // Compiles only if `StackPool` is not `Sync`: for a `Sync` type both
        // implementations apply and the `_` cannot be inferred.
        trait AmbiguousIfSync<Marker> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfSync<()> for T {}
        impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
        <StackPool as AmbiguousIfSync<_>>::check();
    }

    #[test]
    fn reuses_stacks_of_the_default_size() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE, 4);
        let first = pool.get(DEFAULT_STACK_SIZE).unwrap();
        let first_start = first.guard_range().start;
        assert_eq!(first.usable_size(), DEFAULT_STACK_SIZE);
        assert_eq!((pool.allocated(), pool.reused()), (1, 0));

        pool.put(first);
        assert_eq!(pool.cached(), 1);
        let again = pool.get(DEFAULT_STACK_SIZE).unwrap();
        assert_eq!(again.guard_range().start, first_start);
        assert_eq!((pool.allocated(), pool.reused(), pool.cached()), (1, 1, 0));
        pool.put(again);
    }

    #[test]
    fn sizes_are_compared_after_rounding() {
        let mut pool = StackPool::new(100_000, 4);
        let stack = pool.get(100_000).unwrap();
        assert_eq!(stack.usable_size(), 102_400);
        pool.put(stack);
        let stack = pool.get(100_001).unwrap();
        assert_eq!((pool.allocated(), pool.reused()), (1, 1));
        pool.put(stack);
    }

    #[test]
    fn other_sizes_are_neither_cached_nor_taken_from_the_cache() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE, 4);
        let default = pool.get(DEFAULT_STACK_SIZE).unwrap();
        pool.put(default);

        let large = pool.get(4 * DEFAULT_STACK_SIZE).unwrap();
        assert_eq!(large.usable_size(), 4 * DEFAULT_STACK_SIZE);
        assert_eq!((pool.allocated(), pool.reused(), pool.cached()), (2, 0, 1));
        pool.put(large);
        assert_eq!(pool.cached(), 1);
    }

    #[test]
    fn caches_at_most_max_cached() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE, 2);
        let stacks: Vec<_> = (0..5).map(|_| pool.get(DEFAULT_STACK_SIZE).unwrap()).collect();
        for stack in stacks {
            pool.put(stack);
        }
        assert_eq!((pool.allocated(), pool.cached()), (5, 2));

        let mut nothing_cached = StackPool::new(DEFAULT_STACK_SIZE, 0);
        let stack = nothing_cached.get(DEFAULT_STACK_SIZE).unwrap();
        nothing_cached.put(stack);
        assert_eq!(nothing_cached.cached(), 0);
    }

    #[test]
    fn trimmed_stacks_lose_their_pages_and_are_taken_again() {
        // A size no other test uses, so the arena slots seen here are this test's.
        let size = 200 * 1024;
        let mut pool = StackPool::new(size, 1000);
        let stacks: Vec<_> = (0..100).map(|_| pool.get(size).unwrap()).collect();
        let tops: Vec<usize> = stacks.iter().map(|stack| stack.base().get() - 8).collect();
        for &top in &tops {
            // SAFETY: the stacks are ours and not running; the word below `base` is in the usable part.
            unsafe { std::ptr::write_volatile(top as *mut u64, 0xdead) };
        }
        for stack in stacks {
            pool.put(stack);
        }
        // The first two trims keep what the peak (100) would need again, the third gives everything back.
        assert_eq!(pool.trim(), 0);
        assert!(!pool.has_excess() && pool.trim() == 0);
        assert!(pool.has_excess());
        assert_eq!(pool.trim(), 100);
        assert_eq!(pool.cached(), 0);
        let again: Vec<_> = (0..100).map(|_| pool.get(size).unwrap()).collect();
        for stack in &again {
            let top = stack.base().get() - 8;
            if guard_kind() == GuardKind::Installed {
                assert!(tops.contains(&top), "a trimmed arena slot is taken again");
            }
            // SAFETY: as above; pages given back read as zero.
            assert_eq!(unsafe { std::ptr::read_volatile(top as *const u64) }, 0);
        }
        GuardedStack::release_all(again);
    }

    #[test]
    fn every_test_of_this_module_passes_with_protected_guards() {
        super::super::test_child::run_module_with_protected_guards(module_path!());
    }

    /// Counts the lines of `/proc/self/maps`.
    fn mapping_count() -> usize {
        std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
    }

    #[test]
    fn steady_state_spawns_map_nothing() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE, 8);
        // Warm up: four green threads alive at once.
        let warm: Vec<_> = (0..4).map(|_| pool.get(DEFAULT_STACK_SIZE).unwrap()).collect();
        for stack in warm {
            pool.put(stack);
        }
        let mappings_before = mapping_count();
        for round in 0..1000u64 {
            let stack = pool.get(DEFAULT_STACK_SIZE).unwrap();
            let mut coroutine: Coroutine<u64, (), u64, GuardedStack> =
                Coroutine::with_stack(stack, move |_, input| input + round);
            assert_eq!(coroutine.resume(1).as_return(), Some(round + 1));
            pool.put(coroutine.into_stack());
        }
        assert_eq!((pool.allocated(), pool.reused()), (4, 1000));
        // Other tests map and unmap concurrently, so allow some noise; a
        // leaking pool would add 2000 areas.
        assert!(mapping_count() < mappings_before + 100);
        let stack = pool.get(DEFAULT_STACK_SIZE).unwrap();
        assert!(stack.base().get() > stack.limit().get());
        pool.put(stack);
    }
}
