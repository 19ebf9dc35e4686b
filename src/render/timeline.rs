//! The traced trial as a text timeline: one lane per worker, each increment a bar from its
//! read to its write, the writes that lost updates marked. Fits 80 columns, needs no colour.

use std::io::{self, Write};

use crate::duration::format_nanos;
use crate::results::TraceEntry;

/// Largest run drawn: more lanes or bars than this would not be readable.
pub const MAX_PROCS: u32 = 10;
pub const MAX_ITERS: u64 = 20;

/// Columns of the time axis (the lane label takes 6 more).
const WIDTH: usize = 72;

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
pub fn fits(procs: u32, iters: u64) -> bool {
    procs <= MAX_PROCS && iters <= MAX_ITERS
}

/// Draws the lanes of `procs` workers.
pub fn write_timeline(entries: &[TraceEntry], procs: u32, out: &mut dyn Write) -> io::Result<()> {
    let span = entries
        .iter()
        .map(|e| e.t_write_ns)
        .max()
        .unwrap_or(0)
        .max(1);
    let column = |t: u64| ((u128::from(t) * (WIDTH as u128 - 1)) / u128::from(span)) as usize;
    let mut lanes = vec![vec![b' '; WIDTH]; procs as usize];
    for e in entries {
        let lane = &mut lanes[e.worker as usize];
        for cell in &mut lane[column(e.t_read_ns)..column(e.t_write_ns)] {
            if *cell == b' ' {
                *cell = b'-';
            }
        }
    }
    let mut marks: Vec<&TraceEntry> = entries.iter().collect();
    marks.sort_by_key(|e| Kind::of(e));
    for e in marks {
        lanes[e.worker as usize][column(e.t_write_ns)] = Kind::of(e).mark();
    }
    let end = format_nanos(span);
    writeln!(
        out,
        "  time  0{}{end}",
        " ".repeat(WIDTH.saturating_sub(1 + end.len()))
    )?;
    for (worker, lane) in lanes.iter().enumerate() {
        let text = String::from_utf8_lossy(lane);
        writeln!(out, "  w{worker:<4} {}", text.trim_end())?;
    }
    writeln!(
        out,
        "  o clean write   x collision   ! stale write   + restore   - from read to write"
    )?;
    writeln!(
        out,
        "  one column = {}; where writes share a column, the worst is shown",
        format_nanos((span / (WIDTH as u64 - 1)).max(1))
    )
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
            t_read_ns,
            t_write_ns,
        }
    }

    #[test]
    fn lanes_show_bars_and_marks_within_80_columns() {
        let entries = [
            entry(0, 0, 0, 0, 710),
            entry(1, 0, 1, 0, 1420),
            entry(1, 1, 3, 1420, 7100),
        ];
        let mut out = Vec::new();
        write_timeline(&entries, 2, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
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
}
