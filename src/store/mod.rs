//! `--store`: the counter in a database instead of the shared page.
//!
//! The parent validates the URL ([`Target::parse`], no side effects), removes what dead runs
//! left and creates the run's own counter — a table or key named after the run,
//! `racecount_<pid>_<random>`, with a lock of the run's held while it lives — resets it before
//! every trial, reads the real total after it and removes it at the end ([`Counter`]); its
//! `Drop` removes it on every other way out. Each forked worker opens its own connection
//! ([`work`]), reports that it is ready, waits at the start gate, then runs the mode's
//! statements. The mapping of modes to statements is each store's module and the README's
//! "Databases" table.
//!
//! A refusal by the database (a serialization failure or deadlock, `SQLITE_BUSY`, a `WATCH`ed
//! key that changed) is the database's way of refusing a lost update: the worker rolls back
//! and tries that increment again, and every such retry is counted and shown. Any other error
//! fails the trial, naming the worker and the error.

use std::time::Duration;

use crate::model::mode::InDatabase;
pub(crate) use crate::model::store::Isolation;
use crate::model::store::StoreLabel;
use crate::race::child::db::Connect;
// Attempt: every client's; none is built without a store.
#[cfg_attr(
    not(any(
        feature = "sqlite",
        feature = "postgres",
        feature = "redis",
        feature = "mysql"
    )),
    allow(unused_imports)
)]
pub(crate) use crate::race::child::db::{Attempt, Client};

// Without any store nothing makes a counter: the module stays, unused.
#[cfg_attr(
    not(any(
        feature = "sqlite",
        feature = "postgres",
        feature = "redis",
        feature = "mysql"
    )),
    allow(dead_code)
)]
mod counter;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
#[cfg(any(feature = "postgres", feature = "redis", feature = "mysql"))]
mod probe;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod runner;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg_attr(
    not(any(
        feature = "sqlite",
        feature = "postgres",
        feature = "redis",
        feature = "mysql"
    )),
    allow(dead_code)
)]
mod stale;
#[cfg(any(feature = "postgres", feature = "redis", feature = "mysql"))]
mod tls;
pub(crate) mod url;

pub(crate) use counter::{Counter, DbError, clean};
use counter::{Made, Phase};
use stale::run_name;
pub(crate) use stale::{Cleaned, count};
use url::{Secret, mask};

const MISSING: &str = "this racecount was built without database stores";

/// How long a connection may take when `--timeout` is not given.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The stores `--store` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Page,
    Sqlite,
    Postgres,
    Redis,
    Mysql,
}

impl Kind {
    /// The name used in every output format.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Mysql => "mysql",
        }
    }

    /// The cargo feature that builds this store in.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            Kind::Page => "",
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Mysql => "mysql",
        }
    }
}

/// The store a URL names, from its scheme; `None` for an unknown scheme.
pub(crate) fn kind_of(url: &str) -> Option<Kind> {
    if url == "page" {
        return Some(Kind::Page);
    }
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Kind::Sqlite),
        "postgres" | "postgresql" => Some(Kind::Postgres),
        "redis" | "rediss" | "redis+unix" | "unix" => Some(Kind::Redis),
        "mysql" | "mariadb" => Some(Kind::Mysql),
        _ => None,
    }
}

/// Where the counter lives.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The shared page (today's default).
    Page,
    /// A database.
    Db(Box<Db>),
}

/// A database store, validated, and the name of this run's counter in it.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pub kind: Kind,
    /// The URL with its password masked: the only form ever shown.
    pub shown: String,
    /// The password, to scrub from every message a client library writes.
    pub secret: Secret,
    /// This run's table or key.
    pub name: String,
    /// How long connecting may take: `--timeout`, or 5 s.
    pub connect_timeout: Duration,
    pub isolation: Option<Isolation>,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::Place),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Place),
    #[cfg(feature = "redis")]
    Redis(redis::Place),
    #[cfg(feature = "mysql")]
    Mysql(mysql::Place),
    /// Never built: keeps the type (and the code that uses it) alive in a build without any
    /// store (`--no-default-features`), where parsing refuses every database URL.
    #[allow(dead_code)]
    Missing,
}

impl Target {
    /// Validates `--store`, `--isolation` and the connect timeout. Creates nothing.
    pub(crate) fn parse(
        url: &str,
        isolation: Option<Isolation>,
        timeout: Option<Duration>,
    ) -> Result<Target, String> {
        let (shown, secret) = mask(url);
        let Some(kind) = kind_of(url) else {
            return Err(unknown_store(url));
        };
        if kind == Kind::Page {
            if isolation.is_some() {
                return Err(
                    "--isolation applies to a database store (--store sqlite:PATH or \
                            postgres://…), not to the shared page"
                        .into(),
                );
            }
            return Ok(Target::Page);
        }
        let backend = backend(kind, url, &shown, &secret, isolation)?;
        Ok(Target::Db(Box::new(Db {
            kind,
            shown,
            secret,
            name: run_name(),
            connect_timeout: timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            isolation,
            backend,
        })))
    }

    /// The database, if any.
    pub(crate) fn db(&self) -> Option<&Db> {
        match self {
            Target::Page => None,
            Target::Db(db) => Some(db),
        }
    }
}

fn backend(
    kind: Kind,
    url: &str,
    shown: &str,
    secret: &Secret,
    isolation: Option<Isolation>,
) -> Result<Backend, String> {
    // Each is used only by the stores compiled in.
    let _ = (url, shown, secret, isolation);
    match kind {
        #[cfg(feature = "sqlite")]
        Kind::Sqlite => sqlite::parse(url, isolation).map(Backend::Sqlite),
        #[cfg(feature = "postgres")]
        Kind::Postgres => postgres::parse(url, shown, secret).map(Backend::Postgres),
        #[cfg(feature = "redis")]
        Kind::Redis => {
            if isolation.is_some() {
                return Err("--isolation: Redis has no isolation levels; it applies to \
                            --store postgres://…, mysql://… and sqlite:PATH"
                    .into());
            }
            redis::parse(url, shown, secret).map(Backend::Redis)
        }
        #[cfg(feature = "mysql")]
        Kind::Mysql => mysql::parse(url, shown, secret).map(Backend::Mysql),
        other => Err(format!(
            "--store {shown}: this racecount was built without {} support (cargo feature \
             \"{}\")",
            other.name(),
            other.feature()
        )),
    }
}

/// Why `url` names no store, without echoing it: an unknown string may hold a password
/// (`host=… password=…`), so only a scheme is named, and a store written without its `:`.
fn unknown_store(url: &str) -> String {
    const USE: &str =
        "use page, sqlite:PATH, postgres://…, redis://…, redis+unix://…, rediss://… or mysql://…";
    let bare = url.trim().to_ascii_lowercase();
    let words = [
        "page",
        "sqlite",
        "postgres",
        "postgresql",
        "redis",
        "rediss",
        "mysql",
        "mariadb",
    ];
    let word = words.iter().copied().find(|w| *w == bare);
    if let Some(word) = word.or_else(|| crate::model::words::closest(&bare, &words)) {
        let example = match word {
            "page" => "page".to_string(),
            "sqlite" => "sqlite:PATH, e.g. sqlite:/tmp/lesson.db".to_string(),
            other => format!("{other}://HOST/…"),
        };
        return format!("--store: not a store URL; did you mean {example}? ({USE})");
    }
    let scheme = url.split_once("://").map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        Some(scheme) => {
            let hint = crate::model::words::closest(scheme, &words)
                .map_or(String::new(), |w| format!("; did you mean '{w}://'?"));
            format!("--store: unknown scheme '{scheme}'{hint} ({USE})")
        }
        None => format!("--store: not a store URL ({USE})"),
    }
}

impl Db {
    /// "table" or "key": what the counter is in this store.
    pub(crate) fn thing(&self) -> &'static str {
        if self.kind == Kind::Redis {
            "key"
        } else {
            "table"
        }
    }

    /// "the table racecount_1_00ab".
    pub(crate) fn thing_named(&self) -> String {
        format!("the {} {}", self.thing(), self.name)
    }

    /// E.g. "table racecount_1_00ab in sqlite:/tmp/l.db": where this run's counter lives.
    pub(crate) fn describe(&self) -> String {
        format!("{} {} in {}", self.thing(), self.name, self.shown)
    }

    /// What becomes of a counter this run could not remove.
    pub(crate) fn if_left(&self) -> String {
        if self.kind == Kind::Redis {
            format!(
                "if it is there, it expires by itself within {} s (its TTL), and the next run \
                 on {} removes it sooner",
                redis_ttl_secs(),
                self.shown
            )
        } else {
            format!(
                "if it is there, the lock this run held on it ended with the run, so the next \
                 run on {0} removes it, or racecount --store '{0}' --clean",
                self.shown
            )
        }
    }
}

/// The TTL of a run's Redis key, in seconds.
fn redis_ttl_secs() -> u64 {
    #[cfg(feature = "redis")]
    {
        redis::TTL.as_secs()
    }
    #[cfg(not(feature = "redis"))]
    {
        0
    }
}

/// Connects, removes the counters of dead runs and makes this run's (resolving the host names
/// into `db`).
fn make(db: &mut Db, phase: &Phase) -> Result<Made, String> {
    let (name, timeout, shown) = (db.name.clone(), db.connect_timeout, db.shown.clone());
    let _ = (&name, timeout, &shown, phase);
    let made = match &mut db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::create(place, &name, phase),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::create(place, &name, timeout, &shown, phase),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::create(place, &name, timeout, phase),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::create(place, &name, timeout, &shown, phase),
        Backend::Missing => Err(MISSING.to_string()),
    };
    made.map_err(|e| db.secret.scrub(&e))
}

/// Removes the counters dead runs left (`--clean`).
fn clean_stale(db: &Db) -> Result<Cleaned, String> {
    let (timeout, shown) = (db.connect_timeout, db.shown.as_str());
    let _ = (timeout, shown);
    let cleaned = match &db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::clean(place),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::clean(place, timeout, shown),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::clean(place, timeout),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::clean(place, timeout, shown),
        Backend::Missing => Err(MISSING.to_string()),
    };
    cleaned.map_err(|e| db.secret.scrub(&e))
}

/// Removes this run's counter over a new connection (after the parent's was given up).
fn drop_counter(db: &Db) -> Result<(), String> {
    let (name, timeout) = (db.name.as_str(), db.connect_timeout);
    let _ = (name, timeout);
    let dropped = match &db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::drop_counter(place, name),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::drop_counter(place, name, timeout),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::drop_counter(place, name, timeout),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::drop_counter(place, name, timeout),
        Backend::Missing => Err(MISSING.to_string()),
    };
    dropped.map_err(|e| db.secret.scrub(&e))
}

/// What a worker of `kind` runs for each shape, with the table `t` or the key `k`.
fn statements(kind: Kind) -> Vec<(InDatabase, &'static str)> {
    let all = [
        InDatabase::ReadThenWrite,
        InDatabase::OneTransaction,
        InDatabase::Locked,
        InDatabase::Add,
    ];
    let of: fn(InDatabase) -> &'static str = match kind {
        Kind::Page => return Vec::new(),
        Kind::Sqlite => sqlite_statements,
        Kind::Postgres => postgres_statements,
        Kind::Redis => redis_statements,
        Kind::Mysql => mysql_statements,
    };
    all.into_iter().map(|shape| (shape, of(shape))).collect()
}

fn sqlite_statements(shape: InDatabase) -> &'static str {
    match shape {
        InDatabase::ReadThenWrite => {
            "SELECT v FROM t; window; UPDATE t SET v = ?1 (read + 1), each in autocommit"
        }
        InDatabase::OneTransaction => {
            "BEGIN (deferred); SELECT v FROM t; window; UPDATE t SET v = ?1; COMMIT"
        }
        InDatabase::Locked => {
            "BEGIN IMMEDIATE; SELECT v FROM t; window; UPDATE t SET v = ?1; COMMIT"
        }
        InDatabase::Add => "window; UPDATE t SET v = v + 1",
    }
}

fn postgres_statements(shape: InDatabase) -> &'static str {
    match shape {
        InDatabase::ReadThenWrite => {
            "SELECT v FROM t; window; UPDATE t SET v = $1 (read + 1), each in autocommit"
        }
        InDatabase::OneTransaction => "BEGIN; SELECT v FROM t; window; UPDATE t SET v = $1; COMMIT",
        InDatabase::Locked => {
            "BEGIN; SELECT v FROM t FOR UPDATE; window; UPDATE t SET v = $1; COMMIT"
        }
        InDatabase::Add => "window; UPDATE t SET v = v + 1",
    }
}

fn mysql_statements(shape: InDatabase) -> &'static str {
    match shape {
        InDatabase::ReadThenWrite => {
            "SELECT v FROM t; window; UPDATE t SET v = ? (read + 1), each in autocommit"
        }
        InDatabase::OneTransaction => "BEGIN; SELECT v FROM t; window; UPDATE t SET v = ?; COMMIT",
        InDatabase::Locked => {
            "BEGIN; SELECT v FROM t FOR UPDATE; window; UPDATE t SET v = ?; COMMIT"
        }
        InDatabase::Add => "window; UPDATE t SET v = v + 1",
    }
}

fn redis_statements(shape: InDatabase) -> &'static str {
    match shape {
        InDatabase::ReadThenWrite => "GET k; window; SET k read+1 XX KEEPTTL",
        InDatabase::OneTransaction => {
            "MULTI GET k EXEC; window; MULTI SET k read+1 XX KEEPTTL EXEC"
        }
        InDatabase::Locked => {
            "WATCH k; GET k; window; MULTI SET k read+1 XX KEEPTTL EXEC (retried when EXEC is aborted)"
        }
        InDatabase::Add => "window; INCR k",
    }
}

impl Connect for Db {
    fn connect(&self, index: u32) -> Result<Box<dyn Client>, String> {
        let _ = index; // unused by SQLite, and without any store

        match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(place) => sqlite::connect(place, self),
            #[cfg(feature = "postgres")]
            Backend::Postgres(place) => postgres::connect(place, self, index),
            #[cfg(feature = "redis")]
            Backend::Redis(place) => redis::connect(place, self, index),
            #[cfg(feature = "mysql")]
            Backend::Mysql(place) => mysql::connect(place, self, index),
            Backend::Missing => Err(MISSING.to_string()),
        }
    }

    fn scrub(&self, message: &str) -> String {
        self.secret.scrub(message)
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}

impl Target {
    /// The store as the renderers show it (the password masked).
    pub(crate) fn label(&self) -> StoreLabel {
        match self {
            Target::Page => StoreLabel::page(),
            Target::Db(db) => StoreLabel {
                kind: db.kind.name(),
                url: db.shown.clone(),
                // Named once it exists.
                counter: None,
                isolation: db.isolation,
                facts: crate::model::store::Facts::default(),
                statements: statements(db.kind),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_name_their_store() {
        assert_eq!(kind_of("page"), Some(Kind::Page));
        assert_eq!(kind_of("sqlite:/tmp/x.db"), Some(Kind::Sqlite));
        assert_eq!(kind_of("postgres://u@h/db"), Some(Kind::Postgres));
        assert_eq!(kind_of("postgresql://h"), Some(Kind::Postgres));
        assert_eq!(kind_of("redis://127.0.0.1:6379/0"), Some(Kind::Redis));
        assert_eq!(kind_of("mysql://h"), Some(Kind::Mysql));
        assert_eq!(kind_of("mariadb://h/db"), Some(Kind::Mysql));
        assert_eq!(kind_of("oracle://h"), None);
        assert_eq!(kind_of("lesson.db"), None);
    }
}
