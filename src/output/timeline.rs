//! The traced trial as a text timeline: one lane per worker, each increment a bar from its
//! read to its write, the writes that lost updates marked. Fits the width it is given (80 at
//! most), needs no colour.

use std::io::{self, Write};

use super::scale::{Scale, write_times};
use super::wrap::{words, write_lines};
use crate::analysis::explain::TraceEntry;
use crate::model::units::format_nanos;

/// Largest run drawn: more lanes or bars than this would not be readable.
pub(crate) const MAX_PROCS: u32 = 10;
pub(crate) const MAX_ITERS: u64 = 20;

/// Most columns of the time axis (the lane label takes 8 more: 80 in all).
const AXIS: usize = 72;

/// Fewest: narrower, the bars would say nothing.
const MIN_AXIS: usize = 12;

/// What a write did, in the order marks win a shared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Clean,
    Restore,
    Collision,
    Stale,
}

impl Kind {
    fn of(e: &TraceEntry) -> Kind {
        if e.prev == e.read {
            Kind::Clean
        } else if e.prev < e.read {
            Kind::Restore
        } else if e.prev == e.read + 1 {
            Kind::Collision
        } else {
            Kind::Stale
        }
    }

    fn mark(self) -> u8 {
        match self {
            Kind::Clean => b'o',
            Kind::Restore => b'+',
            Kind::Collision => b'x',
            Kind::Stale => b'!',
        }
    }
}

/// Whether a run of `procs` × `iters` gets a timeline.
pub(crate) fn fits(procs: u32, iters: u64) -> bool {
    procs <= MAX_PROCS && iters <= MAX_ITERS
}

fn column(scale: &Scale, axis: usize, compressed: u64) -> usize {
    ((u128::from(compressed.min(scale.length)) * (axis as u128 - 1)) / u128::from(scale.length))
        as usize
}

/// Draws the lanes of `procs` workers, writes placed in their rebuilt `order`.
pub(crate) fn write_timeline(
    entries: &[TraceEntry],
    order: &[usize],
    procs: u32,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let axis = width.saturating_sub(8).clamp(MIN_AXIS, AXIS);
    let span = super::scale::span(entries);
    let scale = Scale::new(entries, axis);
    let at = |t: u64| column(&scale, axis, scale.compressed(t));
    let written = write_times(entries, order);
    let mut lanes = vec![vec![b' '; axis]; procs as usize];
    for (e, &t_write) in entries.iter().zip(&written) {
        let lane = &mut lanes[e.worker as usize];
        for cell in &mut lane[at(e.t_read_ns)..at(t_write)] {
            if *cell == b' ' {
                *cell = b'-';
            }
        }
    }
    let mut marks: Vec<(&TraceEntry, u64)> = entries.iter().zip(written).collect();
    marks.sort_by_key(|(e, _)| Kind::of(e));
    for (e, t_write) in marks {
        lanes[e.worker as usize][at(t_write)] = Kind::of(e).mark();
    }
    let end = format_nanos(span);
    writeln!(
        out,
        "  time  0{}{end}",
        " ".repeat(axis.saturating_sub(1 + end.len()))
    )?;
    for (worker, lane) in lanes.iter().enumerate() {
        let text = String::from_utf8_lossy(lane);
        writeln!(out, "  w{worker:<4} {}", text.trim_end())?;
    }
    if !scale.cuts.is_empty() {
        let mut row = vec![b' '; axis];
        for &cut in &scale.cuts {
            row[column(&scale, axis, cut)] = b'~';
        }
        writeln!(out, "  idle  {}", String::from_utf8_lossy(&row).trim_end())?;
    }
    let legend = "o clean write,  x collision,  ! stale write,  + restore,  - from read to write";
    write_lines(out, &words(legend, width.min(80), "  ", "  "))?;
    let cut = if scale.cuts.is_empty() {
        String::new()
    } else {
        format!(
            "; ~ cuts out {} while no increment was in flight",
            format_nanos(span - scale.length)
        )
    };
    let column = format_nanos((scale.length / (axis as u64 - 1)).max(1));
    write_lines(
        out,
        &words(
            &format!("one column = {column}{cut}"),
            width.min(80),
            "  ",
            "  ",
        ),
    )?;
    let shared = "where writes share a column, the worst is shown";
    write_lines(out, &words(shared, width.min(80), "  ", "  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(worker: u32, read: u64, prev: u64, t_read_ns: u64, t_write_ns: u64) -> TraceEntry {
        TraceEntry {
            worker,
            seq: 0,
            read,
            wrote: read + 1,
            prev,
            read_from: None,
            overwrote: None,
            t_read_ns,
            t_write_ns,
            step: None,
        }
    }

    fn draw(entries: &[TraceEntry], procs: u32) -> String {
        let mut out = Vec::new();
        // These entries are listed in their real order.
        let order: Vec<usize> = (0..entries.len()).collect();
        write_timeline(entries, &order, procs, 80, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lanes_show_bars_and_marks_within_80_columns() {
        let entries = [
            entry(0, 0, 0, 0, 710),
            entry(1, 0, 1, 0, 1420),
            entry(1, 1, 3, 1420, 7100),
        ];
        let text = draw(&entries, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{text}");
        assert_eq!(lines[0], format!("  time  0{}7.10us", " ".repeat(65)));
        assert_eq!(lines[1], "  w0    -------o");
        assert!(
            lines[2].starts_with("  w1    --------------x----"),
            "{text}"
        );
        assert!(lines[2].ends_with("-!"), "{text}");
        assert_eq!(lines[2].len(), 8 + 72);
        assert_eq!(lines[0].find('0'), lines[1].find('-'));
    }

    #[test]
    fn idle_stretches_are_cut_out() {
        // Worker 0 counts at 0-3us, worker 1 only after 1ms: the gap becomes one column.
        let entries = [
            entry(0, 0, 0, 0, 1_000),
            entry(0, 1, 1, 1_000, 3_000),
            entry(1, 2, 2, 1_000_000, 1_002_000),
        ];
        let text = draw(&entries, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("1.00ms"), "{text}");
        let w0 = lines[1].len();
        let tilde = lines[3].find('~').expect("a cut mark");
        let w1_start = lines[2].find('-').unwrap();
        assert!(w0 <= tilde && tilde < w1_start, "{text}");
        assert!(lines[2].ends_with('o') && lines[2].len() == 80, "{text}");
        assert!(text.contains("~ cuts out"), "{text}");
    }
}
