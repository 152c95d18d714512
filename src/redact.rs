//! Keeps secrets out of messages. Every secret the process holds (tokens,
//! the PKCE verifier, an authorization code) is registered when it is first
//! held; every text that comes from outside (portal answers) is scrubbed
//! when it becomes part of a message, and so is every error as it is
//! reported. A portal that echoes a token in its error text cannot leak it.
//! [`clean`] also makes such text safe to show on a terminal.

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
        // Longest first: a secret that contains another (a token value
        // read up to a broken quote) is scrubbed whole, not around it.
        let at = secrets.partition_point(|s| s.len() >= secret.len());
        secrets.insert(at, secret.to_string());
    }
}

/// Keeps this process's memory, which holds both tokens, out of core
/// dumps and away from same-user ptrace (Linux: PR_SET_DUMPABLE 0). The
/// command line calls it first thing; a host's own process is its own.
pub fn keep_out_of_core_dumps() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
}

/// Forgets every registered secret (fuzzing only: each run is a new
/// process, see src/fuzz_entry.rs).
#[doc(hidden)]
pub fn forget_all() {
    if let Ok(mut secrets) = SECRETS.lock() {
        secrets.clear();
    }
}

/// Registers every value of a `"…_token"` key in a body, even one that is
/// not valid JSON or is cut off in the middle of a token: such a body must
/// never carry a new token into a message.
pub fn register_token_like(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let mut rest: &str = &text;
    while let Some(at) = rest.find("_token\"") {
        rest = &rest[at + "_token\"".len()..];
        if let Some((value, _complete)) = raw_string_after_colon(rest) {
            register(value.trim_end_matches('\\'));
            // Its leading run of token characters too: the rest may be
            // junk up to a quote that never came.
            let run = value
                .find(|c: char| !c.is_ascii_graphic() || c == '\\' || c == '"')
                .map_or(value, |end| &value[..end]);
            register(run);
        }
    }
}

/// The complete string value of `"key": "…"` in text that may not parse as
/// JSON; None when the key is absent or its string is cut off.
pub fn string_value_of(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = text.find(&needle)?;
    let rest = &text[at + needle.len()..];
    match raw_string_after_colon(rest)? {
        (value, true) => serde_json::from_str::<String>(&format!("\"{value}\"")).ok(),
        (_, false) => None,
    }
}

/// After a key: `: "value` up to the closing quote or the end of the text,
/// and whether the closing quote was there.
fn raw_string_after_colon(rest: &str) -> Option<(&str, bool)> {
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let body = rest.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some((&body[..i], true)),
            _ => escaped = false,
        }
    }
    Some((body, false))
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

/// Bytes that may hold secrets (a portal answer, a stored profile). They
/// read as `[u8]`; Debug prints only their length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(pub Vec<u8>);

impl std::ops::Deref for SecretBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[redacted {} bytes]", self.0.len())
    }
}

/// Text from outside made safe to show: secrets scrubbed, control
/// characters (terminal escapes among them) and line separators replaced,
/// characters that reorder or hide text (bidi controls, zero-width ones)
/// dropped, length bounded.
pub fn clean(text: &str, max_chars: usize) -> String {
    let text = scrub(text);
    let mut out: String = text
        .chars()
        .filter(|c| !is_hidden(*c))
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .take(max_chars)
        .collect();
    if text.chars().filter(|c| !is_hidden(*c)).count() > max_chars {
        out.push('…');
    }
    out
}

/// Characters that change how the text around them reads without showing
/// themselves: bidi embeddings, overrides, isolates and marks, zero-width
/// spaces and joiners, invisible operators, the byte-order mark, the soft
/// hyphen and interlinear annotations.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_is_kept_out_of_core_dumps() {
        use rustix::process::{DumpableBehavior, dumpable_behavior};
        keep_out_of_core_dumps();
        assert_eq!(dumpable_behavior().unwrap(), DumpableBehavior::NotDumpable);
    }

    #[test]
    fn secret_bytes_debug_shows_only_the_length() {
        let bytes = SecretBytes(br#"{"access_token":"acc-0123456789"}"#.to_vec());
        assert_eq!(format!("{bytes:?}"), "[redacted 33 bytes]");
        assert_eq!(bytes.len(), 33);
    }

    /// A secret that contains another is scrubbed whole; the token-like
    /// start of a value cut by junk is registered on its own.
    #[test]
    fn nested_and_junk_cut_secrets_are_scrubbed() {
        register("held-0123456789-nested");
        register_token_like(
            "{\"refresh_token\":\"tok-0123456789-junk\u{fffd}x held-0123456789-nested y\"}"
                .as_bytes(),
        );
        let text = scrub("a tok-0123456789-junk\u{fffd}x [b] and tok-0123456789-junk alone");
        assert!(!text.contains("tok-0123456789"), "{text}");
    }

    #[test]
    fn registered_secrets_are_scrubbed() {
        register("tok-1234567890-unique");
        register("short");
        assert_eq!(
            scrub("refresh token tok-1234567890-unique already used (short)"),
            "refresh token [redacted] already used (short)"
        );
    }

    #[test]
    fn token_like_values_are_found_in_broken_bodies() {
        register_token_like(
            br#"{"access_token": "acc-broken-111111", "expired_in":NaN, "refresh_token":"ref-cut-22222"#,
        );
        let out = scrub("acc-broken-111111 ref-cut-22222");
        assert_eq!(out, "[redacted] [redacted]");
    }

    #[test]
    fn complete_values_only() {
        let text = r#"{"a_token":"x\"y1234567","b":1,"cut":"abc"#;
        assert_eq!(string_value_of(text, "a_token").unwrap(), "x\"y1234567");
        assert_eq!(string_value_of(text, "cut"), None);
        assert_eq!(string_value_of(text, "none"), None);
    }

    #[test]
    fn clean_drops_what_reorders_or_hides_text() {
        let shown = clean(
            "ab\u{202e}cd\u{2066}e\u{200b}f\u{200e}\u{200f}g\u{feff}h",
            100,
        );
        assert_eq!(shown, "abcdefgh");
        assert_eq!(clean("a\u{2028}b\u{2029}c\u{1b}[2J", 100), "a b c [2J");
        assert_eq!(clean("\u{202e}abc", 2), "ab…");
        assert_eq!(clean("MiniMax-M3 ✓ 中文", 100), "MiniMax-M3 ✓ 中文");
    }
}
