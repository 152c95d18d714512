//! Reading a profile: every copy the places of this mode hold, the newest
//! chosen, and the others put right under the profile's lock (one truth
//! per profile; new tokens waiting in the recovery file moved home).

use super::lock::FileLock;
use super::{Loaded, ProfileStore, StoreError, StoreKind, Stored, Stores, Warning, into_error};
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileName};
use std::collections::BTreeSet;

/// Every copy of one profile that could be read.
struct Copies {
    found: Vec<Stored>,
    /// Set when the keyring did not answer (and the file took over).
    keyring_down: bool,
}

impl Stores {
    fn copies(&self, name: &ProfileName) -> Result<Copies> {
        let mut found = Vec::new();
        let mut keyring_down = false;
        if let Some(keyring) = &self.keyring {
            let read = match self.keyring_down.get() {
                Some(why) => Err(StoreError::Unavailable(why.clone())),
                None => keyring.read(name),
            };
            match read {
                Ok(Some(bytes)) => found.push(Stored::new(bytes, StoreKind::Keyring)),
                Ok(None) => {}
                Err(StoreError::Unavailable(why)) => {
                    self.fall_back_from_keyring(&why)?;
                    keyring_down = true;
                }
                Err(StoreError::Failed(e)) => return Err(e),
            }
        }
        if let Some(file) = &self.file
            && let Some(bytes) = file.read(name).map_err(into_error)?
        {
            found.push(Stored::new(bytes, StoreKind::File));
        }
        if let Some(bytes) = self.recovery.read(name).map_err(into_error)? {
            found.push(Stored::new(bytes, StoreKind::Recovery));
        }
        Ok(Copies {
            found,
            keyring_down,
        })
    }

    /// The newest copy; an error when the newest is in a keyring that does
    /// not answer.
    fn pick(&self, name: &ProfileName, copies: &Copies) -> Result<Option<Stored>> {
        let best = copies.found.iter().max_by_key(|c| c.rank()).cloned();
        if copies.keyring_down
            && let Some(&in_keyring) = self.index.entries().get(name)
            && best
                .as_ref()
                .is_none_or(|b| b.updated_at.unwrap_or(i64::MIN) < in_keyring)
        {
            let why = self.keyring_down.get().cloned().unwrap_or_default();
            return Err(self.unavailable(&format!(
                "{} is kept in the keyring, which does not answer: {why}",
                self.id_of(name)
            )));
        }
        Ok(best)
    }

    fn needs_reconcile(copies: &Copies) -> bool {
        copies.found.len() > 1 || copies.found.iter().any(|c| c.store == StoreKind::Recovery)
    }

    /// The newest copy of a profile. When copies disagree, or new tokens
    /// wait in the recovery file, they are put right first (under the lock).
    pub fn read(&self, name: &ProfileName) -> Result<Option<Stored>> {
        let copies = self.copies(name)?;
        if !Self::needs_reconcile(&copies) {
            return self.pick(name, &copies);
        }
        self.lock(name)?.read()
    }

    /// [`Stores::read`] for a caller that holds the profile's lock.
    pub(super) fn read_locked(
        &self,
        name: &ProfileName,
        _held: &FileLock,
    ) -> Result<Option<Stored>> {
        let copies = self.copies(name)?;
        let Some(best) = self.pick(name, &copies)? else {
            return Ok(None);
        };
        if Self::needs_reconcile(&copies) {
            return Ok(Some(self.reconcile(name, &copies, best)));
        }
        Ok(Some(best))
    }

    /// Loads an OAuth profile; an unusable one is an error that says how to
    /// log in again.
    pub fn load(&self, name: &ProfileName) -> Result<Option<Loaded>> {
        self.read(name)?.map(|s| self.parse(name, s)).transpose()
    }

    /// [`Stores::load`] for a caller that holds the profile's lock.
    pub(super) fn load_locked(
        &self,
        name: &ProfileName,
        held: &FileLock,
    ) -> Result<Option<Loaded>> {
        self.read_locked(name, held)?
            .map(|s| self.parse(name, s))
            .transpose()
    }

    fn parse(&self, name: &ProfileName, stored: Stored) -> Result<Loaded> {
        match Profile::from_json(&stored.bytes) {
            Ok(profile) => Ok(Loaded { profile, stored }),
            Err(why) => Err(Error::needs_login(format!(
                "the stored profile {} in the {} is unusable: {why}",
                name.profile_id(),
                self.describe(stored.store, name)
            ))
            .with_fix(crate::fix::login(name, None))),
        }
    }

    /// Makes the newest copy the only one, in its proper store. Best
    /// effort: what cannot be done now is done by a later run.
    fn reconcile(&self, name: &ProfileName, copies: &Copies, best: Stored) -> Stored {
        self.forget_cached(name);
        let mut chosen = best;
        if chosen.store == StoreKind::Recovery {
            let home = copies
                .found
                .iter()
                .map(|c| c.store)
                .filter(|s| *s != StoreKind::Recovery)
                .max_by_key(|s| *s == self.preferred())
                .unwrap_or_else(|| self.preferred());
            match self.put(home, name, &chosen.bytes, chosen.updated_at) {
                Ok(kind) => chosen.store = kind,
                Err(e) => self.warn(Warning::RecoveryWaiting {
                    profile_id: self.id_of(name),
                    place: self.describe(StoreKind::Recovery, name),
                    why: e.message,
                }),
            }
        }
        for stale in copies.found.iter().filter(|c| c.store != chosen.store) {
            let Some(place) = self.place(stale.store) else {
                continue;
            };
            let removed = place.remove(name);
            if removed.is_ok() && stale.store == StoreKind::Keyring {
                let _ = self.index.set(name, None);
            }
            if let Err(StoreError::Failed(e)) = removed {
                self.warn(Warning::StaleCopyKept { why: e.message });
            }
        }
        chosen
    }

    /// Writes to one store (falling back to the file when the keyring does
    /// not answer and there is one); returns where.
    fn put(
        &self,
        kind: StoreKind,
        name: &ProfileName,
        bytes: &[u8],
        updated_at: Option<i64>,
    ) -> Result<StoreKind> {
        if kind == StoreKind::Keyring
            && let Some(keyring) = &self.keyring
        {
            match keyring.write(name, bytes) {
                Ok(()) => {
                    self.index.set(name, Some(updated_at.unwrap_or(0)))?;
                    return Ok(StoreKind::Keyring);
                }
                Err(StoreError::Unavailable(why)) => self.fall_back_from_keyring(&why)?,
                Err(StoreError::Failed(e)) => return Err(e),
            }
        }
        let store = if kind == StoreKind::Recovery {
            &self.recovery
        } else {
            self.file_store()?
        };
        store.write(name, bytes).map_err(into_error)?;
        Ok(store.kind())
    }

    /// Names of the profiles that may exist: those in the keyring index,
    /// `default`, the files present and any waiting in the recovery folder.
    pub fn names(&self) -> Result<Vec<ProfileName>> {
        let mut names: BTreeSet<ProfileName> = BTreeSet::new();
        names.insert(ProfileName::default());
        if self.keyring.is_some() {
            names.extend(self.index.entries().into_keys());
        }
        if let Some(file) = &self.file {
            names.extend(file.names()?);
        }
        names.extend(self.recovery.names()?);
        Ok(names.into_iter().collect())
    }
}
