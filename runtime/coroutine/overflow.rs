//! The stack overflow report: a green thread that runs off the end of its
//! stack prints `green thread '<name>' overflowed its stack` and aborts.
//!
//! Without this module an overflow touches the guard page of a
//! [`GuardedStack`] and the process dies of a bare `SIGSEGV`: Rust's own
//! handler only recognises the guard pages of OS thread stacks, so it treats
//! the fault as an ordinary crash. This module installs a
//! `SIGSEGV`/`SIGBUS` handler in front of it that knows which green thread runs
//! on each OS thread and where that green thread's guard page is.
//!
//! ```text
//!   fault (SIGSEGV) on OS thread T, kernel switches T to its alternate stack
//!        |
//!        v
//!   handle_fault: fault address inside RUNNING(T).guard ?
//!        |                                   |
//!       yes                                  no
//!        |                                   |
//!   write "green thread 'name'         forward to the handler that was there
//!   overflowed its stack" to fd 2      before (Rust's: reports main-thread or
//!   abort() -> SIGABRT                 std::thread overflows, else restores
//!                                      SIG_DFL, then the fault repeats and
//!                                      kills the process with SIGSEGV)
//! ```
//!
//! # Protocol
//!
//! 1. [`install`] once per process, before the first green thread runs (it
//!    may be called again; later calls do nothing).
//! 2. [`ensure_alternate_stack`] once on each worker thread, before it runs
//!    a green thread. The kernel delivers the fault on the stack that
//!    overflowed unless the thread has an alternate signal stack, and an
//!    overflowed stack has no room for a signal frame: without it the report
//!    cannot run and the process dies of `SIGSEGV`.
//! 3. [`enter`] each time a green thread starts or resumes running on the OS
//!    thread, [`leave`] each time it stops (suspends, ends, or unwinds). Either
//!    the worker calls them around `Coroutine::resume`, or the green thread
//!    itself calls `enter` first thing after switching in and `leave` last
//!    thing before switching out (as `context.rs` does); the few frames
//!    outside the pair are too shallow to overflow. Between the two, a fault
//!    in that green thread's guard page is reported as its overflow. Outside,
//!    the worker runs on its OS thread stack, whose overflows Rust's handler
//!    reports.
//!
//! # State
//!
//! - `RUNNING`, one per OS thread: the guard page, name and id of the green
//!   thread running on it, or an empty guard range when none does. A `const`
//!   initialised `thread_local!` of a `Copy` type: no lazy initialisation, no
//!   destructor, so reading it is a plain load from thread-local storage and
//!   allowed in a signal handler, and writing it on every switch costs five
//!   stores.
//! - `PREVIOUS_ACTIONS`, one per process: the `SIGSEGV` and `SIGBUS` actions
//!   found by [`install`], each set once before the handler that reads it is
//!   installed.
//! - `ALTERNATE_STACK`, one per OS thread: the alternate signal stack this
//!   module allocated for the thread, if it had none or one too small. Its
//!   destructor disables and unmaps it when the thread exits.
//!
//! # Ownership
//!
//! `RUNNING` and `ALTERNATE_STACK` are touched only by their own thread
//! (and by the handler running on that thread). The name recorded by
//! [`enter`] is borrowed, not copied: the caller keeps it alive until
//! [`leave`], which is why `enter` is `unsafe`.
//!
//! # What the handler may do
//!
//! Only async-signal-safe work: the fault can happen inside `malloc` or while
//! any lock is held. The handler reads `RUNNING`, formats the message into a
//! buffer on its own stack (the id is formatted by hand, not with
//! `core::fmt`), `write`s it to file descriptor 2 and calls `abort`. It
//! allocates nothing and takes no lock.
//!
//! In an executable, a thread-local like `RUNNING` is read at a fixed offset
//! from the thread pointer (`%fs`). Built into a shared library loaded with
//! `dlopen`, the first access on a thread may allocate its thread-local block;
//! on a worker thread `enter` has made that access before any green thread
//! can fault.
//!
//! # Limits
//!
//! A fault is reported as an overflow only when it hits the guard page.
//! Rust frames cannot skip it (the compiler probes every page of a frame
//! larger than a page), but C code called from a green thread, which has no
//! stack probes, can move the stack pointer past the guard with one large
//! frame and corrupt the memory below, possibly another stack.

use std::cell::{Cell, RefCell};
use std::io;
use std::mem;
use std::ops::Range;
use std::ptr;
use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::{Once, OnceLock};

use super::stack::GuardedStack;

/// The green thread running on an OS thread, as the fault handler sees it.
#[derive(Clone, Copy)]
struct RunningGreenThread {
    /// Lowest address of the green thread's guard page; `0` when no green
    /// thread runs.
    guard_start: usize,
    /// One past the highest address of the guard page; `0` when no green
    /// thread runs, so that no address is in `guard_start..guard_end`.
    guard_end: usize,
    /// First byte of the green thread's name, null when it has none. Valid
    /// until `leave`, by the contract of `enter`.
    name_pointer: *const u8,
    /// Length of the name in bytes; `0` when it has none.
    name_length: usize,
    /// Numeric id of the green thread, printed when it has no name.
    id: u64,
}

/// The record of an OS thread that runs no green thread.
const NO_GREEN_THREAD: RunningGreenThread =
    RunningGreenThread { guard_start: 0, guard_end: 0, name_pointer: ptr::null(), name_length: 0, id: 0 };

// A type without drop glue gets a thread-local without destructor
// registration or lazy-initialisation state, so reading it in the handler
// cannot run any code.
const _: () = assert!(!mem::needs_drop::<Cell<RunningGreenThread>>());

thread_local! {
    /// The green thread running on this OS thread; see the module's `# State`.
    static RUNNING: Cell<RunningGreenThread> = const { Cell::new(NO_GREEN_THREAD) };

    /// The alternate signal stack this module allocated for this thread.
    static ALTERNATE_STACK: RefCell<Option<AlternateStack>> = const { RefCell::new(None) };
}

/// The signals this module handles: a guard page hit is `SIGSEGV` on Linux;
/// `SIGBUS` is handled the same way for faults reported through it.
const HANDLED_SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// The action in place for each of `HANDLED_SIGNALS` before `install`, in the
/// same order. Set once, before the handler that reads it is installed;
/// `OnceLock::get` is a single atomic load, safe in a signal handler.
static PREVIOUS_ACTIONS: [OnceLock<libc::sigaction>; 2] = [OnceLock::new(), OnceLock::new()];

/// Stack the handler needs on top of the kernel's signal frame: its own frames
/// with the 256-byte message buffer, `write` and `abort` (under 1 KiB in a
/// debug build), or the handler it forwards to (Rust's formats one line).
const HANDLER_STACK_BUDGET: usize = 4096;

/// Size of the alternate signal stacks this module allocates. Generous because
/// a forwarded-to handler may need more than ours, and cheap because only the
/// touched pages become resident.
const ALLOCATED_ALTERNATE_STACK_SIZE: usize = 64 * 1024;

/// Installs the `SIGSEGV` and `SIGBUS` handler that reports green thread stack
/// overflows.
///
/// Idempotent and thread-safe: the first call installs, later calls return at
/// once. The handler replaces whatever action was in place (normally Rust's
/// own, which reports overflows of OS thread stacks) and forwards every fault
/// that is not a green thread overflow to it; see [`handle_fault`].
///
/// Call it before the first green thread runs. It does not set up alternate
/// signal stacks: each worker thread calls [`ensure_alternate_stack`].
///
/// If the kernel refuses an action (it cannot for these two signals), the
/// error is logged and that signal is left as it was.
pub(crate) fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        for (signal, previous_slot) in HANDLED_SIGNALS.iter().zip(&PREVIOUS_ACTIONS) {
            install_for(*signal, previous_slot);
        }
    });
}

/// Saves the current action for `signal` into `previous_slot`, then installs
/// `handle_fault`.
fn install_for(signal: libc::c_int, previous_slot: &OnceLock<libc::sigaction>) {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes are a
    // valid value (a null handler is SIG_DFL, an empty mask, no flags).
    let mut previous: libc::sigaction = unsafe { mem::zeroed() };
    // SAFETY: a null new action only queries; `previous` is a live, writable
    // `sigaction`.
    if unsafe { libc::sigaction(signal, ptr::null(), &mut previous) } != 0 {
        log::error!("cannot read the action of signal {signal}: {}", io::Error::last_os_error());
        return;
    }
    // Saved before installing, so the handler never sees an empty slot.
    // `install` runs this once per slot, under `INSTALLED`.
    if previous_slot.set(previous).is_err() {
        return;
    }

    // SAFETY: as above, all-zero bytes are a valid `sigaction`.
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = handle_fault as extern "C" fn(_, _, _) as libc::sighandler_t;
    // SA_SIGINFO: the handler needs the fault address. SA_ONSTACK: the
    // faulting stack is full, the handler must run on the alternate stack.
    // No SA_NODEFER: a fault inside the handler itself must kill the process
    // (the kernel does so for a blocked synchronous signal), not recurse.
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: `action.sa_mask` is a live `sigset_t` to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and `handle_fault` has the
    // three-argument signature SA_SIGINFO requires.
    if unsafe { libc::sigaction(signal, &action, ptr::null_mut()) } != 0 {
        log::error!(
            "cannot install the green thread overflow handler for signal {signal}: {}",
            io::Error::last_os_error()
        );
    }
}

/// An alternate signal stack allocated by [`ensure_alternate_stack`], owned by
/// the thread it is installed on.
struct AlternateStack {
    /// The memory; its guard page catches an overflow of the handler itself.
    stack: GuardedStack,
}

impl Drop for AlternateStack {
    fn drop(&mut self) {
        // Runs when the thread exits. Disable the alternate stack before
        // `stack` unmaps it, unless something else replaced it meanwhile.
        let ours = self.stack.guard_range().end;
        // SAFETY: `stack_t` is a plain C struct; all-zero bytes are valid.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: a null new stack only queries; `current` is live and writable.
        let queried = unsafe { libc::sigaltstack(ptr::null(), &mut current) } == 0;
        if queried && current.ss_sp as usize == ours && current.ss_flags & libc::SS_ONSTACK == 0 {
            let disable = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
            // SAFETY: disabling the alternate stack of the calling thread,
            // which is not running on it (checked above).
            unsafe { libc::sigaltstack(&disable, ptr::null_mut()) };
        }
    }
}

/// Returns the alternate stack size below which the handler might not fit:
/// the kernel's signal frame (which grows with the CPU's register state, so
/// ask the kernel: `AT_MINSIGSTKSZ`) plus [`HANDLER_STACK_BUDGET`].
fn required_alternate_stack_size() -> usize {
    // SAFETY: `getauxval` reads the auxiliary vector; it returns 0 for an
    // entry the kernel did not provide (before Linux 5.14).
    let signal_frame = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    signal_frame.max(libc::MINSIGSTKSZ) + HANDLER_STACK_BUDGET
}

/// Makes sure the calling OS thread has an alternate signal stack big enough
/// for the overflow handler, allocating one if it has none (or one too small).
///
/// Call it once on each worker thread before it runs a green thread. Threads
/// started by `std::thread` usually have one already (Rust installs an 8 KiB
/// alternate stack when it installs its own handler), which is kept if large
/// enough. Otherwise a 64 KiB [`GuardedStack`] is mapped and installed; it is
/// disabled and unmapped when the thread exits.
///
/// Failure (no memory for the stack) is logged, not returned: the runtime
/// still works, but an overflow on this thread then dies of a bare `SIGSEGV`.
pub(crate) fn ensure_alternate_stack() {
    // SAFETY: `stack_t` is a plain C struct; all-zero bytes are valid.
    let mut current: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: a null new stack only queries; `current` is live and writable.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        log::error!("cannot query the alternate signal stack: {}", io::Error::last_os_error());
        return;
    }
    // Running on it (inside a signal handler) it cannot be changed; a large
    // enough one is kept.
    if current.ss_flags & libc::SS_ONSTACK != 0
        || (current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= required_alternate_stack_size())
    {
        return;
    }

    let stack = match GuardedStack::new(ALLOCATED_ALTERNATE_STACK_SIZE.max(required_alternate_stack_size())) {
        Ok(stack) => stack,
        Err(error) => {
            log::error!(
                "cannot allocate an alternate signal stack, a green thread stack overflow on \
                 this thread will not be reported: {error}"
            );
            return;
        }
    };
    let alternate = libc::stack_t {
        ss_sp: stack.guard_range().end as *mut libc::c_void,
        ss_flags: 0,
        ss_size: stack.usable_size(),
    };
    let stored = ALTERNATE_STACK.try_with(|slot| {
        // `alternate` describes the usable part of `stack`, readable and writable, which stays mapped while
        // installed: it is stored in this thread's `ALTERNATE_STACK`, whose destructor disables it before
        // unmapping. A replaced earlier `AlternateStack` is dropped after the switch and leaves the new one alone.
        // SAFETY: as just said, the described memory is valid for as long as it is installed.
        if unsafe { libc::sigaltstack(&alternate, ptr::null_mut()) } != 0 {
            log::error!("cannot install an alternate signal stack: {}", io::Error::last_os_error());
            return;
        }
        slot.replace(Some(AlternateStack { stack }));
    });
    if stored.is_err() {
        // The thread is exiting and its thread-locals are being destroyed;
        // `stack` was dropped without being installed.
        log::error!("ensure_alternate_stack called while the thread is exiting");
    }
}

/// Records the green thread about to run on this OS thread: the range of its
/// guard page, its name and its id.
///
/// Call it whenever the green thread starts or resumes running on this OS
/// thread, and [`leave`] whenever it stops (see the module's `# Protocol`).
/// A fault in `guard` in between is reported as
/// `green thread '<name>' overflowed its stack` (or `green thread #<id> ...`
/// when `name` is `None`) and aborts the process.
///
/// Runs on every context switch, so it only stores five words into a
/// thread-local: no allocation, no lazy initialisation, no system call.
///
/// # Safety
///
/// The bytes of `name` must stay valid (not freed, not mutated) until [`leave`]
/// is called on this thread: the fault handler reads them through a raw
/// pointer. The runtime upholds this by passing the name owned by the green
/// thread's record, which outlives the green thread's time on the CPU.
pub(crate) unsafe fn enter(guard: Range<usize>, name: Option<&str>, id: u64) {
    let (name_pointer, name_length) = match name {
        Some(name) => (name.as_ptr(), name.len()),
        None => (ptr::null(), 0),
    };
    RUNNING.with(|running| {
        running.set(RunningGreenThread {
            guard_start: guard.start,
            guard_end: guard.end,
            name_pointer,
            name_length,
            id,
        });
    });
    // The handler runs on this thread, like an interrupt: keep the compiler
    // from moving the stores past the green thread code that follows.
    compiler_fence(Ordering::SeqCst);
}

/// Clears the record of [`enter`]; called whenever the green thread stops
/// running on this OS thread: it suspends, ends or unwinds.
///
/// From then on, faults on this thread are forwarded to the previous handler
/// and the name passed to `enter` is no longer read.
pub(crate) fn leave() {
    // The mirror of `enter`: keep the store after the green thread code.
    compiler_fence(Ordering::SeqCst);
    RUNNING.with(|running| running.set(NO_GREEN_THREAD));
}

/// The `SIGSEGV`/`SIGBUS` handler.
///
/// 1. A fault raised by the kernel (not sent with `kill`) at an address in the
///    guard page of the green thread running on this thread is an overflow:
///    report it and abort.
/// 2. Anything else is forwarded to the previous action, as if this handler
///    were not there; see [`forward_to_previous`].
///
/// Async-signal-safe: reads a thread-local without destructor, writes to
/// fd 2, calls `abort`. Preserves `errno` when it returns.
extern "C" fn handle_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: `__errno_location` returns this thread's errno, always valid.
    let errno = unsafe { *libc::__errno_location() };

    // SAFETY: installed with SA_SIGINFO, the kernel passes a valid `siginfo_t`; `si_code` is always set, and a
    // positive code means a kernel-raised fault, for which `si_addr` holds the faulting address.
    let fault_address = unsafe {
        if !info.is_null() && (*info).si_code > 0 {
            Some((*info).si_addr() as usize)
        } else {
            None
        }
    };
    if let Some(fault_address) = fault_address {
        // `try_with` cannot fail for a thread-local without destructor; if it
        // did, treat the fault as not ours.
        let running = RUNNING.try_with(Cell::get).unwrap_or(NO_GREEN_THREAD);
        if running.guard_start <= fault_address && fault_address < running.guard_end {
            report_overflow_and_abort(&running);
        }
    }

    // SAFETY: forwarding the arguments this handler received from the kernel,
    // from within the handler, as the previous handler expects to be called.
    unsafe { forward_to_previous(signal, info, context) };

    // SAFETY: as above; restore errno for the interrupted code.
    unsafe { *libc::__errno_location() = errno };
}

/// Passes a fault that is not a green thread overflow to the action that was in
/// place before [`install`].
///
/// - Previous action `SIG_DFL`: restore it and return. A real fault then
///   repeats on return and kills the process with the default action; a signal
///   sent with `kill` is raised again and delivered once the handler returns.
/// - `SIG_IGN`: a real fault cannot be ignored (the kernel would kill the
///   process anyway), so restore `SIG_DFL` and return as above; a sent signal
///   is ignored.
/// - A function: call it with the same arguments, with its `sa_mask` blocked,
///   honouring `SA_RESETHAND`. Rust's handler reports an overflow of the
///   current OS thread's stack, or restores `SIG_DFL` and returns.
///
/// # Safety
///
/// Must be called from the signal handler, with the arguments the kernel
/// passed to it.
unsafe fn forward_to_previous(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let slot = HANDLED_SIGNALS.iter().position(|&handled| handled == signal);
    let previous = slot.and_then(|slot| PREVIOUS_ACTIONS.get(slot)).and_then(OnceLock::get);
    // SAFETY: `info` comes from the kernel, valid for the handler's duration.
    let raised_by_kernel = !info.is_null() && unsafe { (*info).si_code } > 0;

    let Some(previous) = previous else {
        // Not saved (impossible once installed): behave as SIG_DFL.
        restore_default(signal, raised_by_kernel);
        return;
    };
    match previous.sa_sigaction {
        libc::SIG_DFL => restore_default(signal, raised_by_kernel),
        libc::SIG_IGN => {
            if raised_by_kernel {
                restore_default(signal, true);
            }
        }
        handler => {
            if previous.sa_flags & libc::SA_RESETHAND != 0 {
                reset_to_default(signal);
            }
            // SAFETY: blocking more signals in the handler's own mask; the
            // kernel restores the interrupted mask when the handler returns.
            unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &previous.sa_mask, ptr::null_mut()) };
            if previous.sa_flags & libc::SA_SIGINFO != 0 {
                type Action = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
                // SAFETY: with SA_SIGINFO the kernel would have called the handler with this three-argument
                // signature; `handler` is the address it registered, a function pointer of that type.
                let handler: Action = unsafe { mem::transmute(handler) };
                handler(signal, info, context);
            } else {
                // SAFETY: without SA_SIGINFO the registered address is an
                // `sa_handler`, a function taking the signal number.
                let handler: extern "C" fn(libc::c_int) = unsafe { mem::transmute(handler) };
                handler(signal);
            }
        }
    }
}

/// Restores the default action for `signal` and makes sure it happens: a real
/// fault repeats on its own once the handler returns, a sent signal is raised
/// again (it stays pending until the handler returns, as the signal is blocked
/// while its handler runs).
fn restore_default(signal: libc::c_int, raised_by_kernel: bool) {
    reset_to_default(signal);
    if !raised_by_kernel {
        // SAFETY: `raise` is async-signal-safe and `signal` is a valid signal.
        unsafe { libc::raise(signal) };
    }
}

/// Sets the action of `signal` to `SIG_DFL`. Async-signal-safe.
fn reset_to_default(signal: libc::c_int) {
    // SAFETY: all-zero bytes are a valid `sigaction`, and its handler, 0, is
    // SIG_DFL.
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = libc::SIG_DFL;
    // SAFETY: `action` is a fully initialised `sigaction`; `sigaction` is
    // async-signal-safe.
    unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
}

/// Capacity of the message buffer; longer names are cut.
const MESSAGE_CAPACITY: usize = 256;

/// Longest name printed, in bytes; longer ones are cut and end with `...`.
const NAME_LIMIT: usize = 200;

/// Writes the overflow message for `running` to stderr and aborts.
///
/// Kept out of line so the forwarding path of the handler does not carry the
/// message buffer on the (possibly small) alternate stack.
#[inline(never)]
#[cold]
fn report_overflow_and_abort(running: &RunningGreenThread) -> ! {
    let name = if running.name_pointer.is_null() {
        None
    } else {
        // SAFETY: `enter`'s contract keeps `name_length` bytes at
        // `name_pointer` valid until `leave`, and `leave` was not called since
        // `running` is still the record of this thread.
        Some(unsafe { std::slice::from_raw_parts(running.name_pointer, running.name_length) })
    };
    let mut message = MessageBuffer::new();
    format_report(&mut message, name, running.id);
    write_to_stderr(message.as_bytes());
    // SAFETY: `abort` is async-signal-safe; it raises SIGABRT and does not
    // return.
    unsafe { libc::abort() }
}

/// Writes the report line for a green thread with `name` (or `id`) into
/// `message`: `green thread 'name' overflowed its stack` or
/// `green thread #id overflowed its stack`, and a newline.
fn format_report(message: &mut MessageBuffer, name: Option<&[u8]>, id: u64) {
    message.push(b"green thread ");
    match name {
        Some(name) => {
            message.push(b"'");
            if name.len() > NAME_LIMIT {
                message.push(cut_at_char_boundary(name, NAME_LIMIT));
                message.push(b"...");
            } else {
                message.push(name);
            }
            message.push(b"'");
        }
        None => {
            message.push(b"#");
            push_decimal(message, id);
        }
    }
    message.push(b" overflowed its stack\n");
}

/// Returns the longest prefix of `bytes` of at most `limit` bytes that does not
/// end inside a UTF-8 sequence (names come from `&str`).
fn cut_at_char_boundary(bytes: &[u8], limit: usize) -> &[u8] {
    let mut end = limit.min(bytes.len());
    // A UTF-8 continuation byte looks like 0b10xx_xxxx.
    while end > 0 && bytes.get(end).is_some_and(|&byte| byte & 0b1100_0000 == 0b1000_0000) {
        end -= 1;
    }
    bytes.get(..end).unwrap_or_default()
}

/// Appends `value` in decimal without `core::fmt`.
fn push_decimal(message: &mut MessageBuffer, mut value: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(digit) = digits.get_mut(start) {
            *digit = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || start == 0 {
            break;
        }
    }
    message.push(digits.get(start..).unwrap_or_default());
}

/// A fixed buffer on the handler's stack; bytes beyond its capacity are
/// dropped.
struct MessageBuffer {
    /// The message so far, in `bytes[..length]`.
    bytes: [u8; MESSAGE_CAPACITY],
    /// Number of bytes written; at most `MESSAGE_CAPACITY`.
    length: usize,
}

impl MessageBuffer {
    /// Returns an empty buffer.
    fn new() -> MessageBuffer {
        MessageBuffer { bytes: [0; MESSAGE_CAPACITY], length: 0 }
    }

    /// Appends as much of `bytes` as fits.
    fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match self.bytes.get_mut(self.length) {
                Some(slot) => *slot = byte,
                None => return,
            }
            self.length += 1;
        }
    }

    /// Returns the message written so far.
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.length).unwrap_or_default()
    }
}

/// Writes all of `bytes` to file descriptor 2 with `write`, retrying on
/// `EINTR` and after short writes; gives up on any other error.
fn write_to_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe the live slice `bytes`;
        // `write` is async-signal-safe.
        let written = unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
        if written > 0 {
            bytes = bytes.get(written as usize..).unwrap_or_default();
        } else if written == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // Nothing written and not interrupted: stderr is closed or broken.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::env;
    use std::hint::black_box;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Output;
    use std::thread;

    use corosensei::Coroutine;

    /// Environment variable naming the scenario a child run of the test binary
    /// plays (see `child_scenario`).
    const CHILD_SCENARIO: &str = "GREEN_OVERFLOW_TEST_CHILD";

    /// Returns the report line as the handler would write it.
    fn report(name: Option<&[u8]>, id: u64) -> String {
        let mut message = MessageBuffer::new();
        format_report(&mut message, name, id);
        String::from_utf8(message.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn report_names_the_green_thread() {
        assert_eq!(report(Some(b"accept loop"), 3), "green thread 'accept loop' overflowed its stack\n");
        assert_eq!(report(None, 0), "green thread #0 overflowed its stack\n");
        assert_eq!(report(None, 42), "green thread #42 overflowed its stack\n");
        assert_eq!(report(None, u64::MAX), "green thread #18446744073709551615 overflowed its stack\n");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        // 'é' is two bytes: 199 ASCII bytes, then a character across 199..201.
        let name = format!("{}é{}", "x".repeat(199), "y".repeat(500));
        let line = report(Some(name.as_bytes()), 1);
        assert_eq!(line, format!("green thread '{}...' overflowed its stack\n", "x".repeat(199)));
        assert!(line.len() <= MESSAGE_CAPACITY);
    }

    #[test]
    fn enter_and_leave_set_and_clear_the_record() {
        let name = String::from("worker job");
        // SAFETY: `name` outlives the `leave` below.
        unsafe { enter(0x1000..0x2000, Some(&name), 9) };
        let running = RUNNING.with(Cell::get);
        assert_eq!((running.guard_start, running.guard_end, running.id), (0x1000, 0x2000, 9));
        assert_eq!((running.name_pointer, running.name_length), (name.as_ptr(), name.len()));
        leave();
        let running = RUNNING.with(Cell::get);
        assert_eq!((running.guard_start, running.guard_end), (0, 0));
        assert!(running.name_pointer.is_null());
    }

    #[test]
    fn install_is_idempotent_and_keeps_the_previous_action() {
        install();
        install();
        thread::spawn(install).join().unwrap();
        for (&signal, previous) in HANDLED_SIGNALS.iter().zip(&PREVIOUS_ACTIONS) {
            // SAFETY: all-zero bytes are a valid `sigaction`.
            let mut current: libc::sigaction = unsafe { mem::zeroed() };
            // SAFETY: query only, into a live local.
            let result = unsafe { libc::sigaction(signal, ptr::null(), &mut current) };
            assert_eq!(result, 0);
            assert_eq!(current.sa_sigaction, handle_fault as extern "C" fn(_, _, _) as usize);
            assert_eq!(current.sa_flags & libc::SA_ONSTACK, libc::SA_ONSTACK);
            let previous = previous.get().unwrap();
            assert_ne!(previous.sa_sigaction, current.sa_sigaction);
        }
    }

    /// Returns the calling thread's alternate signal stack.
    fn current_alternate_stack() -> libc::stack_t {
        // SAFETY: all-zero bytes are a valid `stack_t`.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: query only, into a live local.
        assert_eq!(unsafe { libc::sigaltstack(ptr::null(), &mut current) }, 0);
        current
    }

    /// Disables the calling thread's alternate signal stack (leaving the memory
    /// to its owner).
    fn disable_alternate_stack() {
        let disable = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
        // SAFETY: disabling; the thread is not running on the alternate stack.
        assert_eq!(unsafe { libc::sigaltstack(&disable, ptr::null_mut()) }, 0);
    }

    #[test]
    fn ensure_alternate_stack_keeps_a_large_enough_one() {
        thread::spawn(|| {
            let before = current_alternate_stack();
            ensure_alternate_stack();
            let after = current_alternate_stack();
            if before.ss_flags & libc::SS_DISABLE == 0 && before.ss_size >= required_alternate_stack_size() {
                assert_eq!(before.ss_sp, after.ss_sp);
            }
            assert_eq!(after.ss_flags & libc::SS_DISABLE, 0);
            assert!(after.ss_size >= required_alternate_stack_size());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn ensure_alternate_stack_allocates_and_frees_on_thread_exit() {
        let address = thread::spawn(|| {
            disable_alternate_stack();
            ensure_alternate_stack();
            let installed = current_alternate_stack();
            assert_eq!(installed.ss_flags & libc::SS_DISABLE, 0);
            assert!(installed.ss_size >= ALLOCATED_ALTERNATE_STACK_SIZE);
            // A second call keeps it.
            ensure_alternate_stack();
            assert_eq!(current_alternate_stack().ss_sp, installed.ss_sp);
            installed.ss_sp as usize
        })
        .join()
        .unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let prefix = format!("{address:x}-");
        assert!(
            !maps.lines().any(|line| line.starts_with(&prefix)),
            "the alternate stack at {address:#x} is still mapped"
        );
    }

    /// Recurses until the stack runs out, one 1 KiB frame per call.
    #[inline(never)]
    fn recurse(depth: u64) -> u64 {
        let frame = black_box([depth as u8; 1024]);
        if black_box(depth) == u64::MAX {
            return 0;
        }
        recurse(depth + 1).wrapping_add(u64::from(frame[(depth % 1024) as usize]))
    }

    /// Where a test calls `enter` and `leave`: both protocols of the module doc.
    #[derive(Clone, Copy)]
    enum Recording {
        /// The worker, around `resume`.
        AroundResume,
        /// The green thread, first and last thing on its own stack.
        InsideGreenThread,
    }

    /// Runs `body` as a green thread on a 64 KiB `GuardedStack`, with `enter`
    /// and `leave` called as `recording` says.
    fn run_green_thread(name: Option<&'static str>, id: u64, recording: Recording, body: fn() -> u64) -> u64 {
        install();
        ensure_alternate_stack();
        let stack = GuardedStack::new(64 * 1024).unwrap();
        let guard = stack.guard_range();
        let guard_inside = guard.clone();
        let mut coroutine: Coroutine<(), (), u64, GuardedStack> =
            Coroutine::with_stack(stack, move |_, ()| match recording {
                Recording::AroundResume => body(),
                Recording::InsideGreenThread => {
                    // SAFETY: `name` is `'static`.
                    unsafe { enter(guard_inside, name, id) };
                    let result = body();
                    leave();
                    result
                }
            });
        if let Recording::AroundResume = recording {
            // SAFETY: `name` is `'static`.
            unsafe { enter(guard, name, id) };
        }
        let result = coroutine.resume(());
        leave();
        result.as_return().unwrap()
    }

    /// Faults on an address that is in no guard page.
    fn fault_on_a_null_pointer() -> u64 {
        let address = black_box(8usize) as *const u64;
        // SAFETY: not safe at all: the point is to fault. Address 8 is in the
        // never-mapped first page.
        unsafe { ptr::read_volatile(address) }
    }

    /// The body of a child run: plays `scenario`, which should kill the process.
    fn child_scenario(scenario: &str) {
        match scenario {
            "named" => {
                run_green_thread(Some("connection handler"), 17, Recording::AroundResume, || recurse(0));
            }
            "unnamed_on_thread_without_alternate_stack" => {
                thread::spawn(|| {
                    disable_alternate_stack();
                    run_green_thread(None, 123_456_789_012, Recording::InsideGreenThread, || recurse(0))
                })
                .join()
                .unwrap();
            }
            "fault_outside_guard" => {
                run_green_thread(Some("null reader"), 3, Recording::AroundResume, fault_on_a_null_pointer);
            }
            "os_thread_overflow" => {
                install();
                thread::Builder::new()
                    .name("plain os thread".to_owned())
                    .stack_size(256 * 1024)
                    .spawn(|| recurse(0))
                    .unwrap()
                    .join()
                    .unwrap();
            }
            "previous_function_handler" => {
                extern "C" fn previous(_signal: libc::c_int, _info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
                    write_to_stderr(b"previous handler called\n");
                    // SAFETY: `_exit` is async-signal-safe.
                    unsafe { libc::_exit(42) };
                }
                // SAFETY: all-zero bytes are a valid `sigaction`.
                let mut action: libc::sigaction = unsafe { mem::zeroed() };
                action.sa_sigaction = previous as extern "C" fn(_, _, _) as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                // SAFETY: installing a valid three-argument handler before
                // `install` runs in this child.
                let result = unsafe { libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut()) };
                assert_eq!(result, 0);
                run_green_thread(None, 5, Recording::InsideGreenThread, fault_on_a_null_pointer);
            }
            "sent_signal" => {
                // With Rust's handler in front, a sent SIGSEGV is swallowed
                // once (it restores SIG_DFL and returns); start from SIG_DFL
                // to see the default action happen.
                reset_to_default(libc::SIGSEGV);
                install();
                // SAFETY: `raise` with a valid signal.
                unsafe { libc::raise(libc::SIGSEGV) };
            }
            other => panic!("unknown scenario {other}"),
        }
        // Reaching this line means the scenario did not kill the process. Exit
        // here rather than return into the test, which would spawn a child
        // again.
        println!("scenario {scenario} survived");
        std::process::exit(3);
    }

    /// Runs `test_name` in a child process with `scenario` in [`CHILD_SCENARIO`].
    fn run_child(test_name: &str, scenario: &str) -> Output {
        super::super::test_child::run_child(CHILD_SCENARIO, test_name, scenario)
    }

    /// Plays `scenario` in a child process and returns its stderr and the
    /// signal that killed it.
    fn crash(scenario: &str) -> (String, Option<i32>, Option<i32>) {
        if let Ok(scenario) = env::var(CHILD_SCENARIO) {
            child_scenario(&scenario);
        }
        let module = module_path!();
        let module = module.split_once("::").map_or(module, |(_, rest)| rest);
        let output = run_child(&format!("{module}::crash_{scenario}"), scenario);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (stderr, output.status.signal(), output.status.code())
    }

    #[test]
    fn every_test_of_this_module_passes_with_protected_guards() {
        // The crash scenarios below, on `mprotect`-guarded stacks (the default kind where the kernel has guard
        // markers is the arena kind).
        super::super::test_child::run_module_with_protected_guards(module_path!());
    }

    #[test]
    fn crash_named() {
        let (stderr, signal, _) = crash("named");
        assert!(stderr.contains("green thread 'connection handler' overflowed its stack\n"), "{stderr}");
        assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    }

    #[test]
    fn crash_unnamed_on_thread_without_alternate_stack() {
        let (stderr, signal, _) = crash("unnamed_on_thread_without_alternate_stack");
        assert!(stderr.contains("green thread #123456789012 overflowed its stack\n"), "{stderr}");
        assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    }

    #[test]
    fn crash_fault_outside_guard() {
        let (stderr, signal, _) = crash("fault_outside_guard");
        assert!(!stderr.contains("overflowed"), "{stderr}");
        assert_eq!(signal, Some(libc::SIGSEGV), "{stderr}");
    }

    #[test]
    fn crash_os_thread_overflow() {
        // Rust's own report still works behind ours.
        let (stderr, signal, _) = crash("os_thread_overflow");
        // Rust prints `thread 'name' (os id) has overflowed its stack`.
        assert!(stderr.contains("thread 'plain os thread'"), "{stderr}");
        assert!(stderr.contains("has overflowed its stack"), "{stderr}");
        assert!(!stderr.contains("green thread"), "{stderr}");
        assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    }

    #[test]
    fn crash_previous_function_handler() {
        let (stderr, signal, code) = crash("previous_function_handler");
        assert!(stderr.contains("previous handler called"), "{stderr}");
        assert_eq!((signal, code), (None, Some(42)), "{stderr}");
    }

    #[test]
    fn crash_sent_signal() {
        // `kill -SEGV` is not a fault: the previous action, SIG_DFL here,
        // decides, and the default kills.
        let (stderr, signal, _) = crash("sent_signal");
        assert!(!stderr.contains("overflowed"), "{stderr}");
        assert_eq!(signal, Some(libc::SIGSEGV), "{stderr}");
    }
}
