/* racecount --export-html: the race's time axis (see report.js): real time with idle
   stretches cut out, or the writes evenly spaced in their real order. */

/** Cuts idle stretches out of the time axis, as src/output/scale.rs does for the SVG. */
function makeScale(writes, width) {
  let span = 1;
  for (const w of writes) span = Math.max(span, w.t_write_ns);
  const column = Math.max(1, Math.floor(span / width));
  const spans = writes.map((w) => [w.t_read_ns, w.t_write_ns]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 3 * column) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  const gaps = merged.length - 1;
  let busy = [[0, span, 0]], cuts = [], length = span;
  if (gaps > 0 && gaps <= width / 8) {
    const sum = Math.max(1, merged.reduce((n, [a, b]) => n + b - a, 0));
    const unit = Math.max(1, Math.floor((3 * sum) / (width - 3 * gaps)));
    busy = []; let shift = merged[0][0];
    merged.forEach(([a, b], i) => {
      if (i > 0) {
        const end = merged[i - 1][1];
        cuts.push({ at: end - shift + unit / 2, idle: a - end });
        shift += Math.max(0, a - end - unit);
      }
      busy.push([a, b, shift]);
      length = b - shift;
    });
    length = Math.max(1, length);
  }
  const compressed = (t) => {
    let lo = 0, hi = busy.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (busy[mid][0] <= t) lo = mid + 1; else hi = mid; }
    return Math.max(0, t - busy[Math.max(0, lo - 1)][2]);
  };
  return { busy, cuts, length, compressed };
}

function tickStep(span) {
  const raw = span / 8;
  let step = 1;
  while (step * 10 <= raw) step *= 10;
  for (const m of [1, 2, 5, 10]) if (step * m >= raw) return step * m;
  return step * 10;
}

/** Spaces the writes evenly in their real order; a read sits between the writes around it,
    by its time. Write i is at i + 1 of n + 1. */
function orderScale(writes) {
  const n = writes.length, knots = writes.map((w) => w.t_write_ns);
  const time = (t) => {
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (knots[mid] <= t) lo = mid + 1; else hi = mid; }
    const t0 = lo ? knots[lo - 1] : 0, t1 = lo < n ? knots[lo] : t0;
    return lo + (t1 > t0 ? (t - t0) / (t1 - t0) : 0);
  };
  return { length: n + 1, write: (i) => i + 1, time };
}

