//! Entry points for the fuzz targets in `fuzz/` (not an interface): each
//! runs one parser of outside input and returns the text a user could be
//! shown about it (messages, warnings), so a target can check that no
//! secret reaches it. Secrets held (the registry in `redact.rs`) are
//! scrubbed from that text, as every reported message is.

use crate::manifest::Manifest;
use crate::portal::answer::{self, TokenAnswer};
use crate::portal::http::Answer;
use crate::portal::{browser, usage, wire};
use crate::profile::Profile;
use crate::redact::{self, SecretBytes};
use crate::settings::Settings;
use std::fmt::Write;

/// Forgets every registered secret, so that each fuzz run starts as a new
/// process would (and the registry does not grow across runs).
pub fn new_process() {
    redact::forget_all();
}

/// A token-endpoint answer with this status and body.
pub fn token_answer(status: u16, body: &[u8], now_ms: i64) -> String {
    let got = answer::classify(
        Ok(Answer {
            status,
            date: None,
            body: SecretBytes(body.to_vec()),
            retry_after: None,
            location: None,
        }),
        now_ms,
    );
    let text = match got {
        TokenAnswer::Tokens(tokens) => {
            // What a user sees of a success: its warnings and notice.
            let mut text = tokens.warnings.join("\n");
            if let Some(notice) = tokens.notification {
                text.push('\n');
                text.push_str(&notice);
            }
            if let Some(url) = tokens.resource_url {
                text.push('\n');
                text.push_str(url.as_str());
            }
            text
        }
        TokenAnswer::Pending => String::new(),
        TokenAnswer::SlowDown { .. } => String::new(),
        TokenAnswer::Rejected(reason) | TokenAnswer::Failed(reason) => reason,
        TokenAnswer::Transient { reason, .. } => reason,
    };
    redact::scrub(&text)
}

/// A device-code answer, for a login that sent `state`.
pub fn device_code(body: &[u8], state: &str, now_ms: i64) -> String {
    let text = match wire::parse_device_code(body, state, now_ms) {
        Ok(code) => format!("{} {}", code.user_code, code.verification_uri),
        Err(e) => e,
    };
    redact::scrub(&text)
}

/// A usage answer.
pub fn usage_answer(body: &[u8], now_ms: i64) -> String {
    let text = match usage::parse(body, now_ms) {
        Ok(models) => format!("{} models", models.len()),
        Err(e) => e.to_string(),
    };
    redact::scrub(&text)
}

/// A stored profile, as the keyring or the file store holds it (JSON, or
/// zlib-compressed JSON): the errors about it (a profile that loads shows
/// its own fields, which is not a leak).
pub fn stored_profile(bytes: &[u8]) -> String {
    let text = match crate::decode_profile(bytes) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    let plain = match Profile::from_json(bytes) {
        Ok(_) => String::new(),
        Err(e) => e,
    };
    redact::scrub(&format!("{text}\n{plain}"))
}

/// A keyring index: the names it lists.
pub fn keyring_index(bytes: &[u8]) -> String {
    let mut text = String::new();
    for (name, at) in crate::store::index::parse(bytes) {
        let _ = writeln!(text, "{name} {at}");
    }
    redact::scrub(&text)
}

/// `config.toml`.
pub fn settings(bytes: &[u8]) -> String {
    redact::scrub(&format!("{:?}", Settings::parse(bytes)))
}

/// `plugin.toml`: its problems.
pub fn manifest(text: &str) -> String {
    match Manifest::parse(text) {
        Ok(_) => String::new(),
        Err(problems) => redact::scrub(&problems.join("\n")),
    }
}

/// A request head on the loopback callback: the page it gets, or what it
/// brought (a code is never shown).
pub fn callback_request(head: &str, state: &str) -> String {
    let text = match browser::callback_in(head, state) {
        Ok(returned) => returned_text(returned),
        Err(page) => format!("{} {}", page.status, page.text),
    };
    redact::scrub(&text)
}

/// An address pasted from the browser.
pub fn pasted_redirect(text: &str, redirect_uri: &str, state: &str) -> String {
    let text = match browser::read_pasted(text, redirect_uri, state) {
        Ok(returned) => returned_text(returned),
        Err(e) => e,
    };
    redact::scrub(&text)
}

fn returned_text(returned: browser::Returned) -> String {
    match returned {
        browser::Returned::Code(_) => "code".to_string(),
        browser::Returned::Denied(reason) => reason,
    }
}

/// An `expired_in` value: the expiry believed and any warning.
pub fn expiry(value: &serde_json::Value, now_ms: i64) -> Result<(i64, Option<String>), String> {
    let ms = wire::normalize_expiry(value, now_ms)?;
    Ok(wire::believable_expiry(ms, now_ms))
}
