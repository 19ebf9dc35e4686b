//! The parent's side of a SQLite counter: remove what dead runs left, make the file if it is
//! missing, take the run's lock, create the table; reset, read and drop it.
//!
//! The run's lock is an fcntl write lock on a file beside the database,
//! `PATH-racecount_<pid>_<hex>.lock`, taken before the table exists and held by the parent
//! until the run ends; the kernel releases it however the process dies. A `racecount_*` table
//! whose lock file is missing or unlocked belongs to a run that died (or to a racecount older
//! than these locks). Why a file and not a row in the database held in an open transaction:
//! that transaction would hold SQLite's own write lock for the whole run, and the workers could
//! never write. The lock file says `created` when the run made the database file, so that the
//! file goes too once its last table of a dead run is removed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, fcntl};
use rusqlite::{Connection, OpenFlags};

use super::Place;
use crate::model::store::Facts;
use crate::store::counter::{Admin, Made, Phase};
use crate::store::stale::{Cleaned, is_run_name};

/// What a run's lock file holds when the run made the database file.
const CREATED: &str = "created\n";

/// The lock file of the run `name` beside the database at `path`.
fn lock_path(path: &Path, name: &str) -> PathBuf {
    let mut file = path.as_os_str().to_owned();
    file.push(format!("-{name}.lock"));
    PathBuf::from(file)
}

/// Takes an fcntl write lock on all of `file`, without waiting: `Ok(false)` when another
/// process holds one.
fn try_lock(file: &File) -> Result<bool, String> {
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    match fcntl(file, FcntlArg::F_SETLK(&lock)) {
        Ok(_) => Ok(true),
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => Ok(false),
        Err(e) => Err(e.desc().to_string()),
    }
}

/// Opens (or makes) the run's lock file and locks it.
fn take_lock(path: &Path, name: &str, created: bool) -> Result<File, String> {
    let lock = lock_path(path, name);
    let fail = |e: String| format!("cannot take the run's lock {}: {e}", lock.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&lock)
        .map_err(|e| fail(e.to_string()))?;
    if !try_lock(&file).map_err(fail)? {
        return Err(fail("held by another process".into()));
    }
    if created {
        file.write_all(CREATED.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(file)
}

fn open(path: &Path) -> Result<Connection, String> {
    let fail = |what: &str, e: rusqlite::Error| format!("{what} sqlite:{}: {e}", path.display());
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| fail("cannot open", e))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| fail("cannot set a busy timeout on", e))?;
    Ok(conn)
}

/// Removes what dead runs left, creates the file if needed (in WAL mode), takes the run's lock
/// and creates its table.
pub(in crate::store) fn create(place: &Place, name: &str, phase: &Phase) -> Result<Made, String> {
    phase.cleaning();
    let cleaned = clean(place)?;
    phase.creating();
    let path = &place.path;
    let created = !path.exists();
    let error = |what: &str, e: rusqlite::Error| format!("{what} sqlite:{}: {e}", path.display());
    if created {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| error("cannot create", e))?;
        conn.pragma_update(None, "journal_mode", "wal")
            .map_err(|e| error("cannot set WAL mode in", e))?;
    }
    let lock = match take_lock(path, name, created) {
        Ok(lock) => lock,
        Err(e) => {
            if created {
                delete_database(path)?;
            }
            return Err(e);
        }
    };
    let mut admin = SqliteAdmin {
        path: path.clone(),
        table: name.to_string(),
        created,
        lock: Some(lock),
    };
    let made = open(path).and_then(|conn| {
        conn.execute_batch(&format!(
            "CREATE TABLE {name} (v INTEGER NOT NULL); INSERT INTO {name} VALUES (0);"
        ))
        .map_err(|e| error("cannot create the counter table in", e))?;
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(|e| error("cannot read the journal mode of", e))?;
        Ok(journal)
    });
    match made {
        Ok(journal) => Ok(Made {
            admin: Box::new(admin),
            cleaned,
            facts: Facts {
                // SQLite runs every transaction serializable.
                isolation: Some("serializable".into()),
                journal_mode: Some(journal.to_lowercase()),
            },
        }),
        Err(e) => {
            let _ = admin.remove();
            Err(e)
        }
    }
}

/// Deletes the database file and SQLite's companions.
fn delete_database(path: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", Path::new(&file).display())),
        }
    }
    Ok(())
}

/// The runs whose lock files lie beside the database at `path`.
fn lock_files(path: &Path) -> Vec<String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Some(base) = path.file_name().map(|f| f.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let prefix = format!("{base}-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_prefix(&prefix)?.strip_suffix(".lock")?;
            is_run_name(name).then(|| name.to_string())
        })
        .collect()
}

/// The run tables of the database at `path`, if it exists.
fn run_tables(path: &Path) -> Result<Vec<String>, String> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let conn = open(path)?;
    let mut statement = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'racecount\\_%' ESCAPE '\\'")
        .map_err(|e| format!("cannot list the tables of sqlite:{}: {e}", path.display()))?;
    let names = statement
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot list the tables of sqlite:{}: {e}", path.display()))?;
    Ok(names.into_iter().filter(|n| is_run_name(n)).collect())
}

/// Removes the tables (and lock files) of dead runs; and the database file too when a dead
/// run made it and nothing else is left in it.
pub(in crate::store) fn clean(place: &Place) -> Result<Cleaned, String> {
    let path = &place.path;
    let mut names = run_tables(path)?;
    let tables = names.clone();
    names.extend(lock_files(path));
    names.sort();
    names.dedup();
    let mut cleaned = Cleaned::default();
    let mut made_by_the_dead = false;
    for name in names {
        let lock = lock_path(path, &name);
        // Held (locked) while its table is dropped, so that no other cleaner takes it too.
        let file = match OpenOptions::new().read(true).write(true).open(&lock) {
            Ok(file) => match try_lock(&file) {
                Ok(true) => Some(file),
                Ok(false) => {
                    cleaned.live += 1;
                    continue;
                }
                Err(e) => {
                    cleaned.failed.push(format!("{name} ({e})"));
                    continue;
                }
            },
            // A table without a lock file: an older racecount's.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                cleaned.failed.push(format!("{name} ({e})"));
                continue;
            }
        };
        if tables.contains(&name) {
            let dropped = open(path).and_then(|conn| {
                conn.execute_batch(&format!("DROP TABLE IF EXISTS {name}"))
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = dropped {
                cleaned.failed.push(format!("{name} ({e})"));
                continue;
            }
        }
        if let Some(mut file) = file {
            let mut said = String::new();
            let _ = file.read_to_string(&mut said);
            made_by_the_dead |= said == CREATED;
            let _ = std::fs::remove_file(&lock);
        }
        cleaned.removed.push(name);
    }
    if made_by_the_dead && cleaned.live == 0 && path.exists() && nothing_but_run_tables(path)? {
        delete_database(path)?;
    }
    Ok(cleaned)
}

/// Whether the database holds no table at all (a dead run's file, now empty).
fn nothing_but_run_tables(path: &Path) -> Result<bool, String> {
    let conn = open(path)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| format!("cannot read sqlite:{}: {e}", path.display()))?;
    Ok(tables == 0)
}

/// Drops this run's table (or the file it made) after the parent's side was given up.
pub(in crate::store) fn drop_counter(place: &Place, name: &str) -> Result<(), String> {
    let lock = lock_path(&place.path, name);
    let created = std::fs::read_to_string(&lock).is_ok_and(|said| said == CREATED);
    let mut admin = SqliteAdmin {
        path: place.path.clone(),
        table: name.to_string(),
        created,
        lock: None,
    };
    admin.remove()
}

struct SqliteAdmin {
    path: PathBuf,
    table: String,
    /// Whether this run made the database file (then the file goes at the end).
    created: bool,
    /// The run's locked lock file, while the run lives.
    lock: Option<File>,
}

impl SqliteAdmin {
    fn error(&self, what: &str, e: rusqlite::Error) -> String {
        format!("{what} sqlite:{}: {e}", self.path.display())
    }
}

impl Admin for SqliteAdmin {
    fn reset(&mut self) -> Result<(), String> {
        open(&self.path)?
            .execute(&format!("UPDATE {} SET v = 0", self.table), [])
            .map(drop)
            .map_err(|e| self.error("cannot reset the counter in", e))
    }

    fn read(&mut self) -> Result<u64, String> {
        let v: i64 = open(&self.path)?
            .query_row(&format!("SELECT v FROM {}", self.table), [], |r| r.get(0))
            .map_err(|e| self.error("cannot read the counter in", e))?;
        Ok(v as u64)
    }

    fn remove(&mut self) -> Result<(), String> {
        if self.created {
            // The whole file is racecount's: delete it and SQLite's companions.
            delete_database(&self.path)?;
        } else {
            open(&self.path)?
                .execute_batch(&format!("DROP TABLE IF EXISTS {}", self.table))
                .map_err(|e| self.error("cannot drop the counter table in", e))?;
        }
        // The lock file last, still locked: a run killed before this leaves a lock file whose
        // lock is free, and the next run removes it.
        let lock = lock_path(&self.path, &self.table);
        match std::fs::remove_file(&lock) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", lock.display())),
        }
        self.lock = None;
        Ok(())
    }
}
