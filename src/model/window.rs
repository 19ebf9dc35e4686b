//! The race window: what a worker does between reading the counter and writing it back.

use std::fmt;

use super::units::{format_nanos, parse_nanos};

/// What a worker does between reading the counter and writing it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Busy-wait this many nanoseconds on the monotonic clock (0: nothing at all).
    Busy(u64),
    /// Call sched_yield once.
    Yield,
}

impl Window {
    /// Parses a race window: a duration or the word `yield`.
    pub fn parse(text: &str) -> Result<Window, String> {
        if text.trim().eq_ignore_ascii_case("yield") {
            Ok(Window::Yield)
        } else {
            parse_nanos(text)
                .map(Window::Busy)
                .map_err(|e| format!("{e}, or the word yield"))
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yield_or_a_duration() {
        assert_eq!(Window::parse("yield"), Ok(Window::Yield));
        assert_eq!(Window::parse("1us"), Ok(Window::Busy(1_000)));
        assert!(Window::parse("yeld").unwrap_err().contains("yield"));
    }
}
