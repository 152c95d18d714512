//! File access for a folder that holds secrets: private folders that must be
//! the user's own, reads that refuse symlinks, FIFOs and oversized files, and
//! replacements that a crash at any moment leaves old or new, never half.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub const HOME_ENV: &str = "MINIMAX_PORTAL_AUTH_HOME";

/// Creates a folder (and its parents) readable by the owner only, then
/// checks that it is the user's own and that nobody else can write to it:
/// another local user must not plant, swap or delete what is kept there.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::failed(format!("cannot create {}: {e}", dir.display())).with_hint(format!(
            "check its permissions, or set {HOME_ENV} to another folder"
        ))
    })?;
    check_private_dir(dir)
}

/// Refuses a folder that another user owns or may write to. Nothing to check
/// when it does not exist yet.
pub fn check_private_dir(dir: &Path) -> Result<()> {
    match dir_problem(dir) {
        Some((why, fix)) => Err(Error::failed(format!(
            "{} is not safe for secrets: {why}",
            dir.display()
        ))
        .with_fix(fix)),
        None => Ok(()),
    }
}

/// What is wrong with a folder meant to hold secrets, and the command that fixes it.
pub fn dir_problem(dir: &Path) -> Option<(String, String)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(dir).ok()?;
        let quoted = shell_quote(&dir.display().to_string());
        if !meta.is_dir() {
            return Some((
                "it is not a folder".to_string(),
                format!("remove {quoted}, or set {HOME_ENV} to another folder"),
            ));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            // Not `chown -R`: that would make whatever the other user put
            // in there yours. Set it aside and start a new folder.
            let aside = shell_quote(&format!("{}.not-mine", dir.display()));
            return Some((
                format!("it belongs to user id {}, not to you ({me})", meta.uid()),
                format!(
                    "set {HOME_ENV} to a new folder of your own, or move it aside \
                     (sudo mv {quoted} {aside}) and run again"
                ),
            ));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Some((
                format!("others may write to it (mode {mode:o})"),
                format!("chmod 700 {quoted}"),
            ));
        }
        parent_problem(dir, me)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// A folder is only as safe as its parents: whoever may rename entries in
/// a parent can swap the folder for one of theirs. Each parent must belong
/// to this user or root, and others may write to it only when it is
/// sticky (as /tmp is: there they cannot rename what is not theirs).
#[cfg(unix)]
fn parent_problem(dir: &Path, me: u32) -> Option<(String, String)> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let absolute = std::path::absolute(dir).ok()?;
    for parent in absolute.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(parent) else {
            continue;
        };
        let quoted = shell_quote(&parent.display().to_string());
        let mode = meta.permissions().mode();
        let sticky = mode & 0o1000 != 0;
        if meta.uid() != me && meta.uid() != 0 {
            return Some((
                format!(
                    "its parent {} belongs to user id {}, who could swap the folder",
                    parent.display(),
                    meta.uid()
                ),
                format!("set {HOME_ENV} to a folder whose parents only you and root can change"),
            ));
        }
        if mode & 0o002 != 0 && !sticky {
            return Some((
                format!(
                    "anyone may rename entries in its parent {} (mode {:o}, not sticky)",
                    parent.display(),
                    mode & 0o7777
                ),
                format!("chmod o-w {quoted}, or set {HOME_ENV} to another folder"),
            ));
        }
    }
    None
}

/// Quotes a path for a copy-pasteable shell command.
pub fn shell_quote(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c));
    if plain && !text.is_empty() {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Opens an existing file for reading without following a symlink and
/// without blocking on a FIFO; refuses anything but a regular file.
/// `Ok(None)` when there is no file.
pub fn open_regular(path: &Path) -> Result<Option<File>> {
    let mut options = File::options();
    options.read(true);
    no_follow(&mut options);
    match options.open(path) {
        Ok(file) => {
            ensure_regular(&file, path)?;
            Ok(Some(file))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(open_error("open", path, e)),
    }
}

/// Opens a file someone else points this tool at (a host's config), which
/// may be a symbolic link: only a regular file is read, and opening a FIFO
/// does not wait for a writer.
pub fn open_regular_following(path: &Path) -> Result<File> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| io_error("open", path, e))?;
    ensure_regular(&file, path)?;
    Ok(file)
}

/// Why a file could not be opened, naming a symlink or a special file for
/// what it is (the no-follow and no-block flags make those fail oddly).
fn open_error(action: &str, path: &Path, e: std::io::Error) -> Error {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Error::failed(format!(
            "{} is a symbolic link; refusing to follow it",
            path.display()
        ))
        .with_fix(format!("rm {}", shell_quote(&path.display().to_string()))),
        Ok(meta) if !meta.is_file() => not_regular(path),
        _ => io_error(action, path, e),
    }
}

fn not_regular(path: &Path) -> Error {
    Error::failed(format!(
        "{} is not a regular file; refusing to use it",
        path.display()
    ))
    .with_fix(format!("rm {}", shell_quote(&path.display().to_string())))
}

/// Reads a whole file of at most `max` bytes; `Ok(None)` when there is none.
pub fn read_capped(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    let Some(file) = open_regular(path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", path, e))?;
    if bytes.len() as u64 > max {
        return Err(Error::failed(format!(
            "{} is larger than {max} bytes: not a file of this plugin",
            path.display()
        ))
        .with_hint(format!(
            "remove {}",
            shell_quote(&path.display().to_string())
        )));
    }
    Ok(Some(bytes))
}

/// Opens (creating when needed) a lock file: no symlinks, no FIFOs.
pub fn open_lock_file(path: &Path) -> Result<File> {
    let mut options = File::options();
    options.create(true).truncate(false).write(true);
    no_follow(&mut options);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|e| open_error("open the lock file", path, e))?;
    ensure_regular(&file, path)?;
    Ok(file)
}

#[cfg(unix)]
fn no_follow(options: &mut std::fs::OpenOptions) {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files
    // ignore it.
    options.custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32);
}

#[cfg(not(unix))]
fn no_follow(_options: &mut std::fs::OpenOptions) {}

fn ensure_regular(file: &File, path: &Path) -> Result<()> {
    let meta = file.metadata().map_err(|e| io_error("inspect", path, e))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "{} is not a regular file; refusing to use it",
            path.display()
        ))
        .with_hint(format!(
            "remove {}",
            shell_quote(&path.display().to_string())
        )))
    }
}

/// The prefix of temporary files for `target`: `.<file name>.tmp-`, so the
/// leftovers of one profile can be found and swept.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tmp-")
}

/// A replacement of one file, prepared before its content is known: the
/// temporary file already exists in the target's folder with room for the
/// content reserved, so that a full disk or a read-only folder is found out
/// before anything irreversible happens (a refresh token spent).
pub struct PreparedFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl PreparedFile {
    /// Creates the temporary file (0600) next to `target` and reserves
    /// `reserve` bytes in it.
    pub fn prepare(target: &Path, reserve: usize) -> Result<PreparedFile> {
        let dir = target.parent().unwrap_or(Path::new("."));
        ensure_private_dir(dir)?;
        // tempfile creates the file with O_EXCL and mode 0600 on Unix.
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(target))
            .tempfile_in(dir)
            .map_err(|e| io_error("create a temporary file in", dir, e))?;
        tmp.write_all(&vec![b' '; reserve])
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| io_error("write", tmp.path(), e))?;
        Ok(PreparedFile {
            tmp,
            target: target.to_path_buf(),
        })
    }

    /// Writes the content and puts it in place: write, fsync, rename, fsync
    /// the folder. On failure the temporary file is removed.
    pub fn commit(mut self, bytes: &[u8]) -> Result<()> {
        let file = self.tmp.as_file_mut();
        file.rewind()
            .and_then(|()| file.write_all(bytes))
            .and_then(|()| file.set_len(bytes.len() as u64))
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", self.tmp.path(), e))?;
        let dir = self.target.parent().map(Path::to_path_buf);
        self.tmp
            .persist(&self.target)
            .map_err(|e| io_error("replace", &self.target, e.error))?;
        if let Some(dir) = dir {
            sync_dir(&dir);
        }
        Ok(())
    }
}

/// Replaces `path` so that a crash at any moment leaves either the old or
/// the new content.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    PreparedFile::prepare(path, 0)?.commit(bytes)
}

/// Removes a file; false when there was none.
pub fn remove_file(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", path, e)),
    }
}

/// Temporary files a crash left behind for `target` (they may hold tokens).
pub fn leftover_temp_files(target: &Path) -> Vec<PathBuf> {
    let Some(dir) = target.parent() else {
        return Vec::new();
    };
    let prefix = temp_prefix(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect()
}

/// Makes a rename durable. Best effort: some file systems refuse it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub fn io_error(action: &str, path: &Path, e: std::io::Error) -> Error {
    Error::failed(format!("cannot {action} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_write_replaces_and_leaves_nothing() {
        let home = tempfile::tempdir().unwrap();
        let target = home.path().join("p/default.json");
        write_atomically(&target, b"one").unwrap();
        let prepared = PreparedFile::prepare(&target, 4096).unwrap();
        assert_eq!(leftover_temp_files(&target).len(), 1);
        prepared.commit(b"two").unwrap();
        assert_eq!(read_capped(&target, 10).unwrap().unwrap(), b"two");
        assert!(leftover_temp_files(&target).is_empty());
        // Dropping an uncommitted preparation removes its file.
        drop(PreparedFile::prepare(&target, 10).unwrap());
        assert!(leftover_temp_files(&target).is_empty());
    }

    #[test]
    fn oversized_files_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("big");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        assert!(read_capped(&path, 99).is_err());
        assert!(read_capped(&path, 100).is_ok());
        assert!(read_capped(&home.path().join("none"), 1).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_fifos_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let real = home.path().join("real");
        std::fs::write(&real, b"x").unwrap();
        let link = home.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(read_capped(&link, 10).is_err());
        assert!(open_lock_file(&link).is_err());
        let fifo = home.path().join("fifo");
        // The mkfifo program: rustix has no mkfifoat on macOS.
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(read_capped(&fifo, 10).is_err());
        assert!(open_lock_file(&fifo).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn folders_others_may_write_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("state");
        ensure_private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err();
        assert!(err.fix.unwrap().starts_with("chmod 700 "));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
