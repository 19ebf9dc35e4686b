//! Summaries of a group's trials: what the tables show.

use crate::results::Group;

/// The summary of one group's kept trials.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
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
    /// Trials per second of wall time (forking and reaping included).
    pub trials_per_sec: f64,
}

/// Summarises a group; `None` when it kept no trials.
pub fn summarize(group: &Group) -> Option<Summary> {
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
        trials_per_sec: if wall_s > 0.0 {
            group.totals.len() as f64 / wall_s
        } else {
            f64::INFINITY
        },
    })
}

/// The median (mean of the middle two for an even count). `values` must not be empty.
pub fn median(values: &[f64]) -> f64 {
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
pub fn mean_stddev(values: &[f64]) -> (f64, f64) {
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
    use crate::config::Params;
    use crate::duration::Window;
    use crate::mode::Mode;
    use crate::results::{Keep, Trial};

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
                trace: None,
            };
            g.add(&trial, Keep { trials: true });
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
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn nothing_kept_means_no_summary() {
        assert!(summarize(&group(&[])).is_none());
    }
}
