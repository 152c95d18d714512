//! minimax-portal-auth: sign in to MiniMax's portal and keep the tokens
//! fresh in the OS keyring for agent hosts. See README.md for the contract.

#[macro_use]
mod output;
mod api_key;
mod catalog;
mod cli;
mod commands;
mod error;
mod fix;
mod openclaw;
mod paths;
mod portal;
mod profile;
mod redact;
mod region;
mod runtime;
mod safe_fs;
mod session;
mod store;
mod ui;

use clap::Parser;
use error::Error;

fn main() {
    let code = run();
    std::process::exit(code);
}

fn run() -> i32 {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e, json);
            e.class.exit_code()
        }
    }
}

fn report(e: &Error, json: bool) {
    if e.class == error::Class::Cancelled {
        say!("\nCancelled.");
    } else {
        say!("error: {}", redact::scrub(&e.to_string()));
    }
    if json {
        let _ = output::print_json(&serde_json::json!({
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
