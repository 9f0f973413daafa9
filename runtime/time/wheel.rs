//! Temporary stand-in: replaced by the hierarchical timing wheel.
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey(Instant, u64);

pub(crate) struct Wheel<T> {
    entries: BTreeMap<TimerKey, T>,
    next: u64,
}

impl<T> Wheel<T> {
    pub(crate) fn new(_start: Instant) -> Self {
        Wheel { entries: BTreeMap::new(), next: 0 }
    }
    pub(crate) fn insert(&mut self, deadline: Instant, value: T) -> TimerKey {
        self.next += 1;
        let key = TimerKey(deadline, self.next);
        self.entries.insert(key, value);
        key
    }
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.entries.remove(&key)
    }
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.keys().next().map(|k| k.0)
    }
    pub(crate) fn poll(&mut self, now: Instant, mut fire: impl FnMut(T)) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            fire(entry.remove());
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
