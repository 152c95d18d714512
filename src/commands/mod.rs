//! One module per command; each returns the exit code of a success, or an
//! error that main maps to its exit code.

pub mod doctor;
pub mod login;
pub mod login_browser;
pub mod logout;
pub mod openclaw;
pub mod refresh;
pub mod status;
pub mod token;
pub mod usage;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::error::{Class, Error, Result};
use crate::paths::state_home;
use crate::redact;
use crate::store::Stores;
use clap::Parser;

pub use crate::output::print_json;

/// The whole command line: parses the arguments, runs the command, reports
/// a failure, and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
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

/// An error on stderr, and with --json as one JSON object on stdout. Both
/// are scrubbed of secrets a last time.
fn report(e: &Error, json: bool) {
    if e.class == Class::Cancelled {
        say!("\nCancelled.");
    } else {
        say!("error: {}", redact::scrub(&e.to_string()));
    }
    if json {
        let _ = print_json(&serde_json::json!({
            "error": {
                "class": e.class.as_str(),
                "exit_code": e.class.exit_code(),
                "message": redact::scrub(&e.message),
                "fix": e.fix.as_deref().map(redact::scrub),
                "hint": e.hint.as_deref().map(redact::scrub),
                "retry_after": e.retry_after.map(|d| d.as_secs()),
            }
        }));
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    let home = state_home()?;
    let stores = Stores::open(cli.store, &home)?;
    let json = cli.json;
    match cli.command {
        Command::Login(args) => login::run(&stores, json, args),
        Command::Token(args) => token::run(&stores, json, args),
        Command::Refresh(args) => refresh::run(&stores, json, args),
        Command::Status(args) => status::run(&stores, json, args),
        Command::Logout(args) => logout::run(&stores, json, args),
        Command::Usage(args) => usage::run(&stores, json, args),
        Command::Doctor(args) => doctor::run(&stores, json, args),
        Command::Openclaw(command) => openclaw::run(&stores, json, command),
    }
}
