//! MariaDB in every mode, side by side with what PostgreSQL does, and TLS on every server.

use super::*;

#[test]
fn mariadb_repeatable_read_the_default_loses_updates_for_update_and_atomic_updates_do_not() {
    let store = &servers().mysql;
    let mut args = vec!["--store", store];
    args.extend_from_slice(&LESSON);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
    // InnoDB's repeatable read does not refuse the write as PostgreSQL's does: the UPDATE
    // overwrites whatever was committed since the transaction's SELECT.
    let per_access = mode(&doc, "per-access");
    assert_mostly_lossy("per-access", &per_access);
    assert_eq!(per_access.retries.iter().sum::<u64>(), 0, "{per_access:?}");
    assert_exact("mutex", &mode(&doc, "mutex"));
    assert_exact("atomic", &mode(&doc, "atomic"));
    assert!(mysql_tables(&counter_name(&doc)).is_empty(), "counter left");
}

#[test]
fn mariadb_serializable_refuses_the_lost_update_by_deadlock_and_retries_are_counted() {
    let store = &servers().mysql;
    let mut args = vec!["--store", store, "--isolation", "serializable"];
    args.extend_from_slice(&LESSON[..6]);
    args.extend(["-m", "per-access,mutex"]);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let per_access = mode(&doc, "per-access");
    assert_exact("per-access", &per_access);
    assert_refusals("per-access", &per_access);
    assert_exact("mutex", &mode(&doc, "mutex"));
    assert_eq!(doc["parameters"]["isolation"], "serializable");
    // Read committed is no better than repeatable read for read-then-write.
    let mut args = vec!["--store", store, "--isolation", "read-committed"];
    args.extend_from_slice(&LESSON[..6]);
    args.extend(["-m", "per-access"]);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_mostly_lossy("read-committed per-access", &mode(&doc, "per-access"));
}

#[test]
fn a_mysql_password_never_shows_and_a_wrong_one_is_named_without_it() {
    use mysql::prelude::Queryable;
    let mut conn = my();
    conn.query_drop(
        "CREATE USER IF NOT EXISTS 'racecount_test_pw'@'localhost' IDENTIFIED BY 'p@ss:w/rd'",
    )
    .unwrap();
    let db: String = conn.query_first("SELECT DATABASE()").unwrap().unwrap();
    conn.query_drop(format!(
        "GRANT ALL PRIVILEGES ON `{db}`.* TO 'racecount_test_pw'@'localhost'"
    ))
    .unwrap();
    let store = servers().mysql.replacen(
        "mysql://racecount@",
        "mysql://racecount_test_pw:p%40ss%3Aw%2Frd@",
        1,
    );
    assert!(store.contains("racecount_test_pw:"), "{store}");
    for format in ["human", "json", "csv", "markdown", "totals"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args([
                "--store", &store, "-m", "atomic", "-p", "2", "-i", "3", "-t", "2",
            ])
            .args(["-f", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            !all.contains("p@ss") && !all.contains("p%40ss"),
            "{format}: {all}"
        );
    }
    let wrong = store.replacen("p%40ss", "n0pe", 1);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", &wrong, "-m", "atomic", "-t", "1"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("Access denied"), "{err}");
    assert!(!err.contains("n0pe"), "{err}");
}

/// A CA of the test's own, which signed none of the servers' certificates.
fn other_ca(scratch: &Scratch) -> String {
    let key = scratch.path("other.key");
    let crt = scratch.path("other.crt");
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=not the servers' CA"])
        .args(["-keyout", &key, "-out", &crt])
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", stderr(&out));
    crt
}

#[test]
fn tls_runs_are_exact_where_they_should_be_and_a_certificate_from_another_ca_is_refused() {
    let s = servers();
    let scratch = Scratch::new("tls");
    let other = other_ca(&scratch);
    for store in [&s.postgres_tls, &s.redis_tls, &s.mysql_tls] {
        let (out, doc) = run_json(&[
            "--store",
            store,
            "-p",
            "4",
            "-i",
            "10",
            "-t",
            "2",
            "-m",
            "mutex,atomic",
        ]);
        assert_eq!(out.status.code(), Some(0), "{store}: {}", stderr(&out));
        assert_eq!(mode(&doc, "mutex").totals, [40, 40], "{store}");
        assert_eq!(mode(&doc, "atomic").totals, [40, 40], "{store}");
        // The same server, its certificate checked against a CA that did not sign it.
        let wrong = store.replace(&s.ca, &other);
        assert_ne!(&wrong, store);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(["--store", &wrong, "-m", "atomic", "-t", "1"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{wrong}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.to_lowercase().contains("certificate"), "{wrong}: {err}");
    }
    // Encrypted without a check, as libpq's require, mysql's REQUIRED and redis' #insecure.
    let unchecked = [
        s.postgres_tls
            .replace("verify-full", "require")
            .replace(&format!("&sslrootcert={}", s.ca), ""),
        s.mysql_tls
            .replace("verify_identity", "required")
            .replace(&format!("&ssl-ca={}", s.ca), ""),
        format!(
            "{}#insecure",
            s.redis_tls.replace(&format!("?cacert={}", s.ca), "")
        ),
    ];
    for store in &unchecked {
        assert!(!store.contains(&s.ca), "{store}");
        let (out, doc) = run_json(&[
            "--store", store, "-p", "2", "-i", "5", "-t", "1", "-m", "atomic",
        ]);
        assert_eq!(out.status.code(), Some(0), "{store}: {}", stderr(&out));
        assert_eq!(mode(&doc, "atomic").totals, [10], "{store}");
    }
}

#[test]
fn every_postgres_worker_of_a_verify_full_run_is_encrypted() {
    let store = &servers().postgres_tls;
    let args = long_run(store, "atomic", "3");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = spawn(&args);
    let pid = child.id();
    let encrypted = || {
        let n: i64 = pg()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity JOIN pg_stat_ssl USING (pid) \
                 WHERE ssl AND application_name LIKE $1",
                &[&format!("racecount racecount_{pid}_% w%")],
            )
            .unwrap()
            .get(0);
        n == 3
    };
    let seen = eventually(30.0, encrypted);
    signal(pid, Signal::SIGINT);
    let (status, err) = finish(child);
    assert!(seen, "the workers did not connect over TLS");
    assert_eq!(status, Some(130), "{err}");
    assert!(pg_tables(&format!("racecount_{pid}_")).is_empty());
}
