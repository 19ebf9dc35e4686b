//! Summaries of a group's trials: what the tables show.

use crate::results::Group;

/// The summary of one group's kept trials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub count: u64,
    pub min: u64,
    pub median: f64,
    pub max: u64,
    pub mean: f64,
    pub stddev: f64,
    /// Trials with lost updates.
    pub lossy: u64,
    /// Median and mean of (expected - total) / expected, in percent.
    pub median_lost_pct: f64,
    pub mean_lost_pct: f64,
    /// Median over trials of elapsed / (procs × iters).
    pub ns_per_increment: f64,
    /// Mean and sample standard deviation over trials of elapsed / (procs × iters).
    pub ns_per_increment_mean: f64,
    pub ns_per_increment_stddev: f64,
    /// Trials per second of wall time (forking and reaping included).
    pub trials_per_sec: f64,
}

/// Summarises a group; `None` when it kept no trials.
pub(crate) fn summarize(group: &Group) -> Option<Summary> {
    if group.totals.is_empty() {
        return None;
    }
    let expected = group.expected() as f64;
    let totals: Vec<f64> = group.totals.iter().map(|&t| t as f64).collect();
    let lost_pct: Vec<f64> = totals
        .iter()
        .map(|t| (expected - t) / expected * 100.0)
        .collect();
    let per_increment: Vec<f64> = group
        .elapsed_ns
        .iter()
        .map(|&ns| ns as f64 / expected)
        .collect();
    let wall_s: f64 = group.wall_ns.iter().map(|&ns| ns as f64).sum::<f64>() / 1e9;
    let (mean, stddev) = mean_stddev(&totals);
    let (ns_mean, ns_stddev) = mean_stddev(&per_increment);
    Some(Summary {
        count: group.totals.len() as u64,
        min: *group.totals.iter().min().expect("not empty"),
        median: median(&totals),
        max: *group.totals.iter().max().expect("not empty"),
        mean,
        stddev,
        lossy: group.lossy,
        median_lost_pct: median(&lost_pct),
        mean_lost_pct: mean_stddev(&lost_pct).0,
        ns_per_increment: median(&per_increment),
        ns_per_increment_mean: ns_mean,
        ns_per_increment_stddev: ns_stddev,
        trials_per_sec: if wall_s > 0.0 {
            group.totals.len() as f64 / wall_s
        } else {
            f64::INFINITY
        },
    })
}

impl Summary {
    /// Whether updates were lost never, in some trials, or in every trial.
    pub(crate) fn verdict(&self) -> Verdict {
        match self.lossy {
            0 => Verdict::Never,
            k if k >= self.count => Verdict::Always,
            k => Verdict::Sometimes(k, self.count),
        }
    }
}

/// Lost updates, litmus7-style: did the outcome happen never, sometimes or always?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Never,
    /// In k of N trials.
    Sometimes(u64, u64),
    Always,
}

impl Verdict {
    /// The word alone, as `json` writes it.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Verdict::Never => "never",
            Verdict::Sometimes(..) => "sometimes",
            Verdict::Always => "always",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Never => f.pad("Never"),
            Verdict::Sometimes(k, n) => f.pad(&format!("Sometimes ({k}/{n})")),
            Verdict::Always => f.pad("Always"),
        }
    }
}

/// How many times faster one mode ran than another, hyperfine-style: the ratio of the mean
/// ns per increment, ± its standard deviation propagated from both standard deviations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Speedup {
    pub ratio: f64,
    pub stddev: f64,
}

/// How many times faster `fast` ran than `slow`; `None` when either has no time to compare.
pub(crate) fn speedup(fast: &Summary, slow: &Summary) -> Option<Speedup> {
    let (f, s) = (fast.ns_per_increment_mean, slow.ns_per_increment_mean);
    if !(f > 0.0 && s > 0.0 && f.is_finite() && s.is_finite()) {
        return None;
    }
    let ratio = s / f;
    let stddev = ratio
        * ((fast.ns_per_increment_stddev / f).powi(2) + (slow.ns_per_increment_stddev / s).powi(2))
            .sqrt();
    Some(Speedup { ratio, stddev })
}

/// The median (mean of the middle two for an even count). `values` must not be empty.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Mean and sample standard deviation (0 for a single value).
pub(crate) fn mean_stddev(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mode::Mode;
    use crate::model::settings::Params;
    use crate::model::window::Window;
    use crate::results::{Keep, Seen, Trial};

    fn group(totals: &[u64]) -> Group {
        let params = Params {
            procs: 10,
            iters: 20,
            window: Window::Busy(1000),
        };
        let mut g = Group::new(Mode::Unlocked, params);
        for &total in totals {
            let trial = Trial {
                total,
                elapsed_ns: 200_000,
                wall_ns: 1_000_000,
                completed: vec![20; 10],
                spans: Vec::new(),
                trace: None,
                retries: 0,
                hosts: Vec::new(),
            };
            g.add(
                &trial,
                Seen::default(),
                Keep {
                    trials: true,
                    workers: false,
                },
            );
        }
        g
    }

    #[test]
    fn summary_of_known_totals() {
        let s = summarize(&group(&[150, 200, 170, 160])).unwrap();
        assert_eq!((s.min, s.max, s.count, s.lossy), (150, 200, 4, 3));
        assert_eq!(s.median, 165.0);
        assert_eq!(s.mean, 170.0);
        assert_eq!(s.median_lost_pct, 17.5);
        assert_eq!(s.ns_per_increment, 1000.0);
        assert!((s.trials_per_sec - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn verdicts_say_never_sometimes_always() {
        let v = |totals: &[u64]| summarize(&group(totals)).unwrap().verdict();
        assert_eq!(v(&[200, 200]), Verdict::Never);
        assert_eq!(v(&[200, 199, 150]), Verdict::Sometimes(2, 3));
        assert_eq!(v(&[199, 150]), Verdict::Always);
        assert_eq!(Verdict::Sometimes(2, 3).to_string(), "Sometimes (2/3)");
    }

    #[test]
    fn speedup_is_the_ratio_of_means_with_propagated_error() {
        let mut fast = summarize(&group(&[200])).unwrap();
        let mut slow = fast.clone();
        (fast.ns_per_increment_mean, fast.ns_per_increment_stddev) = (10.0, 1.0);
        (slow.ns_per_increment_mean, slow.ns_per_increment_stddev) = (20.0, 2.0);
        let s = speedup(&fast, &slow).unwrap();
        assert_eq!(s.ratio, 2.0);
        // 2 × sqrt(0.1² + 0.1²)
        assert!((s.stddev - 2.0 * 0.02f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn nothing_kept_means_no_summary() {
        assert!(summarize(&group(&[])).is_none());
    }
}
