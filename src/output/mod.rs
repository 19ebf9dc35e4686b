//! Renderers: each output format turns a [`Report`] (plain data) into bytes. They never
//! measure; the runner never prints.

use std::io::{self, Write};

use crate::model::machine::Machine;
use crate::probe::Probe;
use crate::results::Report;

pub(crate) mod csv;
pub(crate) mod explanation;
pub(crate) mod export;
#[cfg(test)]
pub(crate) mod fixture;
pub(crate) mod format;
pub(crate) mod histogram;
pub(crate) mod html;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod jsonl;
pub(crate) mod markdown;
pub(crate) mod progress;
pub(crate) mod record;
pub(crate) mod scale;
pub(crate) mod speed;
pub(crate) mod svg;
pub(crate) mod table;
pub(crate) mod timeline;
pub(crate) mod totals;
pub(crate) mod wrap;

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
    /// Whether `width` is the reader's (a terminal's, or COLUMNS): only then is a table too
    /// wide for it stacked. A file or pipe keeps the table whole.
    pub width_known: bool,
    /// The machine the run happened on (json).
    pub machine: Machine,
}

impl Surroundings {
    /// Where a run's output goes, from what the probe found and whether to colour.
    pub fn of(probe: &Probe, color: bool) -> Surroundings {
        Surroundings {
            color,
            width: probe.width.0,
            width_known: probe.width.1,
            machine: probe.machine.clone(),
        }
    }
}
