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

pub(crate) use crate::model::store::Isolation;
use crate::model::store::StoreLabel;
use crate::race::child::db::Connect;
// Attempt: every client's; none is built without a store.
#[cfg_attr(no_store, allow(unused_imports))]
pub(crate) use crate::race::child::db::{Attempt, Client, Lease};

// Without any store nothing makes a counter: the module stays, unused.
pub(crate) mod argv;
mod kind;
use kind::unknown_store;
pub(crate) use kind::{Kind, kind_of};
#[cfg_attr(no_store, allow(dead_code))]
mod counter;
pub(crate) mod join;
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
#[cfg_attr(no_store, allow(dead_code))]
mod stale;
mod statements;
#[cfg(any(feature = "postgres", feature = "redis", feature = "mysql"))]
mod tls;
pub(crate) mod url;

pub(crate) use counter::{Counter, DbError, clean};
use counter::{Made, Phase};
use stale::run_name;
pub(crate) use stale::{Cleaned, count};

const MISSING: &str = "this racecount was built without database stores";

/// How long a connection may take when `--timeout` is not given.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// What to say on stderr before the run (a password file that was ignored, say).
    pub notes: Vec<String>,
    /// Where the password is written in `--store`'s value, to hide it from `ps`.
    pub password_span: Option<std::ops::Range<usize>>,
    /// This run's table or key.
    pub name: String,
    /// How long connecting may take: `--timeout`, or 5 s.
    pub connect_timeout: Duration,
    pub isolation: Option<Isolation>,
    /// `--join`: the counter is the joined run's (`racecount_join_NAME`), shared by its hosts.
    pub joined: bool,
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
        let split = if kind == Kind::Sqlite {
            // sqlite:PATH has no password: a path is shown as given.
            url::Split {
                bare: url.to_string(),
                shown: url.to_string(),
                password: None,
                span: None,
            }
        } else {
            url::split(url, kind.password_variable())?
        };
        let mut notes = Vec::new();
        let shown = split.shown.clone();
        let password_span = split.span.clone();
        let backend = backend(kind, split, isolation, &mut notes)?;
        Ok(Target::Db(Box::new(Db {
            kind,
            shown,
            notes,
            password_span,
            name: run_name(),
            connect_timeout: timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            isolation,
            joined: false,
            backend,
        })))
    }

    /// `--join NAME`: the counter is the joined run's, shared with the other hosts.
    pub(crate) fn join(&mut self, name: &str) {
        if let Target::Db(db) = self {
            db.name = stale::joined_name(name);
            db.joined = true;
        }
    }

    /// The database, if any.
    pub(crate) fn db(&self) -> Option<&Db> {
        match self {
            Target::Page => None,
            Target::Db(db) => Some(db),
        }
    }
}

/// The store's own parse of the URL (its password taken out), with the password handed over
/// separately; `notes` collects what to say before the run.
fn backend(
    kind: Kind,
    split: url::Split,
    isolation: Option<Isolation>,
    notes: &mut Vec<String>,
) -> Result<Backend, String> {
    let url::Split {
        bare: url,
        shown,
        password,
        ..
    } = split;
    let (url, shown) = (url.as_str(), shown.as_str());
    // Each is used only by the stores compiled in.
    let _ = (url, shown, &password, isolation, &notes);
    match kind {
        #[cfg(feature = "sqlite")]
        Kind::Sqlite => sqlite::parse(url, isolation).map(Backend::Sqlite),
        #[cfg(feature = "postgres")]
        Kind::Postgres => postgres::parse(url, shown, password, notes).map(Backend::Postgres),
        #[cfg(feature = "redis")]
        Kind::Redis => {
            if isolation.is_some() {
                return Err("--isolation: Redis has no isolation levels; it applies to \
                            --store postgres://…, mysql://… and sqlite:PATH"
                    .into());
            }
            redis::parse(url, shown, password).map(Backend::Redis)
        }
        #[cfg(feature = "mysql")]
        Kind::Mysql => mysql::parse(url, shown, password).map(Backend::Mysql),
        other => Err(format!(
            "--store {shown}: this racecount was built without {} support (cargo feature \
             \"{}\")",
            other.name(),
            other.feature()
        )),
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
    let joined = db.joined;
    let _ = (&name, timeout, &shown, phase, joined);
    match &mut db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::create(place, &name, phase),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) if joined => postgres::join(place, &name, timeout, &shown, phase),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::create(place, &name, timeout, &shown, phase),
        #[cfg(feature = "redis")]
        Backend::Redis(place) if joined => redis::join(place, &name, timeout, phase),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::create(place, &name, timeout, phase),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::create(place, &name, timeout, &shown, phase),
        Backend::Missing => Err(MISSING.to_string()),
    }
}

/// Removes the counters dead runs left (`--clean`).
fn clean_stale(db: &Db) -> Result<Cleaned, String> {
    let (timeout, shown) = (db.connect_timeout, db.shown.as_str());
    let _ = (timeout, shown);
    match &db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::clean(place),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::clean(place, timeout, shown),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::clean(place, timeout),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::clean(place, timeout, shown),
        Backend::Missing => Err(MISSING.to_string()),
    }
}

/// Removes this run's counter over a new connection (after the parent's was given up).
fn drop_counter(db: &Db) -> Result<(), String> {
    let (name, timeout) = (db.name.as_str(), db.connect_timeout);
    let _ = (name, timeout);
    match &db.backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(place) => sqlite::drop_counter(place, name),
        #[cfg(feature = "postgres")]
        Backend::Postgres(place) => postgres::drop_counter(place, name, timeout),
        #[cfg(feature = "redis")]
        Backend::Redis(place) => redis::drop_counter(place, name, timeout),
        #[cfg(feature = "mysql")]
        Backend::Mysql(place) => mysql::drop_counter(place, name, timeout),
        Backend::Missing => Err(MISSING.to_string()),
    }
}

impl Connect for Db {
    fn connect(&self, index: u32, procs: u32) -> Result<Box<dyn Client>, String> {
        let _ = (index, procs); // each store uses one or the other, and without any store

        match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(place) => sqlite::connect(place, self, procs),
            #[cfg(feature = "postgres")]
            Backend::Postgres(place) => postgres::connect(place, self, index),
            #[cfg(feature = "redis")]
            Backend::Redis(place) => redis::connect(place, self, index),
            #[cfg(feature = "mysql")]
            Backend::Mysql(place) => mysql::connect(place, self, index),
            Backend::Missing => Err(MISSING.to_string()),
        }
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
                statements: statements::statements(db.kind),
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
