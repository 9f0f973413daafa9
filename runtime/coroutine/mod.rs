//! Green threads as stackful coroutines: their stacks, their record on a worker, and the switch.
//!
//! A green thread is a corosensei [`Coroutine`](corosensei::Coroutine) on a [`GuardedStack`] taken from its
//! worker's [`StackPool`]. The worker loop resumes it; it runs until it calls [`suspend`] (to park or yield) or
//! returns. All switches go between a green thread and its worker loop, never directly between two green
//! threads: the worker decides what runs next. (corosensei's switch is asymmetric: a coroutine resumed from
//! inside another one suspends back into it, so a direct green-to-green switch would nest stacks; see
//! DESIGN.md, "Performance", for what the loop costs.)
//!
//! ```text
//!   worker loop (OS thread stack)            green thread (its own stack)
//!   ─────────────────────────────            ───────────────────────────
//!   task.resume() ───── switch in ─────────► ... user code ...
//!                                            park_until() -> suspend(Park)
//!   ◄─────────────── switch out ────────────  yielder.suspend()
//!   (picks the next runnable)
//! ```
//!
//! # Layout
//! - [`stack`]: one stack with a guard page: an arena slot, or a mapping of its own.
//! - [`stack_arena`]: large mappings cut into stacks whose guard pages are page-table markers, so a green thread
//!   costs no kernel memory area; detects whether the kernel has them.
//! - [`stack_pool`]: per-worker cache of stacks, so a spawn in steady state makes no system call.
//! - [`overflow`]: the SIGSEGV handler that names the green thread that overflowed its stack.
//! - [`task`]: the record a worker keeps for each started green thread, and the switch itself.

pub(crate) mod overflow;
pub(crate) mod stack;
pub(crate) mod stack_arena;
pub(crate) mod stack_pool;
pub(crate) mod task;
#[cfg(test)]
mod test_child;

pub(crate) use stack::GuardedStack;
pub(crate) use stack_pool::{StackPool, DEFAULT_STACK_SIZE};
pub(crate) use task::{suspend, NewTask, Suspend, Task};
