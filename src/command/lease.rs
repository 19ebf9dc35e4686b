//! The checks of `--lock lease:TTL`, `--stall`, `--fencing`, `--join` and `--hosts`: each
//! refused in one line, before anything is forked or created, when the store or the other
//! options cannot serve it.

use super::cli::LockArg;
use super::error::ConfigError;
use crate::model::lease::{Join, Lease, Stall};
use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::units::format_exact;
use crate::store::{Kind, Target};

/// `--lock`'s values split: the page's kinds, and the lease, if one was given.
pub(super) fn split_locks(locks: Option<Vec<LockArg>>) -> (Option<Vec<Lock>>, Vec<Lease>) {
    let Some(locks) = locks else {
        return (None, Vec::new());
    };
    let mut page = Vec::new();
    let mut leases = Vec::new();
    for lock in locks {
        match lock {
            LockArg::Page(lock) => page.push(lock),
            LockArg::Lease(lease) => leases.push(lease),
        }
    }
    ((!page.is_empty()).then_some(page), leases)
}

/// What was asked of a store's locks.
pub(super) struct Asked<'a> {
    pub(super) leases: &'a [Lease],
    /// `--lock` named kinds of the page's as well.
    pub(super) page_locks: bool,
    pub(super) stall: Option<Stall>,
    pub(super) fencing: bool,
    pub(super) modes: &'a [Mode],
}

/// The lease to run, checked against the store: PostgreSQL and Redis keep one, at their
/// resolution (a microsecond, a millisecond).
pub(super) fn lease(store: &Target, asked: &Asked) -> Result<Option<Lease>, ConfigError> {
    let refuse = |why: String| Err(ConfigError::Lease(why));
    let kind = store.db().map(|db| db.kind);
    let lease = match asked.leases {
        [] => None,
        [lease] => Some(*lease),
        [..] => return refuse("--lock: one lease at a time (lease:TTL given twice)".into()),
    };
    if let Some(lease) = lease {
        if asked.page_locks {
            return refuse(format!(
                "--lock {lease} is a lock in the store, the other kinds locks of the shared \
                 page: give one or the other"
            ));
        }
        let resolution = match kind {
            None => {
                return refuse(format!(
                    "--lock {lease} is a lock kept in a database: give --store postgres://… or \
                     redis://…"
                ));
            }
            Some(Kind::Postgres) => 1_000,
            Some(Kind::Redis) => 1_000_000,
            Some(other) => {
                return refuse(format!(
                    "--lock {lease}: racecount keeps leases in PostgreSQL and Redis, not in {}",
                    other.name()
                ));
            }
        };
        if !lease.ttl_ns.is_multiple_of(resolution) {
            let store = kind.map_or("", |k| k.name());
            return refuse(format!(
                "--lock {lease}: {store} counts a lease's time in whole {} (Redis PX, \
                 PostgreSQL's timestamps), so {} is below its resolution; give e.g. lease:{}",
                if resolution == 1_000 {
                    "microseconds"
                } else {
                    "milliseconds"
                },
                format_exact(lease.ttl_ns),
                format_exact(lease.ttl_ns.div_ceil(resolution).max(1) * resolution),
            ));
        }
    }
    if asked.fencing && lease.is_none() {
        return refuse(
            "--fencing gives each holder of a lease a token: give --lock lease:TTL (with \
             --store postgres://… or redis://…)"
                .into(),
        );
    }
    if let Some(stall) = asked.stall {
        if kind.is_none() {
            return refuse(format!(
                "--stall {stall} pauses the holder of a database's lock: give --store \
                 postgres://… or redis://… (and --lock lease:TTL for a lease)"
            ));
        }
        if !asked.modes.iter().any(|m| m.takes_lock()) {
            return refuse(format!(
                "--stall {stall} pauses a lock's holder, and none of these modes takes a lock: \
                 add mutex or per-access (-m mutex)"
            ));
        }
    }
    Ok(lease)
}

/// `--join NAME --hosts N`, checked: both or neither, a name a table can bear, a store that
/// hosts can meet through.
pub(super) fn join(
    name: Option<String>,
    hosts: Option<u32>,
    store: &Target,
    pool: bool,
) -> Result<Option<Join>, ConfigError> {
    let refuse = |why: String| Err(ConfigError::Join(why));
    let (name, hosts) = match (name, hosts) {
        (None, None) => return Ok(None),
        (Some(name), Some(hosts)) => (name, hosts),
        (Some(name), None) => {
            return refuse(format!(
                "--join {name} needs --hosts N: how many hosts run it, this one included"
            ));
        }
        (None, Some(hosts)) => {
            return refuse(format!(
                "--hosts {hosts} goes with --join NAME: the name every host of the run gives"
            ));
        }
    };
    Join::check_name(&name).map_err(|e| ConfigError::Join(format!("--join {name}: {e}")))?;
    match store.db().map(|db| db.kind) {
        Some(Kind::Postgres | Kind::Redis) => {}
        Some(other) => {
            return refuse(format!(
                "--join {name}: hosts meet through PostgreSQL or Redis, not {}",
                other.name()
            ));
        }
        None => {
            return refuse(format!(
                "--join {name}: hosts meet through the store: give --store postgres://… or \
                 redis://…"
            ));
        }
    }
    if pool {
        return refuse(format!(
            "--join {name} with --pool: a joined run forks its workers for every trial; leave \
             --pool out"
        ));
    }
    Ok(Some(Join {
        name,
        hosts,
        roster: Vec::new(),
    }))
}
