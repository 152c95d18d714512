//! One module per command; each returns the exit code of a success, or an
//! error that main maps to its exit code.

pub mod completions;
pub mod config;
pub mod doctor;
pub mod exec;
pub mod login;
pub mod login_browser;
pub mod logout;
pub mod man;
pub mod openclaw;
mod openclaw_apply;
pub mod openclaw_plugin;
pub mod refresh;
pub mod service;
pub mod status;
pub mod switch;
pub mod token;
pub mod usage;
pub mod warnings;
pub mod watch;

use crate::cli::{Cli, Command, ProfileArgs};
use crate::error::{Class, Error, Result};
use crate::json::{ErrorBody, ErrorOutput};
use crate::paths::state_home;
use crate::profile::ProfileName;
use crate::redact;
use crate::store::Stores;
use clap::FromArgMatches;
use std::path::Path;

pub use crate::output::print_json;

/// The whole command line: parses the arguments, runs the command, reports
/// a failure, and returns the exit code.
pub fn main() -> i32 {
    completions::answer_shell();
    redact::keep_out_of_core_dumps();
    let cli = match crate::cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => {
            let e = suggest_for_unknown(e);
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e, json);
            e.class.exit_code()
        }
    }
}

/// Commands people type that live one level down: clap's own guess
/// (`setup` → `status`) gives way to the command meant.
fn suggest_for_unknown(mut e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let typed = match e.get(ContextKind::InvalidSubcommand) {
        Some(ContextValue::String(typed)) => typed.clone(),
        _ => return e,
    };
    if typed == "setup" {
        e.insert(
            ContextKind::SuggestedSubcommand,
            ContextValue::Strings(vec!["openclaw setup".to_string()]),
        );
    }
    e
}

/// An error on stderr, and with --json as one JSON object on stdout. Both
/// are scrubbed of secrets a last time.
fn report(e: &Error, json: bool) {
    if e.class == Class::Cancelled {
        say!("\nCancelled.");
    } else {
        say!("error: {}", redact::scrub(&e.to_string()));
    }
    if json {
        let _ = print_json(&ErrorOutput {
            error: ErrorBody {
                class: e.class,
                exit_code: e.class.exit_code(),
                message: redact::scrub(&e.message),
                fix: e.fix.as_deref().map(redact::scrub),
                hint: e.hint.as_deref().map(redact::scrub),
                retry_after: e.retry_after.map(|d| d.as_secs()),
            },
        });
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    // These need no state folder.
    match &cli.command {
        Command::Completions(args) => return completions::run(args.shell),
        Command::Man => return man::run(),
        _ => {}
    }
    let home = state_home()?;
    let stores = Stores::open(config::store_mode(cli.store, &home)?, &home)?;
    let result = run_command(cli, &stores, &home);
    // What the stores and the session found, said before any error.
    warnings::tell(&stores);
    result
}

fn run_command(cli: Cli, stores: &Stores, home: &Path) -> Result<i32> {
    let json = cli.json;
    match cli.command {
        Command::Login(args) => {
            let name = profile(&args.profile, home)?;
            login::run(stores, json, &name, args)
        }
        Command::Token(args) => {
            let name = profile(&args.profile, home)?;
            token::run(stores, json, &name, args)
        }
        Command::Refresh(args) => refresh::run(stores, json, args),
        Command::Status(args) => status::run(stores, json, args),
        Command::Switch(args) => switch::run(stores, json, args),
        Command::Logout(args) => {
            let name = profile(&args.profile, home)?;
            logout::run(stores, json, &name, args)
        }
        Command::Exec(args) => {
            let name = profile(&args.profile, home)?;
            exec::run(stores, &name, args)
        }
        Command::Env(args) => {
            let name = profile(&args.profile, home)?;
            exec::env(stores, json, &name, args)
        }
        Command::Usage(args) => {
            let name = profile(&args.profile, home)?;
            usage::run(stores, json, &name, args)
        }
        Command::Doctor(args) => doctor::run(stores, json, args),
        Command::Openclaw(command) => openclaw::run(stores, json, command),
        Command::Completions(_) | Command::Man => Ok(0),
    }
}

/// The profile a command works on: -p, else MINIMAX_PORTAL_AUTH_PROFILE,
/// else the one `switch` chose, else `default`.
pub fn profile(args: &ProfileArgs, home: &Path) -> Result<ProfileName> {
    match &args.profile {
        Some(name) => Ok(name.clone()),
        None => config::default_profile(home),
    }
}
