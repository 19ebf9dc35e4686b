//! `--store sqlite:PATH` (bundled SQLite: needs nothing installed), bad store URLs, servers
//! that do not answer, and cleanup after every way a run can stop.

mod store_common;
use store_common::*;

use nix::sys::signal::Signal;
use rusqlite::{Connection, OpenFlags};

/// The tables in the SQLite file at `path`, read-only.
fn tables(path: &str) -> Vec<String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A database of someone else's, with a table racecount must leave alone.
fn existing_db(scratch: &Scratch) -> String {
    let path = scratch.path("app.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE stock (n INTEGER); INSERT INTO stock VALUES (41);")
        .unwrap();
    path
}

#[test]
fn sqlite_unlocked_loses_per_access_is_refused_and_retried_mutex_and_atomic_are_exact() {
    let scratch = Scratch::new("lesson");
    let path = scratch.path("lesson.db");
    let store = format!("sqlite:{path}");
    let mut args = vec!["--store", &store];
    args.extend_from_slice(&LESSON);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
    // A deferred transaction that read a value someone has since overwritten cannot commit
    // (SQLITE_BUSY): SQLite refuses the lost update, the worker retries.
    let per_access = mode(&doc, "per-access");
    assert_exact("per-access", &per_access);
    assert_refusals("per-access", &per_access);
    assert_exact("mutex", &mode(&doc, "mutex"));
    assert_exact("atomic", &mode(&doc, "atomic"));
    // (unlocked's retries are not asserted: an autocommit UPDATE that cannot have the write
    // lock within the bounded busy wait (~0.25 s with 20 workers or fewer) is refused and
    // retried.)
    assert_eq!(doc["parameters"]["store"], "sqlite");
    // racecount created the file, so the file is racecount's and goes with it.
    assert!(!std::path::Path::new(&path).exists(), "{path} left behind");
    let leftovers: Vec<_> = std::fs::read_dir(&scratch.0).unwrap().flatten().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_existing_database_keeps_its_tables_and_only_those() {
    let scratch = Scratch::new("existing");
    let path = existing_db(&scratch);
    let store = format!("sqlite:{path}");
    let (out, doc) = run_json(&["--store", &store, "-m", "atomic", "-p", "3", "-i", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(mode(&doc, "atomic").totals.iter().all(|&t| t == 15));
    assert_eq!(tables(&path), ["stock"]);
    let conn = Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row("SELECT n FROM stock", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 41);
    // The counter was named after the run, and that name is shown.
    let counter = doc["parameters"]["counter"].as_str().unwrap();
    assert!(
        counter.starts_with("table racecount_") && counter.contains(&path),
        "{counter}"
    );
}

#[test]
fn every_format_shows_the_retries() {
    let scratch = Scratch::new("formats");
    let store = format!("sqlite:{}", scratch.path("f.db"));
    let base = [
        "--store",
        &store,
        "-m",
        "per-access",
        "-p",
        "4",
        "-i",
        "10",
        "-t",
        "3",
    ];
    let run = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(base)
            .args(["-f", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    // totals is only the total; the retries are in every other format.
    let totals = run("totals");
    assert_eq!(totals, "40\n40\n40\n", "{totals}");
    let csv = run("csv");
    assert!(
        csv.lines().next().unwrap().contains(",store,retries,"),
        "{csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",sqlite,")), "{csv}");
    let markdown = run("markdown");
    assert!(
        markdown.starts_with(&format!(
            "#### `racecount -m per-access -p 4 -i 10 -t 3 --store {store}`"
        )),
        "{markdown}"
    );
    assert!(
        markdown
            .lines()
            .find(|l| l.starts_with("| mode"))
            .unwrap()
            .ends_with(" store | retries |"),
        "{markdown}"
    );
    assert!(markdown.contains(" | sqlite | "), "{markdown}");
    let human = run("human");
    assert!(human.contains("\n  retries   "), "{human}");
    assert!(human.contains("counter: table racecount_"), "{human}");
}

/// `--store ARGS` exits 2 with one line that contains `expected` and not the password `pw`.
fn assert_refused(args: &[String], expected: &str) {
    let mut argv = vec!["--store".to_string()];
    argv.extend(args.iter().cloned());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(&argv)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{argv:?}: {err}");
    assert!(err.contains(expected), "{argv:?}: {err}");
    assert!(!err.contains(":pw@"), "{argv:?} shows the password: {err}");
    assert!(out.stdout.is_empty(), "{argv:?}");
}

#[test]
fn bad_mysql_and_tls_urls_are_one_line_exit_2() {
    let cases = [
        (
            "mysql://ann:pw@h:notaport/db",
            "--store mysql://ann:***@h:notaport/db",
        ),
        ("mysql://ann:pw@h", "names no database"),
        (
            "mysql://ann:pw@h/db?ssl-mode=sometimes",
            "ssl-mode=sometimes",
        ),
        (
            "mysql://ann:pw@h/db?socket=/s&ssl-mode=required",
            "not to a Unix socket",
        ),
        (
            "postgres://ann:pw@h/db?sslmode=verify-full&sslrootcert=/no/such/ca.crt",
            "/no/such/ca.crt",
        ),
        (
            "postgres://ann:pw@h/db?sslmode=allow",
            "sslmode=allow is not supported",
        ),
        (
            "rediss://:pw@h:6380/0?cacert=/no/such/ca.crt",
            "/no/such/ca.crt",
        ),
        (
            "redis://:pw@h:6379/0?cacert=/etc/hostname",
            "cacert= applies to rediss://",
        ),
    ];
    for (url, expected) in cases {
        assert_refused(&[url.to_string()], expected);
    }
}

#[test]
fn bad_store_urls_are_one_line_exit_2_and_create_nothing() {
    let scratch = Scratch::new("bad");
    let not_db = scratch.path("notes.txt");
    std::fs::write(&not_db, "not a database at all\n").unwrap();
    let new_db = scratch.path("new.db");
    // A FIFO would block the header check forever were it opened.
    let fifo = scratch.path("fifo.db");
    nix::unistd::mkfifo(fifo.as_str(), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![format!("sqlite:{}", scratch.0.display())],
            "is a directory",
        ),
        (vec![format!("sqlite:{not_db}")], "is not a SQLite database"),
        (
            vec![format!("sqlite:{}/no/such/dir/x.db", scratch.0.display())],
            "does not exist",
        ),
        (vec!["sqlite:".into()], "needs a file name"),
        (
            vec![format!("sqlite:{fifo}")],
            "is a FIFO, not a SQLite database",
        ),
        (
            vec!["sqlite:/dev/null".into()],
            "is a character device, not a SQLite database",
        ),
        (vec!["sqlite::memory:".into()], "need a file they all open"),
        (
            vec!["mongodb://ann:pw@h/db".into()],
            "unknown scheme 'mongodb'",
        ),
        (
            vec!["postgres://ann:pw@h:notaport/db".into()],
            "--store postgres://ann:***@h:notaport/db",
        ),
        (
            vec!["redis://:pw@h:99999/0".into()],
            "--store redis://:***@h:99999/0",
        ),
        (
            vec![
                format!("sqlite:{new_db}"),
                "--isolation".into(),
                "read-committed".into(),
            ],
            "SQLite runs every transaction serializable",
        ),
        (
            vec![format!("sqlite:{new_db}"), "--trace".into()],
            "--trace records every increment",
        ),
        (
            vec!["page".into(), "--isolation".into(), "serializable".into()],
            "--isolation applies",
        ),
    ];
    for (args, expected) in cases {
        assert_refused(&args, expected);
    }
    assert!(
        !std::path::Path::new(&new_db).exists(),
        "a refused run created {new_db}"
    );
    assert_eq!(
        std::fs::read_to_string(&not_db).unwrap(),
        "not a database at all\n"
    );
}

#[test]
fn a_server_that_refuses_is_one_line_naming_it_exit_3_password_masked() {
    for store in [
        "postgres://ann:s3cret-pw@127.0.0.1:1/db",
        "redis://:s3cret-pw@127.0.0.1:1/0",
    ] {
        let (out, doc) = run_json(&["--store", store, "-t", "1"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{store}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("at 127.0.0.1:1: Connection refused"), "{err}");
        let everything = format!("{err}{doc}");
        assert!(
            !everything.contains("s3cret"),
            "password shown: {everything}"
        );
        assert!(
            doc["parameters"]["store_url"]
                .as_str()
                .unwrap()
                .contains(":***@"),
            "{doc}"
        );
    }
}

#[test]
fn a_server_that_accepts_but_never_answers_fails_within_the_timeout() {
    // A listener nobody accepts on: the kernel completes the TCP handshake, then silence.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for scheme in ["postgres://ann:s3cret-pw@", "redis://:s3cret-pw@"] {
        let store = format!("{scheme}127.0.0.1:{port}/0");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(["--store", &store, "-t", "1", "--timeout", "300ms"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("at 127.0.0.1:{port}: no answer within 300ms")),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }
    drop(listener);
}

/// Starts a long run on an existing database, waits until its table exists and its workers
/// run, does `stop` to it, and checks the exit status and that only the user's table is left.
fn stopped_run(extra: &[&str], stop: impl FnOnce(u32), code: i32, message: &str) {
    let scratch = Scratch::new("stop");
    let path = existing_db(&scratch);
    let store = format!("sqlite:{path}");
    let mut args = long_run(&store, "mutex", "3");
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = spawn(&args);
    let pid = child.id();
    assert!(
        eventually(20.0, || tables(&path).len() == 2
            && children_of(pid).len() == 3),
        "the run did not start"
    );
    stop(pid);
    let (status, err) = finish(child);
    assert_eq!(status, Some(code), "{err}");
    assert!(err.contains(message), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        tables(&path),
        ["stock"],
        "the counter table was left behind"
    );
    assert!(children_of(pid).is_empty());
}

#[test]
fn ctrl_c_removes_the_counter() {
    stopped_run(
        &[],
        |pid| signal(pid, Signal::SIGINT),
        130,
        "interrupted by SIGINT; every worker was stopped",
    );
}

#[test]
fn a_dead_worker_fails_the_trial_and_removes_the_counter() {
    stopped_run(
        &[],
        |pid| signal(children_of(pid)[0], Signal::SIGKILL),
        3,
        "was killed by SIGKILL after",
    );
}

#[test]
fn a_timeout_fails_the_trial_and_removes_the_counter() {
    let scratch = Scratch::new("timeout");
    let path = existing_db(&scratch);
    let store = format!("sqlite:{path}");
    let mut args = long_run(&store, "atomic", "2");
    // 1s, not less: the parent's own calls get three times --timeout and a second, and
    // beside busy loops and another test's hundred workers making the counter took over 2.5s.
    args.extend(["--timeout".to_string(), "1s".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, err) = finish(spawn(&args));
    assert_eq!(status, Some(3), "{err}");
    assert!(err.contains("not finished after --timeout 1s"), "{err}");
    assert_eq!(tables(&path), ["stock"]);
}

#[test]
fn a_dead_pooled_worker_fails_the_trial_and_removes_the_counter() {
    stopped_run(
        &["--pool"],
        |pid| signal(children_of(pid)[2], Signal::SIGKILL),
        3,
        "was killed by SIGKILL",
    );
}

#[test]
fn pooled_workers_keep_their_connections_and_lose_and_keep_updates_the_same() {
    let scratch = Scratch::new("pool");
    let store = format!("sqlite:{}", scratch.path("pool.db"));
    let mut args = vec!["--store", &store, "--pool"];
    args.extend_from_slice(&LESSON);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(doc["parameters"]["pool"], true);
    assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
    let per_access = mode(&doc, "per-access");
    assert_exact("per-access", &per_access);
    assert_refusals("per-access", &per_access);
    assert_exact("mutex", &mode(&doc, "mutex"));
    assert_exact("atomic", &mode(&doc, "atomic"));
    assert!(std::fs::read_dir(&scratch.0).unwrap().next().is_none());
}

#[test]
fn a_hundred_workers_finish_every_mode() {
    // Each waits for SQLite's lock with a bounded, growing sleep and retries what SQLite
    // refuses, so a crowd finishes (this was a run that never ended at -p 50).
    let scratch = Scratch::new("crowd");
    let store = format!("sqlite:{}", scratch.path("crowd.db"));
    let (out, doc) = run_json(&[
        "--store",
        &store,
        "-p",
        "100",
        "-i",
        "10",
        "-t",
        "1",
        "-m",
        "all",
        "--timeout",
        "60s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in ["per-access", "mutex", "atomic"] {
        assert_eq!(mode(&doc, name).totals, [1000], "{name}");
    }
    assert!(mode(&doc, "unlocked").totals[0] <= 1000);
}
