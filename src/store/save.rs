//! Saving a profile: proving first that the save can work (save before
//! spend), then writing it, with the recovery file as a journal for the
//! keyring and as the last place new tokens go; never dropped silently.

use super::lock::FileLock;
use super::{Prepared, ProfileStore, StoreError, StoreKind, Stored, Stores, Warning, into_error};
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileName};
use crate::safe_fs::PreparedFile;

/// Where a save ended up, and what the user should know about it.
#[derive(Debug)]
pub struct Saved {
    pub store: StoreKind,
    pub warning: Option<Warning>,
}

/// A save proven possible ([`Locked::prepare_save`]), waiting for its
/// content; [`Locked::commit`] writes it and never drops it silently.
///
/// [`Locked::prepare_save`]: super::Locked::prepare_save
/// [`Locked::commit`]: super::Locked::commit
pub struct PreparedSave {
    target: StoreKind,
    prepared: Prepared,
    /// For keyring saves: the recovery file, written first, so a crash or a
    /// stalled keyring between the answer and the save loses nothing.
    journal: Option<PreparedFile>,
}

impl Stores {
    /// Proves that saving `name` will work, before anything irreversible
    /// (a refresh token spent, a login approved) depends on it. `current` is
    /// the copy being replaced; the new one goes to the same store.
    pub(super) fn prepare_save(
        &self,
        name: &ProfileName,
        _held: &FileLock,
        current: Option<&Stored>,
    ) -> Result<PreparedSave> {
        let size = current.map_or(0, |c| c.bytes.len()) + 4096;
        let target = match current.map(|c| c.store) {
            None | Some(StoreKind::Recovery) => self.preferred(),
            Some(kind) => kind,
        };
        if target == StoreKind::Keyring
            && let Some(keyring) = &self.keyring
        {
            let in_keyring = current
                .filter(|c| c.store == StoreKind::Keyring)
                .map(|c| &c.bytes[..]);
            match keyring.prepare(name, in_keyring, size) {
                Ok(prepared) => {
                    let journal = PreparedFile::prepare(&self.recovery.path_of(name), size)?;
                    return Ok(PreparedSave {
                        target,
                        prepared,
                        journal: Some(journal),
                    });
                }
                Err(StoreError::Unavailable(why)) => self.fall_back_from_keyring(&why)?,
                Err(StoreError::Failed(e)) => return Err(e),
            }
        }
        let prepared = self
            .file_store()?
            .prepare(name, None, size)
            .map_err(into_error)
            .map_err(|e| e.with_hint(self.save_hint()))?;
        Ok(PreparedSave {
            target: StoreKind::File,
            prepared,
            journal: None,
        })
    }

    fn save_hint(&self) -> String {
        format!(
            "free some disk space and check that {} is writable; nothing was changed",
            self.home.display()
        )
    }

    /// Saves new content where `prepare_save` said. New tokens are
    /// never dropped silently: when their store fails now, they go to the
    /// recovery file (moved into the store by a later run) and the warning
    /// says so; only when that fails too is it an error.
    ///
    /// The kernel cache's entry goes before the store is touched and comes
    /// back, describing what was saved, only once the save worked
    /// (`kcache.rs` says why that keeps it never older than the store).
    pub(super) fn commit(
        &self,
        name: &ProfileName,
        _held: &FileLock,
        save: PreparedSave,
        bytes: &[u8],
        updated_at: i64,
    ) -> Result<Saved> {
        self.forget_cached(name);
        let saved = self.commit_to_store(name, save, bytes, updated_at)?;
        if let (Ok(cache), Ok(profile)) = (&self.kcache, Profile::from_json(bytes)) {
            cache.put(name, &profile, crate::clock::now_ms());
        }
        Ok(saved)
    }

    fn commit_to_store(
        &self,
        name: &ProfileName,
        save: PreparedSave,
        bytes: &[u8],
        updated_at: i64,
    ) -> Result<Saved> {
        // `prepare_save` only targets a store this mode uses.
        let Some(store) = self.place(save.target) else {
            return self.rescue(name, bytes, "its store is not in use");
        };
        if save.target == StoreKind::File {
            return match store.commit(name, save.prepared, bytes) {
                Ok(()) => {
                    let _ = self.recovery.remove(name);
                    Ok(Saved {
                        store: StoreKind::File,
                        warning: None,
                    })
                }
                Err(e) => self.rescue(name, bytes, &describe_error(&e)),
            };
        }
        let journaled = match save.journal {
            Some(journal) => journal.commit(bytes).is_ok(),
            None => false,
        };
        match store.commit(name, save.prepared, bytes) {
            Ok(()) => Ok(self.kept_in_keyring(name, updated_at)),
            Err(e) => self.refused_by_keyring(name, bytes, journaled, &describe_error(&e)),
        }
    }

    /// After the keyring took a save: the index says so, and the recovery
    /// file and an older plain-text copy (in `auto`) go.
    fn kept_in_keyring(&self, name: &ProfileName, updated_at: i64) -> Saved {
        if let Err(e) = self.index.set(name, Some(updated_at)) {
            self.warn(Warning::IndexNotUpdated { why: e.message });
        }
        let _ = self.recovery.remove(name);
        if let Some(file) = &self.file {
            // One truth per profile: drop an older plain-text copy.
            let _ = file.remove(name);
        }
        Saved {
            store: StoreKind::Keyring,
            warning: None,
        }
    }

    /// The keyring refused a save (`why`): the file store takes it when
    /// there is one (`auto`); else the recovery file keeps it, `journaled`
    /// when it already does.
    fn refused_by_keyring(
        &self,
        name: &ProfileName,
        bytes: &[u8],
        journaled: bool,
        why: &str,
    ) -> Result<Saved> {
        if let Some(file) = &self.file
            && file.write(name, bytes).is_ok()
        {
            let _ = self.recovery.remove(name);
            self.note_keyring_down(why);
            return Ok(Saved {
                store: StoreKind::File,
                warning: Some(Warning::SavedInFileInstead {
                    why: why.to_string(),
                    place: self.describe(StoreKind::File, name),
                }),
            });
        }
        if journaled {
            return Ok(Saved {
                store: StoreKind::Recovery,
                warning: Some(self.recovery_note(name, why)),
            });
        }
        self.rescue(name, bytes, why)
    }

    /// The last place new tokens can go: the recovery file.
    fn rescue(&self, name: &ProfileName, bytes: &[u8], why: &str) -> Result<Saved> {
        match self.recovery.write(name, bytes) {
            Ok(()) => Ok(Saved {
                store: StoreKind::Recovery,
                warning: Some(self.recovery_note(name, why)),
            }),
            Err(e) => Err(Error::failed(format!(
                "the portal issued new tokens for {}, but they could not be saved \
                 ({why}; recovery file: {}). The previous refresh token may no longer work.",
                self.id_of(name),
                describe_error(&e)
            ))
            .with_fix(crate::fix::login(name, None))),
        }
    }

    fn recovery_note(&self, name: &ProfileName, why: &str) -> Warning {
        Warning::SavedInRecovery {
            why: why.to_string(),
            place: self.describe(StoreKind::Recovery, name),
        }
    }
}

fn describe_error(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(why) => why.clone(),
        StoreError::Failed(e) => e.message.clone(),
    }
}
