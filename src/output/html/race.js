/* racecount --export-html: the race, step by step (see report.js). The parts that read one
   write of a trace are marked TRACE FORMAT. */

// ---- The race ------------------------------------------------------------------------

const MARKS = {
  // TRACE FORMAT: one shape per kind of write.
  clean: (x, y) => "M" + (x - 3.2) + " " + y + "a3.2 3.2 0 1 0 6.4 0a3.2 3.2 0 1 0 -6.4 0",
  collision: (x, y) => "M" + (x - 4) + " " + (y - 4) + "l8 8m0 -8l-8 8",
  stale: (x, y) => "M" + x + " " + (y - 5.5) + "l5.5 10h-11z",
  restore: (x, y) => "M" + (x - 5) + " " + y + "h10M" + x + " " + (y - 5) + "v10",
};

function legend() {
  const item = (cls, d, text) => h("span", {}, [s("svg", { width: 18, height: 16, viewBox: "0 0 18 16", "aria-hidden": "true", class: "lane-svg", style: "border:none" },
    s("path", { class: cls, d: d })), " " + text]);
  return h("div", { class: "legend", "aria-label": "legend" }, [
    item("bar", "M1 5h16v6h-16z", "an increment, from its read (tick) to its write"),
    item("clean", MARKS.clean(9, 8), "write that replaced what it read"),
    item("collision", MARKS.collision(9, 8), "collision: replaced the same value it wrote"),
    item("stale", MARKS.stale(9, 8), "stale write: undid what others did meanwhile"),
    item("restore", MARKS.restore(9, 8), "restore: brought undone increments back"),
    item("victim", "M3 2h12v12h-12z", "lost update: this write's increment is off the counter (line: the write that undid it)"),
  ]);
}

/** One traced trial: its picture, its controls and its explanation, and how to step. */
function raceSection(race, k) {
  // TRACE FORMAT: each write is a row of values named by race.fields.
  race.writes = race.writes.map((row) => {
    const w = {};
    race.fields.forEach((f, i) => (w[f] = row[i]));
    return w;
  });
  const g = data.groups[race.result], n = race.writes.length;
  const replay = doc.results[race.result].replay;
  const sec = h("section", { class: "race", id: "race-" + k, "data-race": k, tabindex: "-1", "aria-labelledby": "race-" + k + "-title" });
  sec.appendChild(h("h2", { id: "race-" + k + "-title" }, (replay ? "The replay, step by step: " : "The race, step by step: ") +
    g.label + ", trial " + race.trial));
  race.heading.forEach((line, i) => sec.appendChild(h("p", { class: i ? "note" : "heading" }, line)));
  if (replay) {
    sec.appendChild(h("p", { class: "note" }, "The writes of trial " + replay.trial + " of " + replay.file +
      " (which ended at " + replay.recorded_total + ") were run again one at a time, in the order recorded; " +
      "below, the replay's own trace."));
  }
  const sentences = h("ol", { class: "sentences", "aria-label": "the explanation" },
    race.sentences.map((t, i) => h("li", { "data-sentence": i }, t)));
  const explanation = [h("h3", {}, "The explanation"), sentences];
  if (!n) {
    sec.appendChild(h("p", { class: "note" }, plural(race.count, "write", "writes") +
      ": too many to step through here. The explanation:"));
    explanation.forEach((e) => sec.appendChild(e));
    return { section: sec };
  }
  const stepper = makeStepper(race, k, sentences);
  sec.appendChild(stepper.controls);
  sec.appendChild(h("p", { class: "keys" }, ["Keys: ", h("kbd", {}, "→"), " or ", h("kbd", {}, "space"), " next write, ",
    h("kbd", {}, "←"), " back, ", h("kbd", {}, "Home"), "/", h("kbd", {}, "End"), " first/last; click a write to go to it."]));
  sec.appendChild(stepper.caption);
  sec.appendChild(h("figure", {}, [stepper.svg, h("figcaption", {}, "One lane per worker on a time axis, or with the writes " +
    "evenly spaced in their real order (the button above switches); above, the counter's value after each write. " +
    "Writes to come are faint.")]));
  sec.appendChild(legend());
  explanation.forEach((e) => sec.appendChild(e));
  sec.addEventListener("focusin", () => (lastUsed = stepper));
  sec.addEventListener("pointerdown", () => (lastUsed = stepper));
  stepper.section = sec;
  return stepper;
}

/** TRACE FORMAT: every lost update as a span of positions (`from` <= position < `to`, the
    position being how many writes are shown) during which write `victim` is off the counter,
    undone by write `by`; `to` is the position right after the write that brought it back. */
function lostSpans(writes) {
  const spans = [], open = new Map();
  writes.forEach((w, i) => {
    for (const v of w.restored) {
      const sp = open.get(v);
      if (sp) { sp.to = i + 1; open.delete(v); }
    }
    for (const v of w.undid) {
      const sp = open.get(v);
      if (sp) sp.to = i + 1;
      const span = { from: i + 1, to: Infinity, victim: v, by: i };
      spans.push(span);
      open.set(v, span);
    }
  });
  return spans;
}

/** The boxes and links of the lost updates at each position. The ones never brought back
    are prefixes of one path each (spans start in order), so that a step sets two attributes
    whatever the size; the few brought back are added one by one. `place(i)` is write i's
    [x, y]. */
function lossPaths(spans, n, place) {
  const box = (sp) => { const [x, y] = place(sp.victim); return "M" + (x - 7) + " " + (y - 7) + "h14v14h-14z"; };
  const link = (sp) => { const [x, y] = place(sp.victim), [bx, by] = place(sp.by); return "M" + x + " " + y + "L" + bx + " " + by; };
  const forever = spans.filter((sp) => sp.to === Infinity), back = spans.filter((sp) => sp.to !== Infinity);
  let boxes = "", links = "", next = 0;
  const boxesUpTo = new Int32Array(n + 1), linksUpTo = new Int32Array(n + 1), countUpTo = new Int32Array(n + 1);
  for (let position = 0; position <= n; position++) {
    for (; next < forever.length && forever[next].from <= position; next++) {
      boxes += box(forever[next]);
      links += link(forever[next]);
    }
    boxesUpTo[position] = boxes.length;
    linksUpTo[position] = links.length;
    countUpTo[position] = next;
  }
  const backBoxes = back.map(box), backLinks = back.map(link);
  return {
    at(position) {
      let b = boxes.slice(0, boxesUpTo[position]), l = links.slice(0, linksUpTo[position]), count = countUpTo[position];
      back.forEach((sp, j) => {
        if (sp.from <= position && position < sp.to) { b += backBoxes[j]; l += backLinks[j]; count++; }
      });
      return { boxes: b, links: l, count: count };
    },
  };
}

function makeStepper(race, k, sentenceList) {
  const writes = race.writes, n = writes.length, procs = race.procs;
  const W = 1000, L = 78, R = 16, CHART = 80, TOP = 22, LANE = procs <= 8 ? 28 : 22;
  const lanesTop = TOP + CHART + 22, lanesBottom = lanesTop + procs * LANE, H = lanesBottom + 40;
  const laneY = (w) => lanesTop + w * LANE + LANE / 2;
  let vmax = 1;
  for (const w of writes) vmax = Math.max(vmax, w.wrote, w.prev);
  const vY = (v) => TOP + CHART - (v / vmax) * CHART;
  const r1 = (v) => Math.round(v * 10) / 10;
  const spans = lostSpans(writes);

  // Two pictures, one over the other: below, what does not move (its own layer, rastered
  // once); above, what a step moves (the veil, the cursor, the marks of the current write,
  // the lost updates so far), so that a step repaints only the overlay.
  const svg = s("svg", { class: "lane-svg base", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
    "aria-label": "Timeline of " + n + " writes by " + plural(procs, "worker", "workers") + "; the caption above describes the current write" });
  const over = s("svg", { class: "lane-svg over", viewBox: "0 0 " + W + " " + H, "aria-hidden": "true" });
  const fixed = s("g", {});
  svg.appendChild(fixed);
  // Writes to come lie under a veil of the background colour, from the cursor on.
  const veil = s("rect", { class: "veil", x: L, y: TOP - 4, width: W - L, height: lanesBottom - TOP + 12 });
  const victimPath = s("path", { class: "victim", d: "" }), linkPath = s("path", { class: "link", d: "" });
  const cursor = s("line", { class: "cursor", x1: L, y1: TOP - 6, x2: L, y2: lanesBottom });
  const here = s("path", { class: "here", d: "" }), hereLink = s("path", { class: "here-link", d: "" });
  const hereLost = s("path", { class: "here-lost", d: "" }), hereBack = s("path", { class: "here-back", d: "" });
  const hereRead = s("path", { class: "here-read", d: "" }), value = s("text", { class: "value", x: L, y: TOP - 8 }, "counter 0");
  [veil, linkPath, victimPath, cursor, hereRead, hereLink, hereBack, hereLost, here, value].forEach((e) => over.appendChild(e));
  for (let w = 0; w < procs; w++) {
    over.appendChild(s("text", { x: L - 8, y: laneY(w) + 4, "text-anchor": "end", class: "lane-label", "data-worker": w }, "worker " + w));
  }
  const box = h("div", { class: "lanes" }, [svg, over]);

  // What depends on the axis, drawn again when it changes: x of every read and write, the
  // paths that do not move, and the lost updates' paths.
  let xs, xr, lost, scale, X, at;
  /** Places the reads and writes on the axis: in real time, or evenly in their order. */
  function place(even) {
    scale = even ? orderScale(writes) : makeScale(writes, W - L - R);
    X = (t) => L + (scale.compressed(t) / scale.length) * (W - L - R);
    at = (pos) => L + (pos / scale.length) * (W - L - R);
    // Whole units (a tenth of a percent of the width): integers print fast, and finer is
    // invisible.
    xs = new Int32Array(n);
    xr = new Int32Array(n);
    writes.forEach((w, i) => {
      xs[i] = Math.round(even ? at(scale.write(i)) : X(w.t_write_ns));
      xr[i] = Math.min(xs[i], Math.round(even ? at(scale.time(w.t_read_ns)) : X(w.t_read_ns)));
    });
  }
  function draw(even) {
    const bars = [], reads = [], marks = { clean: [], collision: [], stale: [], restore: [] };
    const counter = ["M" + L + " " + Math.round(vY(0))];
    writes.forEach((w, i) => {
      const y = laneY(w.worker), a = xr[i], b = xs[i], width = Math.max(1, b - a);
      bars.push("M" + a + " " + (y - 4) + "h" + width + "v8h" + -width + "z");
      reads.push("M" + a + " " + (y - 7) + "v14");
      (marks[w.kind] || marks.clean).push((MARKS[w.kind] || MARKS.clean)(b, y));
      counter.push("H" + b + "V" + Math.round(vY(w.wrote)));
    });
    lost = lossPaths(spans, n, (i) => [xs[i], laneY(writes[i].worker)]);
    fixed.replaceChildren(...axis(even), s("path", { class: "counter", d: counter.join("") }),
      s("path", { class: "bar", d: bars.join("") }), s("path", { class: "read", d: reads.join("") }),
      ...Object.keys(marks).map((kind) => s("path", { class: kind, d: marks[kind].join("") })));
  }

  function axis(even) {
    const out = [
      s("text", { x: L - 8, y: vY(vmax) + 4, "text-anchor": "end", class: "muted" }, vmax),
      s("text", { x: L - 8, y: vY(0) + 4, "text-anchor": "end", class: "muted" }, "0"),
      s("text", { x: 4, y: TOP + CHART / 2, class: "muted" }, "counter"),
      s("line", { class: "grid", x1: L, y1: vY(0), x2: W - R, y2: vY(0) }),
      s("line", { class: "axis", x1: L, y1: lanesBottom, x2: W - R, y2: lanesBottom }),
    ];
    const grid = [];
    let lastLabel = -Infinity;
    const tick = (x, label) => {
      grid.push("M" + x + " " + lanesTop + "V" + lanesBottom);
      if (x - lastLabel >= 60) {
        lastLabel = x;
        out.push(s("text", { x: x, y: lanesBottom + 16, "text-anchor": "middle", class: "muted" }, label));
      }
    };
    if (even) {
      const step = Math.max(1, tickStep(n));
      for (let i = step; i <= n; i += step) tick(r1(at(i)), "write " + i);
      out.push(s("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "muted" },
        "the writes in their real order, evenly spaced (reads placed by their time between them)"));
    } else {
      const step = Math.max(1, tickStep(scale.length));
      for (const [a, b] of scale.busy) {
        for (let t = Math.ceil(a / step) * step; t <= b; t += step) tick(r1(X(t)), duration(t));
      }
      // Idle stretches cut out: a dashed line each, named where there is room.
      let lastCut = -Infinity;
      const cutLines = [];
      for (const c of scale.cuts) {
        const x = r1(at(c.at));
        cutLines.push("M" + x + " " + (lanesTop - 4) + "V" + (lanesBottom + 4));
        if (x - lastCut >= 80) {
          lastCut = x;
          out.push(s("text", { x: x, y: lanesTop - 7, "text-anchor": "middle", class: "muted idle" }, duration(c.idle) + " idle"));
        }
      }
      out.push(s("path", { class: "cut", d: cutLines.join("") }));
      out.push(s("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "muted" }, "time since the first read (dashed: idle time cut out)"));
    }
    out.push(s("path", { class: "grid", d: grid.join("") }));
    return out;
  }

  // Real time unless it crowds the writes (most of them within 3 units of the one before):
  // then one step per write.
  place(false);
  let crowded = 0;
  for (let i = 1; i < n; i++) if (xs[i] - xs[i - 1] < 3) crowded++;
  let even = n > 1 && crowded > (n - 1) / 2;
  if (even) place(true);
  draw(even);
  const laneLabels = over.querySelectorAll(".lane-label");

  // Controls.
  const button = (text, label, keys, go) => {
    const b = h("button", { type: "button", "aria-label": label, "aria-keyshortcuts": keys }, text);
    b.addEventListener("click", go);
    return b;
  };
  const first = button("« First", "before the first write", "Home", () => go(0));
  const back = button("◀ Back", "previous write", "ArrowLeft", () => go(cur - 1));
  const next = button("Next ▶", "next write", "ArrowRight Space", () => go(cur + 1));
  const last = button("Last »", "after the last write", "End", () => go(n));
  const position = h("span", { class: "position" });
  const spacing = h("button", { type: "button", class: "spacing", "aria-pressed": String(even) }, "Evenly spaced writes");
  spacing.addEventListener("click", () => {
    even = !even;
    spacing.setAttribute("aria-pressed", String(even));
    place(even);
    draw(even);
    const at = cur;
    cur = -1;
    go(at);
  });
  const controls = h("div", { class: "controls", role: "toolbar", "aria-label": "step through the writes" },
    [first, back, next, last, position, spacing]);
  const caption = h("div", { class: "caption", "aria-live": "polite", "aria-atomic": "true" });
  const items = sentenceList.children;
  let cur = -1, lit = null;

  const who = (i) => "write " + (i + 1) + " (worker " + writes[i].worker + ")";
  const jump = (i) => {
    const b = h("button", { type: "button", class: "jump", "data-to": i + 1 }, who(i));
    b.addEventListener("click", () => go(i + 1));
    return b;
  };
  const jumps = (list) => {
    const out = [];
    list.slice(0, 6).forEach((i, j) => out.push(j ? ", " : "", jump(i)));
    if (list.length > 6) out.push(" and " + (list.length - 6) + " more");
    return out;
  };

  /** TRACE FORMAT: what one write did, in words, from the writes its links name. */
  function describe(i) {
    const w = writes[i], parts = [];
    parts.push(h("strong", {}, "Write " + (i + 1) + " of " + n + ": "),
      "worker " + w.worker + " (its increment " + (w.seq + 1) + ") read " + w.read + ", ",
      ...(w.read_from === null ? ["the initial value"] : ["which ", jump(w.read_from), " had written"]),
      ", and wrote " + w.wrote + " over " + w.prev + ", ",
      ...(w.replaced === null ? ["the initial value"] : ["which ", jump(w.replaced), " had written"]), ". ");
    const kind = {
      clean: "It replaced the value it had read: nothing lost here.",
      collision: "Collision: the write it replaced had written " + w.wrote + " too, so one of the two increments is lost.",
      stale: "Stale write: while it waited, others moved the counter from " + w.read + " to " + w.prev +
        "; writing " + w.wrote + " took " + (w.prev - w.read) + " of their increments off it.",
      restore: "Restore: the counter had been set back to " + w.prev + ", below the " + w.read + " it read; writing " +
        w.wrote + " put " + (w.read - w.prev) + " increments back.",
    }[w.kind];
    parts.push(kind);
    if (w.undid.length) parts.push(" It undid the increment of ", ...jumps(w.undid), ".");
    if (w.restored.length) parts.push(" It brought back the increment of ", ...jumps(w.restored), ".");
    if (w.lost_by !== null) parts.push(" Its own increment is lost for good: ", jump(w.lost_by), " undoes it.");
    return parts;
  }

  function go(to) {
    const t0 = performance.now();
    to = Math.max(0, Math.min(n, to));
    if (to === cur) return;
    cur = to;
    const i = cur - 1, w = i >= 0 ? writes[i] : null;
    const cx = w ? xs[i] : L;
    veil.setAttribute("x", cx + 1);
    veil.setAttribute("width", Math.max(0, W - cx - 1));
    const off = lost.at(cur);
    victimPath.setAttribute("d", off.boxes);
    linkPath.setAttribute("d", off.links);
    cursor.setAttribute("x1", cx);
    cursor.setAttribute("x2", cx);
    const v = w ? w.wrote : 0;
    value.setAttribute("x", Math.min(cx, W - R - 90));
    value.textContent = "counter " + v;
    for (const label of laneLabels) label.classList.toggle("active", !!w && Number(label.dataset.worker) === w.worker);
    if (w) {
      const y = laneY(w.worker);
      here.setAttribute("d", "M" + (cx - 9) + " " + y + "a9 9 0 1 0 18 0a9 9 0 1 0 -18 0" +
        "M" + xr[i] + " " + (y - 11) + "v22");
      const to = (x, y0, list) => list.map((j) => "M" + x + " " + y0 + "L" + xs[j] + " " + laneY(writes[j].worker)).join("");
      hereLink.setAttribute("d", to(cx, y, w.replaced === null ? [] : [w.replaced]));
      hereRead.setAttribute("d", to(xr[i], y, w.read_from === null ? [] : [w.read_from]));
      hereLost.setAttribute("d", to(cx, y, w.undid.concat(w.lost_by === null ? [] : [w.lost_by])));
      hereBack.setAttribute("d", to(cx, y, w.restored));
    } else {
      for (const p of [here, hereLink, hereRead, hereLost, hereBack]) p.setAttribute("d", "");
    }
    caption.replaceChildren(...(w ? describe(i) : [h("strong", {}, "Before the first write: "),
      "the counter is 0. Press → or space (or Next) to see the " + n + " writes in the order they happened."]));
    caption.dataset.step = cur;
    caption.dataset.lost = off.count;
    caption.dataset.undid = w ? w.undid.map((j) => j + 1).join(",") : "";
    for (const key of ["worker", "seq", "read", "wrote", "prev"]) {
      if (w) caption.dataset[key] = w[key]; else delete caption.dataset[key];
    }
    position.textContent = "write " + cur + " of " + n + "; lost so far: " + off.count;
    first.disabled = back.disabled = cur === 0;
    next.disabled = last.disabled = cur === n;
    if (lit) { lit.classList.remove("current"); lit.removeAttribute("aria-current"); }
    lit = w && w.sentence !== null ? items[w.sentence] : null;
    if (lit) {
      lit.classList.add("current");
      lit.setAttribute("aria-current", "step");
      const list = sentenceList;
      if (lit.offsetTop < list.scrollTop || lit.offsetTop + lit.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = lit.offsetTop - list.clientHeight / 3;
      }
    }
    timings.steps_ms.push(performance.now() - t0);
  }

  svg.addEventListener("click", (e) => {
    const m = svg.getScreenCTM();
    if (!m) return;
    const p = new DOMPoint(e.clientX, e.clientY).matrixTransform(m.inverse());
    const lane = Math.floor((p.y - lanesTop) / LANE);
    if (lane < 0 || lane >= procs) return;
    let best = -1, dist = Infinity;
    writes.forEach((w, i) => {
      if (w.worker === lane && Math.abs(xs[i] - p.x) < dist) { dist = Math.abs(xs[i] - p.x); best = i; }
    });
    if (best >= 0) go(best + 1);
  });

  go(0);
  return { controls, caption, svg: box, go: (to) => go(to), step: (d) => go(cur + d), at: () => cur, length: n };
}

// ---- Keys, print, start ----------------------------------------------------------------

const steppers = [];
let lastUsed = null;

/** The race the keys move: the one with the focus, else the last one used, else one in view. */
function activeStepper() {
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("section.race");
  if (focused) return steppers.find((st) => st.section === focused) || null;
  if (lastUsed) return lastUsed;
  return steppers.find((st) => {
    const b = st.section.getBoundingClientRect();
    return b.bottom > 0 && b.top < window.innerHeight;
  }) || null;
}

document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target;
  if ((e.key === " " || e.key === "Enter") && t && /^(BUTTON|A|SUMMARY|INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
  const move = { ArrowRight: 1, ArrowLeft: -1, " ": e.shiftKey ? -1 : 1 }[e.key];
  if (move === undefined && e.key !== "Home" && e.key !== "End") return;
  const st = activeStepper();
  if (!st) return;
  e.preventDefault();
  lastUsed = st;
  if (e.key === "Home") st.go(0);
  else if (e.key === "End") st.go(st.length);
  else st.step(move);
});

// Printed, each race shows every write.
let before = [];
window.addEventListener("beforeprint", () => { before = steppers.map((st) => st.at()); steppers.forEach((st) => st.go(st.length)); });
window.addEventListener("afterprint", () => steppers.forEach((st, i) => st.go(before[i])));
