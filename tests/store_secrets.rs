//! No piece of a password reaches any output: human, json, jsonl, csv, markdown, totals, the
//! extra files, the errors, `--clean`, nor the command line `ps` shows. Hostile passwords: one
//! letter of every message, the name of the store, every character a URL gives meaning to,
//! and the empty one; in URLs (as given and percent-encoded), in a query, in a PostgreSQL
//! key=value string. Needs no server: every run here is refused (a port nobody listens on, or
//! bad input), and still prints everything it prints.

mod store_common;
use store_common::*;

use std::process::Command;

const HOSTILE: [&str; 4] = ["a", "postgres", "p@ss:w/rd?#%&", ""];

/// Every byte but letters and digits as %XX.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The store strings that carry `pw`, on a port of 127.0.0.1 nobody listens on.
fn stores(pw: &str) -> Vec<String> {
    let mut all = Vec::new();
    for pw in [pw.to_string(), encode(pw)] {
        all.push(format!("postgres://alice:{pw}@127.0.0.1:1/db"));
        all.push(format!(
            "postgres://alice@127.0.0.1:1/db?password={pw}&sslmode=disable"
        ));
        all.push(format!("redis://alice:{pw}@127.0.0.1:1/0"));
        all.push(format!("mysql://alice:{pw}@127.0.0.1:1/db"));
    }
    let quoted = pw.replace('\\', "\\\\").replace('\'', "\\'");
    all.push(format!(
        "host=127.0.0.1 port=1 user=alice password='{quoted}' dbname=db"
    ));
    all
}

/// What of `pw` must never show: with 3 characters or more, every piece of 3 of it as given,
/// and every piece of 4 of it percent-encoded (a piece of 3 may be one character's code, as
/// the advice to encode writes them); a shorter or common one only where it would stand as
/// the password.
fn pieces(pw: &str) -> Vec<String> {
    if pw.len() >= 3 && pw != "postgres" {
        let mut all = Vec::new();
        for (form, n) in [(pw.to_string(), 3), (encode(pw), 4)] {
            let chars: Vec<char> = form.chars().collect();
            all.extend(chars.windows(n).map(|w| w.iter().collect::<String>()));
        }
        all
    } else if pw.is_empty() {
        [":@", "password=&", "password=''", "password= "]
            .map(String::from)
            .to_vec()
    } else {
        vec![
            format!(":{pw}@"),
            format!("password={pw}"),
            format!("password='{pw}'"),
        ]
    }
}

/// `***` only ever stands for a password: after `user:` or `password=`. (Masking by searching
/// for the password's text would mask a letter of every word.)
fn stray_stars(text: &str) -> Vec<String> {
    let mut stray = Vec::new();
    for (at, _) in text.match_indices("***") {
        let before = &text[..at];
        if !(before.ends_with(':') || before.ends_with("password=") || before.ends_with("pass=")) {
            stray.push(text[at.saturating_sub(20)..(at + 23).min(text.len())].to_string());
        }
    }
    stray
}

fn check(what: &str, pw: &str, text: &str) {
    for piece in pieces(pw) {
        assert!(
            !text.contains(&piece),
            "{what}: {piece:?} of {pw:?} in:\n{text}"
        );
    }
    assert!(
        stray_stars(text).is_empty(),
        "{what}: {:?}",
        stray_stars(text)
    );
}

/// Runs racecount with `args` and the environment variable `env`; everything it wrote
/// (stdout, stderr, the extra files) and its status.
fn everything(args: &[&str], scratch: &Scratch) -> (String, Option<i32>) {
    let files = ["x.json", "x.csv", "x.md"].map(|f| scratch.path(f));
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(args)
        .args(["--export-json", &files[0], "--export-csv", &files[1]])
        .args(["--export-markdown", &files[2]])
        .output()
        .unwrap();
    let mut text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    for f in &files {
        text.push_str(&std::fs::read_to_string(f).unwrap_or_default());
    }
    (text, out.status.code())
}

#[test]
fn no_output_shows_a_piece_of_a_hostile_password() {
    let scratch = Scratch::new("secrets");
    let mut refused = 0;
    for pw in HOSTILE {
        for store in stores(pw) {
            for format in ["human", "json", "jsonl", "csv", "markdown", "totals"] {
                let args = ["--store", &store, "-f", format, "-m", "atomic", "-p", "1"];
                let (text, code) =
                    everything(&[&args[..], &["-i", "1", "-t", "1"]].concat(), &scratch);
                // 3: nobody listens; 2: a URL whose unencoded password makes it ambiguous.
                assert!(matches!(code, Some(2 | 3)), "{store}: {code:?} {text}");
                refused += usize::from(code == Some(2));
                check(&format!("{store} -f {format}"), pw, &text);
                if code == Some(2) {
                    break;
                }
            }
            let out = Command::new(env!("CARGO_BIN_EXE_racecount"))
                .args(["--store", &store, "--clean", "--timeout", "1s"])
                .output()
                .unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
            check(&format!("{store} --clean"), pw, &text);
        }
    }
    // The raw "p@ss:w/rd?#%&" is refused in each URL form; the rest run and fail to connect.
    assert_eq!(refused, 4);
}

#[test]
fn a_shown_url_keeps_every_word_and_masks_the_password_alone() {
    for pw in ["a", "postgres"] {
        let store = format!("postgres://postgres:{pw}@127.0.0.1:1/postgres");
        let (out, doc) = run_json(&["--store", &store, "-t", "1"]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert_eq!(
            doc["parameters"]["store_url"],
            "postgres://postgres:***@127.0.0.1:1/postgres"
        );
        assert!(stderr(&out).contains("cannot connect to postgres at 127.0.0.1:1"));
    }
    let (out, doc) = run_json(&[
        "--store",
        "host=127.0.0.1 port=1 password=kvsecret",
        "-t",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        doc["parameters"]["store_url"],
        "host=127.0.0.1 port=1 password=***"
    );
}

#[test]
fn the_password_is_not_on_the_command_line_ps_shows() {
    // A listener nobody accepts on: racecount waits for it, in plain sight of ps.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = format!("postgres://alice:hunter2%2Fsecret@127.0.0.1:{port}/db");
    let child = spawn(&["--store", &store, "--timeout", "10s", "-t", "1"]);
    let cmdline = || std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(eventually(5.0, || {
        String::from_utf8_lossy(&cmdline()).contains("alice:xxxxxxxxxxxxxxxx@")
    }));
    let seen = String::from_utf8_lossy(&cmdline()).into_owned();
    assert!(
        !seen.contains("hunter2") && !seen.contains("secret"),
        "{seen}"
    );
    signal(child.id(), nix::sys::signal::Signal::SIGINT);
    let (status, _) = finish(child);
    assert_eq!(status, Some(130));
}
