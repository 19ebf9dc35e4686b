//! A joined run's part of each host (`--join`): who completed what, the retries the store made
//! its workers take, and how long its workers took by its own clock.

use std::io::{self, Write};

use super::Human;
use crate::output::table::{Align, Cell, write_table_within};
use crate::results::Report;

impl Human {
    /// One row per host and mode, after the summary, for a joined run.
    pub(super) fn write_hosts(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let settings = &report.settings;
        let Some(join) = &settings.join else {
            return Ok(());
        };
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for group in report.groups.iter().filter(|g| g.count > 0) {
            for (slot, part) in group.hosts_total.iter().enumerate() {
                // The header names each host; the number is enough here.
                let mean_ms = part.elapsed_ns as f64 / group.count as f64 / 1e6;
                rows.push(vec![
                    Cell::plain((slot + 1).to_string()),
                    Cell::plain(group.name(settings)),
                    Cell::plain(format!(
                        "{}/{}",
                        part.completed,
                        group.expected() / u64::from(join.hosts) * group.count
                    )),
                    Cell::plain(part.retries.to_string()),
                    Cell::plain(super::number(mean_ms)),
                ]);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        let header = [
            ("host", Align::Left),
            ("mode", Align::Left),
            ("completed", Align::Right),
            ("retries", Align::Right),
            ("ms/trial", Align::Right),
        ];
        let within = if self.stack { self.width } else { usize::MAX };
        write_table_within(out, &header, &rows, self.color, within)
    }
}
