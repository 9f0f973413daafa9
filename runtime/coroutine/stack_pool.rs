//! Temporary stand-in: replaced by the pooled implementation.
use std::io;

use super::stack::GuardedStack;

pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;

pub(crate) struct StackPool {
    default_size: usize,
    max_cached: usize,
    cached: Vec<GuardedStack>,
}

impl StackPool {
    pub(crate) fn new(default_size: usize, max_cached: usize) -> StackPool {
        StackPool { default_size, max_cached, cached: Vec::new() }
    }
    pub(crate) fn get(&mut self, size: usize) -> io::Result<GuardedStack> {
        if size == self.default_size {
            if let Some(stack) = self.cached.pop() {
                return Ok(stack);
            }
        }
        GuardedStack::new(size)
    }
    pub(crate) fn put(&mut self, stack: GuardedStack) {
        if stack.usable_size() == self.default_size && self.cached.len() < self.max_cached {
            self.cached.push(stack);
        }
    }
}
