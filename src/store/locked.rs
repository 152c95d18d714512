//! The profile lock as the owner of every write: [`Stores::lock`] hands
//! out a [`Locked`] guard, and saving, committing, deleting and the
//! re-reads a write is based on exist only on it.

use super::lock::{self, FileLock};
use super::{Loaded, PreparedSave, Saved, StoreKind, Stored, Stores};
use crate::error::Result;
use crate::profile::{Profile, ProfileName};

impl Stores {
    /// Locks one profile against other processes (refresh, login, logout)
    /// and hands out the only way to change it: every write goes through
    /// the guard. `.` cannot occur in a provider or a profile name, so
    /// names never clash.
    pub fn lock(&self, name: &ProfileName) -> Result<Locked<'_>> {
        let lock = lock::acquire(&self.home, &self.lock_name(name))?;
        Ok(self.locked(name, lock))
    }

    pub(super) fn locked(&self, name: &ProfileName, lock: FileLock) -> Locked<'_> {
        Locked {
            stores: self,
            name: name.clone(),
            lock,
        }
    }
}

/// One profile, locked against other processes until dropped: the only way
/// to save, commit or delete it, so no write can happen without the lock.
/// Reads made through it are the re-reads a writer must base its write on.
pub struct Locked<'a> {
    stores: &'a Stores,
    name: ProfileName,
    lock: FileLock,
}

impl Locked<'_> {
    pub fn name(&self) -> &ProfileName {
        &self.name
    }

    /// The newest copy, put right first when copies disagree.
    pub fn read(&self) -> Result<Option<Stored>> {
        self.stores.read_locked(&self.name, &self.lock)
    }

    /// The OAuth profile; an unusable one is an error that says how to log
    /// in again.
    pub fn load(&self) -> Result<Option<Loaded>> {
        self.stores.load_locked(&self.name, &self.lock)
    }

    /// Clears temporary files a crash left; with `adopt`, a complete one
    /// newer than the recovery file becomes the recovery file.
    pub fn sweep(&self, adopt: bool) {
        self.stores.sweep(&self.name, &self.lock, adopt);
    }

    /// Proves that saving will work, before anything irreversible depends
    /// on it; `current` is the copy being replaced.
    pub fn prepare_save(&self, current: Option<&Stored>) -> Result<PreparedSave> {
        self.stores.prepare_save(&self.name, &self.lock, current)
    }

    /// Saves what [`Locked::prepare_save`] made ready; new tokens are never
    /// dropped silently.
    pub fn commit(&self, save: PreparedSave, bytes: &[u8], updated_at: i64) -> Result<Saved> {
        self.stores
            .commit(&self.name, &self.lock, save, bytes, updated_at)
    }

    /// Saves a whole new profile (login, API key), replacing `current`.
    pub fn save(&self, current: Option<&Stored>, bytes: &[u8], updated_at: i64) -> Result<Saved> {
        let prepared = self.prepare_save(current)?;
        self.commit(prepared, bytes, updated_at)
    }

    /// Removes the profile from every place the mode uses; returns where
    /// it was.
    pub fn delete(&self) -> Result<Vec<StoreKind>> {
        self.stores.delete(&self.name, &self.lock)
    }

    /// Puts `profile`, read through this guard, into the kernel cache.
    pub fn warm_cache(&self, profile: &Profile) {
        self.stores.warm_cache(&self.name, profile, &self.lock);
    }
}
