//! Renderers: each output format turns a [`Report`] (plain data) into bytes. They never
//! measure; the runner never prints.

use std::io::{self, Write};

use crate::config::Format;
use crate::machine::Machine;
use crate::results::{Keep, Report};

pub mod csv;
pub mod explanation;
#[cfg(test)]
pub(crate) mod fixture;
pub mod histogram;
pub mod human;
pub mod json;
pub mod markdown;
pub mod scale;
pub mod speed;
pub mod svg;
pub mod table;
pub mod timeline;
pub mod totals;

/// One output format.
pub trait Render {
    /// Writes the finished report.
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// What each format needs kept of every trial.
pub fn keep_for(format: Format) -> Keep {
    match format {
        Format::Human | Format::Csv | Format::Markdown => Keep {
            trials: true,
            workers: false,
        },
        // Every worker's count of every trial: procs times the memory, so only json keeps it.
        Format::Json => Keep {
            trials: true,
            workers: true,
        },
        // Totals are printed as they come; nothing grows with the trial count.
        Format::Totals => Keep {
            trials: false,
            workers: false,
        },
    }
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

/// The renderer of a format.
pub fn renderer(format: Format, surroundings: &Surroundings) -> Box<dyn Render> {
    match format {
        Format::Human => Box::new(human::Human {
            color: surroundings.color,
            width: surroundings.width,
        }),
        Format::Totals => Box::new(totals::TotalsEnd),
        Format::Json => Box::new(json::Json {
            machine: surroundings.machine.clone(),
        }),
        Format::Csv => Box::new(csv::Csv),
        Format::Markdown => Box::new(markdown::Markdown),
    }
}

/// Columns of the terminal on stdout; else COLUMNS when set; else 80.
pub fn output_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80)
}
