//! One module per command; each returns the exit code of a success, or an
//! error that main maps to its exit code.

pub mod doctor;
pub mod login;
pub mod logout;
pub mod openclaw;
pub mod refresh;
pub mod status;
pub mod token;
pub mod usage;
pub mod watch;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::paths::state_home;
use crate::store::Stores;

pub use crate::output::print_json;

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
