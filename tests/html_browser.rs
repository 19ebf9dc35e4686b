//! `--export-html` in a real browser (`cargo test --features browser-tests --test
//! html_browser`; `.ci/run` installs Debian's chromium and chromium-driver first): the page
//! shows the numbers of the json export of the same run and the terminal's words, → steps
//! through the writes in their real order with the explanation's sentence lit, a replay steps
//! through the recorded writes, nothing is logged to the console, a hostile `--store` path
//! stays text; and the time 16 workers × 200 increments take to paint and step is printed.

mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use browser::{Browser, ink};
use common::*;
use serde_json::Value;

/// One browser at a time: two Chromiums on two cores would slow each other's timings.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

const RIGHT: &str = "\u{E014}";
const LEFT: &str = "\u{E012}";
const HOME: &str = "\u{E011}";

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("html-{name}-{}", unique_seed()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs racecount with `line` plus `--export-html` and `--export-json` into `dir`; returns its
/// stdout and the json export.
fn export(dir: &Path, line: &[&str]) -> (String, Value) {
    let (page, json) = (dir.join("report.html"), dir.join("report.json"));
    let out = run(&[
        line,
        &[
            "--export-html",
            page.to_str().unwrap(),
            "--export-json",
            json.to_str().unwrap(),
        ],
    ]
    .concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (stdout(&out), doc)
}

/// Opens the page and checks what every page must: no console message worse than a warning,
/// nothing fetched, and a screenshot (kept in the target directory) that is not blank.
fn open(browser: &Browser, dir: &Path) {
    browser.open(&dir.join("report.html"));
    drawn(browser);
    let fetched = browser.script("return performance.getEntriesByType('resource').length;");
    assert_eq!(fetched, 0, "the page fetched something");
    let png = browser.screenshot();
    std::fs::write(dir.join("screenshot.png"), &png).unwrap();
    let inked = ink(&png);
    assert!(
        inked > 0.02,
        "screenshot nearly blank: {inked:.4} of pixels inked"
    );
}

/// Waits for the races, which the page draws after its first paint.
fn drawn(browser: &Browser) {
    browser.script_async(
        "const wait = () => window.racecount ? done(true) : setTimeout(wait, 10); wait();",
    );
}

fn no_console_errors(browser: &Browser) {
    let bad: Vec<_> = browser
        .console()
        .into_iter()
        .filter(|(level, _)| level != "INFO" && level != "DEBUG")
        .collect();
    assert!(bad.is_empty(), "console: {bad:?}");
}

/// `path` ("summary.min", "trials.3.total") in a results[] entry of the json export.
fn at<'v>(result: &'v Value, path: &str) -> &'v Value {
    path.split('.')
        .fold(result, |v, part| match part.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[part],
        })
}

/// `text` with every run of whitespace one space: the terminal wraps prose at its width.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The page's text `shown` is `value` written with as many decimals as it shows.
fn shows(shown: &str, value: f64) -> bool {
    let digits = shown.trim_start_matches("<").trim_end_matches('%');
    if shown == "<0.1%" {
        return value > 0.0 && value < 0.05;
    }
    let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
    let Ok(number) = digits.parse::<f64>() else {
        return false;
    };
    (number - value).abs() <= 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9
}

#[test]
fn the_page_shows_the_json_exports_numbers_to_the_digit() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("numbers");
    let (printed, doc) = export(&dir, &args("-m all -t 20 -q"));
    let size = std::fs::metadata(dir.join("report.html")).unwrap().len();
    println!("-m all -t 20: {size} bytes");
    let browser = Browser::start();
    open(&browser, &dir);
    let fields = browser.script(
        "return [...document.querySelectorAll('section.group [data-field]')].map(e => \
         [Number(e.closest('[data-result]').dataset.result), e.dataset.field, e.dataset.value, \
          e.textContent]);",
    );
    let results = doc["results"].as_array().unwrap();
    let fields = fields.as_array().unwrap();
    assert!(
        fields.len() >= results.len() * 30,
        "{} fields",
        fields.len()
    );
    for f in fields {
        let (i, path) = (f[0].as_u64().unwrap() as usize, f[1].as_str().unwrap());
        let (value, text) = (f[2].as_str().unwrap(), f[3].as_str().unwrap());
        let expected = at(&results[i], path);
        match expected {
            Value::Number(n) => {
                let n = n.as_f64().unwrap();
                assert_eq!(value.parse::<f64>().unwrap(), n, "{i} {path}");
                assert!(
                    shows(text, n) || path == "procs" || path == "iters",
                    "{i} {path}: {text} for {n}"
                );
            }
            Value::String(s) => {
                assert_eq!(value, s, "{i} {path}");
                assert!(text.to_lowercase().starts_with(s.as_str()), "{text}");
            }
            other => panic!("{i} {path}: the json has {other}"),
        }
    }
    // Every trial of every group counted in its histogram.
    for (i, r) in results.iter().enumerate() {
        let counts = browser.script(&format!(
            "return [...document.querySelectorAll('#group-{i} .hist rect')]\
             .reduce((n, e) => n + Number(e.dataset.count), 0);"
        ));
        assert_eq!(
            counts.as_u64(),
            Some(r["trials"].as_array().unwrap().len() as u64)
        );
    }
    speeds_match(&browser, results);
    // The speed's words are the terminal's.
    let said = browser.script(
        "return [...document.querySelectorAll('#speeds .speed-title, #speeds .sentence')]\
         .map(e => e.textContent).join(' ');",
    );
    let said = said.as_str().unwrap();
    assert!(!said.is_empty());
    assert!(
        words(&printed).contains(said),
        "{said:?} not printed:\n{printed}"
    );
    no_console_errors(&browser);
}

/// Each relative speed is the ratio of the json's mean ns per increment, ± propagated.
fn speeds_match(browser: &Browser, results: &[Value]) {
    let speeds = browser.script(
        "return [...document.querySelectorAll('text.ratio')].map(e => [Number(e.dataset.fastest), \
         Number(e.dataset.result), Number(e.dataset.ratio), Number(e.dataset.stddev)]);",
    );
    let speeds = speeds.as_array().unwrap();
    assert_eq!(speeds.len(), results.len(), "one bar per mode");
    for s in speeds {
        let n = |k: usize| s[k].as_f64().unwrap();
        let summary = |k: usize| &results[n(k) as usize]["summary"];
        let (fast, slow) = (summary(0), summary(1));
        let mean = |s: &Value| s["ns_per_increment_mean"].as_f64().unwrap();
        let sd = |s: &Value| s["ns_per_increment_stddev"].as_f64().unwrap();
        assert!(mean(fast) <= mean(slow));
        let ratio = mean(slow) / mean(fast);
        let stddev = if n(0) == n(1) {
            0.0
        } else {
            ratio * ((sd(fast) / mean(fast)).powi(2) + (sd(slow) / mean(slow)).powi(2)).sqrt()
        };
        assert!((n(2) - ratio).abs() <= 1e-12 * ratio, "{s:?}");
        assert!((n(3) - stddev).abs() <= 1e-12 * ratio, "{s:?}");
    }
}

/// The writes of the json's traced trial in the order the schedule ran them.
fn scheduled(doc: &Value) -> Vec<Value> {
    let mut entries = doc["results"][0]["traced"]["entries"]
        .as_array()
        .unwrap()
        .clone();
    entries.sort_by_key(|e| e["step"].as_u64().expect("a scheduled step"));
    entries
}

/// What the page shows after `presses`: the caption's write and the lit sentence.
fn after(browser: &Browser, presses: &str) -> Value {
    browser.keys("#race-0", presses);
    browser.script(
        "const c = document.querySelector('#race-0 .caption'); \
         const lit = document.querySelectorAll('#race-0 .sentences li.current'); \
         return {step: Number(c.dataset.step), worker: Number(c.dataset.worker), \
                 seq: Number(c.dataset.seq), read: Number(c.dataset.read), \
                 prev: Number(c.dataset.prev), lost: Number(c.dataset.lost), \
                 undid: (c.dataset.undid || '').split(',').filter(x => x).map(Number), \
                 text: c.textContent, lit: [...lit].map(e => e.textContent)};",
    )
}

/// What write `n` (of `order`, the schedule's order) undid, as the page shows it: prev - read
/// earlier writes, which had moved the counter from read + 1 to prev.
fn undid_what_moved_the_counter_on(shown: &Value, order: &[Value], n: usize) {
    let e = &order[n - 1];
    let undid: Vec<usize> = shown["undid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_u64().unwrap() as usize)
        .collect();
    let (read, prev) = (e["read"].as_u64().unwrap(), e["prev"].as_u64().unwrap());
    assert_eq!(undid.len() as u64, prev.saturating_sub(read), "{shown}");
    let mut values: Vec<u64> = undid
        .iter()
        .map(|&k| {
            assert!(k < n, "write {n} undid the later write {k}: {shown}");
            order[k - 1]["wrote"].as_u64().unwrap()
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, (read + 1..=prev).collect::<Vec<_>>(), "{shown}");
}

/// The sentences lit on the page, each checked to be one the terminal printed (`printed`, in
/// words).
fn lit(shown: &Value, printed: &str) -> Vec<String> {
    let lit: Vec<String> = shown["lit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_str()
                .unwrap()
                .trim_start_matches('▶')
                .trim()
                .to_string()
        })
        .collect();
    for l in &lit {
        assert!(
            printed.contains(l.as_str()),
            "{l:?} not in the terminal's explanation"
        );
    }
    lit
}

#[test]
fn arrow_keys_step_through_the_writes_in_their_real_order_with_their_sentence() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("steps");
    let line = "--schedule random --switch 0.4 --seed 11 -p 4 -i 10 -t 1 -m unlocked --trace -q";
    let (printed, doc) = export(&dir, &args(line));
    let order = scheduled(&doc);
    let x = &doc["results"][0]["traced"]["explanation"];
    let position = |w: &Value| {
        1 + order
            .iter()
            .position(|e| e["worker"] == w["worker"] && e["seq"] == w["seq"])
            .unwrap()
    };
    let stale = &x["stale"][0];
    let collision = &x["collisions"][0]["writes"][1];
    // A write that neither lost an update nor began an episode: no sentence is about it.
    let named: Vec<usize> = x["collisions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["writes"].as_array().unwrap().iter().map(position))
        .collect();
    let quiet = (1..=order.len())
        .find(|&n| {
            let e = &order[n - 1];
            e["prev"] == e["read"] && !named.contains(&n)
        })
        .expect("a clean write outside every episode");
    let printed = words(&printed);
    let browser = Browser::start();
    open(&browser, &dir);
    for n in [position(stale), position(collision), quiet, order.len()] {
        let shown = after(&browser, &format!("{HOME}{}", RIGHT.repeat(n)));
        let e = &order[n - 1];
        assert_eq!(shown["step"], n, "{shown}");
        for key in ["worker", "seq", "read", "prev"] {
            assert_eq!(shown[key], e[key], "write {n}: {key}: {shown}");
        }
        // A box on each update lost so far: writes so far - the counter's value.
        let value = e["wrote"].as_u64().unwrap();
        assert_eq!(shown["lost"], n as u64 - value, "write {n}: {shown}");
        let lit = lit(&shown, &printed);
        if n == position(stale) {
            let said = format!("worker {} read {}, waited", stale["worker"], stale["read"]);
            assert!(lit.len() == 1 && lit[0].starts_with(&said), "{lit:?}");
        } else if n == position(collision) {
            assert!(lit.len() == 1 && lit[0].starts_with("workers "), "{lit:?}");
        } else if n == quiet {
            assert!(lit.is_empty(), "write {n} is clean: {lit:?}");
        }
        undid_what_moved_the_counter_on(&shown, &order, n);
    }
    // The race at its first stale write, kept beside the page (not in the repository).
    after(
        &browser,
        &format!("{HOME}{}", RIGHT.repeat(position(stale))),
    );
    let race = browser.element_screenshot("#race-0");
    std::fs::write(dir.join("race.png"), &race).unwrap();
    assert!(ink(&race) > 0.05, "the race's picture is nearly blank");
    // Space steps on, ← steps back.
    let shown = after(&browser, &format!("{HOME}{RIGHT} {LEFT}"));
    assert_eq!(shown["step"], 1);
    assert_eq!(shown["worker"], order[0]["worker"]);
    // The buttons answer the keyboard as well: Enter on "Next" is one step.
    browser.keys(
        "#race-0 .controls button[aria-label='next write']",
        "\u{E007}",
    );
    let caption = browser.script("return document.querySelector('#race-0 .caption').dataset.step;");
    assert_eq!(caption, "2");
    no_console_errors(&browser);
}

#[test]
fn the_issue_s_trace_run_opens_and_steps_to_its_last_write() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("trace");
    let (_, doc) = export(&dir, &args("-p 4 -i 10 -m unlocked -t 1 --trace -q"));
    let browser = Browser::start();
    open(&browser, &dir);
    let shown = after(&browser, &format!("{HOME}{}", RIGHT.repeat(41)));
    assert_eq!(shown["step"], 40, "→ stops at the last write");
    // At the end, a box on each of the expected - total lost updates.
    let total = doc["results"][0]["trials"][0]["total"].as_u64().unwrap();
    assert_eq!(shown["lost"], 40 - total, "{shown}");
    no_console_errors(&browser);
}

#[test]
fn a_replay_steps_through_the_recorded_writes_and_says_it_is_a_replay() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("replay");
    let recorded = dir.join("recorded.json");
    let out = run(&[
        &args("-m unlocked -p 3 -i 8 -w yield -t 1 --trace -q -f json")[..],
        &["--export-json", recorded.to_str().unwrap()],
    ]
    .concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let spec = format!("{}:1", recorded.display());
    let (printed, doc) = export(&dir, &["--replay", &spec, "-q"]);
    let recorded: Value = serde_json::from_slice(&std::fs::read(&recorded).unwrap()).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["replay"]["differing_writes"], 0, "{printed}");
    let browser = Browser::start();
    open(&browser, &dir);
    let title = browser.script("return document.querySelector('#race-0 h2').textContent;");
    assert!(
        title
            .as_str()
            .unwrap()
            .starts_with("The replay, step by step"),
        "{title}"
    );
    let heading = browser.script("return document.querySelector('#race-0 .heading').textContent;");
    let heading = heading.as_str().unwrap();
    assert!(
        heading.starts_with("replay of unlocked trial 1 of "),
        "{heading}"
    );
    assert!(words(&printed).contains(heading), "{heading:?} not printed");
    // Its Nth write is the recording's Nth: the replay's trace chains the same writes.
    // (worker, seq, read) of each write, following the `overwrote` links from the start.
    let order = |result: &Value| -> Vec<(u64, u64, u64)> {
        let entries = result["traced"]["entries"].as_array().unwrap();
        let mut chain: Vec<(u64, u64, u64)> = Vec::new();
        let mut last: Option<(u64, u64)> = None;
        while chain.len() < entries.len() {
            let e = entries
                .iter()
                .find(|e| {
                    let o = &e["overwrote"];
                    match last {
                        None => o.is_null(),
                        Some((w, s)) => o["worker"] == w && o["seq"] == s,
                    }
                })
                .expect("the writes chain");
            let id = (e["worker"].as_u64().unwrap(), e["seq"].as_u64().unwrap());
            chain.push((id.0, id.1, e["read"].as_u64().unwrap()));
            last = Some(id);
        }
        chain
    };
    let recorded_order = order(&recorded["results"][0]);
    assert_eq!(order(result), recorded_order);
    for n in [1, recorded_order.len() / 2, recorded_order.len()] {
        let shown = after(&browser, &format!("{HOME}{}", RIGHT.repeat(n)));
        let (worker, seq, read) = recorded_order[n - 1];
        assert_eq!(
            [&shown["worker"], &shown["seq"], &shown["read"]],
            [&Value::from(worker), &Value::from(seq), &Value::from(read)],
            "write {n}: {shown}"
        );
    }
    no_console_errors(&browser);
}

#[test]
fn a_dark_screen_and_a_printer_each_get_their_own_page() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("media");
    export(
        &dir,
        &args("-m unlocked,atomic -p 4 -i 10 -t 3 --trace -w yield -q"),
    );
    let browser = Browser::start();
    open(&browser, &dir);
    let looks = "const css = (q, p) => getComputedStyle(document.querySelector(q))[p]; \
                 return {background: css('body', 'backgroundColor'), \
                         controls: css('.controls', 'display'), \
                         page: css('section.group', 'breakBefore'), \
                         race: css('section.race', 'breakBefore')};";
    let light = browser.script(looks);
    assert_eq!(light["background"], "rgb(255, 255, 255)");
    browser.emulate(
        "screen",
        serde_json::json!([{"name": "prefers-color-scheme", "value": "dark"}]),
    );
    let dark = browser.script(looks);
    assert_eq!(dark["background"], "rgb(22, 24, 28)", "{dark}");
    browser.emulate("print", serde_json::json!([]));
    let print = browser.script(looks);
    assert_eq!(print["background"], "rgb(255, 255, 255)", "{print}");
    assert_eq!(print["controls"], "none", "no buttons on paper");
    assert_eq!(print["page"], "page", "each mode on a page of its own");
    assert_eq!(print["race"], "page");
    no_console_errors(&browser);
}

#[test]
fn a_hostile_store_path_injects_no_markup() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("hostile");
    let hostile = r#"x</script><b id="injected">b</b><img src=x onerror="window.pwned=1">'.db"#;
    let db = dir.join(hostile);
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let store = format!("sqlite:{}", db.display());
    export(
        &dir,
        &[
            "-m", "unlocked", "-p", "2", "-i", "5", "-t", "1", "-q", "--store", &store,
        ],
    );
    let browser = Browser::start();
    open(&browser, &dir);
    let found = browser.script(
        "return {injected: document.getElementById('injected') !== null, \
                 images: document.querySelectorAll('img').length, pwned: 'pwned' in window, \
                 command: document.getElementById('command').textContent, \
                 title: document.title};",
    );
    assert_eq!(found["injected"], false);
    assert_eq!(found["images"], 0);
    assert_eq!(found["pwned"], false);
    assert!(
        found["command"].as_str().unwrap().ends_with(&store),
        "{found}"
    );
    assert!(found["title"].as_str().unwrap().contains(hostile));
    no_console_errors(&browser);
}

/// The timings of `file`'s second load (the first also starts the page's renderer): first
/// contentful paint, the end of parsing (after the inline script ran), and the script's own.
fn paint_times(browser: &Browser, file: &Path) -> Value {
    browser.open(file);
    browser.script("location.reload();");
    browser.script_async(
        "const wait = () => { const p = performance.getEntriesByType('paint') \
           .find(e => e.name === 'first-contentful-paint'); \
           if (!p || !window.racecount) return setTimeout(wait, 10); \
           const n = performance.getEntriesByType('navigation')[0], t = racecount.timings; \
           done({paint: p.startTime, parsed: n.domInteractive, first: t.first_ms, \
                 json: t.parse_ms, races: t.races_ms, ready: t.ready_at_ms}); }; wait();",
    )
}

#[test]
fn sixteen_workers_of_200_increments_are_timed_as_they_paint_and_step() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("sixteen");
    export(
        &dir,
        &args("--schedule random --seed 3 -p 16 -i 200 -t 1 -m unlocked --trace -q"),
    );
    let size = std::fs::metadata(dir.join("report.html")).unwrap().len();
    let browser = Browser::start();
    open(&browser, &dir);
    let page = paint_times(&browser, &dir.join("report.html"));
    // The same for a page of one line, to tell the browser's own time from the report's.
    let one_line = "<!DOCTYPE html><title>t</title><p>one line</p>\
                    <script>window.racecount = {timings: {}};</script>";
    std::fs::write(dir.join("line.html"), one_line).unwrap();
    let line = paint_times(&browser, &dir.join("line.html"));
    browser.open(&dir.join("report.html"));
    drawn(&browser);
    browser.script("document.getElementById('race-0').scrollIntoView();");
    // One step forward at a time, in view, each timed from the call to the next frame drawn.
    let steps = browser.script_async(
        "const times = []; let k = 0; \
         const one = () => { const t0 = performance.now(); racecount.step(0, 1); \
           document.body.getBoundingClientRect(); const sync = performance.now() - t0; \
           requestAnimationFrame(() => { times.push([sync, performance.now() - t0]); \
             if (++k < 30) setTimeout(one, 0); else done(times); }); }; one();",
    );
    let steps = steps.as_array().unwrap();
    // (median, worst) of column i.
    let spread = |i: usize| {
        let mut v: Vec<f64> = steps.iter().map(|s| s[i].as_f64().unwrap()).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (work, frame) = (spread(0), spread(1));
    let ms = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "16 x 200 ({size} bytes): first contentful paint {:.1} ms after navigation (HTML parsed \
         {:.1} ms; the script before it {:.1} ms, of which JSON.parse {:.1} ms); the race drawn \
         after it in {:.1} ms, ready {:.1} ms after navigation; a page of one line: first paint \
         {:.1} ms, parsed {:.1} ms; a step ({} of them): {:.1} ms of work (worst {:.1}), {:.1} \
         ms to the next frame (worst {:.1})",
        ms(&page, "paint"),
        ms(&page, "parsed"),
        ms(&page, "first"),
        ms(&page, "json"),
        ms(&page, "races"),
        ms(&page, "ready"),
        ms(&line, "paint"),
        ms(&line, "parsed"),
        steps.len(),
        work.0,
        work.1,
        frame.0,
        frame.1,
    );
    // The figures are printed, not asserted: a busy machine's timings are no failure. What
    // must hold is that the 30 steps were taken.
    assert_eq!(steps.len(), 30);
    assert_eq!(browser.script("return racecount.at(0);"), 30, "{page}");
    no_console_errors(&browser);
}
