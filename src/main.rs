//! minimax-portal-auth: sign in to MiniMax's portal and keep the tokens
//! fresh in the OS keyring for agent hosts. See README.md for the contract.

mod api_key;
mod cli;
mod commands;
mod error;
mod host;
mod lock;
mod paths;
mod portal;
mod profile;
mod redact;
mod region;
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
        eprintln!("\nCancelled.");
    } else {
        eprintln!("error: {}", redact::scrub(&e.to_string()));
    }
    if json {
        commands::print_json(&serde_json::json!({
            "error": {
                "class": e.class.as_str(),
                "exit_code": e.class.exit_code(),
                "message": redact::scrub(&e.message),
                "fix": e.hint.as_deref().map(redact::scrub),
            }
        }));
    }
}
