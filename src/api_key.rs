//! The API-key route (the host's second setup): a MiniMax API key, stored as
//! an `api_key` profile for provider `minimax`. Reading it from the person
//! is `ui::read_api_key`.

use crate::error::{Error, Result};
use crate::region::Region;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const PROVIDER: &str = "minimax";

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
