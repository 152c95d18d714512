//! Where the plugin keeps its state: locks, the file store, the index.

use crate::error::Result;
use std::path::PathBuf;

pub use crate::safe_fs::HOME_ENV;

/// The state folder: `MINIMAX_PORTAL_AUTH_HOME`, else the platform's
/// per-user state folder, as the built-in plugin.toml says (a host reads
/// the same rule there).
pub fn state_home() -> Result<PathBuf> {
    crate::manifest::Manifest::built_in()?
        .profile
        .file
        .state_home()
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
