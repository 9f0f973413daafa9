//! The reactor: each worker's mio `Poll`, and how a socket call waits on it.
//!
//! Every worker owns one [`Reactor`] (its `Poll`, turned by the worker loop) and shares its
//! [`ReactorHandle`] (a registry clone and the table of registered sockets). Every `green::net` socket owns a
//! [`Registration`]: its descriptor, its [`ScheduledIo`] (readiness bits with a tick, and queues of waiting
//! threads), and which reactor holds it now, if any.
//!
//! # Ownership
//! - [`Reactor`] (the `Poll` and its event buffer): the worker's OS thread only, inside the worker loop.
//! - [`ReactorHandle`]: shared (`Arc`) by the reactor and every registration that lives there; any thread may
//!   deregister from it, only the worker's own green threads register with it.
//! - [`Registration`]: owned by one socket handle; its `home` mutex is held only to (re)register.
//! - [`ScheduledIo`]: shared by the registration and the slab entry; any thread sets, clears and waits.
//!
//! # One `read()` traced through every layer
//! A green thread calls `stream.read(&mut buf)` on a `green::net::TcpStream`:
//!
//! 1. **net**: `Read for &TcpStream` calls the stream's `Socket::transfer` with [`Interest::Read`], the buffer's
//!    length and the operation (`read(2)` on the std stream, whose descriptor is always in non-blocking
//!    mode); unless the handle was set non-blocking, that goes to [`Registration::io_drain`].
//! 2. **Try first.** `io` reads the readiness word (tick and bits), then calls `read(2)`. If data is there it
//!    returns at once: a socket that never has to wait is never registered and costs no extra system call.
//!    A read that filled less than the buffer drained the socket: `io` clears the READ bit (same tick check as
//!    below), so the *next* read skips the `read(2)` that would fail and goes straight to step 3.
//! 3. **`EAGAIN`.** `io` computes the deadline from the read timeout the socket keeps (no system call; see
//!    `net/socket.rs`) and clears the socket's READ bit
//!    — *only if the tick is unchanged* since step 2. An event that arrived after `read(2)` returned `EAGAIN`
//!    bumped the tick, so its bit survives and the thread retries instead of sleeping through it.
//! 4. **Home.** The first time, the descriptor is registered with the `Poll` of the current green thread's
//!    worker: edge-triggered, readable and writable at once (`EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET`), under a
//!    token made of a slab key and a generation. A socket that moved to a green thread on another worker (it
//!    is `Send`) is moved there too, deregistered from the old `Poll` first — unless another thread waits on
//!    it right now (a shared `&TcpStream`), in which case it stays and cross-worker wake-ups carry the events.
//!    Registering reports the current readiness as an event, so nothing that happened before is lost.
//! 5. **Park.** [`ScheduledIo::wait`] queues a `Waiter` in the socket's reader queue, re-checks the READ bit
//!    under the queue's lock, and parks with `park_until(deadline)`: the green thread switches out and the
//!    worker runs others.
//! 6. **Event.** When the worker has nothing to run it sleeps in `epoll_wait` ([`Reactor::turn`]); after a
//!    full batch, or one that left work queued, it polls without blocking (only while some socket is registered
//!    with it). The event's token leads to the slab entry (a stale generation — the socket was
//!    deregistered meanwhile — is ignored); the READ bit is set, the tick bumped, and every waiter in the
//!    reader queue is woken (`Thread::unpark`: a push onto the run queue of the waiter's own worker, which may
//!    be another one).
//! 7. **Retry.** The green thread resumes in step 5, leaves the queue and calls `read(2)` again (step 2). A
//!    spurious wake-up just retries.
//! 8. **Timeout.** If the deadline passes first, `park_until` returns `TimedOut` and `read` fails with
//!    `EAGAIN` (kind `WouldBlock`), as std's does on Unix. A cancellation (`JoinHandle::cancel`) or an expired
//!    `green::timeout` unwinds from the park instead; a drop guard takes the waiter out of the queue and the
//!    socket stays usable.
//!
//! On a plain OS thread, steps 3–7 are one `poll(2)` on the descriptor with the remaining timeout: that
//! thread blocks, as with std, and no reactor is involved.
//!
//! # Moving and sharing
//! A started green thread never changes worker, but a socket can: it is `Send` and `Sync`. Events of a
//! registration always reach the right threads, because waking is cross-thread; where the registration lives
//! only decides which worker's `epoll_wait` reports it. Step 4 keeps it with the worker that uses it, without
//! ping-pong when two workers use it at once.
//!
//! # Closing
//! Dropping a socket deregisters it (the `Registration` drops before the descriptor closes) and marks its
//! `ScheduledIo` closed, waking any waiter with an error. In safe code nobody can wait on a socket being
//! dropped — `try_clone` makes a second descriptor with its own registration, and dropping it leaves the
//! other's readers waiting, as with std; `shutdown` wakes them with end-of-file.
//!
//! When a runtime shuts down, each worker's reactor closes its table: registrations are dropped and their
//! waiters (green threads of *other* runtimes whose socket happened to live here) are woken, retry, and
//! re-register with their own worker.

mod descriptor;
mod handle;
#[allow(clippy::module_inception)]
mod reactor;
mod registration;
mod scheduled_io;
mod yield_policy;

pub(crate) use descriptor::{set_nonblocking, socket_timeout};
pub(crate) use handle::ReactorHandle;
pub(crate) use reactor::Reactor;
pub(crate) use registration::Registration;
pub(crate) use scheduled_io::{Interest, ScheduledIo, Wait};
