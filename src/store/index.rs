//! The keyring index: which profiles the keyring holds, and when each was
//! last written there (names and times only, no secrets). Keyrings cannot be
//! listed the same way on every platform, and when the keyring does not
//! answer, the index still tells "it is in there" from "there is none".

use super::lock;
use crate::error::Result;
use crate::profile::ProfileName;
use crate::safe_fs;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An index larger than this is not ours.
const MAX_INDEX_BYTES: u64 = 256 * 1024;

/// The keyring index of one provider's profiles, in the state folder.
pub struct KeyringIndex {
    home: PathBuf,
    provider: &'static str,
}

/// Reads an index: `{name: updated_at}`, or the first version's list of
/// names. Each entry stands alone: a name that is not valid is skipped, a
/// time that is not an integer reads as 0 (unknown), so one damaged entry
/// never hides the others.
pub fn parse(bytes: &[u8]) -> BTreeMap<ProfileName, i64> {
    let pairs: Vec<(String, i64)> = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(name, at)| (name, at.as_i64().unwrap_or(0)))
            .collect(),
        Ok(Value::Array(names)) => names
            .into_iter()
            .filter_map(|n| n.as_str().map(|n| (n.to_string(), 0)))
            .collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .filter_map(|(n, t)| ProfileName::parse(&n).ok().map(|n| (n, t)))
        .collect()
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
        parse(&bytes)
    }

    /// Removes the temporary files a killed run left beside the index,
    /// when no other process is writing it (its lock is free).
    pub fn sweep(&self) {
        let leftovers = safe_fs::leftover_temp_files(&self.path());
        if leftovers.is_empty() {
            return;
        }
        if let Ok(Some(_guard)) = lock::try_acquire(&self.home, &self.lock_name()) {
            for path in safe_fs::leftover_temp_files(&self.path()) {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn lock_name(&self) -> String {
        format!("index.{}", self.provider)
    }

    /// Records that the keyring holds `name` as of `updated_at`, or not.
    pub fn set(&self, name: &ProfileName, updated_at: Option<i64>) -> Result<()> {
        let _guard = lock::acquire(&self.home, &self.lock_name())?;
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

    /// One wrongly typed entry does not hide the others.
    #[test]
    fn a_damaged_entry_hides_no_other() {
        let got = parse(br#"{"a":5,"b":"x","c":null,"bad name":1,"d":1.5}"#);
        let names: Vec<(&str, i64)> = got.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        assert_eq!(names, vec![("a", 5), ("b", 0), ("c", 0), ("d", 0)]);
        let got = parse(br#"["a", 7, null, "b"]"#);
        assert_eq!(got.len(), 2);
        assert!(parse(b"not json").is_empty());
    }

    /// A run killed while writing the index leaves a temporary file; the
    /// next sweep removes it.
    #[test]
    fn leftover_index_temp_files_are_swept() {
        let home = tempfile::tempdir().unwrap();
        let index = KeyringIndex::new(home.path().to_path_buf(), "p");
        let leftover = home.path().join(".keyring-index.p.json.tmp-12345");
        std::fs::write(&leftover, b"{").unwrap();
        index.sweep();
        assert!(!leftover.exists());
    }
}
