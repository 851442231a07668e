//! A checked copy of the live database, taken while fetch, send or serve keep running.
//!
//! Copying the file is not enough: in WAL mode committed transactions (an unsubscribe, a
//! journal row) can live in `-wal` for a while before they reach the main file. SQLite's
//! online backup copies pages through a connection, so the copy holds every committed
//! transaction. It is read from one snapshot: writers carry on into the WAL and are never
//! blocked (only checkpoints wait for the copy to finish). The copy is written beside the
//! target, made a single self-contained file, checked (`integrity_check`, and the row counts
//! of the snapshot) and only then renamed onto the target, so a failed or interrupted backup
//! never leaves a half-written file under the target's name.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::Store;

/// Pages copied per step (1 MiB with 4 KiB pages): small enough that the copy yields to
/// the writers' I/O often, large enough that a big store is not copied in tiny sips.
const PAGES_PER_STEP: c_int = 256;
/// Pause between steps, leaving the disk to whoever is writing.
const PAUSE: Duration = Duration::from_millis(2);
/// How long a step may keep answering busy before the backup gives up.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target exists and replacing it was not asked for.
    #[error("{0} exists: pass --force to replace it")]
    Exists(String),
    /// The target is the database being copied.
    #[error("{0} is the database itself: give the backup another name")]
    SameFile(String),
    /// A `-wal` file lies beside the target: SQLite would replay it over the copy.
    #[error(
        "{0}-wal exists beside the target: remove it first (it would be replayed over the backup)"
    )]
    StaleWal(String),
    /// The target (or its temporary file beside it) could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Reading the database or writing the copy failed.
    #[error("backup failed: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The writers kept the database busy for too long.
    #[error("the database stayed busy for {} s; try again", BUSY_LIMIT.as_secs())]
    Busy,
    /// The copy failed `PRAGMA integrity_check`.
    #[error("the copy failed integrity_check: {0}")]
    Damaged(String),
    /// The copy holds a different number of rows than the snapshot it was taken from.
    #[error("the copy holds {copy} {table} rows, the database {snapshot}")]
    Mismatch {
        /// The table counted.
        table: &'static str,
        /// Rows in the snapshot that was copied.
        snapshot: u64,
        /// Rows in the copy.
        copy: u64,
    },
}

/// Rows in the tables a restore must not lose, as of the copied snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    /// Stored items.
    pub items: u64,
    /// Subscribers, active or not.
    pub subscribers: u64,
    /// Unsubscribed and bounced addresses.
    pub suppressions: u64,
    /// Send journal rows (one per edition and subscriber).
    pub journal: u64,
}

impl TableCounts {
    fn read(conn: &Connection) -> rusqlite::Result<TableCounts> {
        let count = |table: &str| {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0).unsigned_abs())
        };
        Ok(TableCounts {
            items: count("items")?,
            subscribers: count("subscribers")?,
            suppressions: count("suppressions")?,
            journal: count("send_journal")?,
        })
    }

    fn named(self) -> [(&'static str, u64); 4] {
        [
            ("items", self.items),
            ("subscribers", self.subscribers),
            ("suppressions", self.suppressions),
            ("send_journal", self.journal),
        ]
    }
}

/// A written and checked backup.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    /// Where it was written.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Database pages copied.
    pub pages: u64,
    /// Rows it holds, equal to the database's at the moment the copy began.
    pub counts: TableCounts,
}

impl Store {
    /// Copies the database to `target` (replacing an existing file only if `replace`) and
    /// checks the copy before it takes the target's name.
    pub fn backup_to(&self, target: &Path, replace: bool) -> Result<BackupReport, BackupError> {
        let shown = target.display().to_string();
        let write_err = |path: &Path, source| BackupError::Write {
            path: path.display().to_string(),
            source,
        };
        let is_file = target.is_file();
        if target.is_dir() {
            return Err(write_err(
                target,
                std::io::Error::other("it is a folder; give a file name"),
            ));
        }
        if is_file
            && self
                .conn
                .path()
                .is_some_and(|db| same_file(Path::new(db), target))
        {
            return Err(BackupError::SameFile(shown));
        }
        if is_file && !replace {
            return Err(BackupError::Exists(shown));
        }
        if sidecar(target, "-wal").exists() {
            return Err(BackupError::StaleWal(shown));
        }
        // A dated folder per month or per host is common in backup scripts.
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        let tmp = temp_beside(target)
            .ok_or_else(|| write_err(target, std::io::Error::other("not a file name")))?;
        let copied = self.copy_checked(&tmp);
        let placed = copied.and_then(|report| {
            place(&tmp, target, replace)?;
            Ok(BackupReport {
                file: target.to_path_buf(),
                ..report
            })
        });
        if placed.is_err() {
            for path in [
                tmp.clone(),
                sidecar(&tmp, "-journal"),
                sidecar(&tmp, "-wal"),
                sidecar(&tmp, "-shm"),
            ] {
                let _ = std::fs::remove_file(path);
            }
        }
        placed
    }

    /// Copies the database to `tmp` from one snapshot and checks the copy.
    fn copy_checked(&self, tmp: &Path) -> Result<BackupReport, BackupError> {
        // A deferred transaction's first read pins the snapshot; every step of the backup
        // then reads from it, so writes committed meanwhile neither restart the copy nor
        // leak half into it, and the counts below are exactly what the copy must hold.
        let snapshot = self.conn.unchecked_transaction()?;
        let counts = TableCounts::read(&snapshot)?;
        let mut dest = Connection::open(tmp)?;
        {
            let backup = Backup::new(&snapshot, &mut dest)?;
            let mut busy_since: Option<Instant> = None;
            loop {
                match backup.step(PAGES_PER_STEP)? {
                    StepResult::Done => break,
                    StepResult::More => busy_since = None,
                    _ => {
                        let since = *busy_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > BUSY_LIMIT {
                            return Err(BackupError::Busy);
                        }
                    }
                }
                std::thread::sleep(PAUSE);
            }
        }
        drop(snapshot);
        // The copy carries the live database's WAL flag; a backup is one file that opens
        // anywhere, even read-only (`boletin` switches it back to WAL when it opens it).
        dest.pragma_update(None, "journal_mode", "DELETE")?;
        dest.close().map_err(|(_, e)| e)?;

        let copy = Connection::open_with_flags(tmp, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let problems: Vec<String> = copy
            .prepare("PRAGMA integrity_check(20)")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        if problems != ["ok"] {
            return Err(BackupError::Damaged(problems.join("; ")));
        }
        let copied = TableCounts::read(&copy)?;
        for ((table, snapshot), (_, copy)) in counts.named().into_iter().zip(copied.named()) {
            if snapshot != copy {
                return Err(BackupError::Mismatch {
                    table,
                    snapshot,
                    copy,
                });
            }
        }
        let pages: i64 = copy.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        drop(copy);
        let bytes = std::fs::metadata(tmp)
            .map_err(|source| BackupError::Write {
                path: tmp.display().to_string(),
                source,
            })?
            .len();
        Ok(BackupReport {
            file: tmp.to_path_buf(),
            bytes,
            pages: pages.max(0).unsigned_abs(),
            counts,
        })
    }
}

/// Moves the checked copy onto `target`, durably.
fn place(tmp: &Path, target: &Path, replace: bool) -> Result<(), BackupError> {
    let write_err = |path: &Path, source| BackupError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| write_err(tmp, e))?;
    // Checked again: the copy can take a while, and someone may have written the target
    // meanwhile.
    if !replace && target.exists() {
        return Err(BackupError::Exists(target.display().to_string()));
    }
    std::fs::rename(tmp, target).map_err(|e| write_err(target, e))?;
    // The rename is only durable once the folder's entry is on disk. Folders cannot be
    // opened for syncing on every platform; there the rename is as durable as it gets.
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name (`boletin.db` → `boletin.db-wal`).
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A hidden temporary name beside `target`, unique to this process: the rename onto the
/// target stays on one filesystem.
fn temp_beside(target: &Path) -> Option<PathBuf> {
    let name = target.file_name()?.to_string_lossy();
    Some(target.with_file_name(format!(".{name}.{}.tmp", std::process::id())))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    #[test]
    fn names_beside_the_target() {
        let t = Path::new("/srv/boletin/copia.db");
        assert_eq!(sidecar(t, "-wal"), Path::new("/srv/boletin/copia.db-wal"));
        let tmp = temp_beside(t).unwrap();
        assert_eq!(tmp.parent(), t.parent());
        assert!(
            tmp.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".copia.db.")
        );
        assert!(temp_beside(Path::new("/")).is_none());
    }
}
