/* racecount --export-html: draws the whole report from the JSON blob in #racecount-data
   (made by src/output/html.rs). This file: helpers, the header, each group's histogram and
   table, the relative speeds, and start(); race.js: the step-through. The template runs the
   two, in that order, inside one function, then start(). Everything from the blob reaches
   the page as text (textContent, or attribute values), never as markup. */
const started = performance.now();
const data = JSON.parse(document.getElementById("racecount-data").textContent);
const doc = data.report;
const main = document.getElementById("report");
const SVGNS = "http://www.w3.org/2000/svg";
const timings = { parse_ms: performance.now() - started, first_ms: 0, races_ms: 0, script_ms: 0, ready_at_ms: 0, steps_ms: [] };

// ---- Small helpers -------------------------------------------------------------------

function fill(e, attrs, children) {
  for (const k in attrs || {}) {
    if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) {
      e.setAttribute(k, String(attrs[k]));
    }
  }
  for (const c of [].concat(children === undefined ? [] : children)) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
}
const h = (tag, attrs, children) => fill(document.createElement(tag), attrs, children);
const s = (tag, attrs, children) => fill(document.createElementNS(SVGNS, tag), attrs, children);

/** As human output writes numbers (src/output/human.rs `number`). */
function number(v) {
  if (v === null || v === undefined || !isFinite(v)) return "-";
  const a = Math.abs(v), frac = Math.abs(v % 1);
  if (a >= 100 && Math.abs(frac - 0.5) < 1e-9) return v.toFixed(1);
  if (frac === 0 || a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
function percent(v) {
  if (v === null || v === undefined) return "-";
  return v > 0 && v < 0.05 ? "<0.1%" : v.toFixed(1) + "%";
}
/** A duration for an axis: 850 ns, 12.5 µs, 3.2 ms. */
function duration(ns) {
  const sig = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2).replace(/\.?0+$/, ""));
  if (ns < 1e3) return Math.round(ns) + " ns";
  if (ns < 1e6) return sig(ns / 1e3) + " µs";
  if (ns < 1e9) return sig(ns / 1e6) + " ms";
  return sig(ns / 1e9) + " s";
}
const plural = (n, one, many) => n + " " + (n === 1 ? one : many);
/** A number as the json export has it, in a cell that says which field it shows. */
function field(tag, path, value, text, cls) {
  const exact = value === null ? "null" : String(value);
  return h(tag, { "data-field": path, "data-value": exact, title: exact, class: cls }, text);
}

// ---- Header --------------------------------------------------------------------------

function header() {
  document.title = "racecount report: " + data.command;
  const m = doc.machine;
  const box = h("header", {}, [
    h("h1", {}, "racecount report"),
    h("p", {}, ["The run: ", h("code", { class: "command", id: "command" }, data.command)]),
    h("pre", { class: "settings", "aria-label": "settings" }, data.header.join("\n")),
    h("p", { class: "machine" }, "Machine: " + plural(m.logical_cpus, "logical CPU", "logical CPUs") +
      ", " + m.os + (m.kernel ? " " + m.kernel : "") + "; racecount " + doc.racecount_version +
      ", json schema " + doc.schema_version + "."),
  ]);
  if (doc.stopped) {
    const why = doc.stopped.reason === "interrupted"
      ? "interrupted by " + doc.stopped.signal : "failed: " + doc.stopped.message;
    box.appendChild(h("p", { class: "stopped", role: "alert" }, "The run stopped early, " + why +
      ". What finished is shown."));
  }
  if (doc.diagnosis) box.appendChild(h("p", { class: "diagnosis" }, doc.diagnosis.text));
  const params = h("dl", {});
  for (const k of Object.keys(doc.parameters)) {
    params.appendChild(h("dt", {}, h("code", {}, k)));
    params.appendChild(h("dd", {}, JSON.stringify(doc.parameters[k])));
  }
  box.appendChild(h("details", {}, [h("summary", {}, "Every parameter, as the json export has it"), params]));
  const links = h("ul", {});
  doc.results.forEach((r, i) => links.appendChild(h("li", {}, h("a", { href: "#group-" + i }, data.groups[i].label))));
  if (data.speeds.combinations.length) links.appendChild(h("li", {}, h("a", { href: "#speeds" }, "Relative speed")));
  data.races.forEach((race, k) => links.appendChild(h("li", {}, h("a", { href: "#race-" + k },
    (doc.results[race.result].replay ? "The replay step by step: " : "The race step by step: ") +
    data.groups[race.result].label))));
  if (!data.races.length) {
    links.appendChild(h("li", { class: "muted" }, "Run with --trace (or --replay) to step through a race here."));
  }
  box.appendChild(h("nav", { "aria-label": "contents" }, links));
  return box;
}

// ---- Groups --------------------------------------------------------------------------

const SHAPES = {
  never: "M8 1a7 7 0 1 0 0.01 0z",
  sometimes: "M8 1l7 13h-14z",
  always: "M2 2l12 12M14 2l-12 12",
};
function verdictIcon(v) {
  const filled = v !== "always";
  return s("svg", { width: 16, height: 16, viewBox: "0 0 16 16", class: "shape", "aria-hidden": "true" },
    s("path", { d: SHAPES[v], fill: filled ? "currentColor" : "none", stroke: "currentColor", "stroke-width": 3 }));
}

function groupSection(r, i) {
  const g = data.groups[i];
  const sec = h("section", { class: "group", id: "group-" + i, "data-result": i, "aria-labelledby": "group-" + i + "-title" });
  sec.appendChild(h("h2", { id: "group-" + i + "-title" }, g.label));
  sec.appendChild(h("p", {}, [
    field("span", "procs", r.procs, plural(r.procs, "worker", "workers")), " × ",
    field("span", "iters", r.iters, plural(r.iters, "increment", "increments")), " = ",
    field("span", "expected", r.expected, r.expected), " expected; ",
    r.lock ? "lock " + r.lock + (r.lock_is_correct === false ? " (does not exclude), " : ", ") : "",
    r.workers + ", window " + r.window + ".",
  ]));
  if (r.replay) {
    sec.appendChild(h("p", { class: "replay" }, ["A replay of trial ", field("span", "replay.trial", r.replay.trial, r.replay.trial),
      " of ", h("code", {}, r.replay.file), ", which ended at ",
      field("span", "replay.recorded_total", r.replay.recorded_total, r.replay.recorded_total), "; writes that read, wrote or " +
      "replaced other than recorded: ", field("span", "replay.differing_writes", r.replay.differing_writes, r.replay.differing_writes), "."]));
  }
  const sm = r.summary;
  if (!sm) {
    sec.appendChild(h("p", { class: "note" }, "No trial finished."));
    return sec;
  }
  const word = sm.verdict === "never" ? "Never" : sm.verdict === "always" ? "Always"
    : "Sometimes (" + sm.trials_with_loss + "/" + sm.trials + ")";
  sec.appendChild(h("p", { class: "verdict " + sm.verdict }, [verdictIcon(sm.verdict), "Lost updates: ",
    field("span", "summary.verdict", sm.verdict, word),
    h("span", { class: "note" }, " — in " + sm.trials_with_loss + " of " + plural(sm.trials, "trial", "trials") +
      " the total ended below " + r.expected + ".")]));
  sec.appendChild(histogram(r, g));
  sec.appendChild(summaryTable(r, sm));
  if (doc.parameters.schedule !== null) {
    sec.appendChild(h("p", { class: "note" }, "Under a schedule the workers take turns one step at a time: ns/incr is " +
      "the cost of handing the turns over, not of the race on the hardware."));
  }
  if (r.trials.length && r.trials.length <= 100) {
    const totals = h("p", { class: "totals" }, "Final total of each trial: ");
    r.trials.forEach((t, k) => {
      if (k) totals.appendChild(document.createTextNode(" "));
      totals.appendChild(field("span", "trials." + k + ".total", t.total, t.total, t.total < r.expected ? "lossy" : null));
    });
    sec.appendChild(totals);
  }
  const traced = data.races.findIndex((race) => race.result === i);
  if (traced >= 0) {
    sec.appendChild(h("p", {}, h("a", { href: "#race-" + traced }, "Step through trial " + data.races[traced].trial + "'s race")));
  }
  return sec;
}

function summaryTable(r, sm) {
  const cols = [
    ["trials", "summary.trials", sm.trials, String(sm.trials)],
    ["min", "summary.min", sm.min, String(sm.min)],
    ["median", "summary.median", sm.median, number(sm.median)],
    ["max", "summary.max", sm.max, String(sm.max)],
    ["trials with loss", "summary.trials_with_loss", sm.trials_with_loss, String(sm.trials_with_loss)],
    ["mean lost", "summary.mean_lost_pct", sm.mean_lost_pct, percent(sm.mean_lost_pct)],
    ["ns/incr (mean)", "summary.ns_per_increment_mean", sm.ns_per_increment_mean, number(sm.ns_per_increment_mean)],
    ["± (sd)", "summary.ns_per_increment_stddev", sm.ns_per_increment_stddev, number(sm.ns_per_increment_stddev)],
    ["ns/incr (median)", "summary.ns_per_increment_median", sm.ns_per_increment_median, number(sm.ns_per_increment_median)],
    ["trials/s", "summary.trials_per_sec", sm.trials_per_sec, number(sm.trials_per_sec)],
  ];
  if (doc.parameters.store !== "page") cols.push(["retries", "summary.retries", sm.retries, String(sm.retries)]);
  return h("table", { class: "summary" }, [
    h("caption", { class: "visually-hidden" }, "Summary of the final totals and the time per increment"),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: "num" }, c[0])))),
    h("tbody", {}, h("tr", {}, cols.map((c) => field("td", c[1], c[2], c[3], "num")))),
  ]);
}

/** The terminal histogram's bins as columns; the expected total's column marked. */
function histogram(r, g) {
  const bins = g.histogram, H = 210, L = 40, B = 170, T = 46;
  const most = Math.max(1, ...bins.map((b) => b.count));
  const slot = Math.min(60, 600 / bins.length), bar = Math.max(2, slot * 0.8);
  const W = Math.max(380, L + 16 + bins.length * slot + 40);
  const svg = s("svg", { class: "hist", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img" });
  const lossy = bins.filter((b) => b.low < r.expected).reduce((n, b) => n + b.count, 0);
  const exact = bins.filter((b) => b.low === r.expected).reduce((n, b) => n + b.count, 0);
  svg.setAttribute("aria-label", "Histogram of the final totals of " + plural(lossy + exact, "trial", "trials") +
    ": " + exact + " at the expected " + r.expected + ", " + lossy + " below it.");
  svg.appendChild(s("line", { class: "axis", x1: L, y1: B, x2: W - 5, y2: B }));
  svg.appendChild(s("text", { x: L - 6, y: T + 4, "text-anchor": "end", class: "muted" }, most));
  svg.appendChild(s("text", { x: L - 6, y: B, "text-anchor": "end", class: "muted" }, 0));
  bins.forEach((b, k) => {
    const x = L + 6 + k * slot, hgt = (b.count / most) * (B - T), isExpected = b.low === r.expected;
    const label = b.low === b.high ? String(b.low) : b.low + "–" + b.high;
    svg.appendChild(s("rect", { x: x, y: B - hgt, width: bar, height: Math.max(hgt, 0.5),
      class: isExpected ? "exact" : "lossy", "data-count": b.count, "data-low": b.low, "data-high": b.high },
    s("title", {}, label + ": " + plural(b.count, "trial", "trials"))));
    if (b.count) svg.appendChild(s("text", { x: x + bar / 2, y: B - hgt - 4, "text-anchor": "middle" }, b.count));
    const every = Math.ceil(bins.length / 12);
    if (isExpected || k % every === 0) {
      svg.appendChild(s("text", { x: x + bar / 2, y: B + 15, "text-anchor": "middle", class: "muted" }, label));
    }
    if (isExpected) {
      // A dashed line and a downward triangle over the expected column, named above it.
      const mid = x + bar / 2;
      svg.appendChild(s("line", { class: "expected", x1: mid, y1: T - 12, x2: mid, y2: B }));
      svg.appendChild(s("path", { d: "M" + (mid - 6) + " " + (T - 22) + "l6 8l6 -8z", fill: "currentColor" }));
      svg.appendChild(s("text", { x: mid, y: T - 27, "text-anchor": mid > W - 60 ? "end" : "middle" }, "expected " + r.expected));
    }
  });
  svg.appendChild(s("text", { x: L, y: H - 6, class: "muted" },
    "final total (hatched: below expected; solid: exact)"));
  return h("figure", {}, [svg, h("figcaption", {}, "Final totals of every trial, counted by value.")]);
}

// ---- Relative speed ------------------------------------------------------------------

function speedSection() {
  const sp = data.speeds;
  const sec = h("section", { class: "speeds", id: "speeds", "aria-labelledby": "speeds-title" },
    h("h2", { id: "speeds-title" }, "Relative speed"));
  sec.appendChild(h("p", { class: "note" }, "From the mean ns per increment of each mode's trials, as in the tables. " +
    "Each bar is how many times longer than the fastest an increment took; the whisker is ± one standard " +
    "deviation of that ratio, propagated from both modes' standard deviations. Hatched: within the noise."));
  // The terminal's words, as it prints them.
  sec.appendChild(h("p", { class: "speed-title" }, sp.title));
  for (const c of sp.combinations) {
    const rows = c.modes;
    const W = 640, L = 150, R = 150, row = 30, H = rows.length * row + 30;
    const most = Math.max(...rows.map((x) => x.ratio + x.stddev));
    const x = (v) => L + (v / most) * (W - L - R);
    const svg = s("svg", { class: "speed", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
      "aria-label": "Bar chart of relative speed" + (c.label ? " at " + c.label : "") });
    rows.forEach((m, k) => {
      const y = 10 + k * row, name = data.groups[m.result].name;
      svg.appendChild(s("text", { x: L - 8, y: y + 15, "text-anchor": "end" }, name));
      svg.appendChild(s("rect", { class: "bar" + (m.within_noise ? " noise" : ""), x: L, y: y + 3, width: x(m.ratio) - L, height: 16 }));
      if (m.stddev > 0) {
        const a = x(Math.max(0, m.ratio - m.stddev)), b = x(m.ratio + m.stddev);
        svg.appendChild(s("path", { class: "whisker", d: "M" + a + " " + (y + 11) + "H" + b + "M" + a + " " + (y + 5) + "v12M" + b + " " + (y + 5) + "v12" }));
      }
      const text = k === 0 ? "1 (fastest)" : m.ratio.toFixed(2) + " ± " + m.stddev.toFixed(2);
      svg.appendChild(s("text", { x: W - R + 8, y: y + 15, "data-fastest": rows[0].result, "data-result": m.result,
        "data-ratio": m.ratio, "data-stddev": m.stddev, class: "ratio" }, text));
    });
    svg.appendChild(s("line", { class: "one", x1: x(1), y1: 4, x2: x(1), y2: H - 20 }));
    svg.appendChild(s("text", { x: x(1), y: H - 6, "text-anchor": "middle", class: "muted" }, "1×"));
    sec.appendChild(h("figure", {}, [c.label ? h("h3", {}, c.label) : null, svg,
      h("figcaption", { class: "sentence" }, c.sentence)]));
  }
  return sec;
}

/** Draws the page. */
function start() {
  const patterns = s("svg", { width: 0, height: 0, "aria-hidden": "true", style: "position:absolute" }, s("defs", {}, [
    s("pattern", { id: "hatch-lost", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      s("line", { class: "hatch-lost", x1: 0, y1: 0, x2: 0, y2: 6 })),
    s("pattern", { id: "hatch-noise", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(-45)" },
      s("line", { class: "hatch-noise", x1: 0, y1: 0, x2: 0, y2: 6 })),
  ]));
  main.appendChild(patterns);
  main.appendChild(header());
  doc.results.forEach((r, i) => main.appendChild(groupSection(r, i)));
  if (data.speeds.combinations.length) main.appendChild(speedSection());
  timings.first_ms = performance.now() - started;
  // The races after the first paint: the run and its numbers show while they are drawn.
  requestAnimationFrame(() => setTimeout(races, 0));
}

/** Draws the races, and opens the page's API (window.racecount) once they are there. */
function races() {
  const racesStart = performance.now();
  data.races.forEach((race, k) => {
    const st = raceSection(race, k);
    main.appendChild(st.section);
    if (st.go) steppers.push(st);
  });
  timings.races_ms = performance.now() - racesStart;
  // report.html#race-0/12 opens the first race at its 12th write.
  const asked = /^#race-(\d+)(?:\/(\d+))?$/.exec(location.hash);
  if (asked && steppers[Number(asked[1])]) {
    const st = steppers[Number(asked[1])];
    st.go(Number(asked[2] || 0));
    st.section.scrollIntoView();
  }
  timings.steps_ms = [];
  timings.script_ms = timings.first_ms + timings.races_ms;
  // Since navigation: the page's time origin.
  timings.ready_at_ms = performance.now();
  window.racecount = {
    timings,
    go: (k, to) => steppers[k].go(to),
    step: (k, d) => steppers[k].step(d),
    at: (k) => steppers[k].at(),
  };
}
