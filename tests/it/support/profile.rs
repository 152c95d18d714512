//! The OAuth profiles in a plugin's file store: read them back, or write one
//! as a login would have, to start a test from a known state.

use serde_json::{Value, json};

use super::cli::Plugin;
use super::minimax::{CLIENT_ID, TOKEN_PATH};
use super::now_ms;

/// The bytes of the stored profile `name`, to compare byte for byte.
#[track_caller]
pub fn stored_bytes(plugin: &Plugin, name: &str) -> Vec<u8> {
    let path = plugin.profile_file(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The stored profile `name`, parsed.
#[track_caller]
pub fn stored(plugin: &Plugin, name: &str) -> Value {
    serde_json::from_slice(&stored_bytes(plugin, name))
        .unwrap_or_else(|e| panic!("stored profile {name} is not JSON: {e}"))
}

/// Writes `bytes` as the stored profile `name`, whatever they hold.
pub fn write_profile(plugin: &Plugin, name: &str, bytes: &[u8]) {
    let path = plugin.profile_file(name);
    let dir = path.parent().expect("a profile file has a folder");
    std::fs::create_dir_all(dir).expect("create the profiles folder");
    std::fs::write(&path, bytes).expect("write the profile file");
}

/// Profile `name` as a login at `token_endpoint` in `region` would have
/// stored it an hour ago: access token `acc-old`, refresh token `refresh`,
/// expiring `expires_in_ms` from now (negative: already expired).
pub fn login_json(
    name: &str,
    token_endpoint: &str,
    refresh: &str,
    expires_in_ms: i64,
    region: &str,
) -> Value {
    let now = i64::try_from(now_ms()).expect("epoch milliseconds fit in i64");
    json!({
        "schema": 1, "type": "oauth", "provider": "minimax-portal",
        "profile_id": format!("minimax-portal:{name}"), "region": region,
        "access": "acc-old", "refresh": refresh,
        "expires": now + expires_in_ms,
        "token_endpoint": token_endpoint,
        "client_id": CLIENT_ID,
        "base_url": "https://api.minimax.io/anthropic",
        "updated_at": now - 3_600_000,
    })
}

/// Stores [`login_json`] as profile `name`. Returns the bytes written.
pub fn seed(
    plugin: &Plugin,
    name: &str,
    token_endpoint: &str,
    refresh: &str,
    expires_in_ms: i64,
    region: &str,
) -> Vec<u8> {
    let profile = login_json(name, token_endpoint, refresh, expires_in_ms, region);
    let bytes = serde_json::to_vec(&profile).expect("a serde_json::Value always serializes");
    write_profile(plugin, name, &bytes);
    bytes
}

/// The common case of [`seed`]: profile `default`, Global, issued by the
/// portal at `base`.
pub fn seed_default(plugin: &Plugin, base: &str, refresh: &str, expires_in_ms: i64) -> Vec<u8> {
    seed(
        plugin,
        "default",
        &format!("{base}{TOKEN_PATH}"),
        refresh,
        expires_in_ms,
        "global",
    )
}
