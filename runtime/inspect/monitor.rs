//! The monitor thread: one OS thread per runtime (`green-monitor`) that watches the workers from outside —
//! the stall detector, the deadlock detector's looks, and the thread dump on SIGQUIT.
//!
//! # Stall detector
//! A green thread that keeps its worker without parking or yielding — a CPU loop, `std::thread::sleep`, a
//! blocking `std` call — stalls every other green thread of that worker. Each worker publishes its switch
//! count and the green thread it is in (`watch.rs`); the monitor looks a few times per threshold (every
//! threshold/4), and a worker whose switch count has not moved since a look at least a threshold ago, while
//! in a green thread, is held by it. The monitor then logs one `warn!` naming the green thread, where it was
//! spawned, where it resumed (where it had last parked) and how long it has held the worker; at its first look
//! after the green thread switched back, a second `warn!` with the total. Nothing is sent into user code (no
//! signal), and the workers do nothing for it but publish what they run: gevent's monitor thread works the
//! same way. Durations are measured from the monitor's first look at the switch, so the first warning's is a
//! lower bound, and the total is right to within a look period (25 ms by default).
//!
//! # Cost
//! The monitor wakes every threshold/4 (25 ms by default: 40 times a second, a few microseconds each) and
//! reads a few atomics per worker. It keeps that pace while the workers sleep, because a worker that wakes
//! does not tell it (that would cost the worker a system call), and a monitor that had backed off would miss
//! the stalls of a green thread that wakes rarely (a housekeeping loop). With the stall detector off it backs
//! off to once a second while every worker sleeps. The workers pay three relaxed stores per switch
//! (`watch.rs`), nothing else.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{clock, deadlock, dump};
use crate::runtime::RuntimeShared;

/// How often the monitor looks while the workers are busy, with no stall threshold set.
const DEFAULT_PERIOD: Duration = Duration::from_millis(50);
/// The longest pause between two looks while every worker sleeps.
const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// The byte that asks the monitor to stop.
const STOP: u8 = b'S';
/// The byte that asks the monitor to print a thread dump (written by the SIGQUIT handler).
const DUMP: u8 = b'Q';

/// How the monitor of a runtime is configured (from `runtime::Builder`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Warn when a green thread holds its worker this long; `None`: no stall warnings.
    pub(crate) stall_threshold: Option<Duration>,
    /// Report deadlocks in `block_on`'s main green thread.
    pub(crate) detect_deadlocks: bool,
    /// Print a thread dump to stderr on SIGQUIT.
    pub(crate) dump_on_sigquit: bool,
}

/// The handle to a runtime's monitor thread, kept by its `Runtime`.
pub(crate) struct Monitor {
    /// The pipe's write end: how the runtime (STOP) and the SIGQUIT handler (DUMP) reach the monitor.
    wake: OwnedFd,
    /// The monitor thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
    /// Its slot in [`SIGQUIT_FDS`], if it prints dumps on SIGQUIT.
    sigquit_slot: Option<usize>,
}

impl Monitor {
    /// Starts the monitor of `runtime`.
    pub(crate) fn start(runtime: Arc<RuntimeShared>, config: Config) -> io::Result<Monitor> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 just returned these two descriptors, owned by nobody else.
        let (read, wake) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let sigquit_slot = if config.dump_on_sigquit { Some(register_sigquit(wake.as_raw_fd())?) } else { None };
        let thread = std::thread::Builder::new()
            .name("green-monitor".into())
            .spawn(move || watch(&runtime, config, read))
            .inspect_err(|_| {
                if let Some(slot) = sigquit_slot {
                    unregister_sigquit(slot);
                }
            })?;
        Ok(Monitor { wake, thread: Some(thread), sigquit_slot })
    }

    /// Stops the monitor and waits for its thread.
    pub(crate) fn stop(&mut self) {
        if let Some(slot) = self.sigquit_slot.take() {
            unregister_sigquit(slot);
        }
        write_byte(self.wake.as_raw_fd(), STOP);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!(target: "green::inspect", "the monitor thread panicked");
            }
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes one byte to a pipe (async-signal-safe; a full pipe already holds a wake-up, so it is dropped).
fn write_byte(fd: RawFd, byte: u8) {
    // SAFETY: writes one byte from a live local to a descriptor; write(2) is async-signal-safe.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
}

/// What the monitor remembers about one worker between two looks.
#[derive(Clone, Default)]
struct Look {
    /// The worker's switch count at the look.
    switch: u64,
    /// Coarse milliseconds of the first look that saw this switch count.
    first_seen: u32,
    /// The green thread of this switch, once it was reported as stalling.
    warned: Option<crate::Thread>,
}

/// The monitor thread's body.
fn watch(runtime: &Arc<RuntimeShared>, config: Config, read: OwnedFd) {
    log::debug!(target: "green::inspect", "monitor starts (stall threshold {:?})", config.stall_threshold);
    let base = config.stall_threshold.map_or(DEFAULT_PERIOD, |threshold| (threshold / 4).max(Duration::from_millis(1)));
    let mut looks = vec![Look::default(); runtime.workers().len()];
    let mut candidate = None;
    let mut period = base;
    loop {
        let (stop, dump_asked) = wait(read.as_raw_fd(), period);
        if dump_asked && !stop {
            eprintln!("{}", dump::take(runtime));
        }
        let now = clock::coarse_millis();
        let mut awake = false;
        for (worker, look) in runtime.workers().iter().zip(looks.iter_mut()) {
            awake |= !worker.is_sleeping();
            look_for_stall(worker, look, now, config.stall_threshold);
        }
        if stop {
            // The workers have stopped (the runtime stops its monitor last): this last look gave a stall that
            // ended since the previous one its closing warning.
            break;
        }
        if config.detect_deadlocks {
            candidate = match (deadlock_candidate(runtime), candidate.take()) {
                (Some(now), Some(before)) if now == before => {
                    report_deadlock(runtime);
                    None
                }
                (now, _) => now,
            };
        }
        let keep_pace = awake || candidate.is_some() || config.stall_threshold.is_some();
        period = if keep_pace { base } else { (period * 2).min(IDLE_PERIOD) };
    }
    log::debug!(target: "green::inspect", "monitor stops");
}

/// Waits up to `period` for a byte on the pipe; returns (stop asked, dump asked).
fn wait(fd: RawFd, period: Duration) -> (bool, bool) {
    let mut poll = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    let timeout = period.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let ready = unsafe { libc::poll(&mut poll, 1, timeout) };
    let (mut stop, mut dump_asked) = (false, false);
    if ready > 0 {
        let mut bytes = [0u8; 64];
        loop {
            // SAFETY: reads into a live local buffer of that length; the pipe is non-blocking.
            let read = unsafe { libc::read(fd, bytes.as_mut_ptr().cast(), bytes.len()) };
            if read <= 0 {
                break;
            }
            for byte in &bytes[..read as usize] {
                stop |= *byte == STOP;
                dump_asked |= *byte == DUMP;
            }
        }
    }
    (stop, dump_asked)
}

/// The stall detector's look at one worker (see the module docs).
fn look_for_stall(worker: &crate::scheduler::WorkerHandle, look: &mut Look, now: u32, threshold: Option<Duration>) {
    let watch = worker.watch();
    let switch = worker.counters().switches.get();
    let in_green_thread = !watch.current_raw().is_null();
    if in_green_thread && switch == look.switch {
        let held = Duration::from_millis(u64::from(now.wrapping_sub(look.first_seen)));
        if look.warned.is_some() || threshold.map_or(true, |threshold| held < threshold) {
            return;
        }
        let Some((thread, resumed_at)) = watch.running() else { return };
        if worker.counters().switches.get() != switch {
            return; // it switched back meanwhile
        }
        log::warn!(
            target: "green::inspect",
            "{} has held worker {} for at least {} without parking or yielding (spawned at {}, resumed at {}): \
             every other green thread of that worker waits; a CPU loop or a blocking call (std::thread::sleep, \
             std I/O) does this",
            thread.describe(),
            worker.index(),
            dump::human(held),
            thread.spawned_at(),
            resumed_at.map_or_else(|| "its start".to_string(), |at| at.to_string()),
        );
        look.warned = Some(thread);
        return;
    }
    if let Some(thread) = look.warned.take() {
        log::warn!(
            target: "green::inspect",
            "{} let worker {} go after holding it for about {} in all",
            thread.describe(),
            worker.index(),
            dump::human(Duration::from_millis(u64::from(now.wrapping_sub(look.first_seen)))),
        );
    }
    *look = Look { switch, first_seen: now, warned: None };
}

/// One look of the deadlock detector: what would have to stay the same until the next look (see
/// `deadlock.rs`), or `None` when something can still wake a green thread.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    /// Each worker's (switches, sleeps).
    activity: Vec<(u64, u64)>,
    /// OS-thread waits begun, ever.
    os_waits_begun: u64,
}

fn deadlock_candidate(runtime: &RuntimeShared) -> Option<Snapshot> {
    if runtime.is_shut_down() || !runtime.has_main() {
        return None;
    }
    let mut activity = Vec::with_capacity(runtime.workers().len());
    for worker in runtime.workers() {
        if !(worker.is_sleeping() && worker.watch().is_asleep_forever()) || worker.has_work() {
            return None;
        }
        activity.push((worker.counters().switches.get(), worker.counters().sleeps.get()));
    }
    let pool = crate::offload::stats();
    if pool.queued > 0 || pool.idle < pool.threads {
        return None;
    }
    let (waiting, os_waits_begun) = deadlock::os_waiters();
    let accounted = runtime.workers().len() + 1 + pool.threads + waiting;
    if deadlock::process_threads()? != accounted {
        return None;
    }
    Some(Snapshot { activity, os_waits_begun })
}

/// Asks every main green thread still parked to raise the report (see `deadlock.rs`).
fn report_deadlock(runtime: &RuntimeShared) {
    for main in runtime.mains() {
        if main.is_parked() && main.parker().request_deadlock_panic() {
            log::debug!(
                target: "green::inspect",
                "deadlock: every green thread of the runtime is asleep; {} reports it",
                main.describe()
            );
            main.unpark();
        }
    }
}

/// Write ends of the monitors that print a dump on SIGQUIT; -1 marks a free slot.
static SIGQUIT_FDS: [AtomicI32; 16] = [const { AtomicI32::new(-1) }; 16];

/// The SIGQUIT action that was in place before ours, while ours is installed (`None` otherwise).
static PREVIOUS_SIGQUIT: Mutex<Option<libc::sigaction>> = Mutex::new(None);

/// Installs the SIGQUIT handler (if no runtime has it installed now) and registers `fd` with it; returns its
/// slot.
fn register_sigquit(fd: RawFd) -> io::Result<usize> {
    let mut previous = PREVIOUS_SIGQUIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if previous.is_none() {
        // SAFETY: zeroed sigactions are valid starting points; the handler only does async-signal-safe work
        // (atomic loads and write(2)); `saved` receives the action in place.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigquit as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut saved: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGQUIT, &action, &mut saved) != 0 {
                return Err(io::Error::last_os_error());
            }
            *previous = Some(saved);
        }
    }
    for (slot, entry) in SIGQUIT_FDS.iter().enumerate() {
        if entry.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::Relaxed).is_ok() {
            return Ok(slot);
        }
    }
    Err(io::Error::other("more than 16 runtimes print thread dumps on SIGQUIT"))
}

/// Frees `slot`; the last runtime to go puts back the SIGQUIT action that was in place before the first.
fn unregister_sigquit(slot: usize) {
    let mut previous = PREVIOUS_SIGQUIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    SIGQUIT_FDS[slot].store(-1, Ordering::SeqCst);
    if SIGQUIT_FDS.iter().all(|entry| entry.load(Ordering::SeqCst) < 0) {
        if let Some(saved) = previous.take() {
            // SAFETY: `saved` is the action sigaction(2) reported as in place before ours.
            unsafe { libc::sigaction(libc::SIGQUIT, &saved, std::ptr::null_mut()) };
        }
    }
}

/// The SIGQUIT handler: wakes every registered monitor with a dump request.
extern "C" fn on_sigquit(_signal: libc::c_int) {
    for entry in &SIGQUIT_FDS {
        let fd = entry.load(Ordering::SeqCst);
        if fd >= 0 {
            write_byte(fd, DUMP);
        }
    }
}
