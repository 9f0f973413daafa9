//! [`Select`] and [`SelectedOperation`]: waiting on several channel operations at once, the machinery under
//! [`select!`](crate::select).
//!
//! Selection has two halves, as in crossbeam. Choosing an operation *reserves* it (a message set aside, room
//! set aside, a receiver woken for our message); completing it with [`SelectedOperation::recv`] or
//! [`SelectedOperation::send`] performs it. In between no other operation can take what was reserved, so
//! completion cannot fail except by disconnection. The protocol and its cancellation rules are in the
//! [module docs](super).

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channel::{Reservation, Side};
use super::error::{ReadyTimeoutError, RecvError, SelectTimeoutError, SendError, TryReadyError, TrySelectError};
use super::receiver::Receiver;
use super::sender::Sender;
use crate::park::{self, Wake};
use crate::sync::wait_queue::Waiter;

/// One end of a channel as `select!` sees it, with the message type erased.
pub(crate) trait SelectHandle {
    /// Step 1: reserves the operation if it can proceed now (also when it would only fail: disconnected).
    fn try_reserve(&self) -> Option<Reservation>;
    /// Step 3: registers `waiter` under `token`, or returns true (registering nothing) if ready now.
    fn register(&self, waiter: &Arc<Waiter>, token: usize) -> bool;
    /// Step 5: removes `waiter`'s registration.
    fn unregister(&self, waiter: &Arc<Waiter>);
    /// Passes on a wake-up claimed through this handle that an unwinding select cannot use.
    fn pass_on(&self);
    /// When a timer receiver is next ready; the select parks no longer than that.
    fn deadline(&self) -> Option<Instant>;
    /// Gives back a reservation that will not be completed.
    fn release(&self, reservation: Reservation);
}

/// One operation of a select: which end, and which way.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Operation<'a> {
    /// The sender or receiver.
    handle: &'a dyn SelectHandle,
    /// Send or receive; checked when the operation is completed.
    side: Side,
    /// The address of the `Sender`/`Receiver` given, to check completion is called with the same one.
    address: usize,
}

impl<'a> Operation<'a> {
    /// A receive from `receiver`.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send("message").unwrap();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// let operation = select.select();
    /// assert_eq!(operation.recv(&r), Ok("message"));
    /// ```
    pub fn recv<T>(receiver: &'a Receiver<T>) -> Operation<'a> {
        Operation { handle: receiver, side: Side::Receive, address: receiver as *const Receiver<T> as usize }
    }

    /// A send into `sender`.
    ///
    /// ```
    /// use green::channel::{bounded, Select};
    ///
    /// let (s, r) = bounded(1);
    /// let mut select = Select::new();
    /// select.send(&s);
    /// let operation = select.select();
    /// assert_eq!(operation.send(&s, 10), Ok(()));
    /// assert_eq!(r.recv(), Ok(10));
    /// ```
    pub fn send<T>(sender: &'a Sender<T>) -> Operation<'a> {
        Operation { handle: sender, side: Side::Send, address: sender as *const Sender<T> as usize }
    }
}

/// How long a select may wait.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    /// Not at all (`default =>`).
    Never,
    /// Until an operation is ready.
    Forever,
    /// At most this long (`default(timeout) =>`).
    For(Duration),
    /// Until this instant.
    Until(Instant),
}

impl Wait {
    /// The deadline, or `Err(())` when the select must not wait.
    fn deadline(self) -> Result<Option<Instant>, ()> {
        match self {
            Wait::Never => Err(()),
            Wait::Forever => Ok(None),
            Wait::For(duration) => Ok(Instant::now().checked_add(duration)),
            Wait::Until(deadline) => Ok(Some(deadline)),
        }
    }
}

/// The entry point of [`select!`](crate::select): selects one of `operations` (indexed by position).
#[doc(hidden)]
pub fn select<'a>(operations: &[Operation<'a>], wait: Wait) -> Option<SelectedOperation<'a>> {
    select_in(operations, wait, false)
}

/// [`select`], trying the operations in the order given when `biased` (`select_biased!`), at random otherwise;
/// what the macros expand to, not a public API.
pub fn select_in<'a>(operations: &[Operation<'a>], wait: Wait, biased: bool) -> Option<SelectedOperation<'a>> {
    let (position, reservation) = run(operations, wait, biased)?;
    Some(SelectedOperation { index: position, operation: operations[position], reservation: Some(reservation) })
}

/// The select protocol (module docs, steps 1–6); returns the position of the reserved operation.
fn run(operations: &[Operation<'_>], wait: Wait, biased: bool) -> Option<(usize, Reservation)> {
    // Step 1: a pass in random order, so that no ready operation is favoured (in order when biased).
    if let Some(found) = try_all(operations, biased) {
        return Some(found);
    }
    // Step 2.
    let deadline = wait.deadline().ok()?;
    let order = Order::new(operations.len(), biased);
    loop {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return None;
        }
        // Step 3: one waiter, registered with every operation under its index; stop at a ready one.
        let waiter = Waiter::current();
        let mut registration =
            Registration { operations, order: &order, waiter: &waiter, registered: 0, withdrawn: false };
        for (count, index) in order.iter().enumerate() {
            if operations[index].handle.register(&waiter, index) {
                waiter.claim(index); // loses to a waker that got here first; either way we are claimed
                break;
            }
            registration.registered = count + 1;
        }
        // Step 4: park until claimed, or until the deadline or a timer operation is due.
        let timers = operations.iter().filter_map(|operation| operation.handle.deadline()).min();
        let wake_at = match (deadline, timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        while waiter.woken_by().is_none() {
            if park::park_until(crate::inspect::WaitReason::Select, wake_at) == Wake::TimedOut {
                break;
            }
        }
        // Step 5: withdraw everywhere, then learn which registration (if any) claimed us.
        registration.withdraw();
        drop(registration);
        let woken_by = waiter.abort();
        Waiter::recycle(waiter);
        if let Some(index) = woken_by {
            // Step 6: try the operation that woke us first; it can have been taken meanwhile.
            if let Some(reservation) = operations[index].handle.try_reserve() {
                return Some((index, reservation));
            }
        }
        if let Some(found) = try_all(operations, biased) {
            return Some(found);
        }
    }
}

/// Tries every operation once, in random order (in the order given when `biased`).
fn try_all(operations: &[Operation<'_>], biased: bool) -> Option<(usize, Reservation)> {
    Order::new(operations.len(), biased)
        .iter()
        .find_map(|index| operations[index].handle.try_reserve().map(|reservation| (index, reservation)))
}

/// A select's registrations while it parks. Dropped without [`withdraw`](Registration::withdraw) — the park
/// unwound — it withdraws and passes on a wake-up that arrived meanwhile.
struct Registration<'a, 'b> {
    /// The operations.
    operations: &'b [Operation<'a>],
    /// The order they were registered in.
    order: &'b Order,
    /// The select's one waiter.
    waiter: &'b Arc<Waiter>,
    /// How many operations (in `order`) hold a registration.
    registered: usize,
    /// Set by the normal path's [`withdraw`](Registration::withdraw); the drop then does nothing.
    withdrawn: bool,
}

impl Registration<'_, '_> {
    /// Step 5: removes every registration.
    fn withdraw(&mut self) {
        for index in self.order.iter().take(self.registered) {
            self.operations[index].handle.unregister(self.waiter);
        }
        self.withdrawn = true;
    }
}

impl Drop for Registration<'_, '_> {
    fn drop(&mut self) {
        if self.withdrawn {
            return;
        }
        // The park unwound (cancellation, an expired `timeout` scope).
        self.withdraw();
        if let Some(index) = self.waiter.abort() {
            self.operations[index].handle.pass_on();
        }
    }
}

/// A permutation of `0..len` — random (Fisher–Yates), or the identity for a biased select — kept inline for
/// selects of up to 32 operations.
enum Order {
    /// Short lists, without allocating.
    Inline([u8; 32], u8),
    /// Longer lists.
    Heap(Vec<usize>),
}

impl Order {
    fn new(len: usize, biased: bool) -> Order {
        let shuffle = !biased;
        if len <= 32 {
            let mut indices = [0u8; 32];
            for (i, slot) in indices.iter_mut().enumerate().take(len) {
                *slot = i as u8;
            }
            for i in (1..len).rev().filter(|_| shuffle) {
                indices.swap(i, random_below(i + 1));
            }
            Order::Inline(indices, len as u8)
        } else {
            let mut indices: Vec<usize> = (0..len).collect();
            for i in (1..len).rev().filter(|_| shuffle) {
                indices.swap(i, random_below(i + 1));
            }
            Order::Heap(indices)
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let (inline, heap) = match self {
            Order::Inline(indices, len) => (&indices[..*len as usize], &[][..]),
            Order::Heap(indices) => (&[][..], &indices[..]),
        };
        inline.iter().map(|&i| usize::from(i)).chain(heap.iter().copied())
    }
}

/// A random number in `0..bound` from a per-OS-thread xorshift generator (fairness, not security).
fn random_below(bound: usize) -> usize {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            use std::hash::{BuildHasher, Hasher};
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(&hasher as *const _ as usize);
            hasher.finish() | 1
        });
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        ((u128::from(x) * bound as u128) >> 64) as usize
    })
}

/// Waits on several channel operations and performs one; the dynamic form of [`select!`](crate::select).
///
/// Add operations with [`recv`](Select::recv) and [`send`](Select::send) (each returns the operation's
/// index), choose one with [`select`](Select::select) (or `try_select`, `select_timeout`, `select_deadline`),
/// then complete it with [`SelectedOperation::recv`] or [`SelectedOperation::send`], passing the same
/// receiver or sender. When several operations are ready, one is chosen at random ([`Select::new_biased`]:
/// the first one added).
///
/// ```
/// use green::channel::{unbounded, Select};
///
/// let (s1, r1) = unbounded::<i32>();
/// let (s2, r2) = unbounded::<&str>();
/// s2.send("hello").unwrap();
///
/// let mut select = Select::new();
/// let first = select.recv(&r1);
/// let second = select.recv(&r2);
/// let operation = select.select();
/// match operation.index() {
///     i if i == first => panic!("r1 is empty: {:?}", operation.recv(&r1)),
///     i if i == second => assert_eq!(operation.recv(&r2), Ok("hello")),
///     _ => unreachable!(),
/// }
/// # drop(s1);
/// ```
#[derive(Clone, Default)]
pub struct Select<'a> {
    /// The operations, in the order they were added (minus removed ones).
    operations: Vec<Operation<'a>>,
    /// The index returned to the user for each operation in `operations`.
    indices: Vec<usize>,
    /// The index the next added operation gets.
    next_index: usize,
    /// Whether ready operations are chosen in the order they were added instead of at random.
    biased: bool,
}

impl<'a> Select<'a> {
    /// An empty select: among ready operations it chooses at random.
    ///
    /// ```
    /// use green::channel::{never, Select};
    ///
    /// let mut select = Select::new();
    /// let nothing = never::<i32>();
    /// select.recv(&nothing);
    /// assert!(select.try_select().is_err());
    /// ```
    pub fn new() -> Select<'a> {
        Select::default()
    }

    /// An empty select that, among ready operations, chooses the one added first (crossbeam's
    /// `Select::new_biased`). Faster, but a busy first operation can starve the others.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s1, r1) = unbounded();
    /// let (s2, r2) = unbounded();
    /// s1.send(1).unwrap();
    /// s2.send(2).unwrap();
    ///
    /// let mut select = Select::new_biased();
    /// let first = select.recv(&r1);
    /// select.recv(&r2);
    /// let operation = select.select();
    /// assert_eq!(operation.index(), first); // both are ready: the first one added wins
    /// assert_eq!(operation.recv(&r1), Ok(1));
    /// ```
    pub fn new_biased() -> Select<'a> {
        Select { biased: true, ..Select::default() }
    }

    /// Adds a send into `sender`; returns its index.
    ///
    /// ```
    /// use green::channel::{bounded, Select};
    ///
    /// let (s, r) = bounded(1);
    /// let mut select = Select::new();
    /// let index = select.send(&s);
    /// let operation = select.select();
    /// assert_eq!(operation.index(), index);
    /// operation.send(&s, "sent").unwrap();
    /// assert_eq!(r.recv(), Ok("sent"));
    /// ```
    pub fn send<T>(&mut self, sender: &'a Sender<T>) -> usize {
        self.add(Operation::send(sender))
    }

    /// Adds a receive from `receiver`; returns its index.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send(7).unwrap();
    /// let mut select = Select::new();
    /// let index = select.recv(&r);
    /// let operation = select.select();
    /// assert_eq!(operation.index(), index);
    /// assert_eq!(operation.recv(&r), Ok(7));
    /// ```
    pub fn recv<T>(&mut self, receiver: &'a Receiver<T>) -> usize {
        self.add(Operation::recv(receiver))
    }

    fn add(&mut self, operation: Operation<'a>) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        self.operations.push(operation);
        self.indices.push(index);
        index
    }

    /// Removes the operation with index `index`.
    ///
    /// # Panics
    /// If there is no such operation (never added, or already removed).
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s1, r1) = unbounded::<i32>();
    /// let (s2, r2) = unbounded::<i32>();
    /// s1.send(1).unwrap();
    /// let mut select = Select::new();
    /// let first = select.recv(&r1);
    /// let second = select.recv(&r2);
    /// select.remove(first); // r1 is ready, but no longer selected
    /// assert!(select.try_select().is_err());
    /// s2.send(2).unwrap();
    /// let operation = select.select();
    /// assert_eq!(operation.index(), second);
    /// assert_eq!(operation.recv(&r2), Ok(2));
    /// ```
    pub fn remove(&mut self, index: usize) {
        let position = self.indices.iter().position(|&i| i == index).expect("no operation with this index");
        self.operations.remove(position);
        self.indices.remove(position);
    }

    fn choose(&self, wait: Wait) -> Option<SelectedOperation<'a>> {
        let (position, reservation) = run(&self.operations, wait, self.biased)?;
        Some(SelectedOperation {
            index: self.indices[position],
            operation: self.operations[position],
            reservation: Some(reservation),
        })
    }

    /// Selects an operation that is ready now.
    ///
    /// # Errors
    /// [`TrySelectError`] when none is.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// assert!(select.try_select().is_err());
    /// s.send(1).unwrap();
    /// assert_eq!(select.try_select().unwrap().recv(&r), Ok(1));
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        self.choose(Wait::Never).ok_or(TrySelectError)
    }

    /// Waits until an operation is ready and selects it. With no operations it waits forever.
    ///
    /// A cancellation point; a wake-up that arrives as the wait is cancelled is passed on.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// green::run(|| {
    ///     let (s, r) = unbounded();
    ///     green::spawn(move || s.send("late").unwrap());
    ///     let mut select = Select::new();
    ///     select.recv(&r);
    ///     assert_eq!(select.select().recv(&r), Ok("late")); // parked until the send
    /// });
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        self.choose(Wait::Forever).expect("a select without a deadline only returns with an operation")
    }

    /// Like [`select`](Select::select), giving up after `timeout`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when no operation became ready in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::channel::{unbounded, Select};
    ///
    /// let (_s, r) = unbounded::<i32>();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// assert!(select.select_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_timeout(&mut self, timeout: Duration) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.choose(Wait::For(timeout)).ok_or(SelectTimeoutError)
    }

    /// Like [`select`](Select::select), giving up at `deadline`.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when no operation became ready in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use green::channel::{unbounded, Select};
    ///
    /// let (_s, r) = unbounded::<i32>();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// assert!(select.select_deadline(Instant::now() + Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_deadline(&mut self, deadline: Instant) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.choose(Wait::Until(deadline)).ok_or(SelectTimeoutError)
    }

    /// The index of an operation that is ready now, without performing it. It may have stopped being ready
    /// by the time the caller acts: check again.
    ///
    /// # Errors
    /// [`TryReadyError`] when none is.
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// let mut select = Select::new();
    /// let index = select.recv(&r);
    /// assert!(select.try_ready().is_err());
    /// s.send(1).unwrap();
    /// assert_eq!(select.try_ready(), Ok(index));
    /// assert_eq!(r.try_recv(), Ok(1)); // `ready` does not receive
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        self.choose(Wait::Never).map(SelectedOperation::give_back).ok_or(TryReadyError)
    }

    /// Waits until an operation is ready and returns its index, without performing it (see
    /// [`try_ready`](Select::try_ready)).
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// green::run(|| {
    ///     let (s, r) = unbounded();
    ///     green::spawn(move || s.send(1).unwrap());
    ///     let mut select = Select::new();
    ///     let index = select.recv(&r);
    ///     assert_eq!(select.ready(), index);
    ///     assert_eq!(r.recv(), Ok(1));
    /// });
    /// ```
    pub fn ready(&mut self) -> usize {
        self.choose(Wait::Forever).map(SelectedOperation::give_back).expect("waits until an operation is ready")
    }

    /// Like [`ready`](Select::ready), giving up after `timeout`.
    ///
    /// # Errors
    /// [`ReadyTimeoutError`] when no operation became ready in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use green::channel::{unbounded, Select};
    ///
    /// let (_s, r) = unbounded::<i32>();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// assert!(select.ready_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        self.choose(Wait::For(timeout)).map(SelectedOperation::give_back).ok_or(ReadyTimeoutError)
    }

    /// Like [`ready`](Select::ready), giving up at `deadline`.
    ///
    /// # Errors
    /// [`ReadyTimeoutError`] when no operation became ready in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use green::channel::{unbounded, Select};
    ///
    /// let (_s, r) = unbounded::<i32>();
    /// let mut select = Select::new();
    /// select.recv(&r);
    /// assert!(select.ready_deadline(Instant::now() + Duration::from_millis(5)).is_err());
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        self.choose(Wait::Until(deadline)).map(SelectedOperation::give_back).ok_or(ReadyTimeoutError)
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Select { .. }")
    }
}

/// The operation a [`Select`] chose, reserved for the caller: complete it with [`recv`](Self::recv) or
/// [`send`](Self::send), right away.
///
/// # Panics
/// Dropping it without completing it gives the reservation back and then panics (as crossbeam does), unless
/// the thread is already unwinding — a cancellation between selecting and completing is fine.
#[must_use = "a selected operation must be completed with `recv` or `send`"]
pub struct SelectedOperation<'a> {
    /// The index the operation was added under.
    index: usize,
    /// The operation.
    operation: Operation<'a>,
    /// What was reserved; taken by completion.
    reservation: Option<Reservation>,
}

impl SelectedOperation<'_> {
    /// The index of the selected operation (as returned by [`Select::recv`] or [`Select::send`]).
    ///
    /// ```
    /// use green::channel::{unbounded, Select};
    ///
    /// let (s, r) = unbounded();
    /// s.send(1).unwrap();
    /// let mut select = Select::new();
    /// let index = select.recv(&r);
    /// let operation = select.select();
    /// assert_eq!(operation.index(), index);
    /// assert_eq!(operation.recv(&r), Ok(1));
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes the selected send: `message` goes into the room that was reserved for it.
    ///
    /// # Errors
    /// [`SendError`] with the message when the channel is disconnected.
    ///
    /// # Panics
    /// If `sender` is not the sender the operation was added with.
    pub fn send<T>(mut self, sender: &Sender<T>, message: T) -> Result<(), SendError<T>> {
        assert!(
            self.operation.side == Side::Send && self.operation.address == sender as *const Sender<T> as usize,
            "passed a sender that wasn't selected"
        );
        let reservation = self.reservation.take().expect("an operation is completed once");
        sender.complete_send(reservation, message)
    }

    /// Completes the selected receive: takes the message that was reserved for it.
    ///
    /// # Errors
    /// [`RecvError`] when the channel is empty and disconnected.
    ///
    /// # Panics
    /// If `receiver` is not the receiver the operation was added with.
    pub fn recv<T>(mut self, receiver: &Receiver<T>) -> Result<T, RecvError> {
        assert!(
            self.operation.side == Side::Receive && self.operation.address == receiver as *const Receiver<T> as usize,
            "passed a receiver that wasn't selected"
        );
        let reservation = self.reservation.take().expect("an operation is completed once");
        receiver.complete_recv(reservation)
    }

    /// Gives the reservation back and returns the index (`Select::ready`).
    fn give_back(mut self) -> usize {
        if let Some(reservation) = self.reservation.take() {
            self.operation.handle.release(reservation);
        }
        self.index
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        if let Some(reservation) = self.reservation.take() {
            self.operation.handle.release(reservation);
            if !crate::thread::panicking() {
                panic!("dropped `SelectedOperation` without completing the operation");
            }
        }
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("SelectedOperation { .. }")
    }
}
