//! A hierarchical timing wheel: the deadlines of the green threads parked on one worker.
//!
//! Every sleep, park timeout and socket timeout of a green thread becomes one timer in the wheel of the worker it
//! runs on. The worker asks [`Wheel::next_deadline`] how long it may block in the reactor, and calls
//! [`Wheel::poll`] after each turn to wake the green threads whose deadline has passed.
//!
//! # Why a wheel and not a heap
//! Most timers never fire. A socket read with a 30 s timeout that completes after 1 ms cancels its timer, and so
//! does every park whose unpark arrives in time. A binary heap inserts in O(log n) but cannot cancel cheaply: either
//! it searches for the entry (O(n)) or it leaves a tombstone that is only dropped when it reaches the top, so a busy
//! server accumulates millions of dead timeouts it will never need. The wheel inserts and cancels in O(1), with
//! no search and no garbage, and firing costs O(1) per timer plus a bounded number of cascade moves.
//!
//! # Layout
//! Time is counted in ticks of 1 ms from the `start` instant given to [`Wheel::new`]. The wheel has six levels
//! of 64 slots; a slot of level `n` spans `64^n` ticks, so each level covers 64 times the span of the one below:
//!
//! ```text
//!   level   one slot     whole level (64 slots)
//!   -----   ---------    ----------------------
//!     0       1 ms         64 ms
//!     1      64 ms         4.1 s
//!     2      4.1 s         4.4 min
//!     3      4.4 min       4.7 h
//!     4      4.7 h        12.4 days
//!     5     12.4 days      2.2 years
//!   overflow: one unordered list for anything farther out
//! ```
//!
//! A level's slot is read straight from the bits of the deadline's tick, six bits per level:
//!
//! ```text
//!    63            36 35    30 29    24 23    18 17    12 11     6 5      0
//!   +----------------+--------+--------+--------+--------+--------+--------+
//!   |    overflow    |   L5   |   L4   |   L3   |   L2   |   L1   |   L0   |   tick of a deadline
//!   +----------------+--------+--------+--------+--------+--------+--------+
//! ```
//!
//! A timer goes to the level of the highest six-bit group in which its tick differs from `elapsed` (the tick the
//! wheel has been polled up to), into the slot given by its own bits of that group. A deadline within the current
//! 64 ms window lands on level 0 in the slot of its exact tick; one in the next 64 ms window lands on level 1, and
//! so on. A timer whose tick differs from `elapsed` above bit 35 goes to the overflow list.
//!
//! Each slot is the head and tail of an intrusive doubly linked list threaded through one [`Slab`] of entries by
//! index, so a timer costs no allocation of its own once the slab has grown to the worker's peak, and unlinking it
//! from the middle of its slot is O(1). Each level has a 64-bit occupancy mask (bit `s` set exactly when slot `s`
//! holds a timer), so finding the next non-empty slot is one `trailing_zeros`, never a scan:
//!
//! ```text
//!   level 1 occupied = 0b0000_0100_0001_0000
//!                              |      |
//!                    slot 10 --+      +-- slot 4: head -> [a] <-> [b] <-> [c] <- tail
//!                                         (a, b, c: indices into the slab)
//! ```
//!
//! # State
//! - `elapsed`: every timer whose tick is at most `elapsed` has fired, except those inserted since the last poll
//!   with a tick at or before it, which wait in the level 0 slot of `elapsed`. It only moves forward.
//! - A timer on level `n` agrees with `elapsed` in every bit above its six-bit group, and its slot comes strictly
//!   after the slot of `elapsed` on that level (level 0 allows the slot of `elapsed` itself, for overdue timers and
//!   timers due exactly at `elapsed`). So no slot before the current position is ever occupied, the masks never
//!   wrap around, and every occupied slot of level `n` starts before every occupied slot of level `n + 1`: the
//!   lowest non-empty level holds the earliest slot.
//! - An overflow timer differs from `elapsed` above bit 35, so it is due no earlier than the next multiple of
//!   2^36 ticks after `elapsed`.
//! - A [`TimerKey`] is a slab index plus a generation drawn from a 64-bit counter at insert. A key whose entry
//!   fired or was removed finds its index vacant or holding another generation, never someone else's timer.
//!
//! # Ownership
//! A wheel belongs to one worker and is touched only by that worker's thread, through `&mut self`; nothing in it
//! is shared or atomic, and `T` need not be `Send`. Another thread that wants to cancel a timer asks the owning
//! worker to do it.
//!
//! # Resolution and rounding
//! An insert rounds its deadline up to the next whole tick, and a poll at `now` fires the ticks up to `now`
//! rounded down. So a timer never fires before its deadline, and fires at most one tick (1 ms) after it plus
//! however late the worker comes to `poll`. Timers of the same tick fire in the order they reached their level 0
//! slot. A deadline that is already past when inserted is kept in the slot of `elapsed` and fires on the next
//! poll, together with (not ordered among) the other overdue timers.
//!
//! # Cascade
//! A slot above level 0 holds timers spread over many ticks, so reaching it does not fire them; it spreads them
//! one or more levels down. [`Wheel::poll`] repeats, for as long as the earliest occupied slot starts no later
//! than `now`:
//!
//! 1. Find the earliest occupied slot: the lowest level whose mask is non-zero, its lowest set bit, or failing
//!    that the overflow list at the next 2^36-tick boundary.
//! 2. Move `elapsed` to the first tick of that slot. No timer is due before it, by the ordering invariant above.
//! 3. On level 0, fire every timer of the slot: they are all due at exactly that tick (or overdue).
//! 4. Above level 0, unhook the whole list and insert each timer again relative to the new `elapsed`. A timer of
//!    a level `n` slot now differs from `elapsed` only below bit `6n`, so it lands on a lower level; overflow
//!    timers that are still too far stay in the overflow list.
//!
//! Then `elapsed` becomes `now`. The work done is proportional to the occupied slots and the timers in them,
//! never to the ticks in between: a poll after a ten-minute pause costs the same as one after a millisecond with
//! the same timers due. Each timer is moved at most five times through the levels (plus once per 2.2 years while
//! in the overflow list).
//!
//! [`Wheel::next_deadline`] reports the first tick of the earliest occupied slot. When that slot is above level 0
//! this is earlier than the real deadline, and the poll at that time only cascades; it is never later.

use std::fmt;
use std::time::{Duration, Instant};

use slab::Slab;

/// Bits of a tick that select the slot within one level.
const SLOT_BITS: u32 = 6;
/// Slots per level: one bit each in a `u64` occupancy mask.
const SLOTS: usize = 1 << SLOT_BITS;
/// The slot bits of level 0; shifted by `SLOT_BITS * n`, those of level `n`.
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Levels of slots. Together they cover 2^36 ticks (about 2.2 years) beyond `elapsed`.
const LEVELS: usize = 6;
/// Ticks covered by all levels: a timer that differs from `elapsed` in a bit at or above this goes to overflow.
const WHEEL_SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Bucket number of the overflow list, after the `LEVELS * SLOTS` slot lists.
const OVERFLOW: usize = LEVELS * SLOTS;
/// Number of lists: every slot of every level, then the overflow list.
const BUCKETS: usize = OVERFLOW + 1;
/// Largest tick (about 146 million years): later deadlines are clamped to it so tick arithmetic cannot overflow.
const MAX_TICK: u64 = 1 << 62;
/// "No entry" in the links of the intrusive lists.
const NIL: u32 = u32::MAX;

/// Handle to a pending timer; stale handles (fired or removed) are detected, never confused with a reused slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    /// Index of the timer's entry in the wheel's slab.
    index: u32,
    /// Generation of that entry when it was inserted; a later timer in the same slab slot has another.
    generation: u64,
}

/// A set of timers, each a deadline and a value handed back when it fires or is removed.
pub(crate) struct Wheel<T> {
    /// The instant of tick 0.
    start: Instant,
    /// The tick polled up to: every timer with a tick up to this has fired, except those inserted since the last
    /// poll, which wait in its level 0 slot. Never decreases; timers are placed relative to it (see `# State`).
    elapsed: u64,
    /// The timers, linked into the lists of `lists` through their `previous` and `next` indices.
    entries: Slab<Entry<T>>,
    /// Head and tail of each bucket: `LEVELS * SLOTS` slot lists (level-major), then the overflow list.
    lists: [List; BUCKETS],
    /// Per level, bit `s` is set exactly when slot `s` of that level has a non-empty list.
    occupied: [u64; LEVELS],
    /// Generation given to the next inserted timer. 64 bits, so it never wraps and never repeats.
    next_generation: u64,
    /// Lowest tick of the timers inserted overdue (before `elapsed`) since the last poll, `u64::MAX` if none. They
    /// sit in the slot of `elapsed`; this lets `next_deadline` report their true, earlier tick. It may still count
    /// a removed timer, which only makes it earlier than needed.
    earliest_overdue: u64,
}

/// One timer, in the slab.
struct Entry<T> {
    /// Handed back when the timer fires or is removed.
    value: T,
    /// The deadline in ticks, rounded up. Below `elapsed` only for a timer inserted overdue, which sits on level 0.
    tick: u64,
    /// Matched against a [`TimerKey`] to tell this timer from an earlier one in the same slab slot.
    generation: u64,
    /// Previous entry in the same bucket, or `NIL` at the head.
    previous: u32,
    /// Next entry in the same bucket, or `NIL` at the tail.
    next: u32,
    /// The bucket whose list holds this entry, needed to fix the list's head, tail and mask when it is unlinked.
    bucket: u16,
}

/// The two ends of one bucket's intrusive list.
#[derive(Clone, Copy)]
struct List {
    /// First entry, fired or cascaded first; `NIL` when the list is empty.
    head: u32,
    /// Last entry, where inserts append; `NIL` when the list is empty.
    tail: u32,
}

/// A list with no entries.
const EMPTY: List = List { head: NIL, tail: NIL };

/// The earliest occupied bucket and the tick at which it is due.
struct Expiration {
    /// Index into `lists`.
    bucket: usize,
    /// First tick of the bucket's slot (or, for overflow, the next 2^36-tick boundary): no timer in it is earlier.
    deadline: u64,
}

impl<T> Wheel<T> {
    /// A wheel whose tick 0 is `start`. Resolution: 1 ms ticks.
    pub(crate) fn new(start: Instant) -> Self {
        Wheel {
            start,
            elapsed: 0,
            entries: Slab::new(),
            lists: [EMPTY; BUCKETS],
            occupied: [0; LEVELS],
            next_generation: 0,
            earliest_overdue: u64::MAX,
        }
    }

    /// Adds a timer. `deadline` is rounded up to the next tick, so a timer never fires early. A deadline in the
    /// past fires on the next `poll`.
    ///
    /// # Panics
    /// If the wheel already holds `u32::MAX` timers.
    pub(crate) fn insert(&mut self, deadline: Instant, value: T) -> TimerKey {
        let tick = self.tick_at_or_after(deadline);
        let generation = self.next_generation;
        self.next_generation += 1;
        let index = self.entries.insert(Entry { value, tick, generation, previous: NIL, next: NIL, bucket: 0 });
        // NIL must stay free to mean "no entry".
        assert!(index < NIL as usize, "timing wheel is full");
        let index = index as u32;
        if tick < self.elapsed {
            self.earliest_overdue = self.earliest_overdue.min(tick);
        }
        let bucket = self.bucket_for(tick);
        self.push_back(index, bucket);
        TimerKey { index, generation }
    }

    /// Cancels a pending timer and gives its value back; `None` if it already fired or was removed (stale key).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        let index = key.index as usize;
        if self.entries.get(index)?.generation != key.generation {
            return None;
        }
        self.unlink(key.index);
        Some(self.entries.remove(index).value)
    }

    /// The earliest instant at which `poll` may have something to fire; `None` when the wheel is empty.
    ///
    /// It is never later than the earliest deadline rounded up to its tick, but may be earlier when a slot of a
    /// higher level is due to cascade: a poll then fires nothing and the next call reports a later instant.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let expiration = self.next_expiration()?;
        Some(self.instant_at(expiration.deadline.min(self.earliest_overdue)))
    }

    /// Fires (removes and passes to `fire`) every timer whose tick is at most `now`, in deadline order as far as
    /// tick resolution allows.
    ///
    /// The cost grows with the number of timers due and slots visited, not with how far `now` moved since the
    /// last poll. A `now` earlier than a previous poll's still fires the timers inserted since with a deadline
    /// before that poll. If `fire` panics, the timers not yet fired stay in the wheel, consistent, and fire on a
    /// later poll.
    pub(crate) fn poll(&mut self, now: Instant, mut fire: impl FnMut(T)) {
        let target = self.tick_at_or_before(now).max(self.elapsed);
        while let Some(expiration) = self.next_expiration() {
            if expiration.deadline > target {
                break;
            }
            self.elapsed = expiration.deadline;
            if expiration.bucket < SLOTS {
                // Level 0: the slot is exactly one tick, so all of it is due. Unlink one entry at a time, so a
                // panic in `fire` leaves the rest of the list in place.
                while let Some(index) = self.pop_front(expiration.bucket) {
                    fire(self.entries.remove(index as usize).value);
                }
            } else {
                self.cascade(expiration.bucket);
            }
        }
        // Every timer left is due after `target`, so each still agrees with it in the bits above its level.
        self.elapsed = target;
        self.earliest_overdue = u64::MAX;
    }

    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest occupied bucket: the lowest set bit of the lowest non-empty level, else the overflow list.
    fn next_expiration(&self) -> Option<Expiration> {
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let slot = u64::from(occupied.trailing_zeros());
            // The level's 64 slots cover the ticks whose bits above the level are those of `elapsed`.
            let window = (self.elapsed >> (shift + SLOT_BITS)) << (shift + SLOT_BITS);
            let deadline = window + (slot << shift);
            let bucket = level * SLOTS + slot as usize;
            debug_assert!(deadline >= self.elapsed, "a slot before the position of elapsed is occupied");
            debug_assert!(self.lists[bucket].head != NIL, "an empty slot is marked occupied");
            return Some(Expiration { bucket, deadline });
        }
        if self.lists[OVERFLOW].head == NIL {
            return None;
        }
        let deadline = ((self.elapsed >> WHEEL_SPAN_BITS) + 1) << WHEEL_SPAN_BITS;
        Some(Expiration { bucket: OVERFLOW, deadline })
    }

    /// Re-inserts every timer of `bucket` relative to `elapsed`, which is the first tick of that bucket.
    fn cascade(&mut self, bucket: usize) {
        // Unhook the whole list first: overflow timers may go straight back into the overflow list.
        let mut index = self.lists[bucket].head;
        self.lists[bucket] = EMPTY;
        if bucket < OVERFLOW {
            self.occupied[bucket / SLOTS] &= !(1 << (bucket % SLOTS));
        }
        while index != NIL {
            let entry = &self.entries[index as usize];
            let (next, tick) = (entry.next, entry.tick);
            let target = self.bucket_for(tick);
            debug_assert!(bucket == OVERFLOW || target / SLOTS < bucket / SLOTS, "cascade must move down");
            self.push_back(index, target);
            index = next;
        }
    }

    /// The bucket for a timer due at `tick`, relative to `elapsed`. An overdue tick counts as `elapsed`.
    fn bucket_for(&self, tick: u64) -> usize {
        let when = tick.max(self.elapsed);
        // The highest bit where `when` and `elapsed` differ picks the level; or-ing the level 0 bits puts a timer
        // due at `elapsed` itself on level 0.
        let differing = (when ^ self.elapsed) | SLOT_MASK;
        let highest_bit = u64::BITS - 1 - differing.leading_zeros();
        let level = (highest_bit / SLOT_BITS) as usize;
        if level >= LEVELS {
            return OVERFLOW;
        }
        let slot = (when >> (SLOT_BITS * level as u32)) & SLOT_MASK;
        level * SLOTS + slot as usize
    }

    /// Appends entry `index` to the list of `bucket` and marks the slot occupied.
    fn push_back(&mut self, index: u32, bucket: usize) {
        let tail = self.lists[bucket].tail;
        let entry = &mut self.entries[index as usize];
        entry.previous = tail;
        entry.next = NIL;
        entry.bucket = bucket as u16;
        if tail == NIL {
            self.lists[bucket].head = index;
        } else {
            self.entries[tail as usize].next = index;
        }
        self.lists[bucket].tail = index;
        if bucket < OVERFLOW {
            self.occupied[bucket / SLOTS] |= 1 << (bucket % SLOTS);
        }
    }

    /// Unlinks the first entry of `bucket` and returns its index, leaving the entry itself in the slab.
    fn pop_front(&mut self, bucket: usize) -> Option<u32> {
        let head = self.lists[bucket].head;
        if head == NIL {
            return None;
        }
        self.unlink(head);
        Some(head)
    }

    /// Takes entry `index` out of its bucket's list, clearing the slot's bit if the list becomes empty.
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (previous, next, bucket) = (entry.previous, entry.next, usize::from(entry.bucket));
        if previous == NIL {
            self.lists[bucket].head = next;
        } else {
            self.entries[previous as usize].next = next;
        }
        if next == NIL {
            self.lists[bucket].tail = previous;
        } else {
            self.entries[next as usize].previous = previous;
        }
        if self.lists[bucket].head == NIL && bucket < OVERFLOW {
            self.occupied[bucket / SLOTS] &= !(1 << (bucket % SLOTS));
        }
    }

    /// The first tick at or after `instant`: where a deadline goes, so that it never fires early.
    fn tick_at_or_after(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.start);
        let whole = since.as_secs().saturating_mul(1000);
        let millis = whole.saturating_add(u64::from(since.subsec_nanos().div_ceil(1_000_000)));
        millis.min(MAX_TICK)
    }

    /// The last tick at or before `instant`: how far a poll at `instant` may fire.
    fn tick_at_or_before(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.start);
        let millis = since.as_secs().saturating_mul(1000).saturating_add(u64::from(since.subsec_millis()));
        millis.min(MAX_TICK)
    }

    /// The instant of `tick`, or an earlier one when `Instant` cannot represent it (`next_deadline` may be early,
    /// never late; that far out the early answer only costs one spurious wake-up).
    fn instant_at(&self, tick: u64) -> Instant {
        let mut millis = tick;
        loop {
            if let Some(instant) = self.start.checked_add(Duration::from_millis(millis)) {
                return instant;
            }
            millis /= 2;
        }
    }
}

/// Shows the clock and the number of timers, not the values, which need not be `Debug`.
impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Wheel")
            .field("start", &self.start)
            .field("elapsed", &self.elapsed)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MILLISECOND: Duration = Duration::from_millis(1);
    const HOUR_MS: u64 = 3_600_000;
    const DAY_MS: u64 = 24 * HOUR_MS;
    const YEAR_MS: u64 = 365 * DAY_MS;

    /// Marsaglia's xorshift64: reproducible pseudo-random numbers without a dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// A number in `0..bound`.
        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }

        /// A duration spread evenly over orders of magnitude, from microseconds up to `2^max_bits` microseconds.
        fn spread(&mut self, max_bits: u64) -> Duration {
            let bits = self.below(max_bits + 1);
            Duration::from_micros(self.below(1 << bits))
        }
    }

    /// The tick a deadline is rounded up to, computed independently of the wheel.
    fn tick_of(start: Instant, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(start).as_nanos();
        nanos.div_ceil(1_000_000) as u64
    }

    /// Polls at each `next_deadline` until the wheel is empty, recording every value with the instant it fired.
    fn drain<T>(wheel: &mut Wheel<T>) -> Vec<(T, Instant)> {
        let mut fired = Vec::new();
        let mut polls = 0;
        while let Some(now) = wheel.next_deadline() {
            wheel.poll(now, |value| fired.push((value, now)));
            polls += 1;
            assert!(polls < 10_000, "next_deadline does not make progress");
        }
        assert!(wheel.is_empty());
        fired
    }

    #[test]
    fn fires_in_order_and_never_early_across_levels() {
        let start = Instant::now();
        let mut wheel = Wheel::new(start);
        // One deadline per level boundary and within each level, the last one in the overflow list.
        let deadlines = [DAY_MS, 1, 4095, 64, HOUR_MS, 63, 4096, 262_144, 3 * YEAR_MS, 2, 65];
        for &ms in &deadlines {
            wheel.insert(start + Duration::from_millis(ms), ms);
        }
        assert_eq!(wheel.len(), deadlines.len());

        let fired = drain(&mut wheel);

        let mut expected = deadlines.to_vec();
        expected.sort_unstable();
        assert_eq!(fired.iter().map(|&(ms, _)| ms).collect::<Vec<_>>(), expected);
        for &(ms, at) in &fired {
            // Driven by next_deadline, each timer fires exactly at its deadline: not early, and not late.
            assert_eq!(at, start + Duration::from_millis(ms), "timer of {ms} ms");
        }
    }

    #[test]
    fn never_fires_a_tick_early() {
        let start = Instant::now();
        for &ms in &[1, 63, 64, 4095, 4096, HOUR_MS, DAY_MS, 3 * YEAR_MS] {
            let mut wheel = Wheel::new(start);
            let deadline = start + Duration::from_millis(ms);
            wheel.insert(deadline, ms);
            let mut fired = Vec::new();
            // Polls up to just before the deadline, including one a nanosecond short of it.
            for now in [deadline - MILLISECOND, deadline - Duration::from_nanos(1)] {
                wheel.poll(now, |value| fired.push(value));
                assert!(fired.is_empty(), "timer of {ms} ms fired early");
                assert!(wheel.next_deadline().unwrap() <= deadline);
            }
            wheel.poll(deadline, |value| fired.push(value));
            assert_eq!(fired, [ms]);
            assert!(wheel.is_empty());
        }
    }

    #[test]
    fn rounds_sub_millisecond_deadlines_up() {
        let start = Instant::now();
        let mut wheel = Wheel::new(start);
        wheel.insert(start + Duration::from_micros(1500), "one and a half");
        wheel.insert(start + Duration::from_nanos(1), "one nanosecond");
        assert_eq!(wheel.next_deadline(), Some(start + MILLISECOND));

        let mut fired = Vec::new();
        wheel.poll(start + Duration::from_micros(999), |value| fired.push(value));
        assert!(fired.is_empty());
        wheel.poll(start + Duration::from_micros(1999), |value| fired.push(value));
        assert_eq!(fired, ["one nanosecond"]);
        assert_eq!(wheel.next_deadline(), Some(start + 2 * MILLISECOND));
        wheel.poll(start + 2 * MILLISECOND, |value| fired.push(value));
        assert_eq!(fired, ["one nanosecond", "one and a half"]);
    }

    #[test]
    fn remove_returns_the_value_and_rejects_stale_keys() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut wheel = Wheel::new(start);

        let removed = wheel.insert(at(10), "removed");
        let kept = wheel.insert(at(20), "kept");
        assert_eq!(wheel.remove(removed), Some("removed"));
        assert_eq!(wheel.remove(removed), None);
        assert_eq!(wheel.len(), 1);

        // The slab hands the freed slot to the next timer; the old key must not reach it.
        let reused = wheel.insert(at(10), "reused");
        assert_eq!(reused.index, removed.index, "the test needs the slot to be reused");
        assert_ne!(reused, removed);
        assert_eq!(wheel.remove(removed), None);
        assert_eq!(wheel.len(), 2);

        let mut fired = Vec::new();
        wheel.poll(at(20), |value| fired.push(value));
        assert_eq!(fired, ["reused", "kept"]);
        assert_eq!(wheel.remove(kept), None);
        assert_eq!(wheel.remove(reused), None);

        // Keys of fired timers stay stale after their slots are reused too.
        let again = wheel.insert(at(30), "again");
        assert!(again.index == kept.index || again.index == reused.index);
        assert_eq!(wheel.remove(kept), None);
        assert_eq!(wheel.remove(reused), None);
        assert_eq!(wheel.remove(removed), None);
        assert_eq!(wheel.remove(again), Some("again"));
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn remove_from_the_middle_keeps_the_rest_of_the_slot() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(5000);
        let mut wheel = Wheel::new(start);
        let keys: Vec<TimerKey> = (0..5).map(|value| wheel.insert(deadline, value)).collect();
        assert_eq!(wheel.remove(keys[2]), Some(2));
        assert_eq!(wheel.remove(keys[0]), Some(0));
        assert_eq!(wheel.remove(keys[4]), Some(4));
        let fired = drain(&mut wheel);
        assert_eq!(fired, [(1, deadline), (3, deadline)]);
    }

    #[test]
    fn overdue_timers_fire_on_the_next_poll() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut wheel = Wheel::new(start);
        wheel.poll(at(1000), |_: &str| unreachable!());

        wheel.insert(at(1005), "future");
        wheel.insert(at(400), "overdue");
        wheel.insert(at(1000), "now");
        // Never later than the earliest (overdue) deadline.
        assert_eq!(wheel.next_deadline(), Some(at(400)));

        let mut fired = Vec::new();
        // Even a poll with an older `now` (captured before the last poll) fires what is overdue.
        wheel.poll(at(999), |value| fired.push(value));
        assert_eq!(fired, ["overdue", "now"]);
        assert_eq!(wheel.next_deadline(), Some(at(1005)));
        wheel.poll(at(1005), |value| fired.push(value));
        assert_eq!(fired, ["overdue", "now", "future"]);
    }

    #[test]
    fn a_million_timers_half_removed_fire_exactly_once() {
        const COUNT: usize = 1_000_000;
        let start = Instant::now();
        let mut random = XorShift(0x2545_f491_4f6c_dd1d);
        // Up to 2^47 microseconds (4.5 years): every level and the overflow list get timers.
        let deadlines: Vec<Instant> = (0..COUNT).map(|_| start + random.spread(47)).collect();

        let mut wheel = Wheel::new(start);
        let keys: Vec<TimerKey> =
            deadlines.iter().enumerate().map(|(value, &deadline)| wheel.insert(deadline, value as u64)).collect();
        assert_eq!(wheel.len(), COUNT);

        let mut expected_sum = 0u64;
        let mut expected_count = 0;
        for (value, &key) in keys.iter().enumerate() {
            if random.below(2) == 0 {
                assert_eq!(wheel.remove(key), Some(value as u64));
            } else {
                expected_sum += value as u64;
                expected_count += 1;
            }
        }
        assert_eq!(wheel.len(), expected_count);

        let mut fired = vec![false; COUNT];
        let (mut sum, mut count) = (0u64, 0usize);
        let mut last_tick = 0;
        let mut now = start;
        while let Some(next) = wheel.next_deadline() {
            // Sometimes exactly on time, sometimes late by up to a few milliseconds, sometimes far ahead.
            now = now.max(next)
                + match random.below(4) {
                    0 => Duration::ZERO,
                    1 | 2 => Duration::from_micros(random.below(3000)),
                    _ => random.spread(36),
                };
            wheel.poll(now, |value| {
                let deadline = deadlines[value as usize];
                assert!(deadline <= now, "timer {value} fired early");
                let tick = tick_of(start, deadline);
                assert!(tick >= last_tick, "timer {value} fired out of order");
                last_tick = tick;
                assert!(!fired[value as usize], "timer {value} fired twice");
                fired[value as usize] = true;
                sum += value;
                count += 1;
            });
        }
        assert!(wheel.is_empty());
        assert_eq!(count, expected_count);
        assert_eq!(sum, expected_sum);
        for (value, &key) in keys.iter().enumerate() {
            assert_eq!(wheel.remove(key), None, "key of timer {value} is not stale");
        }
    }

    #[test]
    fn next_deadline_is_never_after_the_earliest_pending_deadline() {
        let start = Instant::now();
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut wheel = Wheel::new(start);
        // The model: every pending timer as (value, key, deadline).
        let mut pending: Vec<(u64, TimerKey, Instant)> = Vec::new();
        let mut now = start;
        let mut next_value = 0;
        for _ in 0..30_000 {
            match random.below(10) {
                0..=3 => {
                    // Mostly future deadlines, some overdue ones.
                    let deadline = if random.below(8) == 0 {
                        now.checked_sub(random.spread(24)).unwrap_or(start).max(start)
                    } else {
                        now + random.spread(48)
                    };
                    let key = wheel.insert(deadline, next_value);
                    pending.push((next_value, key, deadline));
                    next_value += 1;
                }
                4..=6 if !pending.is_empty() => {
                    let (value, key, _) = pending.swap_remove(random.below(pending.len() as u64) as usize);
                    assert_eq!(wheel.remove(key), Some(value));
                    assert_eq!(wheel.remove(key), None);
                }
                _ => {
                    now += match random.below(3) {
                        0 => wheel.next_deadline().map_or(Duration::ZERO, |next| next.saturating_duration_since(now)),
                        _ => random.spread(40),
                    };
                    let now_tick = (now.duration_since(start).as_nanos() / 1_000_000) as u64;
                    let mut fired = Vec::new();
                    wheel.poll(now, |value| fired.push(value));
                    // Exactly the timers whose tick has been reached fire.
                    let mut due: Vec<u64> = pending
                        .iter()
                        .filter(|&&(_, _, deadline)| tick_of(start, deadline) <= now_tick)
                        .map(|&(value, _, _)| value)
                        .collect();
                    due.sort_unstable();
                    fired.sort_unstable();
                    assert_eq!(fired, due);
                    pending.retain(|&(_, _, deadline)| tick_of(start, deadline) > now_tick);
                }
            }
            assert_eq!(wheel.len(), pending.len());
            let earliest = pending.iter().map(|&(_, _, deadline)| tick_of(start, deadline)).min();
            match (wheel.next_deadline(), earliest) {
                (None, None) => {}
                (Some(next), Some(tick)) => {
                    assert!(next <= start + Duration::from_millis(tick), "next_deadline after the earliest deadline");
                }
                (next, earliest) => panic!("next_deadline {next:?} but earliest pending tick {earliest:?}"),
            }
        }
    }

    #[test]
    fn a_jump_of_hours_fires_everything_due_in_one_poll() {
        const COUNT: u64 = 200_000;
        let start = Instant::now();
        let mut random = XorShift(0xdead_beef_cafe_f00d);
        let mut wheel = Wheel::new(start);
        for value in 0..COUNT {
            wheel.insert(start + Duration::from_micros(random.below(3 * HOUR_MS * 1000)), value);
        }
        // Not due before the jump's end: stays.
        let later = wheel.insert(start + Duration::from_millis(5 * HOUR_MS + 1), COUNT);

        let clock = Instant::now();
        let mut fired = 0;
        wheel.poll(start + Duration::from_millis(5 * HOUR_MS), |value| {
            assert!(value < COUNT);
            fired += 1;
        });
        let took = clock.elapsed();
        assert_eq!(fired, COUNT);
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.next_deadline(), Some(start + Duration::from_millis(5 * HOUR_MS + 1)));
        assert_eq!(wheel.remove(later), Some(COUNT));
        // 18 million ticks went by; walking them would take far longer than firing 200,000 timers.
        assert!(took < Duration::from_secs(5), "poll took {took:?}");
    }

    #[test]
    fn a_jump_of_years_does_not_walk_the_ticks() {
        let start = Instant::now();
        let mut wheel = Wheel::new(start);
        let deadlines = [5, 10 * DAY_MS, 3 * YEAR_MS, 7 * YEAR_MS + 3, 20 * YEAR_MS];
        for &ms in &deadlines {
            wheel.insert(start + Duration::from_millis(ms), ms);
        }
        let clock = Instant::now();
        let mut fired = Vec::new();
        wheel.poll(start + Duration::from_millis(10 * YEAR_MS), |value| fired.push(value));
        assert_eq!(fired, [5, 10 * DAY_MS, 3 * YEAR_MS, 7 * YEAR_MS + 3]);
        assert_eq!(wheel.len(), 1);
        // 3 * 10^11 ticks: a poll that visited each one would not finish.
        assert!(clock.elapsed() < Duration::from_secs(1));
        assert_eq!(drain(&mut wheel), [(20 * YEAR_MS, start + Duration::from_millis(20 * YEAR_MS))]);
    }

    /// Prints nanoseconds per operation for a worker-like load: a million timers within a minute, polled every ms.
    /// Run alone in release mode for meaningful numbers: `cargo test --release timings -- --nocapture`.
    #[test]
    fn timings_of_a_million_inserts_and_fires() {
        const COUNT: u64 = 1_000_000;
        let start = Instant::now();
        let mut random = XorShift(0x0123_4567_89ab_cdef);
        let deadlines: Vec<Instant> =
            (0..COUNT).map(|_| start + Duration::from_micros(random.below(60_000_000))).collect();
        let mut wheel = Wheel::new(start);

        let clock = Instant::now();
        let keys: Vec<TimerKey> =
            deadlines.iter().enumerate().map(|(value, &deadline)| wheel.insert(deadline, value as u64)).collect();
        let insert = clock.elapsed();

        let clock = Instant::now();
        let mut fired = 0u64;
        let mut sum = 0u64;
        for ms in 0..=60_000 {
            wheel.poll(start + Duration::from_millis(ms), |value| {
                fired += 1;
                sum += value;
            });
        }
        let fire = clock.elapsed();
        assert_eq!(fired, COUNT);
        assert_eq!(sum, COUNT * (COUNT - 1) / 2);

        // The common case: insert a timeout, then cancel it before it fires.
        let clock = Instant::now();
        for (value, &deadline) in deadlines.iter().enumerate() {
            let key = wheel.insert(deadline + Duration::from_secs(60), value as u64);
            assert_eq!(wheel.remove(key), Some(value as u64));
        }
        let insert_and_remove = clock.elapsed();
        assert!(wheel.is_empty());
        assert!(keys.iter().all(|&key| wheel.remove(key).is_none()));

        let per_op = |took: Duration| took.as_nanos() as f64 / COUNT as f64;
        eprintln!(
            "{COUNT} timers: insert {:.1} ns, fire (polled every ms over 60 s) {:.1} ns, insert+remove {:.1} ns",
            per_op(insert),
            per_op(fire),
            per_op(insert_and_remove)
        );
    }
}
