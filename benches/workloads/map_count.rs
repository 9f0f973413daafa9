//! Whether a run that needs many concurrent green stacks fits at this machine's settings. Nothing is changed:
//! no part of the benches needs root or `sysctl`.
//!
//! Where the kernel has `MADV_GUARD_INSTALL` (Linux 6.13 and later), green stacks are slots of shared arenas
//! and cost no memory mapping each, so any number fits that memory allows. On older kernels each stack is two
//! mappings, and `vm.max_map_count` (65,530 by default) bounds them at about 32,000.

/// Where the mapping limit lives.
const MAX_MAP_COUNT_PATH: &str = "/proc/sys/vm/max_map_count";

/// The current `vm.max_map_count` (0 when unreadable).
pub fn max_map_count() -> usize {
    std::fs::read_to_string(MAX_MAP_COUNT_PATH).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// Whether this kernel accepts `madvise(MADV_GUARD_INSTALL)`, tried on a scratch mapping (as the runtime does
/// once per process to choose its kind of stack).
pub fn kernel_has_guard_markers() -> bool {
    /// The advice's value (`include/uapi/asm-generic/mman-common.h`); `libc` does not define it yet.
    const MADV_GUARD_INSTALL: libc::c_int = 102;
    let length = 8192;
    // SAFETY: an anonymous mapping at an address the kernel chooses cannot alter existing memory.
    let mapping = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            length,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mapping == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: the first page of the scratch mapping above, used by nothing else.
    let supported = unsafe { libc::madvise(mapping, 4096, MADV_GUARD_INSTALL) } == 0;
    // SAFETY: the scratch mapping above, no longer used.
    unsafe { libc::munmap(mapping, length) };
    supported
}

/// `Ok` when `stacks` concurrent green stacks fit at the current settings; otherwise why not, for the report.
pub fn room_for(stacks: usize) -> Result<(), String> {
    if kernel_has_guard_markers() {
        return Ok(());
    }
    let needed = 2 * stacks + 10_000;
    let limit = max_map_count();
    if limit >= needed {
        Ok(())
    } else {
        Err(format!(
            "this kernel has no MADV_GUARD_INSTALL (Linux 6.13), so {stacks} green stacks need vm.max_map_count \
             >= {needed} (is {limit})"
        ))
    }
}
