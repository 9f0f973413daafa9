//! [`MapCountRaise`]: `vm.max_map_count` raised for a run that needs many green stacks (or set to the kernel's
//! default), restored on drop.

/// `vm.max_map_count` raised while this value lives (each live green stack needs 2 mappings; 100,000
/// concurrent green threads need more than the default 65,530), restored on drop.
///
/// Tokio needs no such change: its tasks are heap objects.
pub struct MapCountRaise {
    /// The value to restore, if this changed it.
    restore: Option<usize>,
    /// The limit in force while this value lives.
    pub limit: usize,
}

impl MapCountRaise {
    /// The kernel's default limit.
    pub const KERNEL_DEFAULT: usize = 65_530;

    /// Where the limit lives.
    pub const PATH: &'static str = "/proc/sys/vm/max_map_count";

    /// The current limit (0 when unreadable).
    pub fn current() -> usize {
        std::fs::read_to_string(Self::PATH).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    /// Mappings needed for `stacks` concurrent green stacks and the rest of the process.
    pub fn needed_for(stacks: usize) -> usize {
        2 * stacks + 10_000
    }

    /// `Some` when `stacks` concurrent green stacks fit, raising the limit when this process may (root); says
    /// so on stderr either way, naming `what` needs it.
    pub fn to_fit(stacks: usize, what: &str) -> Option<MapCountRaise> {
        let needed = Self::needed_for(stacks);
        let current = Self::current();
        if current >= needed {
            return Some(MapCountRaise { restore: None, limit: current });
        }
        if std::fs::write(Self::PATH, needed.to_string()).is_ok() {
            eprintln!("{what}: vm.max_map_count raised from {current} to {needed}; restored afterwards");
            return Some(MapCountRaise { restore: Some(current), limit: needed });
        }
        eprintln!(
            "{what}: skipped for green: {stacks} guarded stacks need vm.max_map_count >= {needed} (is {current})"
        );
        None
    }

    /// Sets the limit to exactly `value` while the result lives (`None` when it cannot be written); used to
    /// measure with the kernel's default when an earlier run left the limit raised.
    pub fn set_to(value: usize, what: &str) -> Option<MapCountRaise> {
        let current = Self::current();
        if current == value {
            return Some(MapCountRaise { restore: None, limit: current });
        }
        if std::fs::write(Self::PATH, value.to_string()).is_ok() {
            eprintln!("{what}: vm.max_map_count set from {current} to {value}; restored afterwards");
            return Some(MapCountRaise { restore: Some(current), limit: value });
        }
        None
    }

    /// The value the limit had before, when this changed it.
    pub fn raised_from(&self) -> Option<usize> {
        self.restore
    }
}

impl Drop for MapCountRaise {
    fn drop(&mut self) {
        if let Some(value) = self.restore {
            let _ = std::fs::write(Self::PATH, value.to_string());
        }
    }
}
