//! Where profiles live: the OS keyring, a plain file, or `auto` (the
//! keyring, falling back to the file only when no keyring answers), plus a
//! recovery file for tokens that could not be saved where they belong.
//!
//! Backends sit behind one trait, [`ProfileStore`]; [`Stores`] is the one
//! way in for everything else. Its rules:
//! - one truth per profile: when copies exist in several places, the newest
//!   `updated_at` wins and the others are removed (under the profile lock);
//! - save before spend: [`Locked::prepare_save`] proves a save can succeed
//!   before a refresh token is spent, and [`Locked::commit`] never drops new
//!   tokens silently (recovery file, else a plain error);
//! - in `auto`, a keyring that does not answer is an error (exit 5) whenever
//!   the index says the newest copy is in there.
//!
//! Stores deal in bytes and names; they know nothing of HTTP, and print
//! nothing: what the user should know is a [`Warning`].
//!
//! Here: the types, the backend trait, and `Stores` itself (the places
//! chosen at open). Each job on top has its file: `copies.rs` reads and
//! reconciles, `save.rs` prepares and commits, `cleanup.rs` deletes and
//! sweeps, `locked.rs` is the lock guard every write goes through,
//! `cache.rs` how the kernel cache is used, `warning.rs` the warnings.

mod cache;
mod cleanup;
mod copies;
pub mod file;
mod from_manifest;
pub mod index;
pub mod kcache;
pub mod keyring;
pub mod lock;
mod locked;
#[cfg(test)]
pub mod memory;
mod save;
pub mod warning;

use crate::error::{Class, Error, Result};
use crate::profile::{Profile, ProfileName};
use crate::redact::SecretBytes;
use crate::safe_fs::{self, PreparedFile};
pub use crate::settings::StoreMode;
use file::FileStore;
use index::KeyringIndex;
use kcache::KernelCache;
use keyring::KeyringStore;
pub use locked::Locked;
pub use save::{PreparedSave, Saved};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
pub use warning::Warning;
use warning::Warnings;

/// Which place holds a copy of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    File,
    /// New tokens that could not be saved in their store yet.
    Recovery,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
            StoreKind::Recovery => "recovery",
        }
    }
}

/// Why a backend could not do what was asked.
#[derive(Debug)]
pub enum StoreError {
    /// No keyring answered, it is locked, or it timed out.
    Unavailable(String),
    /// The store answered, but the operation failed.
    Failed(Error),
}

/// What [`ProfileStore::prepare`] proved: a `commit` for the same profile
/// should now succeed.
pub enum Prepared {
    /// A temporary file, already created with room reserved.
    File(PreparedFile),
    /// The store answered and took a write just now.
    Checked,
}

/// One place that keeps profiles as bytes, by name.
pub trait ProfileStore: Send + Sync {
    fn kind(&self) -> StoreKind;
    fn read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>, StoreError>;
    fn write(&self, name: &ProfileName, bytes: &[u8]) -> Result<(), StoreError>;
    /// Removes the profile; false when there was none.
    fn remove(&self, name: &ProfileName) -> Result<bool, StoreError>;
    /// Proves now that a later write of about `size_hint` bytes will
    /// succeed; `current` is what the store holds for the profile, if
    /// anything. By default it proves the store answers and takes writes
    /// now: it stores the current profile again (same content), or, for a
    /// new one, reads.
    fn prepare(
        &self,
        name: &ProfileName,
        current: Option<&[u8]>,
        size_hint: usize,
    ) -> Result<Prepared, StoreError> {
        let _ = size_hint;
        match current {
            Some(bytes) => self.write(name, bytes)?,
            None => {
                self.read(name)?;
            }
        }
        Ok(Prepared::Checked)
    }
    /// Writes what `prepare` made ready: a prepared file takes the bytes,
    /// a checked store is written.
    fn commit(
        &self,
        name: &ProfileName,
        prepared: Prepared,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        match prepared {
            Prepared::File(file) => file.commit(bytes).map_err(StoreError::Failed),
            Prepared::Checked => self.write(name, bytes),
        }
    }
}

/// One stored copy of a profile, as bytes (not yet decoded), with the place
/// it came from and its `updated_at`, by which copies are ranked.
#[derive(Debug, Clone)]
pub struct Stored {
    pub bytes: SecretBytes,
    pub store: StoreKind,
    /// When this copy was written, epoch ms; None when it cannot be read.
    pub updated_at: Option<i64>,
}

impl Stored {
    fn new(bytes: Vec<u8>, store: StoreKind) -> Stored {
        #[derive(Deserialize)]
        struct Stamp {
            updated_at: i64,
        }
        let updated_at = serde_json::from_slice::<Stamp>(&bytes)
            .ok()
            .map(|s| s.updated_at);
        Stored {
            bytes: SecretBytes(bytes),
            store,
            updated_at,
        }
    }

    /// Newest first; on a tie a store copy beats the recovery file.
    fn rank(&self) -> (i64, u8) {
        let place = match self.store {
            StoreKind::Keyring => 2,
            StoreKind::File => 1,
            StoreKind::Recovery => 0,
        };
        (self.updated_at.unwrap_or(i64::MIN), place)
    }
}

/// An OAuth profile as loaded: decoded and checked ([`Profile::from_json`]),
/// with the stored copy it came from (the newest there was).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub profile: Profile,
    pub stored: Stored,
}

/// The one way to profiles: reads, saves, locks and removes them across the
/// keyring, the file and the recovery file by the rules above (one truth
/// per profile, save before spend, no silent fallback from a keyring that
/// holds the newest copy). One `Stores` serves one provider's profiles.
///
/// Which places hold profiles is chosen once, at open, from the mode (as a
/// keyring-first storage with a file fallback would be): `keyring` uses the
/// keyring alone, `file` the file alone, `auto` both, the file taking over
/// only when the keyring does not answer. After that nothing asks the
/// mode: a keyring that does not answer falls back exactly when there is a
/// file store to fall back to.
pub struct Stores {
    /// The mode asked for, as `status` and `doctor` show it.
    mode: StoreMode,
    provider: &'static str,
    home: PathBuf,
    /// The OS keyring; None in `file` mode.
    keyring: Option<Box<dyn ProfileStore>>,
    /// The plain-text file store; None in `keyring` mode.
    file: Option<FileStore>,
    /// The file store's folder, whatever the mode: where its paths are,
    /// and swept of crash leftovers in every mode (new tokens a file-mode
    /// run left before its rename must survive a change of mode).
    file_folder: FileStore,
    recovery: FileStore,
    index: KeyringIndex,
    /// Set once the keyring failed to answer, so it is asked only once.
    keyring_down: OnceLock<String>,
    warnings: Warnings,
    /// The kernel-keyring cache of OAuth profiles (`kcache.rs`), or why not.
    kcache: std::result::Result<KernelCache, &'static str>,
}

impl Stores {
    /// The stores of OAuth profiles (provider `minimax-portal`).
    pub fn open(mode: StoreMode, home: &Path) -> Result<Stores> {
        let provider = crate::profile::PROVIDER;
        let mut stores = Stores::open_with(
            mode,
            home,
            provider,
            "profiles",
            Box::new(KeyringStore::platform(provider)),
        )?;
        stores.kcache = cache::kernel_cache(provider, home);
        Ok(stores)
    }

    /// The stores of API-key profiles (provider `minimax`).
    pub fn open_api_keys(mode: StoreMode, home: &Path) -> Result<Stores> {
        let provider = crate::api_key::PROVIDER;
        Stores::open_with(
            mode,
            home,
            provider,
            "api-keys",
            Box::new(KeyringStore::platform(provider)),
        )
    }

    /// Stores over a given keyring backend (tests use an in-memory one).
    pub fn open_with(
        mode: StoreMode,
        home: &Path,
        provider: &'static str,
        folder: &str,
        keyring: Box<dyn ProfileStore>,
    ) -> Result<Stores> {
        safe_fs::check_private_dir(home)?;
        let files = || FileStore::new(StoreKind::File, home.join(folder), "");
        Ok(Stores {
            mode,
            provider,
            home: home.to_path_buf(),
            keyring: (mode != StoreMode::File).then_some(keyring),
            file: (mode != StoreMode::Keyring).then(files),
            file_folder: files(),
            recovery: FileStore::new(
                StoreKind::Recovery,
                home.join("recovery"),
                &format!("{provider}."),
            ),
            index: KeyringIndex::new(home.to_path_buf(), provider),
            keyring_down: OnceLock::new(),
            warnings: Warnings::default(),
            kcache: Err("not used for these profiles"),
        })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    /// The keyring's name on this platform, e.g. "Secret Service".
    pub fn keyring_backend(&self) -> &'static str {
        KeyringStore::backend_name()
    }

    /// The file that holds (or would hold) a profile in that place.
    #[cfg(test)]
    pub fn path_of(&self, kind: StoreKind, name: &ProfileName) -> Option<PathBuf> {
        match kind {
            StoreKind::Keyring => None,
            StoreKind::File => Some(self.file_folder.path_of(name)),
            StoreKind::Recovery => Some(self.recovery.path_of(name)),
        }
    }

    /// The id of profile `name` of this store's provider (`PROVIDER:NAME`).
    pub fn id_of(&self, name: &ProfileName) -> String {
        name.id_for(self.provider)
    }

    /// "keyring (Secret Service)", "file /path/default.json", ...
    pub fn describe(&self, kind: StoreKind, name: &ProfileName) -> String {
        match kind {
            StoreKind::Keyring => format!("keyring ({})", self.keyring_backend()),
            StoreKind::File => format!("file {}", self.file_folder.path_of(name).display()),
            StoreKind::Recovery => {
                format!("recovery file {}", self.recovery.path_of(name).display())
            }
        }
    }

    /// Every warning given so far, by the stores and by the session's
    /// work on their profiles. Nothing here prints them.
    pub fn warnings(&self) -> Vec<Warning> {
        self.warnings.all()
    }

    /// The warnings given since the last call: what a caller that says
    /// them has not said yet.
    pub fn new_warnings(&self) -> Vec<Warning> {
        self.warnings.take_new()
    }

    /// Records a warning about these profiles (the session adds its own).
    pub fn warn(&self, warning: Warning) {
        self.warnings.push(warning);
    }

    fn lock_name(&self, name: &ProfileName) -> String {
        format!("{}.{name}", self.provider)
    }

    /// Asks the keyring for something harmless, to see whether it answers.
    pub fn probe_keyring(&self) -> std::result::Result<(), String> {
        let Some(keyring) = &self.keyring else {
            return Err("the file store is in use".to_string());
        };
        match keyring.read(&ProfileName::default()) {
            Ok(_) => Ok(()),
            Err(StoreError::Unavailable(why)) => Err(why),
            Err(StoreError::Failed(e)) => Err(e.message),
        }
    }

    /// Records that the keyring does not answer (once per process): a
    /// [`Warning::KeyringDown`], which the command line turns into its
    /// once-per-state-folder notice.
    fn note_keyring_down(&self, why: &str) {
        if self.keyring_down.set(why.to_string()).is_ok() {
            self.warn(Warning::KeyringDown {
                why: why.to_string(),
            });
        }
    }

    /// The keyring did not answer (`why`): the file store takes over when
    /// there is one (`auto`), else it is an error (exit 5).
    fn fall_back_from_keyring(&self, why: &str) -> Result<()> {
        if self.file.is_none() {
            return Err(self.unavailable(why));
        }
        self.note_keyring_down(why);
        Ok(())
    }

    fn unavailable(&self, why: &str) -> Error {
        Error::new(Class::StoreUnavailable, why.to_string()).with_hint(format!(
            "unlock or start your keyring ({}), or use --store file",
            match self.keyring_backend() {
                "Secret Service" => "on Linux: gnome-keyring or KeePassXC",
                other => other,
            }
        ))
    }

    /// The store behind a kind of copy, if this mode uses it.
    fn place(&self, kind: StoreKind) -> Option<&dyn ProfileStore> {
        match kind {
            StoreKind::Keyring => self.keyring.as_deref(),
            StoreKind::File => self.file.as_ref().map(|f| f as &dyn ProfileStore),
            StoreKind::Recovery => Some(&self.recovery),
        }
    }

    /// The file store, where the keyring's absence or silence sent a
    /// profile (only when there is one: `fall_back_from_keyring`).
    fn file_store(&self) -> Result<&FileStore> {
        self.file.as_ref().ok_or_else(|| {
            Error::failed("the file store is not used with --store keyring".to_string())
        })
    }

    /// Where a profile goes when it has no home yet: the keyring, unless
    /// there is none or it did not answer.
    fn preferred(&self) -> StoreKind {
        match &self.keyring {
            Some(_) if self.file.is_none() || self.keyring_down.get().is_none() => {
                StoreKind::Keyring
            }
            _ => StoreKind::File,
        }
    }
}

fn into_error(e: StoreError) -> Error {
    match e {
        StoreError::Unavailable(why) => Error::new(Class::StoreUnavailable, why),
        StoreError::Failed(e) => e,
    }
}

#[cfg(test)]
mod tests;
