//! Keeps secrets out of messages. Every secret the process holds (tokens,
//! the PKCE verifier, an authorization code) is registered when it is first
//! held; every text that comes from outside (portal answers) is scrubbed
//! when it becomes part of a message, and so is every error as it is
//! reported. A portal that echoes a token in its error text cannot leak it.

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Shorter strings are too likely to be ordinary words.
const MIN_SECRET_LEN: usize = 8;
const MARK: &str = "[redacted]";

pub fn register(secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    if let Ok(mut secrets) = SECRETS.lock()
        && !secrets.iter().any(|s| s == secret)
    {
        secrets.push(secret.to_string());
    }
}

/// The text with every registered secret replaced by `[redacted]`.
pub fn scrub(text: &str) -> String {
    let Ok(secrets) = SECRETS.lock() else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MARK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed() {
        register("tok-1234567890-unique");
        register("short");
        assert_eq!(
            scrub("refresh token tok-1234567890-unique already used (short)"),
            "refresh token [redacted] already used (short)"
        );
    }
}
