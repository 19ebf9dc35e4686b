//! Nothing left behind in a SQLite store, and the signals that end a run in each phase: a run
//! killed with SIGKILL leaves its table (and lock file), which the next run removes and names;
//! `--clean` lists what it removed and leaves live runs alone; SIGINT while racecount waits
//! for a server ends it at once with the signal's status. Needs no server.

mod store_common;
use store_common::*;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rusqlite::{Connection, OpenFlags};

/// The tables in the SQLite file at `path`; tried again for a while when SQLite is busy (a run
/// may be making the file, or writing). Opened for writing: a run killed mid-transaction
/// leaves a hot journal, which only a writer may roll back.
fn tables(path: &str) -> Vec<String> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mut stmt =
            conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
        stmt.query_map([], |r| r.get(0))?.collect()
    };
    let mut result = read();
    let end = Instant::now() + Duration::from_secs(10);
    while let Err(e) = &result {
        assert!(Instant::now() < end, "cannot read {path}: {e}");
        std::thread::sleep(Duration::from_millis(20));
        result = read();
    }
    result.unwrap_or_default()
}

/// The names of the files in `dir`, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A database of someone else's, with a table racecount must leave alone.
fn existing_db(scratch: &Scratch) -> String {
    let path = scratch.path("app.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE stock (n INTEGER); INSERT INTO stock VALUES (41);")
        .unwrap();
    path
}

/// Starts a long run on `store` and waits until its workers run: its pid and child.
fn long_running(store: &str, path: &str) -> std::process::Child {
    let args = long_run(store, "mutex", "3");
    let child = spawn(&args);
    let pid = child.id();
    let table = format!("racecount_{pid}_");
    assert!(
        eventually(20.0, || std::path::Path::new(path).exists()
            && tables(path).iter().any(|t| t.starts_with(&table))
            && children_of(pid).len() == 3),
        "the run did not start"
    );
    child
}

#[test]
fn a_killed_run_leaves_its_table_and_the_next_run_removes_it() {
    let scratch = Scratch::new("killed");
    let path = existing_db(&scratch);
    let store = format!("sqlite:{path}");
    let mut child = long_running(&store, &path);
    let pid = child.id();
    signal(pid, Signal::SIGKILL);
    child.wait().unwrap();
    let left = format!("racecount_{pid}_");
    assert!(tables(&path).iter().any(|t| t.starts_with(&left)));
    assert!(
        files(&scratch.0)
            .iter()
            .any(|f| f.contains(&left) && f.ends_with(".lock"))
    );
    let (out, doc) = run_json(&["--store", &store, "-m", "atomic", "-p", "2", "-i", "3"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "removed 1 table of dead runs from {store}: {left}"
        )),
        "{err}"
    );
    assert_eq!(mode(&doc, "atomic").totals.len(), 10);
    assert_eq!(tables(&path), ["stock"]);
    assert_eq!(files(&scratch.0), ["app.db"]);
}

#[test]
fn a_killed_run_that_made_the_file_leaves_it_and_the_next_run_removes_it_all() {
    let scratch = Scratch::new("killed-new");
    let path = scratch.path("new.db");
    let store = format!("sqlite:{path}");
    let mut child = long_running(&store, &path);
    signal(child.id(), Signal::SIGKILL);
    child.wait().unwrap();
    assert!(files(&scratch.0).len() >= 2, "{:?}", files(&scratch.0));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args([
            "--store", &store, "-m", "atomic", "-p", "2", "-i", "3", "-t", "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed 1 table of dead runs"));
    // The dead run's file went with its table, and this run's with it.
    assert!(files(&scratch.0).is_empty(), "{:?}", files(&scratch.0));
}

#[test]
fn clean_lists_what_dead_runs_left_and_leaves_live_runs_alone() {
    let scratch = Scratch::new("clean");
    let path = existing_db(&scratch);
    let store = format!("sqlite:{path}");
    let mut live = long_running(&store, &path);
    // An older racecount's table (no lock file), and a name racecount never makes.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE racecount_1_0123abcd (v INTEGER); CREATE TABLE racecount_stock (n);",
        )
        .unwrap();
    let clean = |_: ()| {
        std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(["--store", &store, "--clean"])
            .output()
            .unwrap()
    };
    let out = clean(());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("removed table racecount_1_0123abcd from {store}\n")
    );
    assert!(
        stderr(&out).contains("left alone: 1 table of runs still alive"),
        "{}",
        stderr(&out)
    );
    let live_table = format!("racecount_{}_", live.id());
    let now = tables(&path);
    assert!(now.iter().any(|t| t.starts_with(&live_table)), "{now:?}");
    assert!(now.contains(&"racecount_stock".to_string()), "{now:?}");
    signal(live.id(), Signal::SIGINT);
    assert_eq!(live.wait().unwrap().code(), None);
    let out = clean(());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("nothing to remove"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tables(&path), ["racecount_stock", "stock"]);
}

#[test]
fn clean_needs_a_database_store() {
    for args in [&["--clean"][..], &["--store", "page", "--clean"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--clean removes what dead runs left"), "{err}");
    }
}

#[test]
fn sigint_while_waiting_for_a_silent_server_ends_the_run_at_once() {
    // A listener nobody accepts on: the handshake completes, then silence.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for (scheme, signal_) in [
        ("postgres://ann@", Signal::SIGINT),
        ("redis://", Signal::SIGTERM),
        ("mysql://ann@", Signal::SIGINT),
    ] {
        let db = if scheme == "redis://" { "0" } else { "db" };
        let store = format!("{scheme}127.0.0.1:{port}/{db}");
        let child = spawn(&["--store", &store, "-t", "1", "--timeout", "20s"]);
        std::thread::sleep(Duration::from_millis(500));
        let sent = Instant::now();
        signal(child.id(), signal_);
        let (status, err) = finish(child);
        assert!(sent.elapsed() < Duration::from_secs(3), "{store}: {err}");
        assert_eq!(status, Some(128 + signal_ as i32), "{store}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "interrupted by {} while making the counter",
                signal_.as_str()
            )) && err.contains("nothing was made"),
            "{err}"
        );
    }
    drop(listener);
}

#[test]
fn the_header_and_json_say_what_each_mode_runs_and_how() {
    let scratch = Scratch::new("header");
    let store = format!("sqlite:{}", scratch.path("h.db"));
    let args = [
        "--store",
        &store,
        "-m",
        "unlocked,mutex",
        "-p",
        "2",
        "-i",
        "3",
        "-t",
        "1",
    ];
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &doc["parameters"];
    assert_eq!(p["journal_mode"], "wal");
    assert_eq!(p["isolation_level"], "serializable");
    assert_eq!(p["locks"], serde_json::json!([]));
    assert!(
        p["statements"]["mutex"]
            .as_str()
            .unwrap()
            .starts_with("BEGIN IMMEDIATE; SELECT v FROM t;"),
        "{p}"
    );
    assert_eq!(p["statements"].as_object().unwrap().len(), 2, "{p}");
    assert!(doc["results"][1]["lock"].is_null(), "{doc}");
    assert!(doc["results"][1]["overlap"].is_null(), "{doc}");
    let human = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout).into_owned();
    assert!(text.contains("journal mode wal"), "{text}");
    assert!(!text.contains("lock pthread"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("each increment runs"))
        .unwrap();
    assert!(
        lines[at + 1].starts_with("  unlocked  SELECT v FROM t;"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  mutex     BEGIN IMMEDIATE;")),
        "{text}"
    );
}

#[test]
fn lock_kinds_are_refused_with_a_database() {
    let scratch = Scratch::new("lock");
    let store = format!("sqlite:{}", scratch.path("l.db"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", &store, "--lock", "pthread,spin"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--lock with --store sqlite"), "{err}");
    assert!(files(&scratch.0).is_empty());
}
