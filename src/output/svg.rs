//! `--trace-svg`: the traced timeline as a picture, written by hand. One panel per traced
//! group (the first trial of each mode and combination of parameters): a lane per worker,
//! each increment a bar from its read to its write, every lost update's write circled in red
//! with a red line to the write that overwrote it, restores in green, a time axis with units,
//! and a legend.

use std::fmt::Write as _;

use super::scale::{Scale, write_times};
use crate::analysis::explain::{TraceEntry, TrialTrace, overwrites};
use crate::model::units::format_nanos;
use crate::results::{Report, TracedTrial};

/// Panels with more increments than this are not drawn (the file would be unwieldy).
pub(crate) const MAX_ENTRIES: usize = 100_000;
/// Lost updates circled per panel at most; a note counts the rest.
pub(crate) const MAX_MARKS: usize = 20_000;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const LANE: f64 = 26.0;
const TITLE: f64 = 58.0;
const AXIS: f64 = 34.0;
const GAP: f64 = 24.0;
const LEGEND: f64 = 40.0;

/// The SVG document for every traced group of `report`.
pub(crate) fn svg(report: &Report) -> String {
    let panels: Vec<(String, u32, &TracedTrial)> = report
        .groups
        .iter()
        .filter_map(|g| {
            let t = g.traced.as_ref()?;
            let p = &g.params;
            let title = format!(
                "{} trial {}: {} procs x {} iters, window {}: total {} of {}, {} lost",
                g.mode,
                t.trial,
                p.procs,
                p.iters,
                p.window,
                t.total,
                g.expected(),
                g.expected() - t.total
            );
            Some((title, p.procs, t))
        })
        .collect();
    let heights: Vec<f64> = panels
        .iter()
        .map(|(_, procs, _)| TITLE + f64::from(*procs) * LANE + AXIS)
        .collect();
    let height = heights.iter().map(|h| h + GAP).sum::<f64>() + LEGEND + GAP;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">
<title>racecount --trace: which updates were lost, and who overwrote whom</title>
<style>
.bar {{ fill: #9db7d5; stroke: white; stroke-width: 0.5; }}
.write {{ fill: #1f4e79; }}
.lost {{ fill: none; stroke: #d62728; stroke-width: 2; }}
.overwrite {{ stroke: #d62728; stroke-width: 1; stroke-opacity: 0.7; }}
.restore {{ fill: none; stroke: #2ca02c; stroke-width: 2; }}
.axis {{ stroke: #444; }}
.grid {{ stroke: #ddd; }}
.cut {{ stroke: #888; stroke-dasharray: 3 3; }}
</style>
<rect width="100%" height="100%" fill="white"/>"##
    );
    let mut y = GAP;
    for ((title, procs, trial), h) in panels.iter().zip(&heights) {
        panel(&mut s, y, title, *procs, trial);
        y += h + GAP;
    }
    legend(&mut s, y);
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, top: f64, title: &str, procs: u32, trial: &TracedTrial) {
    let Some(trace) = TrialTrace::of(&trial.entries) else {
        return;
    };
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"##,
        top + 16.0,
        escape(title)
    );
    let entries = &trace.entries;
    let lanes_top = top + TITLE;
    if entries.len() > MAX_ENTRIES {
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{}">{} increments: too many to draw (at most {MAX_ENTRIES})</text>"##,
            lanes_top + 16.0,
            entries.len()
        );
        return;
    }
    let t = trace.explanation.tally();
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="{}" fill="#444">collisions {} lost, stale writes {} lost, restored {}: explained {} lost</text>"##,
        top + 34.0,
        t.collision_lost,
        t.stale_lost,
        t.restored,
        t.lost()
    );
    let frame = Frame {
        scale: Scale::new(entries, 400),
        lanes_top,
        lanes_bottom: lanes_top + f64::from(procs) * LANE,
    };
    // Drawn at times that respect the rebuilt order (the clock alone may reverse two writes).
    let order = &trace.explanation.order;
    let written = write_times(entries, order);
    time_axis(s, &frame);
    lanes(s, &frame, procs, entries, &written);
    overwrite_marks(s, &frame, top, entries, order, &written);
}

/// Where a panel's lanes sit and how its time axis maps onto the page.
struct Frame {
    scale: Scale,
    lanes_top: f64,
    lanes_bottom: f64,
}

impl Frame {
    /// x of a point on the compressed axis.
    fn at(&self, c: u64) -> f64 {
        LEFT + (c as f64 / self.scale.length as f64) * (WIDTH - LEFT - RIGHT)
    }

    /// x of a time in ns since the first read.
    fn x(&self, t: u64) -> f64 {
        self.at(self.scale.compressed(t))
    }

    /// y of the middle of worker `w`'s lane.
    fn lane_y(&self, w: u32) -> f64 {
        self.lanes_top + f64::from(w) * LANE + LANE / 2.0
    }
}

/// The time axis: grid ticks, the idle stretches cut out, the axis line.
fn time_axis(s: &mut String, frame: &Frame) {
    let (scale, lanes_top, lanes_bottom) = (&frame.scale, frame.lanes_top, frame.lanes_bottom);
    // Ticks at a round step of real time, within each stretch where increments ran.
    let step = (tick_step(scale.length as f64) as u64).max(1);
    let mut last_label = f64::NEG_INFINITY;
    for &(a, b, _) in &scale.busy {
        let mut tick = a.div_ceil(step) * step;
        while tick <= b {
            let tx = frame.x(tick);
            let label = if tx - last_label >= 50.0 {
                last_label = tx;
                format!(
                    r##"<text x="{tx:.1}" y="{}" text-anchor="middle">{}</text>"##,
                    lanes_bottom + 16.0,
                    escape(&pretty(tick))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                r##"<line class="grid" x1="{tx:.1}" y1="{lanes_top}" x2="{tx:.1}" y2="{lanes_bottom}"/>{label}"##
            );
            tick += step;
        }
    }
    // Idle stretches, cut out of the axis.
    for (i, &cut) in scale.cuts.iter().enumerate() {
        let cx = frame.at(cut);
        let idle = scale.busy[i + 1].0 - scale.busy[i].1;
        let _ = writeln!(
            s,
            r##"<line class="cut" x1="{cx:.1}" y1="{}" x2="{cx:.1}" y2="{}"/><text x="{cx:.1}" y="{}" text-anchor="middle" font-size="10" fill="#888">{} idle</text>"##,
            lanes_top - 4.0,
            lanes_bottom + 4.0,
            lanes_top - 6.0,
            escape(&pretty(idle))
        );
    }
    let _ = writeln!(
        s,
        r##"<line class="axis" x1="{LEFT}" y1="{lanes_bottom}" x2="{}" y2="{lanes_bottom}"/><text x="{}" y="{}" text-anchor="end">time since the first read (dashed: idle time cut out)</text>"##,
        WIDTH - RIGHT,
        WIDTH - RIGHT,
        lanes_bottom + 30.0
    );
}

/// One lane per worker: its label, a bar per increment from read to write, restores ringed.
fn lanes(s: &mut String, frame: &Frame, procs: u32, entries: &[TraceEntry], written: &[u64]) {
    for w in 0..procs {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{:.1}" text-anchor="end">worker {w}</text>"##,
            LEFT - 8.0,
            frame.lane_y(w) + 4.0
        );
    }
    for (e, &t_write) in entries.iter().zip(written) {
        let (x1, x2, y) = (
            frame.x(e.t_read_ns),
            frame.x(t_write),
            frame.lane_y(e.worker),
        );
        let _ = writeln!(
            s,
            r##"<rect class="bar" x="{x1:.1}" y="{:.1}" width="{:.1}" height="10"><title>worker {} read {} at {}, wrote {} over {} at {}</title></rect><circle class="write" cx="{x2:.1}" cy="{y:.1}" r="2"/>"##,
            y - 5.0,
            (x2 - x1).max(1.0),
            e.worker,
            e.read,
            pretty(e.t_read_ns),
            e.wrote,
            e.prev,
            pretty(e.t_write_ns)
        );
        if e.prev < e.read {
            let _ = writeln!(
                s,
                r##"<circle class="restore" data-restored="{}" cx="{x2:.1}" cy="{y:.1}" r="6"/>"##,
                e.read - e.prev
            );
        }
    }
}

/// Every lost update circled on the write that was lost, with a line to the one that
/// overwrote it.
fn overwrite_marks(
    s: &mut String,
    frame: &Frame,
    top: f64,
    entries: &[TraceEntry],
    order: &[usize],
    written: &[u64],
) {
    let all = overwrites(entries, order);
    if all.len() > MAX_MARKS {
        let _ = writeln!(
            s,
            r##"<text class="note" x="{}" y="{}" text-anchor="end" fill="#d62728">{} more lost updates not circled (at most {MAX_MARKS})</text>"##,
            WIDTH - RIGHT,
            top + 34.0,
            all.len() - MAX_MARKS
        );
    }
    for o in all.into_iter().take(MAX_MARKS) {
        let (v, b) = (&entries[o.victim], &entries[o.by]);
        let (vx, vy) = (frame.x(written[o.victim]), frame.lane_y(v.worker));
        let _ = writeln!(
            s,
            r##"<line class="overwrite" x1="{vx:.1}" y1="{vy:.1}" x2="{:.1}" y2="{:.1}"/><circle class="lost" data-victim="{}:{}" data-by="{}:{}" cx="{vx:.1}" cy="{vy:.1}" r="5"><title>worker {}'s write of {} (increment {}) was lost: worker {} wrote {} over {} (increment {})</title></circle>"##,
            frame.x(written[o.by]),
            frame.lane_y(b.worker),
            v.worker,
            v.seq,
            b.worker,
            b.seq,
            v.worker,
            v.wrote,
            v.seq,
            b.worker,
            b.wrote,
            b.prev,
            b.seq
        );
    }
}

fn legend(s: &mut String, top: f64) {
    let y = top + 12.0;
    let _ = writeln!(
        s,
        r##"<g class="legend"><rect class="bar" x="{LEFT}" y="{}" width="24" height="10"/><text x="{}" y="{}">increment: read ... write</text><circle class="write" cx="{}" cy="{y}" r="2"/><text x="{}" y="{}">write</text><circle cx="{}" cy="{y}" r="5" fill="none" stroke="#d62728" stroke-width="2"/><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#d62728"/><text x="{}" y="{}">lost update, and the write that overwrote it</text><circle cx="{}" cy="{y}" r="6" fill="none" stroke="#2ca02c" stroke-width="2"/><text x="{}" y="{}">write that restored undone updates</text></g>"##,
        y - 5.0,
        LEFT + 30.0,
        y + 4.0,
        LEFT + 200.0,
        LEFT + 208.0,
        y + 4.0,
        LEFT + 270.0,
        LEFT + 275.0,
        LEFT + 300.0,
        LEFT + 306.0,
        y + 4.0,
        LEFT + 590.0,
        LEFT + 600.0,
        y + 4.0
    );
}

/// A round tick step (1, 2 or 5 × 10^k ns) giving about 8 ticks over `span`.
fn tick_step(span: f64) -> f64 {
    let raw = span / 8.0;
    let mut step = 1.0;
    while step * 10.0 <= raw {
        step *= 10.0;
    }
    for m in [1.0, 2.0, 5.0, 10.0] {
        if step * m >= raw {
            return step * m;
        }
    }
    step * 10.0
}

/// Durations as people write them: `µs`, not `us`.
fn pretty(ns: u64) -> String {
    let text = format_nanos(ns);
    match text.strip_suffix("us") {
        Some(v) => format!("{v}µs"),
        None => text,
    }
}

/// Escapes text for XML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(8_000.0), 1_000.0);
        assert_eq!(tick_step(85_300.0), 20_000.0);
        assert_eq!(tick_step(3.0), 1.0);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape(r#"a<b & "c">"#), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(pretty(8_100), "8.10µs");
    }
}
