//! `--store`: the counter in a database instead of the shared page.
//!
//! The parent validates the URL ([`Target::parse`], no side effects), creates the run's own
//! counter — a table or key named after the run, `racecount_<pid>_<random>` — resets it before
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

pub(crate) use crate::model::store::Isolation;
use crate::model::store::StoreLabel;
use crate::race::child::db::Connect;
pub(crate) use crate::race::child::db::{Attempt, Client};

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
#[cfg(any(feature = "postgres", feature = "redis", feature = "mysql"))]
mod tls;
pub(crate) mod url;

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

/// The parent's side of a store: the run's counter.
trait Admin {
    fn reset(&mut self) -> Result<(), String>;
    fn read(&mut self) -> Result<u64, String>;
    fn remove(&mut self) -> Result<(), String>;
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

/// This run's table or key: `racecount_<pid>_<8 hex digits>`, so that two runs, even on one
/// database, never share a counter.
fn run_name() -> String {
    format!(
        "racecount_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

impl Db {
    /// E.g. "table racecount_1_00ab in sqlite:/tmp/l.db": where this run's counter lives.
    pub(crate) fn describe(&self) -> String {
        let thing = if self.kind == Kind::Redis {
            "key"
        } else {
            "table"
        };
        let mut text = format!("{thing} {} in {}", self.name, self.shown);
        if let Some(level) = self.isolation {
            text.push_str(&format!(", transactions {}", level.name()));
        }
        text
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
            Backend::Missing => Err(MISSING.into()),
        }
    }

    fn scrub(&self, message: &str) -> String {
        self.secret.scrub(message)
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}

/// The run's counter, from the parent. Dropping it removes it, whatever stopped the run.
pub(crate) struct Counter {
    db: Db,
    admin: Box<dyn Admin>,
    removed: bool,
}

impl Counter {
    /// Creates this run's counter (and, for SQLite, the file if it was missing). Fails with
    /// one line naming the store and the error, the password scrubbed.
    pub(crate) fn create(db: &Db) -> Result<Counter, String> {
        let mut db = db.clone();
        let admin: Result<Box<dyn Admin>, String> = match &mut db.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(place) => sqlite::create(place, &db.name),
            #[cfg(feature = "postgres")]
            Backend::Postgres(place) => {
                postgres::create(place, &db.name, db.connect_timeout, &db.shown)
            }
            #[cfg(feature = "redis")]
            Backend::Redis(place) => redis::create(place, &db.name, db.connect_timeout),
            #[cfg(feature = "mysql")]
            Backend::Mysql(place) => mysql::create(place, &db.name, db.connect_timeout, &db.shown),
            Backend::Missing => Err(MISSING.into()),
        };
        let admin = admin.map_err(|e| db.secret.scrub(&e))?;
        Ok(Counter {
            db,
            admin,
            removed: false,
        })
    }

    /// The store as the workers connect to it (host names already resolved).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Sets the counter to 0 before a trial.
    pub(crate) fn reset(&mut self) -> Result<(), String> {
        self.admin.reset().map_err(|e| self.db.secret.scrub(&e))
    }

    /// The counter's value after a trial: the real total.
    pub(crate) fn read_total(&mut self) -> Result<u64, String> {
        self.admin.read().map_err(|e| self.db.secret.scrub(&e))
    }

    /// Removes the counter (and a SQLite file racecount created). Idempotent.
    pub(crate) fn remove(&mut self) -> Result<(), String> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        self.admin.remove().map_err(|e| self.db.secret.scrub(&e))
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.remove();
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
                counter: Some(db.describe()),
                isolation: db.isolation,
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
