//! A panic nobody joins is reported through `log::error!` with the green thread's name.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Collects error records (this test binary installs it as the only logger).
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Error
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn an_unjoined_panic_is_logged_with_the_green_thread_name() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Error);
    let rt = green::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let handle = green::Builder::new().name("doomed".into()).spawn(|| panic!("the answer was 41")).unwrap();
        drop(handle);
    });
    // The report is written when the green thread ends; wait for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = CAPTURE.0.lock().unwrap().iter().any(|m| m.contains("'doomed'") && m.contains("the answer was 41"));
        if found {
            break;
        }
        assert!(Instant::now() < deadline, "no report: {:?}", CAPTURE.0.lock().unwrap());
        std::thread::yield_now();
    }
    // A joined panic is the joiner's business: no report.
    let before = CAPTURE.0.lock().unwrap().len();
    let joined = rt.spawn(|| panic!("joined"));
    assert!(joined.join().is_err());
    assert_eq!(CAPTURE.0.lock().unwrap().len(), before);
}
