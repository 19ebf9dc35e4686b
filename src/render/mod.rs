//! Renderers: each output format turns a [`Report`] (plain data) into bytes. They never
//! measure; the runner never prints.

use std::io::{self, Write};

use crate::config::Format;
use crate::results::{Keep, Report};

pub mod explanation;
pub mod human;
pub mod scale;
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
        Format::Human => Keep { trials: true },
        // Totals are printed as they come; nothing grows with the trial count.
        Format::Totals => Keep { trials: false },
    }
}

/// The renderer of a format.
pub fn renderer(format: Format, color: bool) -> Box<dyn Render> {
    match format {
        Format::Human => Box::new(human::Human { color }),
        Format::Totals => Box::new(totals::TotalsEnd),
    }
}
