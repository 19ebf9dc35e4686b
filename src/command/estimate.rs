//! The least time a run can take, worked out before it starts from what the workers must
//! wait in any case: each increment's window (busy-waited: it needs a CPU), pause and half
//! the jitter on average; a mutex serializes the windows of every worker. Used to warn
//! before a run that would last more than [`LONG`] (`--window 1h` is 200 hours a trial).

use std::time::Duration;

use crate::model::settings::Settings;

/// Runs that will last longer than this are announced on stderr.
pub(crate) const LONG: Duration = Duration::from_secs(600);

/// The least time every trial of `settings` takes on `cpus` CPUs.
pub(crate) fn least_duration(settings: &Settings, cpus: u64) -> Duration {
    let cpus = u128::from(cpus.max(1));
    let mut total: u128 = 0;
    for params in settings.combinations() {
        let procs = u128::from(params.procs);
        let iters = u128::from(params.iters);
        let window = u128::from(params.window.nanos().unwrap_or(0));
        let pauses = iters * (u128::from(settings.sleep_ns) + u128::from(settings.jitter_ns) / 2);
        for &mode in &settings.modes {
            let windows = if mode.serializes_windows() {
                // One worker at a time holds the lock through its window.
                procs * iters * window
            } else {
                // Every worker busy-waits its own windows, procs of them sharing the CPUs.
                iters * window * procs.div_ceil(cpus)
            };
            total = total
                .saturating_add((pauses + windows).saturating_mul(u128::from(settings.trials)));
        }
    }
    Duration::from_nanos(u64::try_from(total).unwrap_or(u64::MAX))
}

/// The warning for a run of at least `least`, or `None` when it is shorter than [`LONG`].
pub(crate) fn long_run_warning(least: Duration) -> Option<String> {
    (least > LONG).then(|| {
        let minutes = least.as_secs() / 60;
        format!(
            "this run takes at least {}h {:02}m (from --window, --sleep and --jitter); \
             Ctrl-C stops it and shows the trials that finished",
            minutes / 60,
            minutes % 60
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::window::Window;

    #[test]
    fn an_hour_long_window_is_announced_and_the_lesson_is_not() {
        let mut settings = Settings::default();
        assert!(long_run_warning(least_duration(&settings, 2)).is_none());
        // 10 procs x 20 iters x 1h, each worker's own windows, 5 at a time on 2 CPUs: 100 h a
        // trial for the unlocked modes; 200 h for the mutex. 10 trials each.
        settings.windows = vec![Window::Busy(3_600_000_000_000)];
        let least = least_duration(&settings, 2);
        assert_eq!(least.as_secs() / 3600, (100 + 100 + 200 + 100) * 10);
        let warning = long_run_warning(least).unwrap();
        assert!(
            warning.starts_with("this run takes at least 5000h 00m"),
            "{warning}"
        );
        // Just over 10 minutes is announced; 10 minutes is not.
        assert!(long_run_warning(LONG).is_none());
        assert!(long_run_warning(LONG + Duration::from_secs(60)).is_some());
    }
}
