//! A progress bar on stderr: trials done, elapsed time and ETA. It appears once the run has
//! lasted a second (short runs never flash a bar), and only when stderr is a terminal. Its
//! position is in increments, read from the workers' progress in the shared page every tenth
//! of a second ([`Progress::watch`]), so elapsed time and ETA move during a long trial too.
//! It wraps the format's own observer, and is cleared before the results and on Ctrl-C.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::settings::Settings;
use crate::results::Observer;
use crate::results::{Group, Seen, Trial};

/// Runs longer than this get a bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Below this many columns, the bar gives way to its figures (which fit in 40).
const NARROW: u16 = 60;

/// The bar, around the observer that does the format's live output.
pub(crate) struct Progress<'o> {
    inner: &'o mut dyn Observer,
    bar: ProgressBar,
    gauge: Gauge,
    trials_done: u64,
    trials: u64,
    /// Trials of each group (`--trials`).
    per_group: u64,
}

/// Columns the bar leaves free at the end of its line. indicatif pads the line to the width
/// it is given; were that the terminal's, the "^C" a terminal echoes on Ctrl-C would wrap the
/// cursor to the next line, and clearing the bar would clear that line instead.
const SPARE: u16 = 3;

/// stderr as indicatif draws on it, a little narrower than the terminal (see [`SPARE`]).
#[derive(Debug)]
struct Stderr;

impl Stderr {
    fn put(&self, text: &str) -> io::Result<()> {
        use std::io::Write;
        io::stderr().write_all(text.as_bytes())
    }
}

impl indicatif::TermLike for Stderr {
    fn width(&self) -> u16 {
        let columns = terminal_size::terminal_size_of(io::stderr()).map_or(80, |(w, _)| w.0);
        columns.saturating_sub(SPARE).max(1)
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}A"))
        }
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}B"))
        }
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}C"))
        }
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        if n == 0 {
            Ok(())
        } else {
            self.put(&format!("\x1b[{n}D"))
        }
    }

    fn write_line(&self, line: &str) -> io::Result<()> {
        self.put(&format!("{line}\n"))
    }

    fn write_str(&self, text: &str) -> io::Result<()> {
        self.put(text)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.put("\r\x1b[2K")
    }

    fn flush(&self) -> io::Result<()> {
        use std::io::Write;
        io::stderr().flush()
    }
}

/// The side of the bar that the runner's watch thread moves (a handle on the same bar).
#[derive(Clone)]
pub(crate) struct Gauge {
    bar: ProgressBar,
    start: Instant,
    shown: Arc<AtomicBool>,
}

impl Gauge {
    /// What the watch thread calls with the increments completed so far. Never moves the bar
    /// back: a finished trial is counted a moment before its workers' slots are reset.
    pub(crate) fn watch(&self, increments: u64) {
        if increments > self.bar.position() {
            self.bar.set_position(increments);
        }
        self.show_after_a_second();
    }

    fn show_after_a_second(&self) {
        if !self.shown.load(Ordering::Acquire)
            && self.start.elapsed() >= SHOW_AFTER
            && !self.shown.swap(true, Ordering::AcqRel)
        {
            let stderr = Box::new(Stderr);
            self.bar
                .set_draw_target(ProgressDrawTarget::term_like_with_hz(stderr, 20));
        }
    }
}

impl<'o> Progress<'o> {
    /// A bar over every increment of `settings`' trials, hidden until the run has lasted a
    /// second. With `ticking`, a thread of indicatif's redraws elapsed time and ETA between
    /// readings; without (database stores, whose workers allocate after fork and so need a
    /// parent with no other thread), the bar moves only as trials end.
    pub(crate) fn new(
        inner: &'o mut dyn Observer,
        settings: &Settings,
        ticking: bool,
    ) -> Progress<'o> {
        let columns = terminal_size::terminal_size_of(io::stderr()).map_or(80, |(w, _)| w.0);
        let template = if columns < NARROW {
            "{prefix} {msg} ETA {eta}"
        } else {
            "{prefix:>10} [{bar:20}] {msg}  {elapsed} elapsed  ETA {eta}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> ");
        let increments = settings.total_increments();
        let bar = ProgressBar::with_draw_target(Some(increments), ProgressDrawTarget::hidden())
            .with_style(style);
        if let Some(mode) = settings.modes.first() {
            bar.set_prefix(mode.name());
        }
        let trials = settings.total_trials();
        bar.set_message(format!("trial 0/{}, 0/{trials} in all", settings.trials));
        if ticking {
            // Redraws elapsed time and ETA between the watch's readings.
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        let gauge = Gauge {
            bar: bar.clone(),
            start: Instant::now(),
            shown: Arc::new(AtomicBool::new(false)),
        };
        Progress {
            inner,
            bar,
            gauge,
            trials_done: 0,
            per_group: settings.trials,
            trials,
        }
    }

    /// The handle the runner's watch thread moves the bar with.
    pub(crate) fn gauge(&self) -> Gauge {
        self.gauge.clone()
    }

    /// Removes the bar, before the final output or an error line.
    pub(crate) fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress<'_> {
    fn start(&mut self) -> io::Result<()> {
        let inner = &mut self.inner;
        self.bar.suspend(|| inner.start())
    }

    fn trial(&mut self, group: &Group, trial: &Trial, seen: &Seen) -> io::Result<()> {
        // The live output goes out with the bar off the screen, so the two never mix.
        let inner = &mut self.inner;
        let written = self.bar.suspend(|| inner.trial(group, trial, seen));
        self.trials_done += 1;
        self.bar.set_prefix(group.mode.name());
        // The header counts trials per mode: so does the bar, with the whole run beside.
        self.bar.set_message(format!(
            "trial {}/{}, {}/{} in all",
            group.count, self.per_group, self.trials_done, self.trials
        ));
        self.gauge.show_after_a_second();
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mode::Mode;
    use crate::output::fixture::{params, settings};

    struct Count(u64);

    impl Observer for Count {
        fn trial(&mut self, _: &Group, _: &Trial, _: &Seen) -> io::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn every_trial_still_reaches_the_formats_observer() {
        let mut inner = Count(0);
        let group = Group::new(Mode::Atomic, params(2));
        let trial = Trial {
            total: 6,
            elapsed_ns: 1,
            wall_ns: 1,
            completed: vec![3, 3],
            spans: Vec::new(),
            trace: None,
            retries: 0,
            hosts: Vec::new(),
        };
        let settings = settings(&[Mode::Atomic], &[2], 3);
        let mut progress = Progress::new(&mut inner, &settings, true);
        assert_eq!(progress.bar.length(), Some(3 * 6));
        for _ in 0..3 {
            progress.trial(&group, &trial, &Seen::default()).unwrap();
        }
        let gauge = progress.gauge();
        gauge.watch(12);
        gauge.watch(7);
        assert_eq!(progress.bar.position(), 12, "never moves back");
        progress.clear();
        assert_eq!(inner.0, 3);
    }
}
