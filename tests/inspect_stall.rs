//! The stall detector: a green thread that keeps its worker without parking gets a warning naming it, where it
//! was spawned and how long it held the worker, and a second one when it lets go; one that yields often gets
//! none. Warnings are captured with a logger of this test binary.

mod util;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Every `green::inspect` warning logged in this process.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn && metadata.target().starts_with("green::inspect")
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            WARNINGS.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        log::set_logger(&Capture).expect("no other logger in this binary");
        log::set_max_level(log::LevelFilter::Warn);
    });
}

/// The captured warnings that mention `needle`.
fn warnings_about(needle: &str) -> Vec<String> {
    WARNINGS.lock().unwrap().iter().filter(|warning| warning.contains(needle)).cloned().collect()
}

/// Spins the CPU for `duration` without parking: the worker is held.
fn spin_for(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
    }
}

#[test]
fn a_green_thread_spinning_300_ms_is_reported_twice() {
    capture();
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(2);
        let line = line!() + 1;
        let spinner = runtime.spawn(|| spin_for(Duration::from_millis(300)));
        let id = spinner.thread().id().as_u64();
        spinner.join().unwrap();
        drop(runtime);
        let needle = format!("green thread #{id} ");
        let warnings = warnings_about(&needle);
        assert_eq!(warnings.len(), 2, "one warning while it holds the worker, one when it lets go: {warnings:?}");
        let first = &warnings[0];
        assert!(first.contains(&format!("spawned at {}:{line}:", file!())), "{first}");
        assert!(first.contains("resumed at its start"), "{first}");
        assert!(first.contains("without parking or yielding"), "{first}");
        let held: u64 =
            first.split(" for at least ").nth(1).and_then(|rest| rest.split(" ms").next()).unwrap().parse().unwrap();
        assert!((100..300).contains(&held), "reported after the 100 ms threshold, before it let go: {first}");
        let second = &warnings[1];
        assert!(second.contains("let worker") && second.contains("in all"), "{second}");
    });
}

#[test]
fn a_green_thread_that_yields_every_millisecond_is_not_reported() {
    capture();
    util::watchdog(Duration::from_secs(30), || {
        let runtime = util::runtime(1);
        let yielder = runtime.spawn(|| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(300) {
                spin_for(Duration::from_millis(1));
                green::yield_now();
            }
        });
        let id = yielder.thread().id().as_u64();
        yielder.join().unwrap();
        drop(runtime);
        assert_eq!(warnings_about(&format!("green thread #{id} ")), Vec::<String>::new());
    });
}

#[test]
fn no_warning_when_the_threshold_is_off() {
    capture();
    util::watchdog(Duration::from_secs(30), || {
        let runtime = green::Runtime::builder().workers(1).stall_threshold(None).build().unwrap();
        let spinner = runtime.spawn(|| spin_for(Duration::from_millis(200)));
        let id = spinner.thread().id().as_u64();
        spinner.join().unwrap();
        drop(runtime);
        assert_eq!(warnings_about(&format!("green thread #{id} ")), Vec::<String>::new());
    });
}
