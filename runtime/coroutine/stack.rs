//! Temporary stand-in: replaced by the guarded stack implementation.
use std::io;
use std::ops::Range;

use corosensei::stack::{DefaultStack, Stack, StackPointer};

pub(crate) struct GuardedStack {
    inner: DefaultStack,
    usable_size: usize,
}

impl GuardedStack {
    pub(crate) fn new(usable_size: usize) -> io::Result<GuardedStack> {
        Ok(GuardedStack { inner: DefaultStack::new(usable_size)?, usable_size })
    }
    pub(crate) fn usable_size(&self) -> usize {
        self.usable_size
    }
    pub(crate) fn guard_range(&self) -> Range<usize> {
        self.inner.limit().get()..self.inner.limit().get() + 4096
    }
}

// SAFETY: forwards to DefaultStack, which upholds the trait's contract.
unsafe impl Stack for GuardedStack {
    fn base(&self) -> StackPointer {
        self.inner.base()
    }
    fn limit(&self) -> StackPointer {
        self.inner.limit()
    }
}

/// Fails early when the process cannot hold another stack of `size` bytes. Stand-in: always Ok.
pub(crate) fn check_capacity(_size: usize) -> io::Result<()> {
    Ok(())
}
