//! The OS keyring through keyring-core: Secret Service on Linux and BSD,
//! Keychain on macOS, Credential Manager on Windows.
//!
//! Every call runs on its own thread and is abandoned after a timeout, so a
//! locked keyring waiting on an unlock prompt, or a Secret Service that never
//! answers, gives a clear error instead of a hang.

use super::{ProfileStore, StoreError, StoreKind};
use crate::profile::ProfileName;
use keyring_core::{CredentialStore, Entry};
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

pub const SERVICE: &str = "minimax-portal-auth";
pub const TIMEOUT_ENV: &str = "MINIMAX_PORTAL_AUTH_KEYRING_TIMEOUT_MS";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Windows' Credential Manager keeps at most 2560 bytes per credential.
pub const WINDOWS_SECRET_LIMIT: usize = 2560;
/// A stored secret larger than this is not ours.
const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Why the keyring could not do what was asked.
#[derive(Debug)]
pub enum KeyringError {
    /// No keyring answered, it is locked, or it timed out: another store may help.
    Unavailable(String),
    /// The keyring answered, but the operation failed.
    Failed(String),
}

impl std::fmt::Display for KeyringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringError::Unavailable(why) | KeyringError::Failed(why) => f.write_str(why),
        }
    }
}

type Backend = Arc<CredentialStore>;

/// The OS keyring as a profile store: one credential per profile, service
/// `minimax-portal-auth`, account `<provider>:<name>`. Every call is bounded
/// in time (a locked keyring fails instead of hanging), and a credential
/// over the backend's size limit is compressed (Windows).
pub struct KeyringStore {
    provider: &'static str,
    timeout: Duration,
    backend: Arc<OnceLock<Backend>>,
    open_backend: fn() -> keyring_core::Result<Backend>,
    /// The most bytes one credential may hold in this backend, if limited.
    secret_limit: Option<usize>,
}

impl KeyringStore {
    /// The platform's keyring, for the profiles of `provider`.
    pub fn platform(provider: &'static str) -> KeyringStore {
        KeyringStore {
            provider,
            timeout: timeout_from_env(),
            backend: Arc::new(OnceLock::new()),
            open_backend: open_platform_backend,
            secret_limit: if cfg!(windows) {
                Some(WINDOWS_SECRET_LIMIT)
            } else {
                None
            },
        }
    }

    /// A keyring over a given backend, for tests.
    #[cfg(test)]
    pub fn with_backend(backend: Backend, secret_limit: Option<usize>) -> KeyringStore {
        let cell = OnceLock::new();
        let _ = cell.set(backend);
        KeyringStore {
            provider: crate::profile::PROVIDER,
            timeout: DEFAULT_TIMEOUT,
            backend: Arc::new(cell),
            open_backend: || Err(keyring_core::Error::NoDefaultStore),
            secret_limit,
        }
    }

    /// A human name of the backend, for status output.
    pub fn backend_name() -> &'static str {
        if cfg!(target_os = "macos") {
            "macOS Keychain"
        } else if cfg!(windows) {
            "Windows Credential Manager"
        } else {
            "Secret Service"
        }
    }

    fn account(&self, name: &ProfileName) -> String {
        name.id_for(self.provider)
    }

    pub fn read_account(&self, account: &str) -> Result<Option<Vec<u8>>, KeyringError> {
        let account = account.to_string();
        let stored = self.call("read", move |store| {
            let entry = Entry::new_in_store(&store, SERVICE, &account)?;
            match entry.get_secret() {
                Ok(bytes) => Ok(Some(bytes)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        match stored {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(KeyringError::Failed),
        }
    }

    pub fn write_account(&self, account: &str, json: &[u8]) -> Result<(), KeyringError> {
        let bytes = encode(json, self.secret_limit).map_err(KeyringError::Failed)?;
        let account = account.to_string();
        self.call("write", move |store| {
            Entry::new_in_store(&store, SERVICE, &account)?.set_secret(&bytes)
        })
    }

    /// Removes the credential; false when there was none.
    pub fn remove_account(&self, account: &str) -> Result<bool, KeyringError> {
        let account = account.to_string();
        self.call("remove", move |store| {
            match Entry::new_in_store(&store, SERVICE, &account)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// Runs one keyring operation on its own thread, bounded by the timeout.
    fn call<T, F>(&self, what: &'static str, op: F) -> Result<T, KeyringError>
    where
        T: Send + 'static,
        F: FnOnce(Backend) -> keyring_core::Result<T> + Send + 'static,
    {
        let cell = Arc::clone(&self.backend);
        let open = self.open_backend;
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("keyring-{what}"))
            .spawn(move || {
                let result = match cell.get() {
                    Some(backend) => Ok(Arc::clone(backend)),
                    None => open().map(|backend| Arc::clone(cell.get_or_init(|| backend))),
                }
                .and_then(op);
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(KeyringError::Failed(format!("cannot start a thread: {e}")));
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(what, e)),
            Err(_) => Err(KeyringError::Unavailable(format!(
                "the {} did not answer within {} ms (locked, or waiting for an unlock prompt?)",
                Self::backend_name(),
                self.timeout.as_millis()
            ))),
        }
    }
}

impl From<KeyringError> for StoreError {
    fn from(e: KeyringError) -> StoreError {
        match e {
            KeyringError::Unavailable(why) => StoreError::Unavailable(why),
            KeyringError::Failed(why) => StoreError::Failed(crate::error::Error::failed(why)),
        }
    }
}

impl ProfileStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read_account(&self.account(name))?)
    }

    fn write(&self, name: &ProfileName, bytes: &[u8]) -> Result<(), StoreError> {
        Ok(self.write_account(&self.account(name), bytes)?)
    }

    fn remove(&self, name: &ProfileName) -> Result<bool, StoreError> {
        Ok(self.remove_account(&self.account(name))?)
    }
}

fn timeout_from_env() -> Duration {
    crate::env::millis(TIMEOUT_ENV, DEFAULT_TIMEOUT)
}

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd"
))]
fn open_platform_backend() -> keyring_core::Result<Backend> {
    let store: Backend = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn open_platform_backend() -> keyring_core::Result<Backend> {
    let store: Backend = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(windows)]
fn open_platform_backend() -> keyring_core::Result<Backend> {
    let store: Backend = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    windows
)))]
fn open_platform_backend() -> keyring_core::Result<Backend> {
    Err(keyring_core::Error::NoDefaultStore)
}

fn classify(what: &str, e: keyring_core::Error) -> KeyringError {
    use keyring_core::Error as K;
    let backend = KeyringStore::backend_name();
    match e {
        K::NoStorageAccess(inner) => KeyringError::Unavailable(format!(
            "the {backend} is locked or has no default collection ({inner})"
        )),
        K::PlatformFailure(inner) => {
            KeyringError::Unavailable(format!("the {backend} is not reachable ({inner})"))
        }
        K::NoDefaultStore => {
            KeyringError::Unavailable(format!("no {backend} is available on this system"))
        }
        K::Ambiguous(entries) => KeyringError::Failed(format!(
            "the {backend} holds {} credentials for one profile; remove the extra ones",
            entries.len()
        )),
        K::TooLong(attr, limit) => KeyringError::Failed(format!(
            "the {backend} refused to {what}: {attr} is longer than {limit}"
        )),
        // Other variants may carry the secret's bytes: never print them.
        K::BadEncoding(_) | K::BadDataFormat(..) => {
            KeyringError::Failed(format!("the {backend} returned data that is not a profile"))
        }
        other => KeyringError::Failed(format!("the {backend} failed to {what}: {other}")),
    }
}

/// A profile is stored as its JSON text. Where the backend limits a
/// credential's size and the JSON does not fit, it is stored zlib-compressed
/// instead; JSON starts with `{` and a zlib stream with 0x78, so a reader
/// (this plugin or a host) tells the two apart by the first byte.
pub fn encode(json: &[u8], limit: Option<usize>) -> Result<Vec<u8>, String> {
    let Some(limit) = limit else {
        return Ok(json.to_vec());
    };
    if json.len() <= limit {
        return Ok(json.to_vec());
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed = encoder
        .write_all(json)
        .and_then(|()| encoder.finish())
        .map_err(|e| format!("cannot compress the profile: {e}"))?;
    if compressed.len() > limit {
        return Err(format!(
            "the profile is {} bytes ({} compressed), more than the {limit} bytes this keyring \
             keeps per credential; use --store file",
            json.len(),
            compressed.len()
        ));
    }
    Ok(compressed)
}

pub fn decode(stored: &[u8]) -> Result<Vec<u8>, String> {
    if stored.len() > MAX_SECRET_BYTES {
        return Err("the stored credential is too large to be a profile".to_string());
    }
    match stored.first() {
        Some(0x78) => {
            let mut json = Vec::new();
            flate2::read::ZlibDecoder::new(stored)
                .take(MAX_SECRET_BYTES as u64 + 1)
                .read_to_end(&mut json)
                .map_err(|_| "the stored credential is damaged (bad compression)".to_string())?;
            if json.len() > MAX_SECRET_BYTES {
                return Err("the stored credential is too large to be a profile".to_string());
            }
            Ok(json)
        }
        _ => Ok(stored.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Profile, sample};
    use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// An in-memory keyring that enforces a per-credential size limit the
    /// way Windows' Credential Manager does.
    #[derive(Debug, Default)]
    struct LimitedStore {
        items: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        limit: usize,
    }

    #[derive(Debug)]
    struct LimitedCredential {
        items: Arc<Mutex<HashMap<String, Vec<u8>>>>,
        key: String,
        limit: usize,
    }

    impl CredentialApi for LimitedCredential {
        fn set_secret(&self, secret: &[u8]) -> keyring_core::Result<()> {
            if secret.len() > self.limit {
                return Err(keyring_core::Error::TooLong(
                    "secret".into(),
                    self.limit as u32,
                ));
            }
            self.items
                .lock()
                .unwrap()
                .insert(self.key.clone(), secret.to_vec());
            Ok(())
        }
        fn get_secret(&self) -> keyring_core::Result<Vec<u8>> {
            self.items
                .lock()
                .unwrap()
                .get(&self.key)
                .cloned()
                .ok_or(keyring_core::Error::NoEntry)
        }
        fn delete_credential(&self) -> keyring_core::Result<()> {
            self.items
                .lock()
                .unwrap()
                .remove(&self.key)
                .map(|_| ())
                .ok_or(keyring_core::Error::NoEntry)
        }
        fn get_credential(&self) -> keyring_core::Result<Option<Arc<Credential>>> {
            Ok(None)
        }
        fn get_specifiers(&self) -> Option<(String, String)> {
            None
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    impl CredentialStoreApi for LimitedStore {
        fn vendor(&self) -> String {
            "test".into()
        }
        fn id(&self) -> String {
            "limited".into()
        }
        fn build(
            &self,
            service: &str,
            user: &str,
            _: Option<&HashMap<&str, &str>>,
        ) -> keyring_core::Result<Entry> {
            Ok(Entry::new_with_credential(Arc::new(LimitedCredential {
                items: Arc::clone(&self.items),
                key: format!("{service}/{user}"),
                limit: self.limit,
            })))
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn windows_like() -> KeyringStore {
        let backend: Backend = Arc::new(LimitedStore {
            limit: WINDOWS_SECRET_LIMIT,
            ..Default::default()
        });
        KeyringStore::with_backend(backend, Some(WINDOWS_SECRET_LIMIT))
    }

    /// A realistic JWT-sized token: base64url text, not a compressible run.
    fn jwt_like(len: usize, seed: u64) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|i| {
                if i % 200 == 36 {
                    return '.';
                }
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ALPHABET[(x % 64) as usize] as char
            })
            .collect()
    }

    #[test]
    fn a_full_profile_fits_the_windows_limit() {
        let store = windows_like();
        let name = "minimax-portal:default";
        let mut profile = sample("default", 0, 0);
        // Two JWT-sized tokens, larger than MiniMax's seen ones: the JSON
        // alone is over the limit, so this proves the compressed path.
        profile.access = oauth2::AccessToken::new(jwt_like(1500, 1));
        profile.refresh = oauth2::RefreshToken::new(jwt_like(1100, 2));
        let json = profile.to_json().unwrap();
        assert!(json.len() > WINDOWS_SECRET_LIMIT, "{} bytes", json.len());
        store.write_account(name, &json).unwrap();
        let back = store.read_account(name).unwrap().unwrap();
        let back = Profile::from_json(&back).unwrap();
        assert_eq!(back.access.secret(), profile.access.secret());
        assert_eq!(back.refresh.secret(), profile.refresh.secret());
    }

    #[test]
    fn a_small_profile_is_stored_as_plain_json() {
        let store = windows_like();
        let name = "minimax-portal:default";
        let json = sample("default", 400, 400).to_json().unwrap();
        store.write_account(name, &json).unwrap();
        assert_eq!(store.read_account(name).unwrap().unwrap(), json);
        assert_eq!(encode(&json, Some(WINDOWS_SECRET_LIMIT)).unwrap(), json);
    }

    #[test]
    fn a_profile_that_cannot_fit_is_refused_clearly() {
        let json = sample("default", 0, 0).to_json().unwrap();
        let mut profile: serde_json::Value = serde_json::from_slice(&json).unwrap();
        profile["access"] = serde_json::Value::String(jwt_like(6000, 3));
        let json = serde_json::to_vec(&profile).unwrap();
        let err = encode(&json, Some(WINDOWS_SECRET_LIMIT)).unwrap_err();
        assert!(err.contains("--store file"), "{err}");
        assert!(!err.contains(&jwt_like(6000, 3)[..20]));
    }

    #[test]
    fn remove_reports_whether_there_was_one() {
        let store = windows_like();
        let name = "minimax-portal:default";
        assert!(!store.remove_account(name).unwrap());
        store.write_account(name, b"{}").unwrap();
        assert!(store.remove_account(name).unwrap());
    }

    #[test]
    fn damaged_compressed_data_is_an_error_not_a_panic() {
        assert!(decode(&[0x78, 0x9c, 1, 2, 3]).is_err());
        assert_eq!(decode(b"{}").unwrap(), b"{}");
    }
}
