//! How much the workers of a trial ran at the same time. Pure: no I/O, no clock.
//!
//! Each worker records when its racing part started and ended (monotonic ns, in its slot of
//! the shared page). From those spans: the peak number of workers inside their racing part at
//! once, and the share of the racing time (the time at least one was inside) during which at
//! least two were. A worker that the scheduler took off its CPU mid-way still counts as inside
//! its span: on one CPU the spans overlap only where a worker was preempted mid-run.

pub(crate) use crate::results::Overlap;

/// The overlap of `spans` (start, end) in ns; an end before its start counts as an empty span.
pub(crate) fn overlap(spans: &[(u64, u64)]) -> Overlap {
    // Ends sort before starts at the same instant: touching spans do not overlap.
    let mut events: Vec<(u64, i8)> = Vec::with_capacity(spans.len() * 2);
    for &(start, end) in spans {
        if end > start {
            events.push((start, 1));
            events.push((end, -1));
        }
    }
    events.sort_unstable();
    let (mut active, mut peak) = (0i64, 0i64);
    let (mut busy, mut shared) = (0u64, 0u64);
    let mut last = 0;
    for (at, delta) in events {
        let span = at - last;
        if active >= 1 {
            busy += span;
        }
        if active >= 2 {
            shared += span;
        }
        active += i64::from(delta);
        peak = peak.max(active);
        last = at;
    }
    Overlap {
        peak: u32::try_from(peak).unwrap_or(u32::MAX),
        busy_ns: busy,
        shared_ns: shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_one_after_another_never_overlap() {
        let o = overlap(&[(0, 10), (10, 20), (25, 30)]);
        assert_eq!(o.peak, 1);
        assert_eq!(o.share(), 0.0);
    }

    #[test]
    fn two_workers_together_half_the_time() {
        // 0-10 one worker, 10-20 two, 20-30 one... busy 30, shared 10.
        let o = overlap(&[(0, 20), (10, 30)]);
        assert_eq!(o.peak, 2);
        assert!((o.share() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn peak_counts_everyone_inside_at_once() {
        let o = overlap(&[(0, 100), (10, 90), (20, 80), (200, 300)]);
        assert_eq!(o.peak, 3);
        // Busy: 0-100 and 200-300 = 200; two or more: 10-90 = 80.
        assert!((o.share() - 0.4).abs() < 1e-12);
    }

    #[test]
    fn empty_and_backwards_spans_count_for_nothing() {
        assert_eq!(overlap(&[]), Overlap::default());
        assert_eq!(overlap(&[(5, 5), (9, 3)]), Overlap::default());
    }
}
