//! The API-key route (the host's second setup): a MiniMax API key read from
//! stdin, stored as an `api_key` profile for provider `minimax`.

use crate::error::{Error, Result};
use crate::region::Region;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Read;

pub const PROVIDER: &str = "minimax";
/// Longer input than this on stdin is not an API key.
const MAX_INPUT_BYTES: u64 = 8 * 1024;

/// The key itself; its Debug never shows it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks what was pasted; the error says what was wrong with it.
    pub fn parse(text: &str) -> Result<ApiKey> {
        let key = text.trim();
        let wrong = |why: String| {
            Err(Error::usage(format!(
                "that is not a MiniMax API key: {why}"
            )))
        };
        if key.is_empty() {
            return Err(Error::usage("no API key was given"));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return wrong("it has spaces or line breaks inside; paste the key alone".into());
        }
        if key.len() < 8 {
            return wrong(format!(
                "it is only {} characters long",
                key.chars().count()
            ));
        }
        if key.len() > 4096 {
            return wrong(format!(
                "it is {} characters long, more than a key",
                key.len()
            ));
        }
        Ok(ApiKey(key.to_string()))
    }

    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// What is stored for an API-key profile (`type` "api_key", provider
/// `minimax`): the same header as an OAuth [`crate::Profile`], then the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyProfile {
    pub schema: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub provider: String,
    pub profile_id: String,
    pub region: Region,
    pub key: ApiKey,
    pub base_url: String,
    pub updated_at: i64,
}

/// How many pastes a person gets before the command gives up.
const TRIES: u32 = 3;

/// Reads the key: a hidden prompt on a terminal (asking again after a bad
/// paste, saying why), else stdin (never argv).
pub fn read_key(interactive: bool) -> Result<ApiKey> {
    if interactive {
        let mut tries = 0;
        loop {
            let typed = crate::ui::prompt(|| {
                dialoguer::Password::new()
                    .with_prompt("MiniMax API key (input hidden)")
                    .allow_empty_password(true)
                    .interact_on(&console::Term::stderr())
                    .map_err(|e| match e {
                        dialoguer::Error::IO(io)
                            if io.kind() == std::io::ErrorKind::Interrupted =>
                        {
                            Error::cancelled()
                        }
                        other => Error::usage(format!("cannot read the API key: {other}")),
                    })
            })?;
            match ApiKey::parse(&typed) {
                Ok(key) => return Ok(key),
                Err(e) if tries + 1 < TRIES => {
                    tries += 1;
                    say!("{}. Try again (Ctrl-C to stop).", e.message);
                }
                Err(e) => return Err(e),
            }
        }
    }
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::usage(format!("cannot read the API key from stdin: {e}")))?;
    if input.len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::usage("stdin holds more than an API key"));
    }
    let text =
        String::from_utf8(input).map_err(|_| Error::usage("the API key on stdin is not text"))?;
    ApiKey::parse(text.lines().next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_never_printed() {
        let key = ApiKey::parse("  sk-abcdef123456\n").unwrap();
        assert_eq!(key.secret(), "sk-abcdef123456");
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        assert!(ApiKey::parse("").is_err());
        assert!(ApiKey::parse("short").is_err());
        assert!(ApiKey::parse("has a space inside").is_err());
    }
}
