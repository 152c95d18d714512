//! Cross-process locks: one OS file lock per profile (and one per keyring
//! index), so only one process at a time changes a profile. The OS releases
//! a lock when its file closes, including when the process dies.

use crate::error::{Error, Result};
use crate::safe_fs::{ensure_private_dir, open_lock_file};
use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

pub const LOCK_TIMEOUT_ENV: &str = "MINIMAX_PORTAL_AUTH_LOCK_TIMEOUT_MS";
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// A cross-process lock, held as long as this value lives; dropping it (or
/// the process dying) releases it.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Takes the lock named `name` under `home/locks`, waiting at most the lock
/// timeout for another process to release it.
pub fn acquire(home: &Path, name: &str) -> Result<FileLock> {
    acquire_within(home, name, lock_timeout())
}

/// Takes the lock only if nobody holds it now.
pub fn try_acquire(home: &Path, name: &str) -> Result<Option<FileLock>> {
    let (file, path) = open(home, name)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(FileLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::failed(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

fn open(home: &Path, name: &str) -> Result<(File, std::path::PathBuf)> {
    let dir = home.join("locks");
    ensure_private_dir(&dir)?;
    let path = dir.join(format!("{name}.lock"));
    Ok((open_lock_file(&path)?, path))
}

fn acquire_within(home: &Path, name: &str, timeout: Duration) -> Result<FileLock> {
    let (file, path) = open(home, name)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(Error::failed(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
        if started.elapsed() >= timeout {
            return Err(Error::transient(format!(
                "another minimax-portal-auth process has held {} for over {} s",
                path.display(),
                timeout.as_secs()
            ))
            .with_hint("wait for it to finish, or end it, then try again"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn lock_timeout() -> Duration {
    crate::env::millis(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_then_times_out() {
        let home = tempfile::tempdir().unwrap();
        let first = acquire(home.path(), "p").unwrap();
        let err = acquire_within(home.path(), "p", Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.class, crate::error::Class::Transient);
        assert!(try_acquire(home.path(), "p").unwrap().is_none());
        drop(first);
        assert!(acquire(home.path(), "p").is_ok());
    }
}
