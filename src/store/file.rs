//! The plain-text file store: one 0600 JSON file per profile in a private
//! folder, replaced atomically (temp file in the same folder, fsync, rename,
//! fsync folder). Also serves as the recovery store.

use super::{Prepared, ProfileStore, StoreError, StoreKind};
use crate::profile::ProfileName;
use crate::safe_fs::{self, PreparedFile};
use std::path::PathBuf;

/// A profile file larger than this is not ours.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Profiles as private files in one folder, each replaced atomically: a
/// reader sees the old copy or the new one, never half of one.
pub struct FileStore {
    kind: StoreKind,
    dir: PathBuf,
    /// Put before the profile name in file names (the recovery folder holds
    /// several providers' profiles).
    prefix: String,
}

impl FileStore {
    /// A store of `<dir>/<prefix><name>.json` files.
    pub fn new(kind: StoreKind, dir: PathBuf, prefix: &str) -> FileStore {
        FileStore {
            kind,
            dir,
            prefix: prefix.to_string(),
        }
    }

    pub fn path_of(&self, name: &ProfileName) -> PathBuf {
        self.dir
            .join(format!("{}{}.json", self.prefix, name.as_str()))
    }

    /// The names of the profiles present.
    pub fn names(&self) -> crate::error::Result<Vec<ProfileName>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(safe_fs::io_error("list", &self.dir, e)),
        };
        let mut names: Vec<ProfileName> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name();
                let stem = file_name
                    .to_str()?
                    .strip_prefix(self.prefix.as_str())?
                    .strip_suffix(".json")?
                    .to_string();
                ProfileName::parse(&stem).ok()
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Names that have temporary files left behind by a crash.
    pub fn names_with_leftovers(&self) -> Vec<ProfileName> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<ProfileName> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name();
                let text = file_name.to_str()?;
                let (stem, _) = text
                    .strip_prefix('.')?
                    .strip_prefix(self.prefix.as_str())?
                    .split_once(".json.tmp-")?;
                ProfileName::parse(stem).ok()
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

impl ProfileStore for FileStore {
    fn kind(&self) -> StoreKind {
        self.kind
    }

    fn read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>, StoreError> {
        safe_fs::read_capped(&self.path_of(name), MAX_FILE_BYTES).map_err(StoreError::Failed)
    }

    fn write(&self, name: &ProfileName, bytes: &[u8]) -> Result<(), StoreError> {
        safe_fs::write_atomically(&self.path_of(name), bytes).map_err(StoreError::Failed)
    }

    fn remove(&self, name: &ProfileName) -> Result<bool, StoreError> {
        safe_fs::remove_file(&self.path_of(name)).map_err(StoreError::Failed)
    }

    /// Creates the temporary file now, with room reserved: a full disk or a
    /// read-only folder is found out before the refresh token is spent.
    fn prepare(
        &self,
        name: &ProfileName,
        _current: Option<&[u8]>,
        size_hint: usize,
    ) -> Result<Prepared, StoreError> {
        PreparedFile::prepare(&self.path_of(name), size_hint)
            .map(Prepared::File)
            .map_err(StoreError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(home: &std::path::Path) -> FileStore {
        FileStore::new(StoreKind::File, home.join("profiles"), "")
    }

    #[test]
    fn write_read_replace_remove() {
        let home = tempfile::tempdir().unwrap();
        let store = store(home.path());
        let name = ProfileName::parse("work").unwrap();
        assert!(store.read(&name).unwrap().is_none());
        store.write(&name, b"one").unwrap();
        store.write(&name, b"two").unwrap();
        assert_eq!(store.read(&name).unwrap().unwrap(), b"two");
        assert_eq!(store.names().unwrap(), vec![name.clone()]);
        // No temporary file is left behind by a replace.
        let leftovers = std::fs::read_dir(home.path().join("profiles"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1);
        assert!(store.remove(&name).unwrap());
        assert!(!store.remove(&name).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let store = store(home.path());
        let name = ProfileName::default();
        store.write(&name, b"{}").unwrap();
        let mode = std::fs::metadata(store.path_of(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(home.path().join("profiles"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn oversized_file_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let store = store(home.path());
        let name = ProfileName::default();
        store.write(&name, &vec![b' '; 70 * 1024]).unwrap();
        assert!(store.read(&name).is_err());
    }

    #[test]
    fn prefixed_names_and_leftovers() {
        let home = tempfile::tempdir().unwrap();
        let store = FileStore::new(
            StoreKind::Recovery,
            home.path().join("r"),
            "minimax-portal.",
        );
        let name = ProfileName::parse("work").unwrap();
        store.write(&name, b"{}").unwrap();
        assert!(store.path_of(&name).ends_with("r/minimax-portal.work.json"));
        assert_eq!(store.names().unwrap(), vec![name.clone()]);
        let _pending = store.prepare(&name, None, 10).unwrap();
        assert_eq!(store.names_with_leftovers(), vec![name]);
    }
}
