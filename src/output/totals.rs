//! `--format totals`: each trial's final total alone on its own line as the trial finishes,
//! for shell loops. The line never holds anything else, whatever the options: for the mode
//! and parameters beside each total, use `--format tsv`.

use std::io::{self, Write};

use crate::results::{Group, Observer, Seen, Trial};

/// Streams totals to `out`, flushing each line (the next trial forks).
pub(crate) struct TotalsStream<W: Write> {
    out: W,
}

impl<W: Write> TotalsStream<W> {
    pub(crate) fn new(out: W) -> TotalsStream<W> {
        TotalsStream { out }
    }
}

impl<W: Write> Observer for TotalsStream<W> {
    fn trial(&mut self, _: &Group, trial: &Trial, _: &Seen) -> io::Result<()> {
        writeln!(self.out, "{}", trial.total)?;
        self.out.flush()
    }
}
