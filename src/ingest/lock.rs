//! One fetch at a time per database: an advisory lock on `<db>.lock`.
//!
//! The kernel drops the lock when the holder exits, however it exits, so a run killed with
//! `kill -9` never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another boletin run holds it.
    #[error("another boletin run (pid {pid}) is using {path}; try again when it ends")]
    Held {
        /// The database the lock guards.
        path: String,
        /// Process id the holder wrote into the lock file; empty if it could not be read.
        pid: String,
    },
    /// The lock file could not be created.
    #[error("cannot create lock file {path}: {source}")]
    Io {
        /// The lock file: the database path with `.lock` appended.
        path: String,
        /// Why it could not be created, opened, locked or written.
        source: std::io::Error,
    },
}

/// Held while alive.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock for the database at `db`, failing at once if it is held.
    pub fn acquire(db: &Path) -> Result<RunLock, LockError> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let shown = path.display().to_string();
        let io = |source| LockError::Io {
            path: shown.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(LockError::Held {
                    path: db.display().to_string(),
                    pid: pid.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(RunLock { _file: file })
    }
}
