//! A progress bar on stderr for long runs: trials done, elapsed and ETA. It wraps the format's
//! own observer, stays hidden for the first second (short runs never flash a bar), and draws
//! only when stderr is a terminal. No ticker thread: it redraws as trials finish.

use std::io;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::Observer;
use crate::results::{Group, Trial};

/// Runs longer than this get a bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The bar, around the observer that does the format's live output.
pub(crate) struct Progress<'o> {
    inner: &'o mut dyn Observer,
    bar: ProgressBar,
    start: Instant,
    shown: bool,
}

impl<'o> Progress<'o> {
    /// A bar over `total` trials, hidden until the run has lasted a second.
    pub(crate) fn new(inner: &'o mut dyn Observer, total: u64) -> Progress<'o> {
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{wide_bar}] {pos}/{len} trials  {elapsed} elapsed  ETA {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
            .with_style(style);
        Progress {
            inner,
            bar,
            start: Instant::now(),
            shown: false,
        }
    }

    /// Removes the bar, before the final output or an error line.
    pub(crate) fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress<'_> {
    fn trial(&mut self, group: &Group, trial: &Trial) -> io::Result<()> {
        // The live output goes out with the bar off the screen, so the two never mix.
        let inner = &mut self.inner;
        let written = self.bar.suspend(|| inner.trial(group, trial));
        self.bar.set_prefix(group.mode.name());
        self.bar.inc(1);
        if !self.shown && self.start.elapsed() >= SHOW_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::params;
    use crate::race::mode::Mode;

    struct Count(u64);

    impl Observer for Count {
        fn trial(&mut self, _: &Group, _: &Trial) -> io::Result<()> {
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
            trace: None,
        };
        let mut progress = Progress::new(&mut inner, 3);
        for _ in 0..3 {
            progress.trial(&group, &trial).unwrap();
        }
        assert_eq!(progress.bar.position(), 3);
        progress.clear();
        assert_eq!(inner.0, 3);
    }
}
