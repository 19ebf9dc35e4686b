//! A horizontal histogram of one group's final totals, with the expected total in a bin of
//! its own: the eye sees at once how far below it the lossy trials fell, and how many made it.

use std::io::{self, Write};

use serde::Serialize;

use super::table::{GREEN, RED};

/// Bins of lost-update totals aim at about √n of them, at most this many.
const MAX_BINS: u64 = 15;

/// One row: the range of totals it counts, and how many trials fell in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Bin {
    pub low: u64,
    pub high: u64,
    pub count: u64,
}

/// Bins for `totals` (none above `expected`): lossy totals in equal bins of a round width
/// (1, 2, 5, 10, 20, 50…), then the expected total on its own, even when no trial reached it.
pub(crate) fn bins(totals: &[u64], expected: u64) -> Vec<Bin> {
    let lossy: Vec<u64> = totals.iter().copied().filter(|&t| t < expected).collect();
    let mut bins = Vec::new();
    if let (Some(&lo), Some(&hi)) = (lossy.iter().min(), lossy.iter().max()) {
        let target = ((lossy.len() as f64).sqrt().ceil() as u64).clamp(1, MAX_BINS);
        let width = round_width((hi - lo + 1).div_ceil(target));
        let start = lo - lo % width;
        let mut low = start;
        while low <= hi {
            let high = (low + width - 1).min(expected - 1);
            let count = lossy.iter().filter(|&&t| t >= low && t <= high).count() as u64;
            bins.push(Bin { low, high, count });
            low += width;
        }
    }
    let exact = totals.iter().filter(|&&t| t == expected).count() as u64;
    bins.push(Bin {
        low: expected,
        high: expected,
        count: exact,
    });
    bins
}

/// The smallest of 1, 2, 5, 10, 20, 50, … that is at least `width`.
fn round_width(width: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= width {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Writes the histogram of `totals` in lines at most `width` columns wide.
pub(crate) fn write_histogram(
    out: &mut dyn Write,
    totals: &[u64],
    expected: u64,
    width: usize,
    color: bool,
) -> io::Result<()> {
    const MARK: &str = "expected";
    let bins = bins(totals, expected);
    let label = |b: &Bin| {
        if b.low == b.high {
            b.low.to_string()
        } else {
            format!("{}-{}", b.low, b.high)
        }
    };
    let label_w = bins.iter().map(|b| label(b).len()).max().unwrap_or(1);
    let count_w = bins
        .iter()
        .map(|b| b.count.to_string().len())
        .max()
        .unwrap_or(1);
    let most = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    // "  LABEL  BAR  COUNT  expected"
    let fixed = 2 + label_w + 2 + 2 + count_w + 2 + MARK.len();
    let bar_w = width.saturating_sub(fixed).max(10);
    for bin in &bins {
        let mut len = (bin.count as f64 / most as f64 * bar_w as f64).round() as usize;
        if bin.count > 0 {
            len = len.max(1);
        }
        let bar = "█".repeat(len);
        let pad = " ".repeat(bar_w - len);
        let is_expected = bin.low == expected;
        let bar = if color && len > 0 {
            let tint = if is_expected { GREEN } else { RED };
            format!("\x1b[{tint}m{bar}\x1b[0m")
        } else {
            bar
        };
        let mark = if is_expected { MARK } else { "" };
        let line = format!(
            "  {:>label_w$}  {bar}{pad}  {:>count_w$}  {mark}",
            label(bin),
            bin.count
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_totals_fill_only_the_expected_bin() {
        assert_eq!(
            bins(&[200; 30], 200),
            [Bin {
                low: 200,
                high: 200,
                count: 30
            }]
        );
    }

    #[test]
    fn lossy_totals_fall_in_round_bins_below_the_expected_one() {
        let totals: Vec<u64> = (150..200).chain([200, 200]).collect();
        let b = bins(&totals, 200);
        // 50 lossy totals: about 8 bins wanted, 50/8 rounds up to a width of 10.
        assert_eq!(b.len(), 6);
        assert_eq!((b[0].low, b[0].high, b[0].count), (150, 159, 10));
        assert_eq!((b[4].low, b[4].high, b[4].count), (190, 199, 10));
        assert_eq!((b[5].low, b[5].high, b[5].count), (200, 200, 2));
    }

    #[test]
    fn the_expected_bin_shows_even_when_empty() {
        let b = bins(&[100, 101, 102], 4000);
        assert_eq!(
            b.last().unwrap(),
            &Bin {
                low: 4000,
                high: 4000,
                count: 0
            }
        );
    }

    #[test]
    fn bars_scale_to_the_width() {
        let mut out = Vec::new();
        let totals = [198, 198, 199, 200, 200, 200, 200];
        write_histogram(&mut out, &totals, 200, 40, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  198  ██████████            2\n\
             \x20 199  █████                 1\n\
             \x20 200  ████████████████████  4  expected\n"
        );
    }
}
