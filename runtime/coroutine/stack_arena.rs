//! Stacks carved out of large shared mappings, each guard page a page-table marker: a green thread costs no
//! kernel memory area.
//!
//! A guard page made with `mprotect` splits its mapping in two virtual memory areas (VMAs), and Linux caps a
//! process at `vm.max_map_count` of them (65,530 by default): about 32,000 green threads. Linux 6.13 added
//! `madvise(MADV_GUARD_INSTALL)`, which writes a guard marker into the page tables instead: touching the page
//! raises `SIGSEGV` exactly as a `PROT_NONE` page does (same signal, the faulting address in `si_addr`), but the
//! mapping stays one area. So the stacks of one size class live side by side in one large arena:
//!
//! ```text
//!   one arena: a single mmap (PROT_READ|PROT_WRITE, MAP_NORESERVE), one VMA
//!   +-------+-------------------+-------+-------------------+-------+------------ ... ---+
//!   | guard | usable part       | guard | usable part       | guard |   not carved yet    |
//!   +-------+-------------------+-------+-------------------+-------+------------ ... ---+
//!   ^ slot 0                    ^ slot 1                    ^ slot 2 = `carved`
//!   each slot: guard marker (one page) + usable part; the stack grows down towards its own guard
//! ```
//!
//! # Kinds of guard
//!
//! [`guard_kind`] decides once per process, on first use:
//!
//! - [`GuardKind::Installed`] when the kernel accepts `MADV_GUARD_INSTALL` on a scratch mapping (Linux 6.13 and
//!   later). Stacks come from arenas; stacks too large for an arena slot get a mapping of their own whose guard
//!   is installed the same way (one area each).
//! - [`GuardKind::Protected`] when it refuses (`EINVAL` before 6.13), or when the environment variable
//!   [`GUARD_KIND_VARIABLE`] is `mprotect`: every stack is its own mapping with an `mprotect` guard page, two
//!   areas, as before arenas existed (tests use the variable to run the overflow report on both kinds).
//!
//! # State
//!
//! One registry per process, behind a mutex: for each slot length in use (the default stack size, the
//! alternate signal stacks, sizes asked for with `Builder::stack_size`) a `SizeClass` with its arenas in the
//! order they were mapped. Each arena keeps:
//!
//! 1. `carved`: slots `0..carved` have their guard installed; slots from `carved` on were never handed out and
//!    have no guard yet. Slots are carved [`CARVE_BATCH`] at a time, their guards installed with one
//!    `process_madvise` (Linux 6.15; one `madvise` each before): the only system call new slots cost.
//! 2. `free`: carved slots not in use, with no resident page: never used yet, or given back, their pages then
//!    dropped (`MADV_DONTNEED`, which leaves guard markers in place). Taking one costs no system call, only the
//!    page fault of its first touch.
//! 3. `live`: slots handed out and not returned: `carved - free.len()`.
//!
//! A slot is taken from the first arena of its class with a free or uncarved slot, so live stacks gather in the
//! oldest arenas and the newer ones can empty. Arenas grow geometrically: the first of a class is
//! [`FIRST_ARENA_LENGTH`], each next one twice the last, up to [`LARGEST_ARENA_LENGTH`]; 1,000,000 stacks of
//! 256 KiB fit in about ten.
//!
//! # Giving memory and address space back
//!
//! - Memory: the stack pool keeps the stacks it caches resident (that is its purpose). Stacks it trims, and
//!   every stack dropped outside a pool, come back here; their usable part is dropped with `MADV_DONTNEED`, in
//!   one call per run of adjacent slots when many come back together ([`return_slots`]). `MADV_FREE` costs a
//!   little less per call, but its pages stay counted in the resident set until the kernel runs short of
//!   memory, so a process would not be seen to shrink; we chose the drop that shows.
//! - Address space and page tables: an arena whose last live slot comes back is unmapped, unless it is the
//!   first of its class (kept to absorb the next burst without an `mmap`). A guard marker lives in a page table
//!   page (4 KiB per 2 MiB of arena, so about 512 bytes per 256 KiB stack), which only `munmap` frees; an arena
//!   that keeps a few live stacks keeps its page tables.
//!
//! # When an arena cannot be mapped
//!
//! Under an `RLIMIT_AS` (or with `vm.overcommit_memory = 2`, where `MAP_NORESERVE` is ignored) a large arena may
//! not fit. Then smaller arenas are tried, down to [`SLOTS_IN_SMALLEST_ARENA`] slots, and last a mapping for the
//! one stack: the process then runs out exactly where per-stack mappings did, with the same error.
//!
//! # Ownership
//!
//! A slot handed out by [`take_slot`] belongs to the caller (a `GuardedStack`) until it gives it back with
//! [`return_slots`]; the registry never touches the memory of a live slot. The lock is taken only when a stack
//! pool misses or trims, never on the steady-state spawn path.

use std::io;
use std::ptr;
use std::sync::{Mutex, OnceLock};

/// `madvise` advice that installs guard markers on a range (Linux 6.13, `include/uapi/asm-generic/mman-common.h`).
/// Defined here because the `libc` crate does not have it yet.
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Environment variable that selects the kind of guard page: `mprotect` forces [`GuardKind::Protected`] even where
/// the kernel supports guard markers; any other value, or none, lets the runtime detect it. Read once, by the
/// first stack the process maps.
pub(crate) const GUARD_KIND_VARIABLE: &str = "GREEN_STACK_GUARDS";

/// How the guard page below every stack is made in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardKind {
    /// `madvise(MADV_GUARD_INSTALL)`: a page-table marker, no extra memory area; stacks come from arenas.
    Installed,
    /// `mprotect(PROT_NONE)` on the lowest page of a mapping per stack: two memory areas per stack.
    Protected,
}

/// Returns the kind of guard this process uses, detecting it on the first call (see the module docs).
pub(crate) fn guard_kind() -> GuardKind {
    static KIND: OnceLock<GuardKind> = OnceLock::new();
    *KIND.get_or_init(|| {
        if std::env::var_os(GUARD_KIND_VARIABLE).is_some_and(|value| value == "mprotect") {
            log::debug!(target: "green::coroutine", "stacks: {GUARD_KIND_VARIABLE}=mprotect, guard pages by mprotect");
            return GuardKind::Protected;
        }
        match probe_guard_install() {
            Ok(()) => GuardKind::Installed,
            Err(error) => {
                log::debug!(
                    target: "green::coroutine",
                    "stacks: MADV_GUARD_INSTALL unavailable ({error}), guard pages by mprotect"
                );
                GuardKind::Protected
            }
        }
    })
}

/// Tries `MADV_GUARD_INSTALL` on a scratch mapping of two pages.
fn probe_guard_install() -> io::Result<()> {
    let length = 2 * page_size();
    let start = map_anonymous(length)?;
    let result = install_guard(start, page_size());
    // SAFETY: `start..start + length` is the scratch mapping made above, referenced by nothing else.
    unsafe { libc::munmap(start as *mut libc::c_void, length) };
    result
}

/// Installs a guard marker on every page of `start..start + length`.
///
/// Any page already populated there is dropped first by the kernel; the caller must own the range.
pub(crate) fn install_guard(start: usize, length: usize) -> io::Result<()> {
    loop {
        // SAFETY: the caller owns the range (a slot not yet handed out, or a mapping it just made); installing
        // a guard only changes what a later access to those pages does.
        let result = unsafe { libc::madvise(start as *mut libc::c_void, length, MADV_GUARD_INSTALL) };
        if result == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        // The kernel asks to retry when it raced with a page fault populating the range.
        if error.raw_os_error() != Some(libc::EAGAIN) && error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Maps `length` bytes of private anonymous memory, readable and writable, reserved without commit charge.
///
/// The pages take memory only when touched. Returns the start address.
pub(crate) fn map_anonymous(length: usize) -> io::Result<usize> {
    // SAFETY: an anonymous mapping at an address the kernel chooses (null, no MAP_FIXED) cannot overlap or alter
    // any existing memory; `fd` -1 and offset 0 are what MAP_ANONYMOUS requires.
    let mapping = unsafe {
        libc::mmap(
            ptr::null_mut(),
            length,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mapping == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if mapping.is_null() {
        // Only possible with `vm.mmap_min_addr = 0`; a stack at address zero cannot be described.
        // SAFETY: `mapping` is the mapping just created, referenced by nothing else.
        unsafe { libc::munmap(mapping, length) };
        return Err(io::Error::other("mmap placed a green thread stack at address zero"));
    }
    Ok(mapping as usize)
}

/// Returns the size of a memory page.
pub(crate) fn page_size() -> usize {
    // Asked once: `sysconf` is cheap but not free, and every spawn rounds a size.
    static PAGE_SIZE: OnceLock<usize> = OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        // SAFETY: `sysconf` only reads a configuration value; `_SC_PAGESIZE` is a valid name on every Linux
        // system. glibc answers from the auxiliary vector, without a system call.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if size > 0 {
            size as usize
        } else {
            // Unreachable on Linux; 4 KiB is the x86_64 page size.
            4096
        }
    })
}

/// Address space of the first arena of a size class.
const FIRST_ARENA_LENGTH: usize = 256 << 20;

/// Address space of the largest arena: arenas double up to this.
const LARGEST_ARENA_LENGTH: usize = 64 << 30;

/// Fewest slots an arena is made with when a large one cannot be mapped.
const SLOTS_IN_SMALLEST_ARENA: usize = 16;

/// Longest slot (guard page plus usable part) carved from arenas; a longer stack gets a mapping of its own. At
/// least [`SLOTS_IN_SMALLEST_ARENA`] slots fit in a first arena.
pub(crate) const LARGEST_SLOT: usize = FIRST_ARENA_LENGTH / SLOTS_IN_SMALLEST_ARENA;

/// One large mapping cut into slots of one length.
struct StackArena {
    /// Lowest address of the mapping. Page-aligned.
    start: usize,
    /// Slots the mapping holds: its length is `capacity * slot_length`.
    capacity: usize,
    /// Slots `0..carved` have their guard installed (state item 1).
    carved: usize,
    /// Indices of carved slots not in use, pages dropped, guard in place (state item 2). Last in, first out.
    free: Vec<u32>,
}

impl StackArena {
    /// Slots handed out and not returned.
    fn live(&self) -> usize {
        self.carved - self.free.len()
    }
}

/// The arenas of one slot length.
struct SizeClass {
    /// Length of every slot: one guard page plus the usable part. Page-aligned.
    slot_length: usize,
    /// Arenas in the order they were mapped; slots are taken from the first with room.
    arenas: Vec<StackArena>,
    /// Address space of the next arena to map.
    next_arena_length: usize,
}

/// Every size class of the process (state of the module docs).
static REGISTRY: Mutex<Vec<SizeClass>> = Mutex::new(Vec::new());

/// Locks the registry. A panic while it was held cannot leave it inconsistent (no operation panics between
/// two related updates), so a poisoned lock is used as is.
fn registry() -> std::sync::MutexGuard<'static, Vec<SizeClass>> {
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returns the start of a slot of `slot_length` bytes with its guard installed on the lowest page and no page
/// of it resident, and whether mapping it made a new memory area (an arena, counted by the caller).
///
/// `slot_length` must be a multiple of the page size and at most [`LARGEST_SLOT`].
///
/// # Errors
///
/// The `mmap` or `madvise` error as is (`ENOMEM` when no arena, however small, can be mapped).
pub(crate) fn take_slot(slot_length: usize) -> io::Result<(usize, bool)> {
    debug_assert!(slot_length <= LARGEST_SLOT && slot_length % page_size() == 0);
    let mut registry = registry();
    let class_index = match registry.iter().position(|class| class.slot_length == slot_length) {
        Some(index) => index,
        None => {
            registry.push(SizeClass { slot_length, arenas: Vec::new(), next_arena_length: FIRST_ARENA_LENGTH });
            registry.len() - 1
        }
    };
    let class = &mut registry[class_index];
    if !class.arenas.iter().any(|arena| !arena.free.is_empty() || arena.carved < arena.capacity) {
        let mut arena = map_arena(class)?;
        return match take_from(&mut arena, slot_length) {
            Ok(start) => {
                class.arenas.push(arena);
                Ok((start, true))
            }
            Err(error) => {
                // SAFETY: the arena was mapped just above and handed nothing out.
                unsafe { libc::munmap(arena.start as *mut libc::c_void, arena.capacity * slot_length) };
                Err(error)
            }
        };
    }
    for arena in &mut class.arenas {
        if !arena.free.is_empty() || arena.carved < arena.capacity {
            return Ok((take_from(arena, slot_length)?, false));
        }
    }
    unreachable!("an arena with room was found above")
}

/// Takes a slot from `arena`, which has a free or an uncarved one: a free one if any, otherwise carves the next
/// [`CARVE_BATCH`] slots (one system call for their guards where the kernel allows) and keeps the rest free.
fn take_from(arena: &mut StackArena, slot_length: usize) -> io::Result<usize> {
    if let Some(index) = arena.free.pop() {
        return Ok(arena.start + index as usize * slot_length);
    }
    let first = arena.carved;
    let count = (arena.capacity - first).min(CARVE_BATCH);
    let mut guards = [0usize; CARVE_BATCH];
    for (offset, guard) in guards.iter_mut().take(count).enumerate() {
        *guard = arena.start + (first + offset) * slot_length;
    }
    install_guards(guards.get(..count).unwrap_or_default())?;
    arena.carved += count;
    // Popped lowest first, so stacks fill the arena in address order.
    arena.free.extend((first + 1..first + count).rev().map(|index| index as u32));
    Ok(arena.start + first * slot_length)
}

/// Slots carved at once when an arena has no free slot: their guards cost one `process_madvise` instead of one
/// `madvise` each (about 0.65 instead of 1.0 µs of CPU per guard, measured on Linux 6.18 in a VM). An unused
/// carved slot costs no memory: a guard marker needs only the page table page its neighbours use anyway.
const CARVE_BATCH: usize = 64;

/// `PIDFD_SELF`: names the calling process in pidfd system calls (Linux 6.15); not in `libc` yet.
const PIDFD_SELF: libc::c_int = -10001;

/// Installs a one-page guard at each address of `starts`: one `process_madvise` call where the kernel accepts
/// guard installs through it on `PIDFD_SELF` (Linux 6.15 and later), one `madvise` per page otherwise.
fn install_guards(starts: &[usize]) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Cleared when `process_madvise` failed once: the kernel lacks it, `PIDFD_SELF`, or this advice.
    static VECTORED: AtomicBool = AtomicBool::new(true);
    if starts.len() > 1 && VECTORED.load(Ordering::Relaxed) {
        let ranges: Vec<libc::iovec> = starts
            .iter()
            .map(|&start| libc::iovec { iov_base: start as *mut libc::c_void, iov_len: page_size() })
            .collect();
        // SAFETY: `ranges` describes pages of slots the caller owns and has not handed out (as for
        // `install_guard`); the kernel only reads the vector, which outlives the call.
        let advised = unsafe {
            libc::syscall(libc::SYS_process_madvise, PIDFD_SELF, ranges.as_ptr(), ranges.len(), MADV_GUARD_INSTALL, 0)
        };
        if advised == (ranges.len() * page_size()) as libc::c_long {
            return Ok(());
        }
        // Not supported, or stopped part way: one by one (installing a guard twice does no harm).
        VECTORED.store(false, Ordering::Relaxed);
    }
    starts.iter().try_for_each(|&start| install_guard(start, page_size()))
}

/// Maps the next arena of `class`, smaller ones when the kernel refuses (see the module docs).
fn map_arena(class: &mut SizeClass) -> io::Result<StackArena> {
    let slot_length = class.slot_length;
    let mut capacity = (class.next_arena_length / slot_length).max(SLOTS_IN_SMALLEST_ARENA);
    loop {
        match map_anonymous(capacity * slot_length) {
            Ok(start) => {
                class.next_arena_length = (capacity * slot_length).saturating_mul(2).min(LARGEST_ARENA_LENGTH);
                log::debug!(
                    target: "green::coroutine",
                    "stack arena: mapped {} slots of {slot_length} bytes at {start:#x}",
                    capacity
                );
                return Ok(StackArena { start, capacity, carved: 0, free: Vec::new() });
            }
            Err(error) if error.raw_os_error() == Some(libc::ENOMEM) && capacity > 1 => {
                capacity = if capacity > SLOTS_IN_SMALLEST_ARENA { capacity / 2 } else { 1 };
            }
            Err(error) => return Err(error),
        }
    }
}

/// Takes back slots handed out by [`take_slot`]: drops their pages (one `madvise` per run of adjacent slots)
/// and makes them free, unmapping arenas left with no live slot but the first of each class. Returns how many
/// arenas were unmapped (memory areas the caller stops counting).
///
/// `slots` holds `(start, slot_length)` pairs; it is sorted in place.
///
/// # Safety
///
/// Every slot must have come from [`take_slot`] with that length, be returned once, and nothing may use its
/// memory any more: its pages are discarded and it will be handed out again.
pub(crate) unsafe fn return_slots(slots: &mut [(usize, usize)]) -> usize {
    slots.sort_unstable();
    let guard = page_size();
    let mut run_start = 0;
    for (index, &(start, length)) in slots.iter().enumerate() {
        let next_is_adjacent = slots.get(index + 1).is_some_and(|&(next, _)| next == start + length);
        if next_is_adjacent {
            continue;
        }
        let (first, _) = slots[run_start];
        // Skip the first slot's guard page; the guards inside the run keep their markers.
        let (from, to) = (first + guard, start + length);
        // SAFETY: the range covers slots the caller gives back and no longer uses (this function's contract);
        // dropping their pages only makes later reads see zeros. It lies in one or more arenas, which stay mapped
        // at least until the slots are marked free below.
        let result = unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
        if result != 0 {
            // Only possible on a bug (the range is mapped): the pages stay resident, nothing worse.
            log::error!("madvise(MADV_DONTNEED) of green thread stacks failed: {}", io::Error::last_os_error());
        }
        run_start = index + 1;
    }

    let mut registry = registry();
    let mut unmapped = 0;
    for &(start, length) in slots.iter() {
        let Some(class) = registry.iter_mut().find(|class| class.slot_length == length) else {
            debug_assert!(false, "a returned slot of unknown length {length}");
            continue;
        };
        let Some(position) =
            class.arenas.iter().position(|arena| (arena.start..arena.start + arena.capacity * length).contains(&start))
        else {
            debug_assert!(false, "a returned slot at {start:#x} outside every arena");
            continue;
        };
        let arena = &mut class.arenas[position];
        arena.free.push(((start - arena.start) / length) as u32);
        if arena.live() == 0 && position > 0 {
            let arena = class.arenas.remove(position);
            // SAFETY: the arena has no live slot, and its free slots are forgotten with it: nothing refers to
            // its memory any more.
            unsafe { libc::munmap(arena.start as *mut libc::c_void, arena.capacity * length) };
            log::debug!(target: "green::coroutine", "stack arena: unmapped {} slots at {:#x}", arena.capacity, arena.start);
            unmapped += 1;
        }
    }
    unmapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_detected_once_and_matches_the_variable() {
        let kind = guard_kind();
        assert_eq!(guard_kind(), kind);
        if std::env::var_os(GUARD_KIND_VARIABLE).is_some_and(|value| value == "mprotect") {
            assert_eq!(kind, GuardKind::Protected);
        } else {
            assert_eq!(kind == GuardKind::Installed, probe_guard_install().is_ok());
        }
    }

    #[test]
    fn slots_are_reused_after_return_and_adjacent_runs_are_merged() {
        if probe_guard_install().is_err() {
            eprintln!("skipped: this kernel has no MADV_GUARD_INSTALL");
            return;
        }
        // A length no other test uses, so this test owns its size class.
        let length = 37 * page_size();
        let slots: Vec<_> = (0..5).map(|_| take_slot(length).unwrap()).collect();
        assert!(slots[0].1, "the first slot of a class maps its arena");
        assert!(slots[1..].iter().all(|&(_, new)| !new));
        for pair in slots.windows(2) {
            assert_eq!(pair[1].0, pair[0].0 + length, "slots are carved in order");
        }
        // Dirty the top page of each, then give them all back.
        for &(start, _) in &slots {
            // SAFETY: the slot is ours; its usable part is readable and writable.
            unsafe { ptr::write_volatile((start + length - 8) as *mut u64, 7) };
        }
        let mut returned: Vec<_> = slots.iter().rev().map(|&(start, _)| (start, length)).collect();
        // SAFETY: taken above, returned once, not used after.
        assert_eq!(unsafe { return_slots(&mut returned) }, 0, "the first arena of a class stays");
        let (again, new) = take_slot(length).unwrap();
        assert!(!new);
        assert!(slots.iter().any(|&(start, _)| start == again));
        // SAFETY: `again` is ours now; its pages were dropped, so it reads as zero.
        assert_eq!(unsafe { ptr::read_volatile((again + length - 8) as *const u64) }, 0);
        // SAFETY: taken above, returned once.
        unsafe { return_slots(&mut [(again, length)]) };
    }
}
