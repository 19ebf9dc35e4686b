use serde_json::{Value, json};

use super::*;
use crate::model::mode::Mode;
use crate::model::trace::Replay;
use crate::output::Render;
use crate::output::fixture::{self, ALL, group, params, settings, two_modes};
use crate::output::human::Human;
use crate::output::json::Json;
use crate::results::{Replayed, Seen, Trial};

fn machine() -> Machine {
    Machine {
        logical_cpus: 2,
        os: "linux".into(),
        kernel: Some("6.18.0".into()),
    }
}

/// The blob of a page, as the script reads it.
fn blob(page: &str) -> Value {
    let open = r#"<script type="application/json" id="racecount-data">"#;
    let start = page.find(open).expect("the page has the blob") + open.len();
    let end = start
        + page[start..]
            .find("</script>")
            .expect("the blob's element ends");
    serde_json::from_str(&page[start..end]).expect("the blob is JSON")
}

/// Two workers, three increments each. In the real order: worker 0 writes 1; worker 1, which
/// also read 0, writes 1 over it (a collision); worker 0 counts on to 3; worker 1, which read
/// its own 1, writes 2 over the 3 (a stale write: 2 lost) and then 3.
fn traced() -> Report {
    let (entries, total) = fixture::race(&[0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1]);
    let mut g = Group::new(Mode::Unlocked, params(2));
    let trial = Trial {
        total,
        elapsed_ns: 6_000,
        wall_ns: 1_000_000,
        completed: vec![3, 3],
        spans: Vec::new(),
        trace: Some(entries),
        retries: 0,
        hosts: Vec::new(),
    };
    g.add(&trial, Seen::default(), ALL);
    let mut settings = settings(&[Mode::Unlocked], &[2], 1);
    settings.trace = true;
    Report {
        settings,
        groups: vec![g],
        stop: None,
        leftover: None,
    }
}

/// A race's writes as objects: each row's values named by `fields`.
fn writes(race: &Value) -> Vec<Value> {
    let fields = race["fields"].as_array().unwrap();
    race["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), fields.len());
            let named = fields.iter().zip(row);
            Value::Object(
                named
                    .map(|(f, v)| (f.as_str().unwrap().into(), v.clone()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_report_is_the_json_export_less_the_traces() {
    for report in [two_modes(), traced(), fixture::everything()] {
        let mut printed = Vec::new();
        Json { machine: machine() }
            .render(&report, &mut printed)
            .unwrap();
        let mut expected: Value = serde_json::from_slice(&printed).unwrap();
        for result in expected["results"].as_array_mut().unwrap() {
            result.as_object_mut().unwrap().remove("traced");
        }
        let page = blob(&html(&report, &machine()));
        assert_eq!(page["report"], expected);
    }
}

#[test]
fn the_blob_has_the_command_header_histogram_and_the_terminal_s_speed_sentences() {
    let b = blob(&html(&two_modes(), &machine()));
    assert_eq!(b["command"], "racecount -m unlocked,atomic -p 2 -i 3 -t 3");
    assert_eq!(
        b["header"][0],
        format!(
            "racecount {}: 2 procs x 3 increments = 6 expected, 3 trials per mode",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        b["groups"][0],
        json!({"name": "unlocked", "label": "unlocked", "histogram": [
            {"low": 4, "high": 4, "count": 1}, {"low": 5, "high": 5, "count": 1},
            {"low": 6, "high": 6, "count": 1}]})
    );
    // Both modes' trials took 6, 12 and 18 µs: the same mean, within the noise.
    let noise = &b["speeds"];
    assert_eq!(noise["title"], "speed (mean ns/incr):");
    let c = &noise["combinations"][0];
    assert_eq!(
        c["sentence"],
        "both modes as fast as each other, within the noise"
    );
    assert_eq!(
        c["modes"][0],
        json!({"result": 0, "ratio": 1.0, "stddev": 0.0,
                                     "within_noise": false})
    );
    assert_eq!(
        (
            c["modes"][1]["result"].clone(),
            c["modes"][1]["within_noise"].clone()
        ),
        (json!(1), json!(true))
    );
    assert_eq!(b["races"], json!([]));
}

#[test]
fn a_clear_difference_reads_as_the_terminal_prints_it() {
    let mut report = two_modes();
    // atomic's trials take 10x as long.
    for ns in &mut report.groups[1].elapsed_ns {
        *ns *= 10;
    }
    let b = blob(&html(&report, &machine()));
    let mut printed = Vec::new();
    let human = Human {
        color: false,
        width: 80,
        header: false,
        stack: false,
    };
    human.render(&report, &mut printed).unwrap();
    // Prose is wrapped within the terminal's width: compared word by word.
    let printed = String::from_utf8(printed).unwrap();
    let printed = printed.split_whitespace().collect::<Vec<_>>().join(" ");
    let (title, sentence) = (
        &b["speeds"]["title"],
        &b["speeds"]["combinations"][0]["sentence"],
    );
    assert_eq!(
        sentence,
        "unlocked ran 10.00 ± 7.07 times faster than atomic"
    );
    let line = format!("{} {}", title.as_str().unwrap(), sentence.as_str().unwrap());
    assert!(printed.contains(&line), "{line:?} not in\n{printed}");
    assert_eq!(b["speeds"]["combinations"][0]["modes"][1]["ratio"], 10.0);
    // Under a schedule the times are the turns' cost: no speed, as in the terminal.
    report.settings.schedule = Some(crate::model::schedule::Strategy::Lockstep);
    let b = blob(&html(&report, &machine()));
    assert_eq!(b["speeds"]["combinations"], json!([]));
}

#[test]
fn each_write_in_real_order_with_the_writes_its_links_name_and_its_sentence() {
    let b = blob(&html(&traced(), &machine()));
    let race = &b["races"][0];
    assert_eq!(
        [
            &race["result"],
            &race["trial"],
            &race["count"],
            &race["total"]
        ],
        [&json!(0), &json!(1), &json!(6), &json!(3)]
    );
    assert_eq!(
        race["heading"],
        json!([
            "trace of unlocked trial 1: total 3 of 6 (2 procs x 3 iters, window 1us busy-wait)"
        ])
    );
    assert_eq!(
        race["sentences"],
        json!([
            "workers 0 and 1 both read 0 and wrote 1: 1 lost",
            "worker 1 read 1, waited 4.50us, wrote 2 over the 3 worker 0 wrote: 2 lost",
            "1 collision (1 lost), 1 stale write (2 lost)",
            "explained: 1 + 2 = 3 lost = 6 - 3 (procs x iters - final total)"
        ])
    );
    // (worker, seq, read, wrote, prev, read_from, replaced, kind, undid, restored, lost_by,
    // sentence)
    let steps: Vec<Value> = writes(race)
        .iter()
        .map(|w| {
            let f = [
                "worker",
                "seq",
                "read",
                "wrote",
                "prev",
                "read_from",
                "replaced",
                "kind",
                "undid",
                "restored",
                "lost_by",
                "sentence",
            ];
            Value::Array(f.iter().map(|k| w[*k].clone()).collect())
        })
        .collect();
    assert_eq!(
        steps,
        [
            json!([0, 0, 0, 1, 0, null, null, "clean", [], [], 1, 0]),
            json!([1, 0, 0, 1, 1, null, 0, "collision", [0], [], null, 0]),
            json!([0, 1, 1, 2, 1, 1, 1, "clean", [], [], 4, null]),
            json!([0, 2, 2, 3, 2, 2, 2, "clean", [], [], 4, null]),
            json!([1, 1, 1, 2, 3, 1, 3, "stale", [2, 3], [], null, 1]),
            json!([1, 2, 2, 3, 2, 4, 4, "clean", [], [], null, null]),
        ]
    );
    let w = writes(race);
    assert_eq!(
        (&w[4]["t_read_ns"], &w[4]["t_write_ns"]),
        (&json!(5000), &json!(9500))
    );
}

#[test]
fn a_restore_brings_back_what_a_stale_write_undid_and_the_lost_are_what_is_missing() {
    let (entries, total) = fixture::race(&[0, 1, 1, 2, 2, 1, 0, 1]);
    let mut report = traced();
    let t = report.groups[0].traced.as_mut().unwrap();
    (t.entries, t.total) = (entries, total);
    let b = blob(&html(&report, &machine()));
    let w = writes(&b["races"][0]);
    assert_eq!(w.len(), 4);
    assert_eq!(
        (&w[2]["kind"], &w[2]["undid"]),
        (&json!("stale"), &json!([0, 1]))
    );
    assert_eq!(
        (&w[3]["kind"], &w[3]["restored"]),
        (&json!("restore"), &json!([1]))
    );
    // Worker 1's first write was taken off by the stale write and never put back: the one
    // update lost (4 - 3); worker 2's was put back by the restore.
    let lost: Vec<&Value> = w.iter().map(|w| &w["lost_by"]).collect();
    assert_eq!(lost, [&json!(2), &json!(null), &json!(null), &json!(null)]);
    assert_eq!(total, 3);
}

#[test]
fn a_replay_is_a_traced_group_that_says_what_it_replayed() {
    let mut report = traced();
    let entries = report.groups[0].traced.as_ref().unwrap().entries.clone();
    report.groups[0].replayed = Some(Replayed {
        file: "lesson.json".into(),
        trial: 2,
        recorded_total: 3,
        differing: 0,
    });
    report.settings.schedule = Some(crate::model::schedule::Strategy::Replay);
    report.settings.replays = vec![Replay {
        file: "lesson.json".into(),
        trial: 2,
        mode: Mode::Unlocked,
        lock: None,
        params: params(2),
        total: 3,
        entries,
        script: Vec::new(),
    }];
    let b = blob(&html(&report, &machine()));
    assert_eq!(b["command"], "racecount --replay lesson.json:2");
    assert_eq!(
        b["races"][0]["heading"],
        json!([
            "replay of unlocked trial 2 of lesson.json: total 3 of 6; recorded: total 3 (2 procs x 3 iters)",
            "every write read, wrote and replaced what the recording says"
        ])
    );
    assert_eq!(b["report"]["results"][0]["replay"]["recorded_total"], 3);
    assert_eq!(writes(&b["races"][0]).len(), 6);
}

#[test]
fn a_trace_too_long_to_step_through_keeps_its_explanation() {
    let mut report = traced();
    let (entries, total) = fixture::race(&vec![0; 2 * (MAX_STEPS + 1)]);
    let t = report.groups[0].traced.as_mut().unwrap();
    (t.entries, t.total) = (entries, total);
    let b = blob(&html(&report, &machine()));
    assert_eq!(b["races"][0]["count"], MAX_STEPS + 1);
    assert_eq!(b["races"][0]["writes"], json!([]));
    assert!(
        b["races"][0]["sentences"][0]
            .as_str()
            .unwrap()
            .starts_with("nothing was lost")
    );
}

#[test]
fn a_hostile_store_url_stays_text_inside_the_blob() {
    let mut report = two_modes();
    let hostile = "sqlite:/tmp/</script><script>alert(1)</script><!--&\u{2028}.db";
    report.settings.store.url = hostile.into();
    report.settings.store.kind = "sqlite";
    report.settings.store.counter = Some(format!("table racecount_1 in {hostile}"));
    let page = html(&report, &machine());
    // The template's own two closing tags, and no other.
    assert_eq!(page.matches("</script").count(), 2);
    assert!(!page.contains("<!--&"));
    assert!(!page.contains('\u{2028}'));
    let b = blob(&page);
    assert_eq!(b["report"]["parameters"]["store_url"], hostile);
    assert!(b["command"].as_str().unwrap().ends_with(hostile));
}

#[test]
fn the_page_loads_nothing_and_fills_every_slot() {
    let page = html(&two_modes(), &machine());
    for slot in SLOTS {
        assert!(!page.contains(slot), "{slot} left in the page");
    }
    for part in [STYLE, SCRIPT] {
        for closer in ["</script", "</style", "<!--"] {
            assert!(!part.to_lowercase().contains(closer), "{closer}");
        }
    }
    // The only URL is the SVG namespace, a name that is never fetched.
    let urls: Vec<&str> = page
        .match_indices("http")
        .map(|(at, _)| &page[at..(at + 30).min(page.len())])
        .filter(|u| !u.starts_with("http-equiv"))
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("http://www.w3.org/2000/svg")),
        "{urls:?}"
    );
    for loader in [
        "@import",
        "src=",
        "url(http",
        "fetch(",
        "XMLHttpRequest",
        "<link",
    ] {
        assert!(!page.contains(loader), "{loader}");
    }
    assert!(
        page.contains("default-src 'none'"),
        "a policy that forbids loading"
    );
}

#[test]
fn ten_trials_of_four_modes_stay_far_below_200_kb() {
    let modes = [Mode::Unlocked, Mode::PerAccess, Mode::Mutex, Mode::Atomic];
    let totals: Vec<u64> = (0..10).map(|i| 190 + i).collect();
    let mut report = two_modes();
    report.settings = settings(&modes, &[10], 10);
    report.groups = modes
        .iter()
        .map(|&m| group(m, params(10), &totals))
        .collect();
    let size = html(&report, &machine()).len();
    assert!(size < 200_000, "{size} bytes");
}

#[cfg(feature = "postgres")]
#[test]
fn a_store_password_is_masked_as_everywhere() {
    let target = crate::store::Target::parse("postgres://ann:s3cret@db.example/app", None, None)
        .expect("a valid URL; nothing is connected");
    let mut report = two_modes();
    report.settings.store = target.label();
    let page = html(&report, &machine());
    assert!(!page.contains("s3cret"));
    let b = blob(&page);
    let shown = b["report"]["parameters"]["store_url"].as_str().unwrap();
    assert!(shown.starts_with("postgres://ann:") && shown.ends_with("@db.example/app"));
    assert!(b["command"].as_str().unwrap().contains(shown));
}
