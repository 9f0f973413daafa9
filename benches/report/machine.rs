//! What the report says about the machine and the build: read from /proc, `rustc --version` and Cargo.lock.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine and toolchain a report ran on.
pub struct Machine {
    /// UTC date and time of the run, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// `std::thread::available_parallelism`.
    pub cores: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu: String,
    /// `MemTotal` from /proc/meminfo, in bytes.
    pub memory: u64,
    /// /proc/sys/kernel/osrelease.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// /proc/loadavg's three load averages when the run started.
    pub load_average: String,
    /// (crate, version) from Cargo.lock for green, tokio, corosensei and mio.
    pub versions: Vec<(&'static str, String)>,
    /// vm.max_map_count when the run started.
    pub max_map_count: usize,
}

impl Machine {
    /// Reads everything now.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split(':').nth(1)))
            .map_or_else(|| "unknown".to_string(), |name| name.trim().to_string());
        let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .map_or_else(|| "unknown".to_string(), |version| version.trim().to_string());
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap_or_default();
        let versions = ["green", "tokio", "corosensei", "mio"]
            .into_iter()
            .map(|name| (name, locked_version(&lock, name)))
            .collect();
        Machine {
            date: utc_now(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            memory: meminfo("MemTotal").unwrap_or(0),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            rustc,
            load_average: read_trimmed("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
            versions,
            max_map_count: super::workloads::map_count::max_map_count(),
        }
    }
}

/// A file's contents without surrounding whitespace, or "unknown".
fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map_or_else(|_| "unknown".to_string(), |s| s.trim().to_string())
}

/// A /proc/meminfo field in bytes (`MemTotal`, `MemAvailable`).
pub fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    kibibytes_field(&text, field).map(|kib| kib * 1024)
}

/// This process's resident set (VmRSS from /proc/self/status), in bytes.
pub fn resident_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    kibibytes_field(&text, "VmRSS").unwrap_or(0) * 1024
}

/// The value of a `Field:   123 kB` line.
fn kibibytes_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// The version of package `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> String {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            if let Some(version) = lines.next().and_then(|l| l.trim().strip_prefix("version = ")) {
                return version.trim_matches('"').to_string();
            }
        }
    }
    "unknown".to_string()
}

/// The current UTC date and time, `YYYY-MM-DD HH:MM UTC` (civil date from days since the epoch, after Howard
/// Hinnant's `civil_from_days`).
fn utc_now() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}
