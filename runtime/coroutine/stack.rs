//! The memory a green thread runs on: a stack with a guard page below it.
//!
//! A [`GuardedStack`] is a range of private anonymous memory whose lowest page is a guard: the stack grows
//! downwards from the top; running off its end touches the guard page, which faults instead of silently
//! overwriting whatever lies below (often another green thread's stack). The fault is turned into a readable
//! report by [`overflow`](super::overflow).
//!
//! ```text
//!  high addresses
//!  +------------------------------+ <- base() = end
//!  |                              |    the first frame of the green thread
//!  |  usable: readable, writable  |    |  the stack grows downwards
//!  |  usable_size() bytes,        |    v
//!  |  committed page by page on   |
//!  |  first touch (MAP_NORESERVE) |
//!  +------------------------------+ <- guard_range().end
//!  |  guard page                  |    a fault here is a stack overflow
//!  +------------------------------+ <- limit() = guard_range().start = start
//!  low addresses
//! ```
//!
//! # Two kinds of guard
//!
//! Where the kernel supports it (Linux 6.13 and later), the guard is a page-table marker installed with
//! `madvise(MADV_GUARD_INSTALL)`, and the stack is a slot of a large shared arena
//! ([`stack_arena`]): a green thread costs no kernel memory area (VMA), so
//! `vm.max_map_count` no longer bounds how many can live. Stacks longer than
//! [`LARGEST_SLOT`] get a mapping of their own, guarded the same way (one area
//! each).
//!
//! On older kernels, or with `GREEN_STACK_GUARDS=mprotect` in the environment, every stack is its own mapping
//! whose lowest page is made `PROT_NONE` with `mprotect`. The kernel keeps the two protections as two areas, so
//! each live stack costs two entries against `vm.max_map_count` (65,530 by default: about 32,000 green threads).
//!
//! Either way `MAP_NORESERVE` keeps the usable part out of the kernel's commit accounting: only pages the green
//! thread actually touches take memory.
//!
//! # State
//!
//! A `GuardedStack` stores the two ends of its memory; who owns that memory follows from its length and the
//! process's kind of guard, fixed once. Invariants, established by [`GuardedStack::new`] and kept until `Drop`:
//!
//! 1. `[start, end)` is owned by this value alone, page-aligned at both ends: a whole mapping
//!    (`Owner::Mapping`) or one arena slot (`Owner::Arena`).
//! 2. Its lowest page, the guard page, faults on any access; the rest (at least
//!    `corosensei::stack::MIN_STACK_SIZE` bytes) is readable and writable.
//!
//! `STACK_MAPPINGS`, one per process, counts the memory areas that stacks hold: two per `mprotect`-guarded
//! stack, one per stack with a mapping of its own and an installed guard, one per arena. Relaxed, since it only
//! steers the early check.
//!
//! # Ownership
//!
//! The value owns its memory: dropping it unmaps the mapping or gives the slot back to its arena (pages
//! dropped, guard kept). A running coroutine borrows it through corosensei's [`Stack`] trait (corosensei moves
//! the stack into the `Coroutine` and hands it back from `into_stack`), so the memory outlives every frame
//! placed on it. The type is `Send` and `Sync`: it is plain memory with no tie to the thread that mapped it, and
//! a shared reference only reveals addresses.
//!
//! # Errors
//!
//! When the kernel refuses the memory with `ENOMEM`, the error says which limit was hit, because "Cannot
//! allocate memory" on a machine with free RAM sends people looking in the wrong place. The two usual causes are
//! the per-process mapping count (`vm.max_map_count`, for `mprotect` guards) and the address space limit
//! (`RLIMIT_AS`, `ulimit -v`). Finding out costs a read of `/proc`, done only on this path.
//!
//! [`check_capacity`] lets `spawn` fail early with the same message, before the green thread is queued. It must
//! cost nothing in the common case: with arena stacks it only checks the size; otherwise it counts the areas
//! stacks hold (`STACK_MAPPINGS`) and reads `/proc` only when that count nears `vm.max_map_count`.

use std::fs::File;
use std::io::{self, Read};
use std::mem::ManuallyDrop;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::{Stack, StackPointer, MIN_STACK_SIZE};

use super::stack_arena::{self, guard_kind, page_size, GuardKind, LARGEST_SLOT};

/// Length of the guard page at the bottom of every stack, in bytes.
///
/// One page is enough on x86_64: Rust emits stack probes for every frame larger than a page, so no Rust frame
/// can step over the guard page without touching it. C code without probes can; see the overflow module.
fn guard_length() -> usize {
    page_size()
}

/// Returns `size` rounded up to a whole number of pages, or `None` on overflow.
fn round_up_to_pages(size: usize) -> Option<usize> {
    let page_mask = page_size() - 1;
    Some(size.checked_add(page_mask)? & !page_mask)
}

/// Who owns the memory of a [`GuardedStack`], and so how it is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A whole mapping of its own: `munmap` on drop.
    Mapping,
    /// A slot of an arena: given back to it on drop.
    Arena,
}

/// A green thread stack: private anonymous memory with a guard page at its lowest addresses.
///
/// See the [module documentation](self) for the layout and invariants.
#[derive(Debug)]
pub(crate) struct GuardedStack {
    /// Lowest address, which is also the start of the guard page and corosensei's `limit()`. Page-aligned.
    start: StackPointer,
    /// One past the highest address: where the first frame starts and corosensei's `base()`. Page-aligned.
    /// Who owns `[start, end)` follows from its length and the process's kind of guard (see [`Self::owner`]),
    /// so it is not stored: two words per green thread, not three.
    end: StackPointer,
}

impl GuardedStack {
    /// Returns a new stack with at least `usable_size` usable bytes and a guard page.
    ///
    /// The size is raised to corosensei's `MIN_STACK_SIZE` and rounded up to whole pages;
    /// [`usable_size`](Self::usable_size) reports the result. The memory is reserved, not committed: pages
    /// become resident when first touched.
    ///
    /// With installed guards, a stack costs no system call but once every 64 new slots (their guards) and once
    /// per new arena (`mmap`). With `mprotect` guards every stack costs two system calls
    /// (`mmap` and `mprotect`) and two kernel memory areas.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::OutOfMemory`] when the kernel refuses the memory with `ENOMEM`; the message names the
    ///   limit that was hit (`vm.max_map_count` or `RLIMIT_AS`) and the numbers involved.
    /// - [`io::ErrorKind::InvalidInput`] when the size overflows the address space.
    /// - Any other error `mmap`, `madvise` or `mprotect` report, as is.
    pub(crate) fn new(usable_size: usize) -> io::Result<GuardedStack> {
        let (usable_size, length) = mapping_sizes(usable_size)?;
        let mappings = mappings_per_stack(length);
        let (start, owner) = if mappings == 0 {
            let (start, new_arena) =
                stack_arena::take_slot(length).map_err(|error| describe_failure(error, usable_size))?;
            if new_arena {
                STACK_MAPPINGS.fetch_add(1, Ordering::Relaxed);
            }
            (start, Owner::Arena)
        } else {
            let start = stack_arena::map_anonymous(length).map_err(|error| describe_failure(error, usable_size))?;
            STACK_MAPPINGS.fetch_add(mappings, Ordering::Relaxed);
            (start, Owner::Mapping)
        };
        // `start` is not null (`map_anonymous` and arenas never hand out address zero) and `start + length` is
        // the end of memory the kernel mapped, so neither overflows.
        let bounds = StackPointer::new(start).zip(StackPointer::new(start + length));
        let Some((start, end)) = bounds else {
            unreachable!("a stack at address zero or at the end of the address space");
        };
        // From here on the memory is owned by `stack`: an early return gives it back.
        let stack = GuardedStack { start, end };
        debug_assert_eq!(stack.owner(), owner);
        if owner == Owner::Mapping {
            stack.make_guard().map_err(|error| describe_failure(error, usable_size))?;
        }
        Ok(stack)
    }

    /// Makes the guard page of a stack that has a mapping of its own.
    fn make_guard(&self) -> io::Result<()> {
        let guard = self.guard_range();
        match guard_kind() {
            GuardKind::Installed => stack_arena::install_guard(guard.start, guard.len()),
            GuardKind::Protected => {
                // SAFETY: the guard page lies inside the mapping this value owns (invariant 1), which nothing
                // else references yet, so changing its protection cannot affect any other memory.
                let result = unsafe { libc::mprotect(guard.start as *mut libc::c_void, guard.len(), libc::PROT_NONE) };
                if result == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            }
        }
    }

    /// Returns the usable size a stack requested with `requested` bytes gets: at least `MIN_STACK_SIZE`, rounded
    /// up to whole pages. `None` when the rounding overflows.
    ///
    /// The stack pool uses it to compare a request with the size it caches.
    pub(crate) fn usable_size_for(requested: usize) -> Option<usize> {
        round_up_to_pages(requested.max(MIN_STACK_SIZE))
    }

    /// Returns the number of bytes a green thread can use, excluding the guard page. A multiple of the page
    /// size.
    pub(crate) fn usable_size(&self) -> usize {
        self.length() - guard_length()
    }

    /// Returns who owns the memory: an arena for the lengths `new` takes from arenas, a mapping otherwise.
    fn owner(&self) -> Owner {
        if mappings_per_stack(self.length()) == 0 {
            Owner::Arena
        } else {
            Owner::Mapping
        }
    }

    /// Returns the length of the whole stack: guard page plus usable part.
    fn length(&self) -> usize {
        self.end.get() - self.start.get()
    }

    /// Returns the address range of the guard page: the lowest page of the stack.
    ///
    /// A fault at an address in this range while the stack's green thread runs is a stack overflow; this is
    /// what the overflow handler checks.
    pub(crate) fn guard_range(&self) -> Range<usize> {
        self.start.get()..self.start.get() + guard_length()
    }

    /// Gives back many stacks at once: arena slots in one batch (one `madvise` per run of adjacent slots
    /// instead of one per stack, one lock), mappings one by one. What dropping each would do, for less.
    pub(crate) fn release_all(stacks: impl IntoIterator<Item = GuardedStack>) {
        let mut slots = Vec::new();
        for stack in stacks {
            if stack.owner() == Owner::Arena {
                let stack = ManuallyDrop::new(stack);
                slots.push((stack.start.get(), stack.length()));
            }
            // Dropped here otherwise: unmapped.
        }
        if !slots.is_empty() {
            // SAFETY: each slot came from `take_slot` with this length (invariant 1 with `Owner::Arena`) and its
            // `GuardedStack` was consumed without running `Drop`, so it is returned once and nothing uses it.
            let unmapped = unsafe { stack_arena::return_slots(&mut slots) };
            STACK_MAPPINGS.fetch_sub(unmapped, Ordering::Relaxed);
        }
    }
}

// SAFETY: corosensei requires a guard page below the usable memory and at least `MIN_STACK_SIZE` usable bytes.
// `new` makes the lowest page a guard and raises the usable size to `MIN_STACK_SIZE` (invariant 2). `base` and
// `limit` are the page-aligned ends, hence aligned to `STACK_ALIGNMENT` (16 on x86_64). The memory stays owned
// until `Drop`, which cannot run while a coroutine owns the stack.
unsafe impl Stack for GuardedStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.end
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        // corosensei wants the lowest address including the guard page.
        self.start
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        let (start, length) = (self.start.get(), self.length());
        match self.owner() {
            Owner::Arena => {
                // SAFETY: the slot came from `take_slot` with this length (invariant 1) and is given back once,
                // here; no coroutine still runs on it: a coroutine owns its stack until dropped or `into_stack`.
                let unmapped = unsafe { stack_arena::return_slots(&mut [(start, length)]) };
                STACK_MAPPINGS.fetch_sub(unmapped, Ordering::Relaxed);
            }
            Owner::Mapping => {
                STACK_MAPPINGS.fetch_sub(mappings_per_stack(length).max(1), Ordering::Relaxed);
                // SAFETY: the range is exactly the mapping created in `new` and owned by this value (invariant
                // 1); no coroutine still runs on it, as above.
                let result = unsafe { libc::munmap(start as *mut libc::c_void, length) };
                if result != 0 {
                    // Unmapping a whole mapping only fails on a bug; leaking it is the safe outcome, and
                    // panicking in `drop` could abort.
                    log::error!(
                        "munmap of a green thread stack at {start:#x} ({length} bytes) failed: {}",
                        io::Error::last_os_error()
                    );
                }
            }
        }
    }
}

/// Returns the memory areas a stack of `length` bytes (guard included) adds to the process: 0 for an arena
/// slot (its arena's one area is shared by many), 1 for a mapping of its own with an installed guard, 2 with an
/// `mprotect` guard.
fn mappings_per_stack(length: usize) -> usize {
    match guard_kind() {
        GuardKind::Installed if length <= LARGEST_SLOT => 0,
        GuardKind::Installed => 1,
        GuardKind::Protected => 2,
    }
}

/// Returns the usable size and the mapping length (with the guard page) of a
/// stack requested with `requested` bytes, or an `InvalidInput` error when they
/// overflow.
fn mapping_sizes(requested: usize) -> io::Result<(usize, usize)> {
    GuardedStack::usable_size_for(requested)
        .and_then(|usable| Some((usable, usable.checked_add(guard_length())?)))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("green thread stack size {requested} overflows the address space"),
            )
        })
}

/// Memory areas held by stacks and arenas; see `# State`.
static STACK_MAPPINGS: AtomicUsize = AtomicUsize::new(0);

/// Memory areas [`check_capacity`] assumes the rest of the process uses
/// (binary, libraries, heap, OS thread stacks, files). Typical processes have
/// a few hundred; past this estimate the check counts them for real.
const OTHER_MAPPINGS_ESTIMATE: usize = 4096;

/// `vm.max_map_count` as read by the first [`check_capacity`]; it only decides
/// when to look closer, so a later change of the sysctl does no harm.
static MAX_MAP_COUNT: OnceLock<Option<usize>> = OnceLock::new();

/// Fails early when the process cannot hold another stack of `usable_size`
/// bytes, so that `spawn` can report it before queueing the green thread.
///
/// Best effort and cheap. An arena stack adds no memory area, so only its size
/// is checked. Otherwise, while the areas stacks hold are far below what
/// `vm.max_map_count` allows, it makes no system call (the first call reads
/// the limit once); near the limit it counts the process's memory areas in
/// `/proc/self/maps`. Running out of memory or address space (`RLIMIT_AS`) is
/// not predicted; it shows when the stack is mapped, as the error of
/// [`GuardedStack::new`].
///
/// # Errors
///
/// - [`io::ErrorKind::OutOfMemory`] when another stack would exceed
///   `vm.max_map_count`, with the message [`GuardedStack::new`] would give.
/// - [`io::ErrorKind::InvalidInput`] when the size overflows the address
///   space.
pub(crate) fn check_capacity(usable_size: usize) -> io::Result<()> {
    let (_, length) = mapping_sizes(usable_size)?;
    let per_stack = mappings_per_stack(length);
    if per_stack == 0 {
        return Ok(());
    }
    let stack_mappings = STACK_MAPPINGS.load(Ordering::Relaxed);
    check_capacity_with(usable_size, per_stack, stack_mappings, *MAX_MAP_COUNT.get_or_init(read_max_map_count), || {
        recent_reading(stack_mappings)
    })
}

/// How long a count of `/proc/self/maps` stands in for a new one. Near the limit every spawn asks, and one
/// count costs milliseconds with tens of thousands of mappings: without this, spawning the last few thousand
/// green threads would take a minute.
const RECOUNT_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// The last real count: when, how many areas stacks held then, and what was read.
struct Reading {
    /// When it was taken.
    at: std::time::Instant,
    /// `STACK_MAPPINGS` at that time.
    stack_mappings: usize,
    /// The process's memory areas then.
    mappings: Option<usize>,
    /// `vm.max_map_count` then.
    limit: Option<usize>,
}

/// The mapping count and limit: read for real at most every [`RECOUNT_EVERY`]; in between, the last count
/// adjusted by the areas stacks mapped or unmapped since.
fn recent_reading(stack_mappings: usize) -> (Option<usize>, Option<usize>) {
    static LAST: std::sync::Mutex<Option<Reading>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(reading) = last.as_ref().filter(|reading| reading.at.elapsed() < RECOUNT_EVERY) {
        let added = stack_mappings as isize - reading.stack_mappings as isize;
        let mappings = reading.mappings.map(|m| m.saturating_add_signed(added));
        return (mappings, reading.limit);
    }
    let (mappings, limit) = (count_mappings(), read_max_map_count());
    *last = Some(Reading { at: std::time::Instant::now(), stack_mappings, mappings, limit });
    (mappings, limit)
}

/// [`check_capacity`] with its inputs passed in: the areas a new stack adds,
/// the areas stacks hold now, the cached `vm.max_map_count`, and how to read
/// the mapping count and the current limit when near it.
fn check_capacity_with(
    usable_size: usize,
    per_stack: usize,
    stack_mappings: usize,
    cached_limit: Option<usize>,
    read_mappings_and_limit: impl FnOnce() -> (Option<usize>, Option<usize>),
) -> io::Result<()> {
    let (usable_size, length) = mapping_sizes(usable_size)?;
    let Some(cached_limit) = cached_limit else {
        return Ok(());
    };
    if !near_map_count_limit(stack_mappings, per_stack, cached_limit) {
        return Ok(());
    }
    let (Some(mappings), Some(limit)) = read_mappings_and_limit() else {
        return Ok(());
    };
    if mappings.saturating_add(per_stack) <= limit {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::OutOfMemory,
        out_of_memory_message(usable_size, length, per_stack, Some(mappings), Some(limit), address_space_limit()),
    ))
}

/// Returns whether the areas stacks hold plus those of one more stack, with the
/// estimate for the rest of the process, come close enough to `limit` to count
/// for real.
fn near_map_count_limit(stack_mappings: usize, per_stack: usize, limit: usize) -> bool {
    stack_mappings.saturating_add(per_stack).saturating_add(OTHER_MAPPINGS_ESTIMATE) >= limit
}

/// How close to `vm.max_map_count` the mapping count must be for an `ENOMEM` to
/// be blamed on it. The count is read after the failure, so other threads may
/// have unmapped a few areas in between; `/proc/self/maps` also lists
/// `[vsyscall]`, which is not counted by the kernel.
const MAP_COUNT_SLACK: usize = 64;

/// Turns an `mmap`, `madvise` or `mprotect` failure into the error `new` returns.
///
/// `ENOMEM` becomes an `OutOfMemory` error naming the exhausted limit; anything
/// else is returned unchanged. Does not panic: every `/proc` read that fails
/// just leaves its number out of the message.
fn describe_failure(error: io::Error, usable_size: usize) -> io::Error {
    if error.raw_os_error() != Some(libc::ENOMEM) {
        return error;
    }
    let length = usable_size.saturating_add(guard_length());
    let (mappings, limit) = recent_reading(STACK_MAPPINGS.load(Ordering::Relaxed));
    let message =
        out_of_memory_message(usable_size, length, mappings_per_stack(length), mappings, limit, address_space_limit());
    io::Error::new(io::ErrorKind::OutOfMemory, message)
}

/// Builds the message of an `ENOMEM` failure from what `/proc` and `getrlimit`
/// said (`None` where they could not be read).
///
/// Kept free of system calls so that tests can check both wordings.
fn out_of_memory_message(
    usable_size: usize,
    mapping_length: usize,
    per_stack: usize,
    mappings: Option<usize>,
    max_map_count: Option<usize>,
    address_space_limit: Option<u64>,
) -> String {
    if let (Some(mappings), Some(max_map_count)) = (mappings, max_map_count) {
        if mappings.saturating_add(MAP_COUNT_SLACK) >= max_map_count {
            let needs = match per_stack {
                0 => "green thread stacks share one per arena of many stacks".to_owned(),
                needed => format!("each green thread stack needs {needed}"),
            };
            return format!(
                "cannot allocate a green thread stack: the process has {mappings} memory \
                 mappings, the limit set by vm.max_map_count ({max_map_count}); {needs} (run \
                 fewer green threads at once, or raise the limit with `sysctl \
                 vm.max_map_count=N`)"
            );
        }
    }
    let mappings = match (mappings, max_map_count) {
        (Some(mappings), Some(max_map_count)) => {
            format!(
                "{mappings} of {max_map_count} memory mappings in use, so vm.max_map_count is \
                 not the cause"
            )
        }
        (Some(mappings), None) => format!("{mappings} memory mappings in use"),
        _ => "memory mapping count unknown".to_owned(),
    };
    let cause = match address_space_limit {
        Some(bytes) => format!(
            "the address space limit RLIMIT_AS (`ulimit -v`, {bytes} bytes) is reached, or the \
             system is out of memory"
        ),
        None => "the system is out of memory or address space (RLIMIT_AS is unlimited)".to_owned(),
    };
    format!(
        "cannot allocate a green thread stack of {usable_size} bytes ({mapping_length} with its \
         guard page): {cause} ({mappings})"
    )
}

/// Counts the lines of `/proc/self/maps`, one per memory mapping.
///
/// Reads through a stack buffer so a process with tens of thousands of
/// mappings does not need megabytes of heap at the moment memory ran out.
fn count_mappings() -> Option<usize> {
    let mut file = File::open("/proc/self/maps").ok()?;
    let mut buffer = [0u8; 4096];
    let mut lines = 0;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(lines),
            Ok(read) => {
                lines += buffer.get(..read)?.iter().filter(|&&byte| byte == b'\n').count();
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Reads `vm.max_map_count`, the kernel's limit on mappings per process.
fn read_max_map_count() -> Option<usize> {
    let mut file = File::open("/proc/sys/vm/max_map_count").ok()?;
    let mut buffer = [0u8; 32];
    let read = file.read(&mut buffer).ok()?;
    std::str::from_utf8(buffer.get(..read)?).ok()?.trim().parse().ok()
}

/// Returns the soft `RLIMIT_AS` in bytes, or `None` when it is unlimited or
/// cannot be read.
fn address_space_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live,
    // properly aligned local variable.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) };
    if result != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        None
    } else {
        Some(limit.rlim_cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::env;
    use std::process::Output;
    use std::ptr;

    use corosensei::{Coroutine, CoroutineResult};

    /// Environment variable that turns a run of the test binary into the child
    /// scenario of `rlimit_exhaustion_reports_address_space_limit`.
    const CHILD_SCENARIO: &str = "GREEN_STACK_TEST_CHILD";

    #[test]
    fn sizes_are_rounded_to_pages_and_minimum() {
        let page = page_size();
        let stack = GuardedStack::new(1).unwrap();
        assert_eq!(stack.usable_size(), MIN_STACK_SIZE.max(page));
        let stack = GuardedStack::new(3 * page + 1).unwrap();
        assert_eq!(stack.usable_size(), 4 * page);
        assert_eq!(GuardedStack::usable_size_for(3 * page + 1), Some(4 * page));
        assert_eq!(GuardedStack::usable_size_for(usize::MAX), None);
        let error = GuardedStack::new(usize::MAX - 10).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_stack_is_two_words() {
        // It lives in every green thread's coroutine: the owner is derived, not stored.
        assert_eq!(std::mem::size_of::<GuardedStack>(), 2 * std::mem::size_of::<usize>());
    }

    #[test]
    fn layout_matches_corosensei_contract() {
        let stack = GuardedStack::new(64 * 1024).unwrap();
        let guard = stack.guard_range();
        assert_eq!(guard.len(), page_size());
        assert_eq!(stack.limit().get(), guard.start);
        assert_eq!(stack.base().get(), guard.end + stack.usable_size());
        assert_eq!(stack.base().get() % corosensei::stack::STACK_ALIGNMENT, 0);
        assert_eq!(stack.limit().get() % corosensei::stack::STACK_ALIGNMENT, 0);
    }

    /// Finds the line of `/proc/self/maps` that starts at `start`.
    fn mapping_line(start: usize) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let prefix = format!("{start:x}-");
        maps.lines().find(|line| line.starts_with(&prefix)).map(str::to_owned)
    }

    #[test]
    fn protected_stacks_are_two_mappings_with_the_guard_page_none() {
        if guard_kind() != GuardKind::Protected {
            return;
        }
        let stack = GuardedStack::new(64 * 1024).unwrap();
        let guard = stack.guard_range();
        let guard_line = mapping_line(guard.start).unwrap();
        assert!(guard_line.starts_with(&format!("{:x}-{:x} ---p", guard.start, guard.end)), "{guard_line}");
        let usable_line = mapping_line(guard.end).unwrap();
        assert!(usable_line.starts_with(&format!("{:x}-{:x} rw-p", guard.end, stack.base().get())), "{usable_line}");
        drop(stack);
        assert_eq!(mapping_line(guard.start), None);
        assert_eq!(mapping_line(guard.end), None);
    }

    /// Counts the lines of `/proc/self/maps`.
    fn mapping_count() -> usize {
        std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
    }

    #[test]
    fn installed_guards_add_no_mapping_per_stack() {
        if guard_kind() != GuardKind::Installed {
            eprintln!("skipped: this process uses mprotect guards");
            return;
        }
        let before = mapping_count();
        let stacks: Vec<_> = (0..2000).map(|_| GuardedStack::new(64 * 1024).unwrap()).collect();
        // Other tests map concurrently; per-stack mappings would add 2000 or more.
        assert!(mapping_count() < before + 100, "{before} -> {}", mapping_count());
        for stack in &stacks {
            // The usable part is writable right above the guard.
            // SAFETY: the stack is ours and not running; its usable part is readable and writable.
            unsafe { ptr::write_volatile(stack.guard_range().end as *mut u8, 1) };
        }
        GuardedStack::release_all(stacks);
        // Large stacks get a mapping of their own, still one area.
        let large = GuardedStack::new(2 * LARGEST_SLOT).unwrap();
        assert!(mapping_line(large.limit().get()).unwrap().contains(" rw-p "));
        assert_eq!(large.usable_size(), 2 * LARGEST_SLOT);
    }

    #[test]
    fn every_test_of_this_module_passes_with_protected_guards() {
        super::super::test_child::run_module_with_protected_guards(module_path!());
    }

    #[test]
    fn coroutine_runs_on_the_stack_and_gives_it_back() {
        let stack = GuardedStack::new(64 * 1024).unwrap();
        let range = stack.guard_range().end..stack.base().get();
        let mut coroutine = Coroutine::with_stack(stack, move |yielder, input: u32| {
            let local = input;
            let address = std::hint::black_box(&local) as *const u32 as usize;
            let input = yielder.suspend(address);
            input * 2
        });
        match coroutine.resume(1) {
            CoroutineResult::Yield(address) => assert!(range.contains(&address)),
            CoroutineResult::Return(_) => panic!("returned early"),
        }
        assert!(matches!(coroutine.resume(21), CoroutineResult::Return(42)));
        let stack = coroutine.into_stack();
        assert_eq!(stack.guard_range().end, range.start);
    }

    #[test]
    fn out_of_memory_message_names_the_limit() {
        let message = out_of_memory_message(262_144, 266_240, 2, Some(65_530), Some(65_530), None);
        assert_eq!(
            message,
            "cannot allocate a green thread stack: the process has 65530 memory mappings, the \
             limit set by vm.max_map_count (65530); each green thread stack needs 2 (run fewer \
             green threads at once, or raise the limit with `sysctl vm.max_map_count=N`)"
        );
        let message = out_of_memory_message(262_144, 266_240, 2, Some(120), Some(65_530), Some(1 << 30));
        assert!(message.contains("RLIMIT_AS"), "{message}");
        assert!(message.contains("1073741824 bytes"), "{message}");
        assert!(message.contains("262144 bytes"), "{message}");
        assert!(message.contains("120 of 65530"), "{message}");
        let message = out_of_memory_message(4096, 8192, 0, Some(65_500), Some(65_530), None);
        assert!(message.contains("green thread stacks share one per arena of many stacks"), "{message}");
        let message = out_of_memory_message(4096, 8192, 2, None, None, None);
        assert_eq!(
            message,
            "cannot allocate a green thread stack of 4096 bytes (8192 with its guard page): the \
             system is out of memory or address space (RLIMIT_AS is unlimited) (memory mapping \
             count unknown)"
        );
    }

    #[test]
    fn check_capacity_passes_far_from_the_limit_and_rejects_bad_sizes() {
        check_capacity(256 * 1024).unwrap();
        check_capacity(0).unwrap();
        let error = check_capacity(usize::MAX).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn capacity_check_looks_closer_only_near_the_limit() {
        // 65530 allows 65530 - 4096 - 2 = 61432 areas held by stacks before counting.
        assert!(!near_map_count_limit(0, 2, 65_530));
        assert!(!near_map_count_limit(61_430, 2, 65_530));
        assert!(near_map_count_limit(61_432, 2, 65_530));
        assert!(!near_map_count_limit(61_432, 1, 65_530));
        assert!(near_map_count_limit(usize::MAX, 2, 65_530));
        assert!(near_map_count_limit(0, 2, 1_000));
    }

    #[test]
    fn capacity_check_near_the_limit_counts_and_names_it() {
        let unreachable = || -> (Option<usize>, Option<usize>) { panic!("counted far from the limit") };
        check_capacity_with(4096, 2, 20, Some(65_530), unreachable).unwrap();
        check_capacity_with(4096, 2, 20, None, unreachable).unwrap();

        // Near the cached limit, but the real count leaves room.
        check_capacity_with(4096, 2, 61_432, Some(65_530), || (Some(65_000), Some(65_530))).unwrap();
        // The sysctl was raised since it was cached.
        check_capacity_with(4096, 2, 61_432, Some(65_530), || (Some(65_529), Some(262_144))).unwrap();
        // /proc unreadable: no early failure.
        check_capacity_with(4096, 2, 61_432, Some(65_530), || (None, None)).unwrap();

        let error =
            check_capacity_with(256 * 1024, 2, 64_000, Some(65_530), || (Some(65_529), Some(65_530))).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::OutOfMemory);
        assert_eq!(
            error.to_string(),
            "cannot allocate a green thread stack: the process has 65529 memory mappings, the \
             limit set by vm.max_map_count (65530); each green thread stack needs 2 (run fewer \
             green threads at once, or raise the limit with `sysctl vm.max_map_count=N`)"
        );
    }

    #[test]
    fn stack_mappings_are_counted() {
        // Other tests map stacks concurrently: only check that ours are seen.
        let stacks: Vec<_> = (0..8).map(|_| GuardedStack::new(4096).unwrap()).collect();
        let expected = match guard_kind() {
            GuardKind::Protected => 2 * stacks.len(),
            GuardKind::Installed => 1,
        };
        assert!(STACK_MAPPINGS.load(Ordering::Relaxed) >= expected);
    }

    #[test]
    fn proc_readers_work_here() {
        let mappings = count_mappings().unwrap();
        assert!(mappings > 10, "{mappings}");
        assert!(read_max_map_count().unwrap() > mappings);
    }

    /// Runs `test_name` in a child process with `scenario` in [`CHILD_SCENARIO`].
    fn run_child(test_name: &str, scenario: &str) -> Output {
        super::super::test_child::run_child(CHILD_SCENARIO, test_name, scenario)
    }

    /// Name of a test in this module as the test harness knows it.
    fn test_name(function: &str) -> String {
        let module = module_path!();
        let module = module.split_once("::").map_or(module, |(_, rest)| rest);
        format!("{module}::{function}")
    }

    /// Reads the address space size of this process from `/proc/self/status`.
    fn address_space_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|line| line.starts_with("VmSize:")).unwrap();
        let kibibytes: u64 = line.trim_start_matches("VmSize:").trim().trim_end_matches("kB").trim().parse().unwrap();
        kibibytes * 1024
    }

    /// Child side: lower `RLIMIT_AS` to 64 MiB above what is mapped now, then
    /// allocate stacks until the kernel refuses, and print what happened.
    fn exhaust_address_space() {
        const HEADROOM: u64 = 64 * 1024 * 1024;
        let limit = address_space_size() + HEADROOM;
        let rlimit = libc::rlimit { rlim_cur: limit, rlim_max: limit };
        // SAFETY: `setrlimit` reads one `rlimit` from a live local; lowering a
        // limit affects only this child process.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) }, 0);
        let mut stacks = Vec::with_capacity(1024);
        let error = loop {
            match GuardedStack::new(256 * 1024) {
                Ok(stack) => stacks.push(stack),
                Err(error) => break error,
            }
            assert!(stacks.len() < 1024, "RLIMIT_AS was not enforced");
        };
        let allocated = stacks.len();
        drop(stacks);
        println!("allocated {allocated} stacks");
        println!("kind {:?}", error.kind());
        println!("message {error}");
    }

    #[test]
    fn rlimit_exhaustion_reports_address_space_limit() {
        if env::var(CHILD_SCENARIO).as_deref() == Ok("exhaust_address_space") {
            exhaust_address_space();
            return;
        }
        let output = run_child(&test_name("rlimit_exhaustion_reports_address_space_limit"), "exhaust_address_space");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("kind OutOfMemory"), "{stdout}");
        assert!(
            stdout.contains(
                "message cannot allocate a green thread stack of 262144 bytes (266240 with its \
                 guard page): the address space limit RLIMIT_AS"
            ),
            "{stdout}"
        );
        // 64 MiB of headroom holds at most 252 stacks of 260 KiB.
        let allocated: usize = stdout
            .split("allocated ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|count| count.parse().ok())
            .unwrap();
        assert!((1..=252).contains(&allocated), "{stdout}");
    }
}
