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
    let mut statements: Vec<(InDatabase, &'static str)> =
        all.into_iter().map(|shape| (shape, of(shape))).collect();
    let leased: Option<fn(bool, bool) -> &'static str> = match kind {
        Kind::Postgres => Some(postgres_leased),
        Kind::Redis => Some(redis_leased),
        Kind::Page | Kind::Sqlite | Kind::Mysql => None,
    };
    if let Some(leased) = leased {
        for each_access in [false, true] {
            for fenced in [false, true] {
                let shape = InDatabase::Leased {
                    each_access,
                    fenced,
                };
                statements.push((shape, leased(each_access, fenced)));
            }
        }
    }
    statements
}

/// Under `--lock lease:TTL` (and `--fencing`), PostgreSQL: the lease is the columns `until`
/// and `tokens` of the counter's row, judged by the server's clock.
fn postgres_leased(each_access: bool, fenced: bool) -> &'static str {
    match (each_access, fenced) {
        (false, false) => {
            "lease: UPDATE t SET tokens = tokens + 1, until = now + TTL WHERE until is past \
             RETURNING tokens (again until a row comes back); SELECT v FROM t; window; stall; \
             UPDATE t SET v = $1; release: UPDATE t SET until = NULL WHERE tokens = mine"
        }
        (false, true) => {
            "lease (its token: tokens); UPDATE t SET fence = $token WHERE fence <= $token \
             RETURNING v; window; stall; UPDATE t SET v = $1, fence = $token WHERE fence <= \
             $token (no row: fenced, the increment tried again under a new lease); release"
        }
        (true, false) => {
            "lease; SELECT v FROM t; release; window; lease; stall; UPDATE t SET v = $1; \
             release"
        }
        (true, true) => {
            "lease; UPDATE t SET fence = $token WHERE fence <= $token RETURNING v; release; \
             window; lease; stall; UPDATE t SET v = $1, fence = $token WHERE fence <= $token; \
             release"
        }
    }
}

/// Under `--lock lease:TTL` (and `--fencing`), Redis: the lease is the key `k_lease`, the
/// tokens and the newest token seen are fields of the hash `k_fence`.
fn redis_leased(each_access: bool, fenced: bool) -> &'static str {
    match (each_access, fenced) {
        (false, false) => {
            "SET k_lease id NX PX TTL (again until OK); GET k; window; stall; SET k read+1 \
             XX KEEPTTL; release: DEL k_lease if it still holds id (a script)"
        }
        (false, true) => {
            "script: SET k_lease NX PX TTL, then its token HINCRBY k_fence tokens 1; script: \
             refused if k_fence's fence > token, else fence = token and GET k; window; stall; \
             script: the same check, then SET k read+1 XX KEEPTTL (refused: fenced, the \
             increment tried again under a new lease); release"
        }
        (true, false) => {
            "SET k_lease id NX PX TTL; GET k; release; window; SET k_lease id NX PX TTL; \
             stall; SET k read+1 XX KEEPTTL; release"
        }
        (true, true) => {
            "lease and token; fenced GET k; release; window; lease and token; stall; fenced \
             SET k read+1; release"
        }
    }
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
        // Listed by the store's own `leased` statements, when it has leases.
        InDatabase::Leased { .. } => "",
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
        // Listed by the store's own `leased` statements, when it has leases.
        InDatabase::Leased { .. } => "",
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
        // Listed by the store's own `leased` statements, when it has leases.
        InDatabase::Leased { .. } => "",
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
        InDatabase::Leased { .. } => "",
    }
}
