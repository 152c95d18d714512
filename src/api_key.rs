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
    pub fn parse(text: &str) -> Result<ApiKey> {
        let key = text.trim();
        if key.is_empty() {
            return Err(Error::usage("no API key was given on stdin"));
        }
        if key.len() < 8
            || key.len() > 4096
            || key.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::usage(
                "that does not look like a MiniMax API key (8 to 4096 characters, no spaces)",
            ));
        }
        Ok(ApiKey(key.to_string()))
    }

    #[cfg(test)]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

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

/// Reads the key: a hidden prompt on a terminal, else stdin (never argv).
pub fn read_key(interactive: bool) -> Result<ApiKey> {
    if interactive {
        let typed = crate::ui::prompt(|| {
            dialoguer::Password::new()
                .with_prompt("MiniMax API key (input hidden)")
                .interact_on(&console::Term::stderr())
                .map_err(|e| match e {
                    dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
                        Error::cancelled()
                    }
                    other => Error::usage(format!("cannot read the API key: {other}")),
                })
        })?;
        return ApiKey::parse(&typed);
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
