//! Where the plugin keeps its state: locks, the file store, the index.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub use crate::safe_fs::HOME_ENV;

/// Where the state folder is when [`HOME_ENV`] is not set, by system
/// (Rust's `std::env::consts::OS`; a system not listed uses `linux`): the
/// first candidate whose variable is set to an absolute path, its value
/// joined with the relative path. plugin.toml's `[profile.file]` states the
/// same rule for hosts; a unit test below checks that they agree.
pub const STATE_HOME_CANDIDATES: &[(&str, &[(&str, &str)])] = &[
    (
        "linux",
        &[
            ("XDG_STATE_HOME", "minimax-portal-auth"),
            ("HOME", ".local/state/minimax-portal-auth"),
        ],
    ),
    (
        "macos",
        &[("HOME", "Library/Application Support/minimax-portal-auth")],
    ),
    ("windows", &[("LOCALAPPDATA", "minimax-portal-auth")]),
];

/// The state folder: `MINIMAX_PORTAL_AUTH_HOME`, else the platform's
/// per-user state folder ([`STATE_HOME_CANDIDATES`]).
pub fn state_home() -> Result<PathBuf> {
    let env = |name: &str| std::env::var(name).ok();
    let candidates = of_this_system(|os| {
        let by_system = STATE_HOME_CANDIDATES
            .iter()
            .find(|(system, _)| *system == os);
        by_system.map(|(_, candidates)| *candidates)
    })
    .unwrap_or_default();
    checked_state_home(HOME_ENV, state_home_in(HOME_ENV, candidates, env), env)
}

/// This system's entry of a table by system: its own, else `linux`'s.
pub fn of_this_system<T>(by_system: impl Fn(&str) -> Option<T>) -> Option<T> {
    by_system(std::env::consts::OS).or_else(|| by_system("linux"))
}

/// The state folder in `env`: `home_env` when it is set, else the first of
/// `candidates` (variable, relative path) whose variable is set to an
/// absolute path (a relative one is ignored, as the XDG spec says).
pub fn state_home_in(
    home_env: &str,
    candidates: &[(&str, &str)],
    env: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(dir) = set(home_env) {
        return Some(PathBuf::from(dir));
    }
    candidates.iter().find_map(|(var, join)| {
        Some(PathBuf::from(set(var)?))
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(join))
    })
}

/// The state folder `state_home_in` found, checked. A relative folder would
/// put tokens wherever the command happens to run: a relative `home_env` or
/// `HOME` is an error; a relative XDG value was ignored, as the XDG spec says.
pub fn checked_state_home(
    home_env: &str,
    found: Option<PathBuf>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    let relative = |name: &str, value: &Path| {
        Error::usage(format!(
            "{name} is a relative path ({}); it must be absolute",
            value.display()
        ))
        .with_hint(format!(
            "set {name} to an absolute path, e.g. {name}=\"$PWD/…\""
        ))
    };
    match found {
        Some(dir) if dir.is_relative() => Err(relative(home_env, &dir)),
        Some(dir) => Ok(dir),
        None => match env("HOME").filter(|h| Path::new(h).is_relative()) {
            Some(home) if !home.trim().is_empty() => Err(relative("HOME", Path::new(&home))),
            _ => Err(
                Error::failed("cannot find a folder for the plugin's state").with_hint(format!(
                    "set {home_env} to a folder the plugin may write to"
                )),
            ),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::without_verbatim_prefix as plain;
    use super::{HOME_ENV, STATE_HOME_CANDIDATES};

    #[test]
    fn the_state_folder_rule_is_the_one_plugin_toml_states() {
        let file = crate::manifest::Manifest::built_in().unwrap().profile.file;
        assert_eq!(file.state_home_env, HOME_ENV);
        let stated: Vec<(String, Vec<(String, String)>)> = file
            .state_home
            .iter()
            .map(|(os, list)| {
                let list = list.iter().map(|c| (c.env.clone(), c.join.clone()));
                (os.clone(), list.collect())
            })
            .collect();
        let mut ours: Vec<(String, Vec<(String, String)>)> = STATE_HOME_CANDIDATES
            .iter()
            .map(|(os, list)| {
                let list = list.iter().map(|(v, j)| (v.to_string(), j.to_string()));
                (os.to_string(), list.collect())
            })
            .collect();
        ours.sort();
        assert_eq!(ours, stated);
    }

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
