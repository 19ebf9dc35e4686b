//! A time axis that cuts out idle stretches, shared by the text timeline and the SVG.

use crate::analysis::explain::TraceEntry;

/// Maps times to columns, cutting out idle stretches where no increment is in flight: workers
/// forked one after another often run one by one at first, and a linear axis would squeeze
/// the racing part into a few columns.
pub(crate) struct Scale {
    /// Busy stretches: (start, end, shift), where compressed time is `t - shift`.
    pub busy: Vec<(u64, u64, u64)>,
    /// Compressed time of each cut, for its `~` mark.
    pub cuts: Vec<u64>,
    /// Compressed length.
    pub length: u64,
}

/// Time from the trial's first read to its last write, at least 1 ns.
pub(crate) fn span(entries: &[TraceEntry]) -> u64 {
    entries
        .iter()
        .map(|e| e.t_write_ns)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// Each entry's write time for drawing: its clock time, or later where a write before it in
/// the rebuilt `order` was stamped later. Clock times are read after the write, outside any
/// lock, and two writes can carry them reversed by microseconds; drawn this way, the writes
/// never appear out of their real order.
pub(crate) fn write_times(entries: &[TraceEntry], order: &[usize]) -> Vec<u64> {
    let mut times: Vec<u64> = entries.iter().map(|e| e.t_write_ns).collect();
    let mut latest = 0;
    for &i in order {
        latest = latest.max(times[i]);
        times[i] = latest;
    }
    times
}

impl Scale {
    /// A scale for an axis `width` columns (or pixels) wide.
    pub(crate) fn new(entries: &[TraceEntry], width: usize) -> Scale {
        let span = span(entries);
        let column = (span / width as u64).max(1);
        let mut spans: Vec<(u64, u64)> = entries
            .iter()
            .map(|e| (e.t_read_ns, e.t_write_ns))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 + 3 * column => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let linear = Scale {
            busy: vec![(0, span, 0)],
            cuts: Vec::new(),
            length: span,
        };
        let gaps = merged.len().saturating_sub(1);
        if gaps == 0 || gaps > width / 8 {
            return linear;
        }
        let busy: u64 = merged.iter().map(|(a, b)| b - a).sum::<u64>().max(1);
        // Each cut takes about three columns of the compressed axis, its `~` in the middle.
        let unit = (3 * busy / (width - 3 * gaps) as u64).max(1);
        let mut scale = Scale {
            busy: Vec::new(),
            cuts: Vec::new(),
            length: 0,
        };
        let mut shift = merged[0].0;
        for (i, &(a, b)) in merged.iter().enumerate() {
            if i > 0 {
                let (_, prev_end) = merged[i - 1];
                scale.cuts.push(prev_end - shift + unit / 2);
                shift += (a - prev_end).saturating_sub(unit);
            }
            scale.busy.push((a, b, shift));
            scale.length = b - shift;
        }
        scale.length = scale.length.max(1);
        scale
    }

    /// The compressed time of `t` (a time some increment was in flight).
    pub(crate) fn compressed(&self, t: u64) -> u64 {
        let i = self
            .busy
            .partition_point(|&(a, _, _)| a <= t)
            .saturating_sub(1);
        t.saturating_sub(self.busy[i].2)
    }
}
