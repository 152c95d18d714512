//! Completion candidates from outside the command tree: the stored profile
//! names. `cli.rs` names this completer on its profile arguments; it lives
//! below `cli.rs` (and apart from `commands/completions.rs`, which answers
//! the shell from the command tree) so that neither imports the other.

use clap_complete::CompletionCandidate;
use std::ffi::OsStr;

/// The stored profile names that start with what was typed. Reads only the
/// state folder (the file store and the keyring's index), never the
/// keyring, so a TAB never waits on it; any trouble completes nothing.
pub fn profile_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let Ok(home) = crate::paths::state_home() else {
        return Vec::new();
    };
    let Ok(stores) = crate::store::Stores::open(crate::store::StoreMode::Auto, &home) else {
        return Vec::new();
    };
    stores
        .names()
        .unwrap_or_default()
        .into_iter()
        .map(|name| name.to_string())
        .filter(|name| name.starts_with(typed.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}
