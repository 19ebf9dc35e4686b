//! `--format totals`: each trial's final total on its own line as the trial finishes, for
//! shell loops. With several modes or a sweep, the line starts with what varies
//! (`MODE[/LOCK] [PROCS] [ITERS] [WINDOW] TOTAL`), so the total is always the last field.

use std::io::{self, Write};

use crate::command::config::Settings;
use crate::results::{Group, Observer, Trial};

/// Streams totals to `out`, flushing each line (the next trial forks).
pub(crate) struct TotalsStream<W: Write> {
    out: W,
    by_mode: bool,
    /// Several locks run: the mode reads `mutex/spin`.
    by_lock: bool,
    by_procs: bool,
    by_iters: bool,
    by_window: bool,
}

impl<W: Write> TotalsStream<W> {
    pub(crate) fn new(out: W, settings: &Settings) -> TotalsStream<W> {
        TotalsStream {
            out,
            by_lock: settings.sweeps_locks(),
            by_mode: settings.modes.len() > 1 || settings.sweeps_locks(),
            by_procs: settings.procs.len() > 1,
            by_iters: settings.iters.len() > 1,
            by_window: settings.windows.len() > 1,
        }
    }
}

impl<W: Write> Observer for TotalsStream<W> {
    fn trial(&mut self, group: &Group, trial: &Trial) -> io::Result<()> {
        let mut line = String::new();
        if self.by_mode {
            line.push_str(group.mode.name());
            if let (true, Some(lock)) = (self.by_lock, group.lock) {
                line.push('/');
                line.push_str(lock.name());
            }
            line.push(' ');
        }
        if self.by_procs {
            line.push_str(&format!("{} ", group.params.procs));
        }
        if self.by_iters {
            line.push_str(&format!("{} ", group.params.iters));
        }
        if self.by_window {
            line.push_str(&format!("{} ", group.params.window));
        }
        writeln!(self.out, "{line}{}", trial.total)?;
        self.out.flush()
    }
}
