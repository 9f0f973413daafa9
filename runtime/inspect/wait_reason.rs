//! [`WaitReason`]: what a parked thread waits for, as the thread dump, the stats and the `log` trace name it.
//!
//! Every park says why it parks (the first argument of `park_until`, in the `park` module). The reason is
//! stored in the thread's parker as one word (kind in the low byte, a detail such as a file descriptor or a
//! thread id above it) with a relaxed store, so recording it costs a store per park and reading it never
//! locks.

use std::fmt;
use std::num::NonZeroU64;

use crate::thread::ThreadId;

/// What a parked thread waits for: which kind of blocking call parked it.
///
/// The names printed by [`Display`](fmt::Display) are the ones the thread dump and the `log` trace use
/// (`RUST_LOG=green::park=trace`).
///
/// ```
/// use green::inspect::WaitReason;
/// assert_eq!(WaitReason::ChannelRecv.to_string(), "channel recv");
/// assert_eq!(WaitReason::SocketRead { fd: 7 }.to_string(), "socket read on fd 7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)] // the tag is the kind's index: see `kind_index`
pub enum WaitReason {
    /// [`park`](crate::park()) or [`park_timeout`](crate::park_timeout).
    Park,
    /// [`sleep`](crate::sleep) or [`sleep_until`](crate::sleep_until).
    Sleep,
    /// [`JoinHandle::join`](crate::JoinHandle::join) (also `block_on`'s wait) of the thread with this id.
    Join(ThreadId),
    /// A channel receive (`recv`, `recv_timeout`, an iterator, a timer channel).
    ChannelRecv,
    /// A channel send on a full or rendezvous channel.
    ChannelSend,
    /// [`select!`](crate::select) or [`Select`](crate::channel::Select).
    Select,
    /// [`sync::Mutex::lock`](crate::sync::Mutex::lock).
    Mutex,
    /// [`sync::RwLock::read`](crate::sync::RwLock::read).
    RwLockRead,
    /// [`sync::RwLock::write`](crate::sync::RwLock::write).
    RwLockWrite,
    /// [`sync::Condvar`](crate::sync::Condvar)'s waits.
    Condvar,
    /// [`sync::Barrier::wait`](crate::sync::Barrier::wait).
    Barrier,
    /// [`sync::Once`](crate::sync::Once), `OnceLock` or `LazyLock` waiting for another thread's initialisation.
    Once,
    /// [`sync::Event::wait`](crate::sync::Event::wait).
    Event,
    /// [`sync::Semaphore::acquire`](crate::sync::Semaphore::acquire).
    Semaphore,
    /// [`sync::WaitGroup::wait`](crate::sync::WaitGroup::wait) (also a runtime's drop, waiting for its workers).
    WaitGroup,
    /// A socket read (or accept) on this file descriptor, waiting for readiness.
    SocketRead {
        /// The socket's file descriptor.
        fd: i32,
    },
    /// A socket write (or connect) on this file descriptor, waiting for readiness.
    SocketWrite {
        /// The socket's file descriptor.
        fd: i32,
    },
    /// A [`scope`](crate::scope) waiting for its scoped threads.
    Scope,
    /// A [`Group`](crate::Group) waiting for its members.
    Group,
    /// [`offload`](crate::offload()) waiting for its job on the pool.
    Offload,
}

/// Bits of the detail in the stored word, above the kind's byte.
const KIND_BITS: u32 = 8;

impl WaitReason {
    /// How many kinds there are (the length of [`KIND_NAMES`](Self::KIND_NAMES)).
    pub const KINDS: usize = 20;

    /// The name of each kind, by [`kind_index`](Self::kind_index): the per-kind park counts of
    /// [`WorkerStats::parks`](crate::inspect::WorkerStats::parks) are in this order.
    pub const KIND_NAMES: [&'static str; Self::KINDS] = [
        "park",
        "sleep",
        "join",
        "channel recv",
        "channel send",
        "select",
        "mutex lock",
        "rwlock read",
        "rwlock write",
        "condvar wait",
        "barrier wait",
        "once wait",
        "event wait",
        "semaphore acquire",
        "wait group",
        "socket read",
        "socket write",
        "scope join",
        "group join",
        "offload",
    ];

    /// The kind's position in [`KIND_NAMES`](Self::KIND_NAMES).
    #[inline]
    pub fn kind_index(&self) -> usize {
        // A `repr(u8)` enum with fields is a `repr(C)` union of `repr(C)` structs that each start with the `u8`
        // tag (the Reference, "Primitive representation of enums with fields").
        // SAFETY: so the first byte of any value is its tag; the variants are declared in `KIND_NAMES` order with
        // implicit discriminants 0, 1, 2... (checked by `kind_index_by_match` in the tests).
        let tag = unsafe { *(self as *const WaitReason).cast::<u8>() };
        usize::from(tag)
    }

    /// [`kind_index`](Self::kind_index) the long way, to check the tag reading.
    #[cfg(test)]
    fn kind_index_by_match(&self) -> usize {
        match self {
            WaitReason::Park => 0,
            WaitReason::Sleep => 1,
            WaitReason::Join(_) => 2,
            WaitReason::ChannelRecv => 3,
            WaitReason::ChannelSend => 4,
            WaitReason::Select => 5,
            WaitReason::Mutex => 6,
            WaitReason::RwLockRead => 7,
            WaitReason::RwLockWrite => 8,
            WaitReason::Condvar => 9,
            WaitReason::Barrier => 10,
            WaitReason::Once => 11,
            WaitReason::Event => 12,
            WaitReason::Semaphore => 13,
            WaitReason::WaitGroup => 14,
            WaitReason::SocketRead { .. } => 15,
            WaitReason::SocketWrite { .. } => 16,
            WaitReason::Scope => 17,
            WaitReason::Group => 18,
            WaitReason::Offload => 19,
        }
    }

    /// The reason as one word: the kind's index plus one in the low byte (0 means "none"), the detail above.
    #[inline(always)]
    pub(crate) fn encode(self) -> u64 {
        let detail = match self {
            WaitReason::Join(id) => id.as_u64(),
            WaitReason::SocketRead { fd } | WaitReason::SocketWrite { fd } => u64::from(fd as u32),
            _ => 0,
        };
        (detail << KIND_BITS) | (self.kind_index() as u64 + 1)
    }

    /// The reason stored by [`encode`](Self::encode), `None` for 0.
    pub(crate) fn decode(word: u64) -> Option<WaitReason> {
        let detail = word >> KIND_BITS;
        let fd = detail as u32 as i32;
        Some(match (word & ((1 << KIND_BITS) - 1)).checked_sub(1)? {
            0 => WaitReason::Park,
            1 => WaitReason::Sleep,
            2 => WaitReason::Join(ThreadId::from_u64(NonZeroU64::new(detail)?)),
            3 => WaitReason::ChannelRecv,
            4 => WaitReason::ChannelSend,
            5 => WaitReason::Select,
            6 => WaitReason::Mutex,
            7 => WaitReason::RwLockRead,
            8 => WaitReason::RwLockWrite,
            9 => WaitReason::Condvar,
            10 => WaitReason::Barrier,
            11 => WaitReason::Once,
            12 => WaitReason::Event,
            13 => WaitReason::Semaphore,
            14 => WaitReason::WaitGroup,
            15 => WaitReason::SocketRead { fd },
            16 => WaitReason::SocketWrite { fd },
            17 => WaitReason::Scope,
            18 => WaitReason::Group,
            19 => WaitReason::Offload,
            _ => return None,
        })
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::Join(id) => write!(f, "join of #{}", id.as_u64()),
            WaitReason::SocketRead { fd } => write!(f, "socket read on fd {fd}"),
            WaitReason::SocketWrite { fd } => write!(f, "socket write on fd {fd}"),
            other => f.write_str(WaitReason::KIND_NAMES[other.kind_index()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_survives_its_encoding() {
        let id = crate::current().id();
        let reasons = [
            WaitReason::Park,
            WaitReason::Sleep,
            WaitReason::Join(id),
            WaitReason::ChannelRecv,
            WaitReason::ChannelSend,
            WaitReason::Select,
            WaitReason::Mutex,
            WaitReason::RwLockRead,
            WaitReason::RwLockWrite,
            WaitReason::Condvar,
            WaitReason::Barrier,
            WaitReason::Once,
            WaitReason::Event,
            WaitReason::Semaphore,
            WaitReason::WaitGroup,
            WaitReason::SocketRead { fd: 2_000_000 },
            WaitReason::SocketWrite { fd: -1 },
            WaitReason::Scope,
            WaitReason::Group,
            WaitReason::Offload,
        ];
        for (index, reason) in reasons.iter().enumerate() {
            assert_eq!(reason.kind_index(), index);
            assert_eq!(reason.kind_index_by_match(), index);
            assert_eq!(WaitReason::decode(reason.encode()), Some(*reason));
        }
        assert_eq!(WaitReason::decode(0), None);
        assert_eq!(WaitReason::KIND_NAMES[WaitReason::Join(id).kind_index()], "join");
        assert_eq!(WaitReason::Join(id).to_string(), format!("join of #{}", id.as_u64()));
    }
}
