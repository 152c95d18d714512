//! An in-memory keyring for unit tests, with the faults a real keyring
//! shows: it stops answering, or fails writes from some point on.

use super::{ProfileStore, StoreError, StoreKind, StoreMode, Stores};
use crate::profile::ProfileName;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A keyring in memory whose faults a test can switch on.
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Vec<u8>>>,
    /// Every call fails as a locked or stalled keyring does.
    pub down: AtomicBool,
    /// Writes that still succeed before the keyring stops taking them.
    pub writes_left: Mutex<Option<usize>>,
    pub writes: AtomicUsize,
}

impl MemoryStore {
    pub fn new() -> Arc<MemoryStore> {
        Arc::new(MemoryStore::default())
    }

    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.items.lock().ok()?.get(name).cloned()
    }

    pub fn put(&self, name: &str, bytes: &[u8]) {
        if let Ok(mut items) = self.items.lock() {
            items.insert(name.to_string(), bytes.to_vec());
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("the test keyring is down".into()))
        } else {
            Ok(())
        }
    }
}

impl ProfileStore for Arc<MemoryStore> {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        Ok(self.get(name.as_str()))
    }

    fn write(&self, name: &ProfileName, bytes: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        if let Ok(mut left) = self.writes_left.lock()
            && let Some(n) = left.as_mut()
        {
            if *n == 0 {
                return Err(StoreError::Unavailable(
                    "the test keyring stopped answering".into(),
                ));
            }
            *n -= 1;
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.put(name.as_str(), bytes);
        Ok(())
    }

    fn remove(&self, name: &ProfileName) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self
            .items
            .lock()
            .map(|mut items| items.remove(name.as_str()).is_some())
            .unwrap_or(false))
    }
}

/// Stores over a [`MemoryStore`] keyring and a temporary state folder: what
/// the unit tests of the stores and of the session work on.
pub struct TestStores {
    pub home: tempfile::TempDir,
    pub keyring: Arc<MemoryStore>,
    pub stores: Stores,
}

impl TestStores {
    pub fn open(mode: StoreMode) -> TestStores {
        let home = tempfile::tempdir().unwrap();
        let keyring = MemoryStore::new();
        let stores = open_over(mode, home.path(), &keyring);
        TestStores {
            home,
            keyring,
            stores,
        }
    }

    /// A fresh handle on the same folder and keyring, as the next process has.
    pub fn reopen(&self, mode: StoreMode) -> Stores {
        open_over(mode, self.home.path(), &self.keyring)
    }
}

fn open_over(mode: StoreMode, home: &std::path::Path, keyring: &Arc<MemoryStore>) -> Stores {
    Stores::open_with(
        mode,
        home,
        crate::profile::PROVIDER,
        "profiles",
        Box::new(Arc::clone(keyring)),
    )
    .unwrap()
}
