//! 1,000,000 green threads parked at once, at the kernel's default `vm.max_map_count` (65,530): possible because
//! arena stacks with `MADV_GUARD_INSTALL` guard markers cost no memory mapping each (Linux 6.13 and later). On
//! an older kernel each stack needs two mappings, so the test skips and says why.
//!
//! It runs in a child process (this test binary again, with an environment variable set): about 4.3 GB
//! resident and a few seconds of spawning. Each green thread parks until a shared flag is set and it is
//! unparked; the child reports how many parked, the resident set and the memory mappings it has then, and
//! that all of them were joined.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod util;

const SCENARIO: &str = "GREEN_MILLION_SCENARIO";

/// Green threads parked at once.
const PARKED: usize = 1_000_000;

/// Memory the machine must have available for the test to run: the child needs about 4.3 GiB resident plus
/// page tables; it is skipped below twice that (the machine may be shared).
const MEMORY_NEEDED: u64 = 10 << 30;

/// A `Field:   123 kB` value of a `/proc` file, in bytes.
fn kibibytes_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let value = text.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?;
    Some(value.split_whitespace().next()?.parse::<u64>().ok()? * 1024)
}

/// Counts the lines of `/proc/self/maps`.
fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

/// Resident bytes of the mappings of 256 MiB or more: the stack arenas (nothing else in the child is that large).
fn arena_resident() -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut in_arena = false;
    let mut resident = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else {
                continue;
            };
            in_arena = end - start >= 256 << 20;
        } else if in_arena {
            if let Some(kibibytes) = line.strip_prefix("Rss:") {
                resident += kibibytes.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024;
            }
        }
    }
    resident
}

/// The child: parks `PARKED` green threads, prints `RESULT parked=N resident=BYTES stacks=BYTES mappings=N
/// spawn_ms=N joined=N` (`stacks`: the resident part of the stack arenas).
fn child() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let runtime = green::Runtime::builder().workers(2).build().unwrap();
    let line = runtime.block_on(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let resident_before = kibibytes_field("/proc/self/status", "VmRSS").unwrap();
        let begin = Instant::now();
        let mut handles = Vec::with_capacity(PARKED);
        for _ in 0..PARKED {
            let started = started.clone();
            handles.push(green::spawn(move || {
                started.fetch_add(1, Ordering::Relaxed);
                while !STOP.load(Ordering::Acquire) {
                    green::park();
                }
            }));
            // Let the workers start what was spawned so far, so the injectors stay short.
            if handles.len() % 1024 == 0 {
                green::yield_now();
            }
        }
        while started.load(Ordering::Relaxed) < PARKED {
            green::sleep(Duration::from_millis(1));
        }
        let spawn_time = begin.elapsed();
        let resident = kibibytes_field("/proc/self/status", "VmRSS").unwrap() - resident_before;
        let mappings = mapping_count();
        let stacks = arena_resident();
        STOP.store(true, Ordering::Release);
        let mut joined = 0;
        for handle in &handles {
            handle.thread().unpark();
        }
        for handle in handles {
            handle.join().unwrap();
            joined += 1;
        }
        format!(
            "RESULT parked={} resident={resident} stacks={stacks} mappings={mappings} spawn_ms={} joined={joined}",
            started.load(Ordering::Relaxed),
            spawn_time.as_millis()
        )
    });
    println!("{line}");
}

#[test]
fn million_child_entry() {
    if std::env::var_os(SCENARIO).is_some() {
        child();
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "8.5 GB and up to a minute in a debug build (two stack pages per thread); .ci/run runs it in release"
)]
fn a_million_green_threads_park_at_the_default_map_count() {
    if !util::kernel_has_guard_markers() {
        eprintln!(
            "skipped: this kernel has no MADV_GUARD_INSTALL (Linux 6.13 and later), so every green thread stack \
             needs 2 memory mappings and vm.max_map_count bounds live green threads (about 32,000 at its default)"
        );
        return;
    }
    let available = kibibytes_field("/proc/meminfo", "MemAvailable").unwrap_or(0);
    if available < MEMORY_NEEDED {
        eprintln!("skipped: {available} bytes of memory available, the test wants {MEMORY_NEEDED}");
        return;
    }
    let max_map_count: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap().trim().parse().unwrap();
    let output = util::watchdog(Duration::from_secs(600), || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "million_child_entry", "--nocapture", "--test-threads=1"])
            .env(SCENARIO, "1")
            .env_remove("GREEN_STACK_GUARDS")
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed: {stdout}\n{stderr}");
    let line = stdout.lines().find_map(|line| line.find("RESULT").map(|at| &line[at..])).expect("the child reports");
    let number = |key: &str| -> u64 {
        line.split_whitespace().find_map(|word| word.strip_prefix(key)).unwrap().parse().unwrap()
    };
    eprintln!("{line} (vm.max_map_count {max_map_count})");
    assert_eq!(number("parked="), PARKED as u64, "{line}");
    assert_eq!(number("joined="), PARKED as u64, "{line}");
    // Far below the default limit: the stacks are in a handful of arenas.
    assert!(number("mappings=") < 1_000, "{line}");
    // One stack page per parked green thread (two in debug builds, whose frames on the park path are larger
    // than a page together), give or take the few deeper ones, and a few hundred bytes of records.
    let pages = if cfg!(debug_assertions) { 2 } else { 1 };
    let stacks = number("stacks=") / PARKED as u64;
    assert!(stacks <= pages * 4096 * 105 / 100, "{stacks} stack bytes per parked green thread: {line}");
    let records = number("resident=").saturating_sub(number("stacks=")) / PARKED as u64;
    assert!(records <= 512, "{records} bytes of records per parked green thread: {line}");
}
