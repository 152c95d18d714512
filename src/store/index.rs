//! The keyring index: which profiles the keyring holds, and when each was
//! last written there (names and times only, no secrets). Keyrings cannot be
//! listed the same way on every platform, and when the keyring does not
//! answer, the index still tells "it is in there" from "there is none".

use super::lock;
use crate::error::Result;
use crate::profile::ProfileName;
use crate::safe_fs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An index larger than this is not ours.
const MAX_INDEX_BYTES: u64 = 256 * 1024;

/// The keyring index of one provider's profiles, in the state folder.
pub struct KeyringIndex {
    home: PathBuf,
    provider: &'static str,
}

/// Written as `{name: updated_at}`; the first version wrote a list of names.
#[derive(Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Times(BTreeMap<String, i64>),
    Names(Vec<String>),
}

#[derive(Serialize)]
struct Times<'a>(&'a BTreeMap<String, i64>);

impl KeyringIndex {
    pub fn new(home: PathBuf, provider: &'static str) -> KeyringIndex {
        KeyringIndex { home, provider }
    }

    fn path(&self) -> PathBuf {
        self.home
            .join(format!("keyring-index.{}.json", self.provider))
    }

    /// Profile names with the `updated_at` of their keyring copy (0 when
    /// unknown). An unreadable index reads as empty.
    pub fn entries(&self) -> BTreeMap<ProfileName, i64> {
        let Ok(Some(bytes)) = safe_fs::read_capped(&self.path(), MAX_INDEX_BYTES) else {
            return BTreeMap::new();
        };
        let pairs: Vec<(String, i64)> = match serde_json::from_slice::<OnDisk>(&bytes) {
            Ok(OnDisk::Times(map)) => map.into_iter().collect(),
            Ok(OnDisk::Names(names)) => names.into_iter().map(|n| (n, 0)).collect(),
            Err(_) => Vec::new(),
        };
        pairs
            .into_iter()
            .filter_map(|(n, t)| ProfileName::parse(&n).ok().map(|n| (n, t)))
            .collect()
    }

    /// Records that the keyring holds `name` as of `updated_at`, or not.
    pub fn set(&self, name: &ProfileName, updated_at: Option<i64>) -> Result<()> {
        let _guard = lock::acquire(&self.home, &format!("index.{}", self.provider))?;
        let mut entries: BTreeMap<String, i64> = self
            .entries()
            .into_iter()
            .map(|(n, t)| (n.as_str().to_string(), t))
            .collect();
        let before = entries.clone();
        match updated_at {
            Some(at) => {
                entries.insert(name.as_str().to_string(), at);
            }
            None => {
                entries.remove(name.as_str());
            }
        }
        if entries == before {
            return Ok(());
        }
        let json = serde_json::to_vec(&Times(&entries)).unwrap_or_default();
        safe_fs::write_atomically(&self.path(), &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_updates() {
        let home = tempfile::tempdir().unwrap();
        let index = KeyringIndex::new(home.path().to_path_buf(), "p");
        std::fs::write(
            home.path().join("keyring-index.p.json"),
            br#"["a","bad name"]"#,
        )
        .unwrap();
        let a = ProfileName::parse("a").unwrap();
        assert_eq!(
            index.entries().into_iter().collect::<Vec<_>>(),
            vec![(a.clone(), 0)]
        );
        index.set(&a, Some(7)).unwrap();
        assert_eq!(index.entries()[&a], 7);
        index.set(&a, None).unwrap();
        assert!(index.entries().is_empty());
    }
}
