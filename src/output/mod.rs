//! Renderers: each output format turns a [`Report`] (plain data) into bytes. They never
//! measure; the runner never prints.

use std::io::{self, Write};

use crate::machine::Machine;
use crate::results::Report;

pub(crate) mod csv;
pub(crate) mod explanation;
pub(crate) mod export;
#[cfg(test)]
pub(crate) mod fixture;
pub(crate) mod format;
pub(crate) mod histogram;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod markdown;
pub(crate) mod progress;
pub(crate) mod scale;
pub(crate) mod speed;
pub(crate) mod svg;
pub(crate) mod table;
pub(crate) mod timeline;
pub(crate) mod totals;

/// One output format.
pub trait Render {
    /// Writes the finished report.
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// What the renderers are told about where they print, beyond the report itself.
#[derive(Debug, Clone)]
pub struct Surroundings {
    /// Whether to colour human output.
    pub color: bool,
    /// Columns available to human output (80 when stdout is not a terminal).
    pub width: usize,
    /// The machine the run happened on (json).
    pub machine: Machine,
}

/// Columns of the terminal on stdout; else COLUMNS when set; else 80.
pub(crate) fn output_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80)
}
