//! Removing: a profile from every place (logout), and the temporary files
//! a crash left (adopting a complete newer one as the recovery file).

use super::lock::{self, FileLock};
use super::{ProfileStore, StoreError, StoreKind, Stored, Stores, file, into_error};
use crate::error::{Error, Result};
use crate::profile::ProfileName;
use crate::safe_fs;
use std::path::PathBuf;

impl Stores {
    /// Removes a profile from every place this mode uses; returns where it
    /// was. A keyring that does not answer is an error (exit 5) after the
    /// rest was removed, and the index keeps its entry.
    pub(super) fn delete(&self, name: &ProfileName, held: &FileLock) -> Result<Vec<StoreKind>> {
        self.forget_cached(name);
        self.sweep(name, held, false);
        let mut removed = Vec::new();
        let mut keyring_error = None;
        if let Some(keyring) = &self.keyring {
            let listed = self.index.entries().contains_key(name);
            let result = match self.keyring_down.get() {
                Some(why) => Err(StoreError::Unavailable(why.clone())),
                None => keyring.remove(name),
            };
            match result {
                Ok(was) => {
                    if was {
                        removed.push(StoreKind::Keyring);
                    }
                    self.index.set(name, None)?;
                }
                // Never in a keyring that is away: the file store is the truth.
                Err(StoreError::Unavailable(_)) if self.file.is_some() && !listed => {}
                Err(StoreError::Unavailable(why)) => keyring_error = Some(self.unavailable(&why)),
                Err(StoreError::Failed(e)) => keyring_error = Some(e),
            }
        }
        if let Some(file) = &self.file
            && file.remove(name).map_err(into_error)?
        {
            removed.push(StoreKind::File);
        }
        if self.recovery.remove(name).map_err(into_error)? {
            removed.push(StoreKind::Recovery);
        }
        match keyring_error {
            Some(e) => Err(Error {
                message: format!(
                    "the keyring copy of {} could not be removed: {}",
                    self.id_of(name),
                    e.message
                ),
                ..e
            }),
            None => Ok(removed),
        }
    }

    /// Clears temporary files a crash left for `name`. A complete one newer
    /// than the recovery file is kept as the recovery file (a kill between
    /// writing new tokens and the rename must not lose them), unless
    /// `adopt` is false (logout).
    pub(super) fn sweep(&self, name: &ProfileName, _held: &FileLock, adopt: bool) {
        let mut leftovers = safe_fs::leftover_temp_files(&self.file_folder.path_of(name));
        leftovers.extend(safe_fs::leftover_temp_files(&self.recovery.path_of(name)));
        let mut newest: Option<(i64, PathBuf)> = None;
        if adopt {
            let floor = self
                .recovery
                .read(name)
                .ok()
                .flatten()
                .and_then(|b| Stored::new(b, StoreKind::Recovery).updated_at)
                .unwrap_or(i64::MIN);
            for path in &leftovers {
                let stamp = safe_fs::read_capped(path, file::MAX_FILE_BYTES)
                    .ok()
                    .flatten()
                    .and_then(|b| Stored::new(b, StoreKind::Recovery).updated_at);
                if let Some(at) = stamp
                    && at > floor
                    && newest.as_ref().is_none_or(|(n, _)| at > *n)
                {
                    newest = Some((at, path.clone()));
                }
            }
        }
        if let Some((_, path)) = &newest {
            let target = self.recovery.path_of(name);
            if safe_fs::ensure_private_dir(target.parent().unwrap_or(&self.home)).is_ok() {
                let _ = std::fs::rename(path, &target);
            }
        }
        for path in leftovers {
            if newest.as_ref().is_none_or(|(_, kept)| *kept != path) {
                let _ = safe_fs::remove_file(&path);
            }
        }
    }

    /// Sweeps the leftovers of every profile nobody is working on now.
    pub fn sweep_all(&self) {
        let mut names = self.file_folder.names_with_leftovers();
        names.extend(self.recovery.names_with_leftovers());
        for name in names {
            if let Ok(Some(held)) = lock::try_acquire(&self.home, &self.lock_name(&name)) {
                self.sweep(&name, &held, true);
            }
        }
        self.index.sweep();
    }
}
