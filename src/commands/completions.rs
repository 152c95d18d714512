//! Shell completion, answered by the binary itself: the script a shell
//! loads (`completions SHELL`) only hands the words typed so far back to
//! `minimax-portal-auth`, which completes them from the one command tree in
//! `cli.rs` — subcommands, flags, values and the stored profile names
//! (`candidates.rs`, which `cli.rs` names as the completer).
//!
//! The scripts clap_complete writes ahead of time are not used: their bash
//! one completes only the first word for a binary whose name has hyphens.

use crate::error::{Error, Result};
use clap_complete::env::{CompleteEnv, Shells};

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
