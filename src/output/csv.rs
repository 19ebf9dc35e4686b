//! `--format csv` and `--format tsv`: a header, then one row per trial as it finishes, every
//! parameter in its own column (the fields of [`record`](super::record)), for spreadsheets,
//! pandas and `cut`. No field ever needs quoting.

use std::io::{self, Write};

use super::Render;
use super::record::{Record, header};
use crate::model::settings::Settings;
use crate::results::{Group, Observer, Report, Seen, Trial};

/// csv separates fields with commas.
pub(crate) const COMMA: &str = ",";
/// tsv with tabs.
pub(crate) const TAB: &str = "\t";

/// The rows of a finished report (for `--export-csv`).
pub(crate) struct Csv {
    pub separator: &'static str,
}

impl Render for Csv {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", header(&report.settings, self.separator))?;
        for group in &report.groups {
            for record in Record::all(&report.settings, group) {
                writeln!(out, "{}", record.line(self.separator))?;
            }
        }
        Ok(())
    }
}

/// Streams the header at the start and each row as its trial finishes, flushing each line
/// (the next trial forks; and `| head` sees rows at once).
pub(crate) struct CsvStream<'s, W: Write> {
    out: W,
    separator: &'static str,
    settings: &'s Settings,
}

impl<'s, W: Write> CsvStream<'s, W> {
    pub(crate) fn new(out: W, separator: &'static str, settings: &'s Settings) -> Self {
        CsvStream {
            out,
            separator,
            settings,
        }
    }
}

impl<W: Write> Observer for CsvStream<'_, W> {
    fn start(&mut self) -> io::Result<()> {
        writeln!(self.out, "{}", header(self.settings, self.separator))?;
        self.out.flush()
    }

    fn trial(&mut self, group: &Group, trial: &Trial, seen: &Seen) -> io::Result<()> {
        let record = Record::of(self.settings, group, trial, seen);
        writeln!(self.out, "{}", record.line(self.separator))?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{ALL, two_modes};

    const ROWS: &str = "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,expected,\
                        lost,elapsed_ns,wall_ns,window,trials,pool,trace,schedule,switch,store,\
                        retries,peak,overlap,lock,workers,pin,lease_ns,stall,fencing,hosts\n\
                        unlocked,2,3,1000,0,0,,1,6,6,0,6000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n\
                        unlocked,2,3,1000,0,0,,2,5,6,1,12000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n\
                        unlocked,2,3,1000,0,0,,3,4,6,2,18000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n\
                        atomic,2,3,1000,0,0,,1,6,6,0,6000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n\
                        atomic,2,3,1000,0,0,,2,6,6,0,12000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n\
                        atomic,2,3,1000,0,0,,3,6,6,0,18000,1000000,1us,3,false,false,,,page,0,0,0.000,,processes,none,,,false,1\n";

    #[test]
    fn a_header_and_one_row_per_trial() {
        let mut out = Vec::new();
        Csv { separator: COMMA }
            .render(&two_modes(), &mut out)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), ROWS);
    }

    #[test]
    fn the_stream_writes_the_same_rows_as_the_report() {
        let report = two_modes();
        let mut out = Vec::new();
        let mut stream = CsvStream::new(&mut out, COMMA, &report.settings);
        stream.start().unwrap();
        for kept in &report.groups {
            let mut group = Group::new(kept.mode, kept.params);
            for i in 0..kept.totals.len() {
                let trial = Trial {
                    total: kept.totals[i],
                    elapsed_ns: kept.elapsed_ns[i],
                    wall_ns: kept.wall_ns[i],
                    completed: vec![],
                    trace: None,
                    spans: Vec::new(),
                    retries: 0,
                    hosts: Vec::new(),
                };
                group.add(&trial, Seen::default(), ALL);
                stream.trial(&group, &trial, &Seen::default()).unwrap();
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), ROWS);
    }

    #[test]
    fn tsv_is_the_same_with_tabs() {
        let mut out = Vec::new();
        Csv { separator: TAB }
            .render(&two_modes(), &mut out)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), ROWS.replace(',', "\t"));
    }
}
