//! The plain-text file store: one 0600 JSON file per profile, replaced
//! atomically (temp file in the same folder, fsync, rename, fsync folder).

use crate::error::{Error, Result};
use crate::paths::ensure_private_dir;
use crate::profile::ProfileName;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A profile file larger than this is not ours.
const MAX_FILE_BYTES: u64 = 64 * 1024;

pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store of one JSON file per profile in `dir`.
    pub fn new(dir: PathBuf) -> FileStore {
        FileStore { dir }
    }

    pub fn path_of(&self, name: &ProfileName) -> PathBuf {
        self.dir.join(format!("{}.json", name.as_str()))
    }

    pub fn read(&self, name: &ProfileName) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(name);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &path, e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error("read", &path, e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Error::failed(format!(
                "{} is larger than {MAX_FILE_BYTES} bytes: not a profile",
                path.display()
            )));
        }
        Ok(Some(bytes))
    }

    pub fn write(&self, name: &ProfileName, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.dir, &self.path_of(name), bytes)
    }

    /// Removes the file; false when there was none.
    pub fn remove(&self, name: &ProfileName) -> Result<bool> {
        let path = self.path_of(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }

    pub fn names(&self) -> Result<Vec<ProfileName>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &self.dir, e)),
        };
        let mut names: Vec<ProfileName> = entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let file_name = entry.file_name();
                let stem = file_name.to_str()?.strip_suffix(".json")?.to_string();
                ProfileName::parse(&stem).ok()
            })
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Replaces `path` (in `dir`) so that a crash at any moment leaves either
/// the old or the new content: temp file (0600), fsync, rename, fsync folder.
pub fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    ensure_private_dir(dir)?;
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| io_error("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error("write", tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| io_error("replace", path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Makes a rename durable. Best effort: some file systems refuse it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("cannot {action} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_replace_remove() {
        let home = tempfile::tempdir().unwrap();
        let store = FileStore::new(home.path().join("profiles"));
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
        let store = FileStore::new(home.path().join("profiles"));
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
        let store = FileStore::new(home.path().join("profiles"));
        let name = ProfileName::default();
        store.write(&name, &vec![b' '; 70 * 1024]).unwrap();
        assert!(store.read(&name).is_err());
    }
}
