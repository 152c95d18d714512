//! The plugin route into OpenClaw (docs/openclaw-plugin.md):
//! a small JavaScript plugin of ours (`openclaw-plugin/`, carried in this
//! binary) hands OpenClaw our access token on every turn through its
//! external auth overlay, and lets `openclaw onboard --auth-choice
//! minimax-portal` sign in through us. The plugin decides nothing; this
//! module says what it answers: which profiles, for how long to reuse an
//! answer, when to ask again, and the result of a sign-in.

use crate::catalog::{self, Catalog};
use crate::error::{Error, Result};
use crate::profile::{PROVIDER, Profile, ProfileName};
use crate::safe_fs;
use crate::session;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The plugin's id in OpenClaw. `minimax-portal-auth` and `minimax-portal`
/// are OpenClaw's aliases of its bundled MiniMax plugin, so ours differs.
pub const PLUGIN_ID: &str = "minimax-portal-keyring";

/// The plugin's files, as in the repository.
const FILES: &[(&str, &str)] = &[
    ("index.js", include_str!("../openclaw-plugin/index.js")),
    (
        "openclaw.plugin.json",
        include_str!("../openclaw-plugin/openclaw.plugin.json"),
    ),
    (
        "package.json",
        include_str!("../openclaw-plugin/package.json"),
    ),
];

/// What OpenClaw stores for a profile that the plugin serves (followed by
/// `:NAME`): not a secret, and expired, so that OpenClaw always takes the
/// plugin's credential over it (a stored credential that is still valid
/// wins).
pub const PLACEHOLDER: &str = "kept-by-minimax-portal-auth";

fn placeholder_access(name: &ProfileName) -> String {
    format!("{PLACEHOLDER}:{name}")
}

/// A turn asks for a new token this long before the margin: the plugin
/// refreshes in the background while the current token still serves.
pub const AHEAD: Duration = Duration::from_secs(10 * 60);
/// A token with less than this left is not handed out from a cached answer.
const LAST_USE_MS: i64 = 60_000;
/// Bounds on how soon the plugin asks again: often enough to see a logout
/// or a new login within a minute, rarely enough not to hammer a portal
/// that is down.
const ASK_AGAIN_MIN_MS: i64 = 15_000;
const ASK_AGAIN_MAX_MS: i64 = 60_000;
/// How long an error is repeated before the binary is asked again.
const ERROR_REUSE_MS: i64 = 5_000;

/// The models OpenClaw's bundled MiniMax plugin lists (2026.9.6); the
/// plugin route aliases only these, since the bundled catalog serves them.
const BUNDLED_MODELS: &[&str] = &["MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed"];

/// The folder the plugin is installed from (linked, so an update of this
/// binary's copy is an update of OpenClaw's).
pub fn plugin_dir(home: &Path) -> PathBuf {
    home.join("openclaw-plugin")
}

/// `install.json`: where the plugin finds this binary and the state
/// folder (never through PATH), and the store to use.
pub fn install_record(binary: &Path, home: &Path, store: Option<&str>) -> Value {
    let mut env = json!({ safe_fs::HOME_ENV: home });
    if let Some(store) = store {
        env["MINIMAX_PORTAL_AUTH_STORE"] = json!(store);
    }
    json!({ "binary": binary, "env": env })
}

/// Writes the plugin's files and its install record into `dir`; true when
/// any file changed.
pub fn write_plugin(dir: &Path, record: &Value) -> Result<bool> {
    safe_fs::ensure_private_dir(dir)?;
    let record = format!(
        "{}\n",
        serde_json::to_string_pretty(record).unwrap_or_default()
    );
    let files = FILES
        .iter()
        .copied()
        .chain(std::iter::once(("install.json", record.as_str())));
    let mut changed = false;
    for (name, text) in files {
        let path = dir.join(name);
        let current = safe_fs::read_capped(&path, 1024 * 1024).ok().flatten();
        if current.as_deref() != Some(text.as_bytes()) {
            safe_fs::write_atomically(&path, text.as_bytes())?;
            changed = true;
        }
    }
    Ok(changed)
}

/// The OpenClaw profile id of one of our profiles (provider `minimax-portal`).
pub fn openclaw_profile_id(name: &ProfileName) -> String {
    name.profile_id()
}

/// The credential OpenClaw keeps in its own store for a profile we serve.
pub fn placeholder(name: &ProfileName) -> Value {
    json!({
        "profileId": openclaw_profile_id(name),
        "credential": {
            "type": "oauth",
            "provider": PROVIDER,
            "access": placeholder_access(name),
            "refresh": PLACEHOLDER,
            "expires": 0,
        },
    })
}

/// What a sign-in adds to OpenClaw's config: the provider's model base URL
/// (OpenClaw's bundled MiniMax plugin keeps the catalog, so `models` stays
/// empty), the aliases, the auth profile and, when asked, the default model.
pub fn config_patch(
    catalog: &Catalog,
    name: &ProfileName,
    base_url: &str,
    set_default: bool,
) -> Value {
    let mut defaults = json!({ "models": aliases(catalog) });
    if set_default {
        defaults["model"] = json!({"primary": default_model(catalog)});
    }
    json!({
        "models": {"providers": {PROVIDER: {
            "baseUrl": base_url,
            "api": "anthropic-messages",
            "authHeader": true,
            "models": [],
        }}},
        "agents": {"defaults": defaults},
        "auth": {"profiles": {openclaw_profile_id(name): {
            "provider": PROVIDER,
            "mode": "oauth",
            "displayName": "kept fresh by minimax-portal-auth",
        }}},
    })
}

/// The aliases of the models OpenClaw's bundled catalog serves.
pub fn aliases(catalog: &Catalog) -> serde_json::Map<String, Value> {
    catalog
        .models
        .iter()
        .filter(|m| BUNDLED_MODELS.contains(&m.id.as_str()))
        .map(|m| {
            (
                catalog::model_ref(PROVIDER, &m.id),
                json!({"alias": m.alias}),
            )
        })
        .collect()
}

pub fn default_model(catalog: &Catalog) -> String {
    catalog::model_ref(PROVIDER, &catalog.default)
}

/// One profile as OpenClaw's external auth overlay takes it. "persisted"
/// is what reaches OpenClaw's auth resolution; OpenClaw still writes
/// nothing of it to its store (docs/openclaw-plugin.md).
#[derive(Serialize)]
struct ExternalProfile {
    #[serde(rename = "profileId")]
    profile_id: String,
    credential: Credential,
    persistence: &'static str,
}

#[derive(Serialize)]
struct Credential {
    #[serde(rename = "type")]
    kind: &'static str,
    provider: &'static str,
    access: String,
    /// Never the refresh token: it stays in our store.
    refresh: &'static str,
    expires: i64,
}

/// The plugin's answer for one turn (`openclaw credentials`).
#[derive(Serialize)]
pub struct Answer {
    profiles: Vec<ExternalProfile>,
    /// Set when no profile can be served: OpenClaw shows it as the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The plugin may hand out this answer without asking until then.
    reuse_until: i64,
    /// After this, the plugin asks again in the background.
    ask_after: i64,
    /// Placeholder → the profile id served for it: OpenClaw's wizard tests
    /// a new sign-in under a staging profile id, which holds a placeholder.
    placeholders: serde_json::Map<String, Value>,
    #[serde(skip)]
    errors: Vec<String>,
}

impl Answer {
    pub fn new(now: i64) -> Answer {
        Answer {
            profiles: Vec::new(),
            error: None,
            reuse_until: i64::MAX,
            ask_after: now + ASK_AGAIN_MAX_MS,
            placeholders: serde_json::Map::new(),
            errors: Vec::new(),
        }
    }

    /// A profile whose access token may be used now.
    pub fn serve(&mut self, name: &ProfileName, profile: &Profile, now: i64) {
        let access = profile.access.secret();
        self.serve_token(name, access, profile.expires, profile.updated_at, now);
    }

    /// [`Answer::serve`] from what the kernel cache keeps of a profile.
    pub fn serve_token(
        &mut self,
        name: &ProfileName,
        access: &str,
        expires: i64,
        updated_at: i64,
        now: i64,
    ) {
        let due = session::due_at_parts(expires, updated_at, crate::DEFAULT_MARGIN + AHEAD);
        let ask = due.clamp(now + ASK_AGAIN_MIN_MS, now + ASK_AGAIN_MAX_MS);
        self.ask_after = self.ask_after.min(ask);
        self.reuse_until = self
            .reuse_until
            .min(expires.saturating_sub(LAST_USE_MS).max(now));
        self.placeholders
            .insert(placeholder_access(name), json!(openclaw_profile_id(name)));
        self.profiles.push(ExternalProfile {
            profile_id: openclaw_profile_id(name),
            credential: Credential {
                kind: "oauth",
                provider: PROVIDER,
                access: access.to_string(),
                refresh: PLACEHOLDER,
                expires,
            },
            persistence: "persisted",
        });
    }

    /// A profile that cannot be served: the message carries the fix.
    pub fn fail(&mut self, name: &ProfileName, error: &Error) {
        let mut text = crate::redact::scrub(&error.message);
        if let Some(fix) = &error.fix {
            text.push_str(&format!(". fix: {}", crate::redact::scrub(fix)));
            if name.as_str() == "default" && error.class == crate::error::Class::NeedsLogin {
                text.push_str(" (or: openclaw onboard --auth-choice minimax-portal)");
            }
        }
        self.errors
            .push(format!("MiniMax ({}): {text}", name.profile_id()));
    }

    /// The answer, with an error only when nothing can be served.
    pub fn finish(mut self, now: i64) -> Answer {
        if self.profiles.is_empty() {
            self.error = Some(if self.errors.is_empty() {
                "no MiniMax profile is connected to OpenClaw. fix: minimax-portal-auth openclaw setup"
                    .to_string()
            } else {
                self.errors.join("; ")
            });
            self.reuse_until = now + ERROR_REUSE_MS;
            self.ask_after = now + ERROR_REUSE_MS;
        }
        self
    }
}

/// The result of `openclaw onboard`'s sign-in, as OpenClaw's interactive
/// wizard takes it (`ProviderAuthResult`).
pub fn onboard_result(catalog: &Catalog, name: &ProfileName, base_url: &str) -> Value {
    json!({
        "profiles": [placeholder(name)],
        "configPatch": config_patch(catalog, name, base_url, false),
        "defaultModel": default_model(catalog),
        "notes": [
            "minimax-portal-auth keeps this MiniMax session fresh and hands OpenClaw the token on every turn.",
            "Check it with: minimax-portal-auth status",
        ],
    })
}

/// The result of a non-interactive onboarding: the profiles to store and
/// the whole new config (`config` is OpenClaw's current one).
pub fn onboard_config(
    catalog: &Catalog,
    name: &ProfileName,
    base_url: &str,
    config: &Value,
) -> Value {
    let patch = config_patch(catalog, name, base_url, true);
    json!({
        "profiles": [placeholder(name)],
        "config": crate::openclaw::applied(config, &patch),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::sample;

    #[test]
    fn the_answer_serves_the_token_until_a_minute_before_expiry() {
        let now = 1_000_000_000_000;
        let mut profile = sample("default", 40, 40);
        profile.expires = now + 3_600_000;
        let mut answer = Answer::new(now);
        answer.serve(&ProfileName::default(), &profile, now);
        let answer = serde_json::to_value(answer.finish(now)).unwrap();
        assert_eq!(answer["reuse_until"], now + 3_600_000 - LAST_USE_MS);
        assert_eq!(answer["ask_after"], now + ASK_AGAIN_MAX_MS);
        let credential = &answer["profiles"][0]["credential"];
        assert_eq!(credential["access"], profile.access.secret().as_str());
        assert_eq!(credential["refresh"], PLACEHOLDER);
        assert_eq!(answer["profiles"][0]["persistence"], "persisted");
        assert_eq!(
            answer["placeholders"]["kept-by-minimax-portal-auth:default"],
            "minimax-portal:default"
        );
        assert!(answer.get("error").is_none());
    }

    #[test]
    fn a_profile_near_its_refresh_is_asked_for_again_soon() {
        let now = 1_000_000_000_000;
        let mut profile = sample("default", 40, 40);
        profile.expires = now + 12 * 60_000;
        profile.updated_at = now - 3_600_000;
        let mut answer = Answer::new(now);
        answer.serve(&ProfileName::default(), &profile, now);
        let answer = serde_json::to_value(answer.finish(now)).unwrap();
        assert_eq!(answer["ask_after"], now + ASK_AGAIN_MIN_MS);
    }

    #[test]
    fn nothing_to_serve_is_an_error_with_the_fix() {
        let now = 1_000_000_000_000;
        let mut answer = Answer::new(now);
        let error = Error::needs_login("the refresh token was rejected")
            .with_fix("minimax-portal-auth login");
        answer.fail(&ProfileName::default(), &error);
        let answer = serde_json::to_value(answer.finish(now)).unwrap();
        let text = answer["error"].as_str().unwrap();
        assert!(text.contains("fix: minimax-portal-auth login"), "{text}");
        assert!(text.contains("openclaw onboard --auth-choice minimax-portal"));
        assert_eq!(answer["reuse_until"], now + ERROR_REUSE_MS);
    }

    #[test]
    fn the_onboarding_config_keeps_the_bundled_catalog_and_sets_m3() {
        let catalog = catalog::load().unwrap();
        let config = json!({"gateway": {"mode": "local"}});
        let out = onboard_config(
            &catalog,
            &ProfileName::default(),
            "https://api.minimax.io/anthropic",
            &config,
        );
        let config = &out["config"];
        assert_eq!(config["gateway"]["mode"], "local");
        let provider = &config["models"]["providers"]["minimax-portal"];
        assert_eq!(provider["models"], json!([]));
        assert_eq!(
            config["agents"]["defaults"]["model"]["primary"],
            "minimax-portal/MiniMax-M3"
        );
        assert_eq!(out["profiles"][0]["credential"]["expires"], 0);
    }
}
