//! Where the plugin keeps its state: locks, the file store, the index.

use crate::error::{Error, Result};
use std::path::PathBuf;

pub use crate::safe_fs::HOME_ENV;

/// The state folder: `MINIMAX_PORTAL_AUTH_HOME`, else the platform's
/// per-user state folder.
pub fn state_home() -> Result<PathBuf> {
    if let Some(dir) = non_empty_env(HOME_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if cfg!(windows) {
        if let Some(dir) = non_empty_env("LOCALAPPDATA") {
            return Ok(PathBuf::from(dir).join("minimax-portal-auth"));
        }
    } else if cfg!(target_os = "macos") {
        if let Some(home) = non_empty_env("HOME") {
            return Ok(PathBuf::from(home).join("Library/Application Support/minimax-portal-auth"));
        }
    } else {
        if let Some(dir) = non_empty_env("XDG_STATE_HOME") {
            return Ok(PathBuf::from(dir).join("minimax-portal-auth"));
        }
        if let Some(home) = non_empty_env("HOME") {
            return Ok(PathBuf::from(home).join(".local/state/minimax-portal-auth"));
        }
    }
    Err(
        Error::failed("cannot find a folder for the plugin's state").with_hint(format!(
            "set {HOME_ENV} to a folder the plugin may write to"
        )),
    )
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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
