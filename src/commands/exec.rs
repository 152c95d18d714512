//! `exec` and `env`: a fresh token where Anthropic-compatible tools look for
//! one (ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN). The token goes into the
//! environment, never into arguments.

use crate::cli::{EnvArgs, ExecArgs, Shell};
use crate::error::{Error, Result};
use crate::json::EnvOutput;
use crate::output::{print_json, print_stdout};
use crate::portal::refresh::HttpRefresher;
use crate::profile::{ProfileName, ProfileUrl};
use crate::session::{Fresh, token_for_use};
use crate::shell_quote::{Syntax, check_token, export_line};
use crate::store::Stores;
use std::time::Duration;

const BASE_URL_VAR: &str = "ANTHROPIC_BASE_URL";
const TOKEN_VAR: &str = "ANTHROPIC_AUTH_TOKEN";

fn fresh(stores: &Stores, name: &ProfileName, margin: Duration) -> Result<Fresh> {
    let fresh = token_for_use(stores, &HttpRefresher, name, margin);
    // Said now: `exec` becomes the tool and never returns.
    super::warnings::tell(stores);
    fresh
}

/// Runs the command in place of this process (Unix), so that its input,
/// output, signals and exit code are its own; elsewhere it waits for it and
/// exits with its code.
pub fn run(stores: &Stores, name: &ProfileName, args: ExecArgs) -> Result<i32> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::usage("no command given after --"));
    };
    let fresh = fresh(stores, name, args.margin.duration())?;
    let mut command = std::process::Command::new(program);
    command
        .args(rest)
        .env(BASE_URL_VAR, fresh.profile.base_url.as_str())
        .env(TOKEN_VAR, fresh.profile.access.secret());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // exec only returns when it failed.
        Ok(not_run(&program.to_string_lossy(), &command.exec()))
    }
    #[cfg(not(unix))]
    {
        match command.status() {
            Ok(status) => Ok(status.code().unwrap_or(1)),
            Err(e) => Ok(not_run(&program.to_string_lossy(), &e)),
        }
    }
}

/// Says why the command did not run and returns the exit code a shell
/// gives then: 127 when it is not found, 126 when it cannot be run.
fn not_run(program: &str, e: &std::io::Error) -> i32 {
    let (why, code) = if e.kind() == std::io::ErrorKind::NotFound {
        ("command not found".to_string(), 127)
    } else if e.kind() == std::io::ErrorKind::PermissionDenied {
        (
            "permission denied (not an executable file?)".to_string(),
            126,
        )
    } else {
        (format!("cannot be run: {e}"), 126)
    };
    say!("error: {}: {why}", crate::redact::scrub(program));
    code
}

/// Prints the two variables as lines a shell evaluates.
pub fn env(stores: &Stores, json: bool, name: &ProfileName, args: EnvArgs) -> Result<i32> {
    super::warnings::quiet();
    let fresh = fresh(stores, name, args.margin.duration())?;
    let base_url = &fresh.profile.base_url;
    let token = fresh.profile.access.secret();
    if json {
        print_json(&EnvOutput {
            base_url: base_url.to_string(),
            auth_token: token.clone(),
        })?;
        return Ok(0);
    }
    // Quoting alone makes any value safe; a stored value no portal should
    // send is refused as well, so that it is never printed to a shell.
    check_for_shell(base_url, token).map_err(|why| {
        Error::failed(format!("{} cannot be printed: {why}", name.profile_id()))
            .with_hint("log in again to replace the stored profile")
    })?;
    let syntax = match args.shell {
        Shell::Sh => Syntax::Posix,
        Shell::Fish => Syntax::Fish,
        Shell::Powershell => Syntax::PowerShell,
    };
    print_stdout(&format!(
        "{}{}",
        export_line(syntax, BASE_URL_VAR, base_url.as_str()),
        export_line(syntax, TOKEN_VAR, token)
    ))?;
    Ok(0)
}

fn check_for_shell(base_url: &ProfileUrl, token: &str) -> std::result::Result<(), String> {
    let url = base_url
        .usable()
        .map_err(|why| format!("the stored model base URL is not usable: {why}"))?;
    crate::region::check_plain_url(url)?;
    check_token(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `env --json` names the variables `env` exports.
    #[test]
    fn env_json_keys_are_the_variables() {
        let out = serde_json::to_value(EnvOutput {
            base_url: "b".into(),
            auth_token: "t".into(),
        })
        .unwrap();
        assert_eq!(out, serde_json::json!({BASE_URL_VAR: "b", TOKEN_VAR: "t"}));
    }
}
