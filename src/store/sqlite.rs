//! `--store sqlite:PATH`: the counter is a one-row table in a SQLite file (bundled SQLite,
//! nothing to install).
//!
//! | mode | each increment |
//! |---|---|
//! | unlocked | `SELECT v`, window, `UPDATE … SET v = read + 1`, each in autocommit |
//! | per-access | `BEGIN` (deferred), `SELECT v`, window, `UPDATE`, `COMMIT` |
//! | mutex | `BEGIN IMMEDIATE` (takes the write lock first), the same |
//! | atomic | window, `UPDATE … SET v = v + 1` |
//!
//! `SQLITE_BUSY` and `SQLITE_LOCKED` are SQLite refusing a write that would lose an update (in
//! WAL mode a deferred transaction whose snapshot is stale gets `SQLITE_BUSY_SNAPSHOT`; in
//! rollback mode two readers that both want to write deadlock and one is refused): the
//! transaction is rolled back and the increment tried again, counted as a retry. A wait for the
//! write lock is a busy handler that sleeps, longer as it waits and as the crowd grows
//! ([`busy_wait`]), and gives up after a while (a counted retry).
//!
//! The parent opens a connection for each of its steps and closes it again, so that no SQLite
//! connection is open when it forks (SQLite forbids using one across fork, and its locks are
//! per process). A file racecount creates is put in WAL mode and deleted at the end; an
//! existing file keeps its journal mode, and only the run's table is created and dropped. The
//! parent's side of the counter (and the run's lock file) is [`admin`]'s.

mod admin;
pub(super) use admin::{clean, create, drop_counter};

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Attempt, Client, Db, Isolation};
use crate::model::mode::InDatabase;

/// A validated SQLite path.
#[derive(Debug, Clone)]
pub(super) struct Place {
    path: PathBuf,
}

/// Checks `sqlite:PATH` without creating anything: PATH must be an existing SQLite database
/// (or an empty file), or a new name in an existing directory.
pub(super) fn parse(url: &str, isolation: Option<Isolation>) -> Result<Place, String> {
    let path = url.split_once(':').map_or("", |(_, p)| p);
    if path.is_empty() {
        return Err("--store sqlite: needs a file name, e.g. sqlite:/tmp/lesson.db".into());
    }
    if path == ":memory:" || path.starts_with("file:") {
        return Err(format!(
            "--store sqlite:{path}: the workers are separate processes and need a file they \
             all open; give a path, e.g. sqlite:/tmp/lesson.db"
        ));
    }
    if let Some(level) = isolation.filter(|&l| l != Isolation::Serializable) {
        return Err(format!(
            "--isolation {}: SQLite runs every transaction serializable; only --isolation \
             serializable applies to sqlite:",
            level.name()
        ));
    }
    let path = PathBuf::from(path);
    match std::fs::metadata(&path) {
        Ok(meta) if !meta.is_file() => Err(format!(
            "--store sqlite:{}: is {}, not a SQLite database file",
            path.display(),
            file_kind(&meta)
        )),
        Ok(_) => check_header(&path).map(|()| Place { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if parent.is_dir() {
                Ok(Place { path })
            } else {
                Err(format!(
                    "--store sqlite:{}: the directory {} does not exist",
                    path.display(),
                    parent.display()
                ))
            }
        }
        Err(e) => Err(format!("--store sqlite:{}: {e}", path.display())),
    }
}

/// What a path that is not a regular file is, for the message that refuses it.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// An empty file or one that starts with SQLite's header; anything else is refused before
/// SQLite could touch it.
fn check_header(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut header = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut header))
        .map_err(|e| format!("--store sqlite:{}: {e}", path.display()))?;
    if header.is_empty() || header == b"SQLite format 3\0" {
        Ok(())
    } else {
        Err(format!(
            "--store sqlite:{}: is not a SQLite database",
            path.display()
        ))
    }
}

/// A worker's connection, with the mode's statements.
struct SqliteClient {
    conn: Connection,
    select: String,
    write: String,
    add: String,
}

pub(super) fn connect(place: &Place, db: &Db, procs: u32) -> Result<Box<dyn Client>, String> {
    CROWD.store(procs, Ordering::Relaxed);
    let mut conn = Connection::open_with_flags(&place.path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| e.to_string())?;
    conn.busy_handler(Some(busy_wait))
        .map_err(|e| e.to_string())?;
    let table = &db.name;
    Ok(Box::new(SqliteClient {
        conn,
        select: format!("SELECT v FROM {table}"),
        write: format!("UPDATE {table} SET v = ?1"),
        add: format!("UPDATE {table} SET v = v + 1"),
    }))
}

/// How many times SQLite may call [`busy_wait`] for one statement before the statement gives
/// up with `SQLITE_BUSY` (about a quarter of a second of sleeping with up to 20 workers, 2.5 s
/// with 200).
const BUSY_TRIES: i32 = 128;

/// How many workers race on the counter: [`busy_wait`]'s longest sleep grows with them. Set
/// once per worker process, before its connection opens.
static CROWD: AtomicU32 = AtomicU32::new(1);

/// SQLite's wait for a lock another connection holds (`count`: how many times it has been
/// called for this statement): sleep 20 µs, doubling up to [`longest_sleep`], then give up
/// after [`BUSY_TRIES`], so that the statement fails with `SQLITE_BUSY`, which the worker
/// counts as a retry. A waiter that spins or yields instead takes the CPU the holder needs to
/// finish: at -p 50 such a handler (100 yields, then 50 µs sleeps, forever) never finished a
/// trial, with two thirds of the CPU in the kernel.
fn busy_wait(count: i32) -> bool {
    if count >= BUSY_TRIES {
        return false;
    }
    let micros = (20u64 << count.clamp(0, 10)).min(longest_sleep(CROWD.load(Ordering::Relaxed)));
    std::thread::sleep(Duration::from_micros(micros));
    true
}

/// The longest sleep of a waiter for SQLite's lock, in µs, with `crowd` workers racing: 100 µs
/// a worker, from 2 ms (up to 20 workers) to 20 ms (200 and more). The waiters together then
/// wake about 10,000 times a second at most, whatever their number; with a 2 ms cap for all,
/// 100 workers beside four busy loops on 2 CPUs woke 50,000 times a second, the holder of the
/// lock waited behind them for a CPU, and a trial of 10 increments each did not finish in 60 s.
fn longest_sleep(crowd: u32) -> u64 {
    (u64::from(crowd) * 100).clamp(2_000, 20_000)
}

impl SqliteClient {
    fn read(&self) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(&self.select)?
            .query_row([], |r| r.get(0))
    }

    fn write(&self, value: i64) -> rusqlite::Result<()> {
        self.conn.prepare_cached(&self.write)?.execute([value])?;
        Ok(())
    }

    /// BEGIN, read, window, write, COMMIT; rolled back on any error.
    fn transaction(&self, begin: &str, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        let result = (|| {
            self.conn.execute_batch(begin)?;
            let v = self.read()?;
            hold();
            self.write(v + 1)?;
            self.conn.execute_batch("COMMIT")
        })();
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result.map_err(attempt)
    }
}

impl Client for SqliteClient {
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        match shape {
            InDatabase::ReadThenWrite => {
                let v = self.read().map_err(attempt)?;
                hold();
                self.write(v + 1).map_err(attempt)
            }
            InDatabase::OneTransaction => self.transaction("BEGIN", hold),
            InDatabase::Locked => self.transaction("BEGIN IMMEDIATE", hold),
            InDatabase::Add => {
                hold();
                self.conn
                    .prepare_cached(&self.add)
                    .and_then(|mut s| s.execute([]))
                    .map(drop)
                    .map_err(attempt)
            }
            // Refused before the run: this store has no lease.
            InDatabase::Leased { .. } => Err(Attempt::Failed("no lease in this store".into())),
        }
    }
}

fn attempt(e: rusqlite::Error) -> Attempt {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Attempt::Refused,
        _ => Attempt::Failed(format!("sqlite: {e}")),
    }
}
