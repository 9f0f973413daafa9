//! Green's panic hook: a panic in a green thread is reported with the green thread's name, and a hook that
//! blocks cannot make the next panic on its worker abort.
//!
//! std's default hook names the OS thread (`thread 'green-worker-0' panicked at ...`), which says nothing
//! about which green thread failed. And std tracks "a panic hook is running" per OS thread: another panic on
//! that OS thread while a hook runs aborts the process. A hook that blocked in a green call would switch to
//! another green thread of its worker, whose panic would then abort.
//!
//! # What it does
//! [`install`] (called whenever a runtime is built) wraps the hook set at that moment; if a later runtime finds
//! a hook that is not green's (set meanwhile by the program), it wraps that one too. In a green thread the
//! wrapper:
//! 1. records that the green thread starts unwinding (for [`panicking`](crate::thread::panicking), see
//!    `context.rs`);
//! 2. hides the green thread while the hook runs ([`HiddenGreen`]): a blocking call in the hook blocks the
//!    worker's OS thread as it would on a plain OS thread, so no other green thread runs there until the hook
//!    returns;
//! 3. prints std's report with the green thread's name — `thread 'handler-7' (green #12) panicked at
//!    src/main.rs:5:9:` — if the wrapped hook is std's default, and otherwise calls the wrapped hook.
//!
//! On plain OS threads it calls the wrapped hook. A hook the program sets *after* the last runtime was built
//! replaces green's; panics in green threads then go to it unwrapped (named after the worker OS thread).

use std::io::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::context::{self, HiddenGreen};

/// A panic hook as std stores it.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The address of the hook green installed last (0: none), to tell it from one the program set later.
static INSTALLED: Mutex<usize> = Mutex::new(0);

/// The address of a hook's closure: stable while the box lives, unique among live hooks that capture data.
fn address(hook: &Hook) -> usize {
    &**hook as *const (dyn Fn(&PanicHookInfo<'_>) + Sync + Send) as *const () as usize
}

/// Wraps the current panic hook in green's, unless it is green's already.
pub(crate) fn install() {
    if std::thread::panicking() {
        return; // std refuses to change hooks while panicking; the next runtime built will install it
    }
    let mut installed = INSTALLED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let current = panic::take_hook();
    if *installed != 0 && address(&current) == *installed {
        panic::set_hook(current);
        return;
    }
    // `take_hook` left std's default hook in place: take it too, to recognise it.
    let default = panic::take_hook();
    #[allow(ambiguous_wide_pointer_comparisons)] // both come from std's one `Box::new(default_hook)`
    let wraps_default = std::ptr::eq(&*current, &*default);
    let hook: Hook = Box::new(move |info| report(info, &current, wraps_default));
    *installed = address(&hook);
    panic::set_hook(hook);
}

/// The hook itself (see the module docs).
fn report(info: &PanicHookInfo<'_>, wrapped: &Hook, wraps_default: bool) {
    if !context::in_green_thread() {
        return wrapped(info);
    }
    let thread = context::with_local(|local| {
        local.start_unwinding();
        local.thread.clone()
    });
    let _hidden = HiddenGreen::new();
    if wraps_default {
        print_report(info, &thread);
    } else {
        wrapped(info);
    }
}

/// std's default report, naming the green thread.
fn print_report(info: &PanicHookInfo<'_>, thread: &crate::Thread) {
    /// The backtrace note is printed once per process, as std does.
    static NOTED: AtomicBool = AtomicBool::new(false);
    let name = thread.name().unwrap_or("<unnamed>");
    let id = thread.id().as_u64();
    let message = crate::thread::payload_message(info.payload());
    let location = info.location().map(|location| location.to_string()).unwrap_or_default();
    let backtrace = std::backtrace::Backtrace::capture();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "\nthread '{name}' (green #{id}) panicked at {location}:\n{message}");
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        let _ = writeln!(stderr, "stack backtrace:\n{backtrace}");
    } else if !NOTED.swap(true, Ordering::Relaxed) {
        let _ = writeln!(stderr, "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace");
    }
}
