//! Passwords a server checks: given in the URL (percent-encoded), or kept off the command line
//! in the variable or file the store's own tools read (PGPASSWORD and .pgpass, REDISCLI_AUTH,
//! MYSQL_PWD); a hostile one never shows, and a wrong one is named without it.

use super::*;

/// Every character a URL gives a meaning to.
const HOSTILE: &str = "p@ss:w/rd?#%&";

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

/// Runs a small exact run on `store` with `env` set, in every format; asserts it succeeds and
/// that nothing it prints holds a piece of the password.
fn runs_and_hides(store: &str, env: &[(&str, &str)]) {
    for format in ["human", "json", "csv", "markdown", "totals"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args([
                "--store", store, "-m", "atomic", "-p", "2", "-i", "3", "-t", "1",
            ])
            .args(["-f", format])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{store} {env:?}: {all}");
        for piece in ["p@s", "ss:w", "w/rd", "rd?", "%40ss", "ss%3A"] {
            assert!(!all.contains(piece), "{format}: {piece} in {all}");
        }
    }
}

/// The PostgreSQL role that must give its password (over TCP: `.ci/services.sh`), made with
/// the hostile one, and its URL without it.
fn postgres_with_password() -> String {
    pg().batch_execute(&format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'racecount_test_pw') THEN \
             CREATE ROLE racecount_test_pw LOGIN; \
           END IF; \
         END $$; \
         ALTER ROLE racecount_test_pw PASSWORD '{HOSTILE}'; \
         GRANT CREATE ON SCHEMA public TO racecount_test_pw"
    ))
    .unwrap();
    let tcp = &servers().postgres_tls;
    let port = tcp
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    format!("postgres://racecount_test_pw@127.0.0.1:{port}/postgres")
}

#[test]
fn postgres_takes_the_password_from_the_url_pgpassword_and_pgpass_as_libpq_does() {
    let bare = postgres_with_password();
    let with = bare.replacen("_pw@", &format!("_pw:{}@", encode(HOSTILE)), 1);
    runs_and_hides(&with, &[]);
    runs_and_hides(&bare, &[("PGPASSWORD", HOSTILE)]);
    let scratch = Scratch::new("pgpass");
    let file = scratch.path("pgpass");
    let port = bare
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let line = format!(
        "127.0.0.1:{port}:postgres:racecount_test_pw:{}\n",
        HOSTILE.replace(':', "\\:")
    );
    std::fs::write(&file, line).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    runs_and_hides(&bare, &[("PGPASSFILE", &file)]);
    // A file others may read is ignored, as libpq ignores it, and said.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", &bare, "-m", "atomic", "-t", "1"])
        .env("PGPASSFILE", &file)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("has group or world access and is ignored"),
        "{err}"
    );
    assert!(err.contains("password missing"), "{err}");
    // A wrong password is named by the server's words, not shown.
    let wrong = bare.replacen("_pw@", "_pw:n0pe-n0pe@", 1);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", &wrong, "-m", "atomic", "-t", "1"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains("n0pe"), "{err}");
}

#[test]
fn mysql_takes_the_password_from_mysql_pwd() {
    use mysql::prelude::Queryable;
    let mut conn = my();
    conn.query_drop(format!(
        "CREATE USER IF NOT EXISTS 'racecount_test_env'@'localhost' IDENTIFIED BY '{HOSTILE}'"
    ))
    .unwrap();
    let db: String = conn.query_first("SELECT DATABASE()").unwrap().unwrap();
    conn.query_drop(format!(
        "GRANT ALL PRIVILEGES ON `{db}`.* TO 'racecount_test_env'@'localhost'"
    ))
    .unwrap();
    let store = servers()
        .mysql
        .replacen("mysql://racecount@", "mysql://racecount_test_env@", 1);
    runs_and_hides(&store, &[("MYSQL_PWD", HOSTILE)]);
}

#[test]
fn redis_takes_the_password_from_rediscli_auth() {
    let redis = cleanup::PrivateRedis::start(&["--requirepass", HOSTILE]);
    runs_and_hides(&redis.url(), &[("REDISCLI_AUTH", HOSTILE)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", &redis.url(), "-m", "atomic", "-t", "1"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("NOAUTH") || err.contains("Authentication"),
        "{err}"
    );
}
