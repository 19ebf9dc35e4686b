//! The race window: what a worker does between reading the counter and writing it back.

use std::fmt;

use crate::command::duration::format_nanos;

/// What a worker does between reading the counter and writing it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Busy-wait this many nanoseconds on the monotonic clock (0: nothing at all).
    Busy(u64),
    /// Call sched_yield once.
    Yield,
}

impl Window {
    /// The window as nanoseconds, `None` for `yield`.
    pub fn nanos(self) -> Option<u64> {
        match self {
            Window::Busy(ns) => Some(ns),
            Window::Yield => None,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Busy(ns) => f.pad(&format_nanos(*ns)),
            Window::Yield => f.pad("yield"),
        }
    }
}
