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
//! Stores deal in bytes and names; they know nothing of HTTP.

pub mod file;
pub mod index;
pub mod kcache;
pub mod keyring;
pub mod lock;
#[cfg(test)]
pub mod memory;
pub mod warning;

use crate::error::{Class, Error, Result};
use crate::profile::{Profile, ProfileName};
use crate::redact::SecretBytes;
use crate::safe_fs::{self, PreparedFile};
use file::FileStore;
use index::KeyringIndex;
use kcache::{Cached, KernelCache};
use keyring::KeyringStore;
use lock::FileLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
pub use warning::Warning;

/// Where profiles may be kept, as `--store`, MINIMAX_PORTAL_AUTH_STORE or
/// `store` in config.toml says (`settings::store_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    /// The OS keyring; a 0600 file only when no keyring answers (with a warning)
    Auto,
    /// Only the OS keyring
    Keyring,
    /// Only the plain-text 0600 file under the state folder
    File,
}

impl StoreMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::Auto => "auto",
            StoreMode::Keyring => "keyring",
            StoreMode::File => "file",
        }
    }
}

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

/// Where a save ended up, and what the user should know about it.
#[derive(Debug)]
pub struct Saved {
    pub store: StoreKind,
    pub warning: Option<Warning>,
}

/// A save proven possible ([`Locked::prepare_save`]), waiting for its
/// content; [`Locked::commit`] writes it and never drops it silently.
pub struct PreparedSave {
    target: StoreKind,
    prepared: Prepared,
    /// For keyring saves: the recovery file, written first, so a crash or a
    /// stalled keyring between the answer and the save loses nothing.
    journal: Option<PreparedFile>,
}

/// Every copy of one profile that could be read.
struct Copies {
    found: Vec<Stored>,
    /// Set when the keyring did not answer (and the file took over).
    keyring_down: bool,
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
        stores.kcache = kernel_cache(provider, home);
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

    /// "keyring (Secret Service)", "file /path/default.json", ...
    /// The id of profile `name` of this store's provider (`PROVIDER:NAME`).
    pub fn id_of(&self, name: &ProfileName) -> String {
        name.id_for(self.provider)
    }

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

    /// Locks one profile against other processes (refresh, login, logout)
    /// and hands out the only way to change it: every write goes through
    /// the guard. `.` cannot occur in a provider or a profile name, so
    /// names never clash.
    pub fn lock(&self, name: &ProfileName) -> Result<Locked<'_>> {
        let lock = lock::acquire(&self.home, &self.lock_name(name))?;
        Ok(self.locked(name, lock))
    }

    fn locked(&self, name: &ProfileName, lock: FileLock) -> Locked<'_> {
        Locked {
            stores: self,
            name: name.clone(),
            lock,
        }
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

    // ------------------------------------------------------- kernel cache --

    /// The kernel cache's entry for `name` in this state folder, if the
    /// cache is in use and has one. Not in `file` mode, where the file is
    /// as fast and a person may replace it by hand.
    ///
    /// The entry stands for the keyring copy: while a recovery file or (in
    /// `auto`) a plain copy exists, one of those may be the newest, so the
    /// store decides (two `lstat`s, no read).
    pub fn cached(&self, name: &ProfileName) -> Option<Cached> {
        self.keyring.as_ref()?;
        let cache = self.kcache.as_ref().ok()?;
        let mut others = vec![self.recovery.path_of(name)];
        if let Some(file) = &self.file {
            others.push(file.path_of(name));
        }
        let absent = |path: &PathBuf| {
            std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        };
        if !others.iter().all(absent) {
            return None;
        }
        cache.get(name)
    }

    /// The profile's lock, taken without waiting, when the cache is in use
    /// and could be warmed from a read made under it.
    pub fn lock_for_warming(&self, name: &ProfileName) -> Option<Locked<'_>> {
        if self.keyring.is_none() || self.kcache.is_err() {
            return None;
        }
        let lock = lock::try_acquire(&self.home, &self.lock_name(name))
            .ok()
            .flatten()?;
        Some(self.locked(name, lock))
    }

    /// Puts a profile read under its lock (`held`) into the kernel cache.
    fn warm_cache(&self, name: &ProfileName, profile: &Profile, _held: &FileLock) {
        if let Ok(cache) = &self.kcache {
            cache.put(name, profile, crate::profile::now_ms());
        }
    }

    fn forget_cached(&self, name: &ProfileName) {
        if let Ok(cache) = &self.kcache {
            cache.remove(name);
        }
    }

    /// Whether `token` is served from the kernel keyring cache, for
    /// `status` and `doctor`: "on", or "off (why)".
    pub fn kernel_cache_state(&self) -> String {
        match &self.kcache {
            Err(why) => format!("off ({why})"),
            Ok(_) if self.keyring.is_none() => "off (the file store needs none)".to_string(),
            Ok(cache) if !cache.works() => "off (no kernel keyring answers)".to_string(),
            Ok(_) => "on (kernel user keyring)".to_string(),
        }
    }

    // ------------------------------------------------------------ reading --

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
    fn read_locked(&self, name: &ProfileName, _held: &FileLock) -> Result<Option<Stored>> {
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
    fn load_locked(&self, name: &ProfileName, held: &FileLock) -> Result<Option<Loaded>> {
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

    // ------------------------------------------------------------ writing --

    /// Proves that saving `name` will work, before anything irreversible
    /// (a refresh token spent, a login approved) depends on it. `current` is
    /// the copy being replaced; the new one goes to the same store.
    fn prepare_save(
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

    /// Saves new content where [`Locked::prepare_save`] said. New tokens are
    /// never dropped silently: when their store fails now, they go to the
    /// recovery file (moved into the store by a later run) and the warning
    /// says so; only when that fails too is it an error.
    ///
    /// The kernel cache's entry goes before the store is touched and comes
    /// back, describing what was saved, only once the save worked
    /// (`kcache.rs` says why that keeps it never older than the store).
    fn commit(
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
            cache.put(name, &profile, crate::profile::now_ms());
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

    /// Removes a profile from every place this mode uses; returns where it
    /// was. A keyring that does not answer is an error (exit 5) after the
    /// rest was removed, and the index keeps its entry.
    fn delete(&self, name: &ProfileName, held: &FileLock) -> Result<Vec<StoreKind>> {
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

    /// Clears temporary files a crash left for `name`. A complete one newer
    /// than the recovery file is kept as the recovery file (a kill between
    /// writing new tokens and the rename must not lose them), unless
    /// `adopt` is false (logout).
    fn sweep(&self, name: &ProfileName, _held: &FileLock, adopt: bool) {
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

/// Warnings in the order given, and how many were handed out as new.
#[derive(Default)]
struct Warnings {
    given: Mutex<(Vec<Warning>, usize)>,
}

impl Warnings {
    fn push(&self, warning: Warning) {
        if let Ok(mut given) = self.given.lock() {
            given.0.push(warning);
        }
    }

    fn all(&self) -> Vec<Warning> {
        self.given.lock().map(|g| g.0.clone()).unwrap_or_default()
    }

    fn take_new(&self) -> Vec<Warning> {
        let Ok(mut given) = self.given.lock() else {
            return Vec::new();
        };
        let (list, handed) = &mut *given;
        let new = list.get(*handed..).unwrap_or_default().to_vec();
        *handed = list.len();
        new
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

fn into_error(e: StoreError) -> Error {
    match e {
        StoreError::Unavailable(why) => Error::new(Class::StoreUnavailable, why),
        StoreError::Failed(e) => e,
    }
}

fn describe_error(e: &StoreError) -> String {
    match e {
        StoreError::Unavailable(why) => why.clone(),
        StoreError::Failed(e) => e.message.clone(),
    }
}

/// The kernel cache for OAuth profiles, unless it is turned off or cannot
/// apply here.
fn kernel_cache(
    provider: &'static str,
    home: &Path,
) -> std::result::Result<KernelCache, &'static str> {
    if !cfg!(target_os = "linux") {
        return Err("only Linux needs it");
    }
    if kcache::disabled_by_env() {
        return Err("MINIMAX_PORTAL_AUTH_KERNEL_CACHE=0");
    }
    let settings = crate::settings::Settings::load_quietly(home);
    if settings.is_some_and(|s| s.kernel_cache == Some(false)) {
        return Err("kernel_cache = false in config.toml");
    }
    KernelCache::new(provider, home).ok_or("the state folder cannot be named")
}

#[cfg(test)]
mod tests;
