//! Where the plugin keeps its state: locks, the file store, the index.

use crate::error::Result;
use std::path::{Path, PathBuf};

/// The state folder: `MINIMAX_PORTAL_AUTH_HOME`, else the platform's
/// per-user state folder, as the built-in plugin.toml says (a host reads
/// the same rule there).
pub fn state_home() -> Result<PathBuf> {
    crate::manifest::Manifest::built_in()?
        .profile
        .file
        .state_home()
}

/// The real path of `path`, as other programs are given it. On Windows
/// `std::fs::canonicalize` answers a verbatim path (`\\?\C:\...`), which
/// OpenClaw would then run and pass on; the prefix is dropped when the path
/// means the same without it.
pub fn real_path(path: &Path) -> std::io::Result<PathBuf> {
    let real = std::fs::canonicalize(path)?;
    Ok(match real.to_str().and_then(without_verbatim_prefix) {
        Some(plain) => PathBuf::from(plain),
        None => real,
    })
}

/// `\\?\C:\a\b` as `C:\a\b`, when that names the same file: a drive path
/// shorter than Windows' MAX_PATH (260) whose parts Windows would not
/// rewrite without the prefix (no trailing dot or space, no `/`, no device
/// name such as `NUL`). Pure text, so that it is tested on every system.
fn without_verbatim_prefix(path: &str) -> Option<&str> {
    let plain = path.strip_prefix(r"\\?\")?;
    let (drive, rest) = (plain.get(..3)?, &plain[3..]);
    let mut drive = drive.chars();
    let is_drive = drive.next().is_some_and(|c| c.is_ascii_alphabetic()) && drive.as_str() == r":\";
    let device = |part: &str| {
        let stem = part.split('.').next().unwrap_or(part).to_ascii_uppercase();
        matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
            || (stem.len() == 4
                && (stem.starts_with("COM") || stem.starts_with("LPT"))
                && stem.as_bytes()[3].is_ascii_digit())
    };
    let plain_parts = rest.is_empty()
        || rest.split('\\').all(|part| {
            !part.is_empty() && !part.ends_with(['.', ' ']) && !part.contains('/') && !device(part)
        });
    (is_drive && plain_parts && plain.len() < 260).then_some(plain)
}

/// A duration in milliseconds from the environment; `default` when unset,
/// unparsable or zero.
pub fn millis_from_env(name: &str, default: std::time::Duration) -> std::time::Duration {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(std::time::Duration::from_millis)
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::without_verbatim_prefix as plain;

    #[test]
    fn verbatim_windows_paths_lose_their_prefix_only_when_safe() {
        assert_eq!(
            plain(r"\\?\C:\Users\a\minimax-portal-auth.exe"),
            Some(r"C:\Users\a\minimax-portal-auth.exe")
        );
        assert_eq!(plain(r"\\?\Z:\"), Some(r"Z:\"));
        assert_eq!(plain("/home/a/bin/minimax-portal-auth"), None);
        assert_eq!(plain(r"C:\Users\a"), None);
        // A network share, a name Windows would change, a device, too long.
        assert_eq!(plain(r"\\?\UNC\server\share\a"), None);
        assert_eq!(plain(r"\\?\C:\a.\b"), None);
        assert_eq!(plain(r"\\?\C:\a \b"), None);
        assert_eq!(plain(r"\\?\C:\a\nul.txt"), None);
        assert_eq!(plain(r"\\?\C:\COM1"), None);
        assert_eq!(plain(r"\\?\C:\a\\b"), None);
        assert_eq!(plain(r"\\?\C:\a/b"), None);
        let long = format!(r"\\?\C:\{}", "a".repeat(260));
        assert_eq!(plain(&long), None);
        assert_eq!(
            plain(r"\\?\C:\console\compass"),
            Some(r"C:\console\compass")
        );
    }
}
