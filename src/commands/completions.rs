//! Shell completion, answered by the binary itself: the script a shell
//! loads (`completions SHELL`) only hands the words typed so far back to
//! `minimax-portal-auth`, which completes them from the one command tree in
//! `cli.rs` — subcommands, flags, values and the stored profile names.
//!
//! The scripts clap_complete writes ahead of time are not used: their bash
//! one completes only the first word for a binary whose name has hyphens.

use crate::error::{Error, Result};
use clap_complete::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};
use std::ffi::OsStr;

/// Set by the loaded script when the shell asks for completions.
const COMPLETE_VAR: &str = "_MINIMAX_PORTAL_AUTH_COMPLETE";
const BIN: &str = "minimax-portal-auth";

/// When a shell is asking for completions, answers it and exits; otherwise
/// returns at once.
pub fn answer_shell() {
    if std::env::var_os(COMPLETE_VAR).is_none() {
        return;
    }
    CompleteEnv::with_factory(crate::cli::command)
        .var(COMPLETE_VAR)
        .bin(BIN)
        .completer(BIN)
        .complete();
}

/// `completions SHELL`: the script that makes SHELL ask this binary.
pub fn run(shell: clap_complete::Shell) -> Result<i32> {
    let name = shell.to_string();
    let shells = Shells::builtins();
    let completer = shells
        .completer(&name)
        .ok_or_else(|| Error::usage(format!("no completion for {name}")))?;
    let mut out = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, BIN, BIN, BIN, &mut out)
        .map_err(|e| Error::failed(format!("cannot write the completion script: {e}")))?;
    crate::output::print_stdout(&String::from_utf8_lossy(&out))?;
    Ok(0)
}

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
