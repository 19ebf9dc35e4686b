//! What a database worker runs for each mode's shape, per store: shown in the header (one
//! line per mode) and in json's `statements`, and kept beside each store's client, whose
//! `increment` runs exactly these.

use super::Kind;
use crate::model::mode::InDatabase;

/// What a worker of `kind` runs for each shape, with the table `t` or the key `k`.
pub(super) fn statements(kind: Kind) -> Vec<(InDatabase, &'static str)> {
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
