//! Where profiles live: the OS keyring, a plain file, or `auto` (the
//! keyring, falling back loudly to the file only when no keyring answers).
//! Stores deal in bytes and names; they know nothing of HTTP.

pub mod file;
pub mod keyring;

use crate::error::{Class, Error, Result};
use crate::lock;
use crate::profile::{Profile, ProfileName};
use file::FileStore;
use keyring::{KeyringError, KeyringStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreMode {
    /// The OS keyring; a 0600 file only when no keyring answers (with a warning)
    Auto,
    /// Only the OS keyring
    Keyring,
    /// Only the plain-text 0600 file under the state folder
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    File,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Keyring => "keyring",
            StoreKind::File => "file",
        }
    }
}

pub struct Stores {
    mode: StoreMode,
    /// Keyring accounts are `<provider>:<name>`.
    provider: &'static str,
    home: PathBuf,
    keyring: KeyringStore,
    file: FileStore,
    /// Set once the keyring failed to answer, so `auto` asks it only once.
    keyring_down: OnceLock<String>,
    warnings: Mutex<Vec<String>>,
}

impl Stores {
    /// The stores of OAuth profiles (provider `minimax-portal`).
    pub fn open(mode: StoreMode, home: &Path) -> Stores {
        Stores::open_for(crate::profile::PROVIDER, mode, home, home.join("profiles"))
    }

    /// The stores of API-key profiles (provider `minimax`).
    pub fn open_api_keys(mode: StoreMode, home: &Path) -> Stores {
        Stores::open_for(crate::api_key::PROVIDER, mode, home, home.join("api-keys"))
    }

    fn open_for(provider: &'static str, mode: StoreMode, home: &Path, file_dir: PathBuf) -> Stores {
        Stores {
            mode,
            provider,
            home: home.to_path_buf(),
            keyring: KeyringStore::platform(),
            file: FileStore::new(file_dir),
            keyring_down: OnceLock::new(),
            warnings: Mutex::new(Vec::new()),
        }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    pub fn file_path(&self, name: &ProfileName) -> PathBuf {
        self.file.path_of(name)
    }

    /// Warnings given so far (also printed on stderr when given).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn warn(&self, message: String) {
        eprintln!("warning: {message}");
        if let Ok(mut warnings) = self.warnings.lock() {
            warnings.push(message);
        }
    }

    fn account(&self, name: &ProfileName) -> String {
        format!("{}:{name}", self.provider)
    }

    /// Locks one profile against other processes (refresh, login, logout).
    /// `.` cannot occur in a provider or a profile name, so names never clash.
    pub fn lock(&self, name: &ProfileName) -> Result<lock::FileLock> {
        lock::acquire(&self.home, &format!("{}.{name}", self.provider))
    }

    /// Asks the keyring for something harmless, to see whether it answers.
    pub fn probe_keyring(&self) -> std::result::Result<(), String> {
        match self.keyring.read(&self.account(&ProfileName::default())) {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Loads a profile and says which store held it.
    pub fn load(&self, name: &ProfileName) -> Result<Option<(Profile, StoreKind)>> {
        let Some((bytes, kind)) = self.read(name)? else {
            return Ok(None);
        };
        let profile = Profile::from_json(&bytes).map_err(|why| {
            Error::needs_login(format!(
                "the stored profile {} in the {} store is unusable: {why}",
                name.profile_id(),
                kind.as_str()
            ))
            .with_hint(login_hint(name))
        })?;
        Ok(Some((profile, kind)))
    }

    /// The stored bytes of a profile and which store held them.
    pub fn read(&self, name: &ProfileName) -> Result<Option<(Vec<u8>, StoreKind)>> {
        if self.mode != StoreMode::File {
            match self.keyring_read(name) {
                Ok(Some(bytes)) => return Ok(Some((bytes, StoreKind::Keyring))),
                Ok(None) => {}
                Err(e) => self.keyring_failure(e)?,
            }
        }
        if self.mode != StoreMode::Keyring
            && let Some(bytes) = self.file.read(name)?
        {
            return Ok(Some((bytes, StoreKind::File)));
        }
        Ok(None)
    }

    fn keyring_read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>, KeyringError> {
        if let Some(why) = self.keyring_down.get() {
            return Err(KeyringError::Unavailable(why.clone()));
        }
        self.keyring.read(&self.account(name))
    }

    /// In `auto`, an unreachable keyring is a warning and the file store is
    /// used; otherwise it is an error.
    fn keyring_failure(&self, e: KeyringError) -> Result<()> {
        match e {
            KeyringError::Unavailable(why) if self.mode == StoreMode::Auto => {
                if self.keyring_down.set(why.clone()).is_ok() {
                    self.warn(format!(
                        "no OS keyring answered: {why}. Using the plain-text file store under {} \
                         instead (files are 0600). To use the keyring, start or unlock one \
                         (Linux: gnome-keyring or KeePassXC); to keep the file and silence this, \
                         pass --store file.",
                        self.home.display()
                    ));
                }
                Ok(())
            }
            KeyringError::Unavailable(why) => Err(Error::new(Class::StoreUnavailable, why)
                .with_hint(
                    "unlock or start your keyring (on Linux: the Secret Service, e.g. gnome-keyring), \
                     or use --store file",
                )),
            KeyringError::Failed(why) => Err(Error::failed(why)),
        }
    }

    /// Saves a profile. `where_found` keeps a refreshed profile in the store
    /// it came from; a new login goes to the keyring first in `auto`.
    pub fn save(
        &self,
        name: &ProfileName,
        profile: &Profile,
        where_found: Option<StoreKind>,
    ) -> Result<StoreKind> {
        self.write(name, &profile.to_json()?, where_found)
    }

    /// Stores a profile's bytes; see `save`.
    pub fn write(
        &self,
        name: &ProfileName,
        json: &[u8],
        where_found: Option<StoreKind>,
    ) -> Result<StoreKind> {
        let target = match (self.mode, where_found) {
            (StoreMode::File, _) | (StoreMode::Auto, Some(StoreKind::File)) => StoreKind::File,
            _ => StoreKind::Keyring,
        };
        if target == StoreKind::Keyring {
            let written = match self.keyring_down.get() {
                Some(why) => Err(KeyringError::Unavailable(why.clone())),
                None => self.keyring.write(&self.account(name), json),
            };
            match written {
                Ok(()) => {
                    self.index_update(name, true)?;
                    // One truth per profile: drop a stale plain-text copy.
                    if self.mode == StoreMode::Auto {
                        self.file.remove(name)?;
                    }
                    return Ok(StoreKind::Keyring);
                }
                Err(e) => self.keyring_failure(e)?,
            }
        }
        self.file.write(name, json)?;
        Ok(StoreKind::File)
    }

    /// Removes a profile from every store this mode uses; returns where it was.
    pub fn delete(&self, name: &ProfileName) -> Result<Vec<StoreKind>> {
        let mut removed = Vec::new();
        if self.mode != StoreMode::File {
            let result = match self.keyring_down.get() {
                Some(why) => Err(KeyringError::Unavailable(why.clone())),
                None => self.keyring.remove(&self.account(name)),
            };
            match result {
                Ok(true) => removed.push(StoreKind::Keyring),
                Ok(false) => {}
                Err(e) => self.keyring_failure(e)?,
            }
            self.index_update(name, false)?;
        }
        if self.mode != StoreMode::Keyring && self.file.remove(name)? {
            removed.push(StoreKind::File);
        }
        Ok(removed)
    }

    /// Names of the profiles that may exist: those recorded in the index,
    /// `default`, and the files present.
    pub fn names(&self) -> Result<Vec<ProfileName>> {
        let mut names: BTreeSet<ProfileName> = BTreeSet::new();
        names.insert(ProfileName::default());
        if self.mode != StoreMode::File {
            names.extend(self.index_read());
        }
        if self.mode != StoreMode::Keyring {
            names.extend(self.file.names()?);
        }
        Ok(names.into_iter().collect())
    }

    /// The index lists profile names kept in the keyring (names only, no
    /// secrets): keyrings cannot be listed the same way on every platform.
    fn index_path(&self) -> PathBuf {
        self.home
            .join(format!("keyring-index.{}.json", self.provider))
    }

    fn index_read(&self) -> Vec<ProfileName> {
        let Ok(bytes) = std::fs::read(self.index_path()) else {
            return Vec::new();
        };
        let names: Vec<String> = serde_json::from_slice(&bytes).unwrap_or_default();
        names
            .iter()
            .filter_map(|n| ProfileName::parse(n).ok())
            .collect()
    }

    fn index_update(&self, name: &ProfileName, present: bool) -> Result<()> {
        let _guard = lock::acquire(&self.home, &format!("index.{}", self.provider))?;
        let mut names: BTreeSet<ProfileName> = self.index_read().into_iter().collect();
        let changed = if present {
            names.insert(name.clone())
        } else {
            names.remove(name)
        };
        if !changed {
            return Ok(());
        }
        let list: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        let json = serde_json::to_vec(&list).unwrap_or_default();
        file::write_atomically(&self.home, &self.index_path(), &json)
    }
}

/// The command that signs a profile in again.
pub fn login_hint(name: &ProfileName) -> String {
    if name.as_str() == "default" {
        "run: minimax-portal-auth login".to_string()
    } else {
        format!("run: minimax-portal-auth login --profile {name}")
    }
}
