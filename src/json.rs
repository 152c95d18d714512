//! Every `--json` shape the command line prints, as one struct each. The
//! commands build their output from these, and tests/it/readme.rs reads each
//! docs/json.md example back into the same struct (unknown keys refused), so the
//! docs, the binary and these types cannot drift apart.
//!
//! Keys are always present: a field that does not apply is `null`, never
//! left out. Field order is the order printed.

use crate::error::Class;
use crate::region::Region;
use crate::session::Outcome;
use crate::store::{StoreKind, StoreMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// `login --json`: the OAuth profile just saved and the host's config patch.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginOutput {
    pub profile_id: String,
    pub provider: String,
    pub region: Region,
    /// When the access token expires, epoch ms.
    pub expires: i64,
    pub store: StoreKind,
    pub base_url: String,
    /// `provider/model` of the catalog's default model.
    pub default_model: String,
    /// What MiniMax asked to be shown at sign-in, if anything.
    pub notification_message: Option<String>,
    /// The patch a host merges into its config (`catalog::config_patch`).
    pub config_patch: Value,
}

/// `login --with-api-key --json`: the API-key profile just saved and the
/// host's config patch.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyLoginOutput {
    pub profile_id: String,
    pub provider: String,
    pub region: Region,
    pub store: StoreKind,
    pub base_url: String,
    pub default_model: String,
    pub config_patch: Value,
}

/// `token --json`: a fresh access token and where to use it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenOutput {
    pub profile_id: String,
    pub access_token: String,
    pub expires: i64,
    pub base_url: String,
    /// valid, refreshed, refreshed_elsewhere or not_refreshed.
    pub outcome: Outcome,
}

/// `refresh --json`: one row per profile and the worst exit code.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshOutput {
    pub profiles: Vec<RefreshRow>,
    pub exit_code: i32,
}

/// One profile's refresh: its outcome, or the error class and its fix.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRow {
    pub profile_id: String,
    /// A session outcome on success, else the error class.
    pub outcome: RefreshOutcome,
    pub expires: Option<i64>,
    pub store: Option<StoreKind>,
    pub message: Option<String>,
    pub fix: Option<String>,
    /// Seconds the portal asked to wait (HTTP 429 `Retry-After`).
    pub retry_after: Option<u64>,
    pub warnings: Vec<String>,
}

/// How one profile's refresh went: how it came to be fresh, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RefreshOutcome {
    Fresh(Outcome),
    Failed(Class),
}

/// `status --json`: every profile, the API-key profiles, and the stores.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusOutput {
    pub profiles: Vec<StatusRow>,
    pub api_keys: Vec<ApiKeyRow>,
    pub default_profile: String,
    pub store_mode: StoreMode,
    pub keyring_backend: String,
    /// Whether `token` is served from the kernel keyring cache: "on ...",
    /// or "off (why)" (store/kcache.rs).
    #[serde(default)]
    pub kernel_cache: String,
    pub state_home: PathBuf,
    pub warnings: Vec<String>,
}

/// One OAuth profile as `status --json` reports it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRow {
    pub profile_id: String,
    pub name: String,
    pub provider: String,
    pub region: Option<Region>,
    pub expires: Option<i64>,
    pub expires_in_seconds: Option<i64>,
    pub state: ProfileState,
    pub usable: bool,
    pub default: bool,
    pub store: Option<StoreKind>,
    pub base_url: Option<String>,
    /// The account's group, when the token says.
    pub group: Option<String>,
    pub message: Option<String>,
    pub fix: Option<String>,
    /// With --check: what the online check found.
    pub check: Option<String>,
}

/// What `status` finds of one OAuth profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileState {
    /// More than the margin is left.
    Valid,
    /// Less than the margin is left: the next use refreshes it.
    Expiring,
    /// The access token expired: the next use refreshes it.
    Expired,
    /// MiniMax rejected the refresh token: only a new login helps.
    NeedsLogin,
    /// Named with `-p`, but not stored.
    Missing,
    /// Stored, but not a profile this version can use.
    Unreadable,
    /// Its store (the keyring) did not answer.
    StoreUnavailable,
}

/// One API-key profile in `status --json` (never the key).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRow {
    pub profile_id: String,
    /// None when the stored profile cannot be read.
    pub region: Option<Region>,
    pub store: StoreKind,
}

/// `logout --json` for one profile, and each row of `logout --all --json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRow {
    pub profile_id: String,
    pub removed: bool,
    /// Where copies were removed from.
    pub stores: Vec<StoreKind>,
}

/// `logout --all --json`: the profiles that were removed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutAllOutput {
    pub profiles: Vec<LogoutRow>,
}

/// `usage --json`: the plan's usage windows per model.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageOutput {
    pub profile_id: String,
    pub region: Region,
    /// Which endpoint answered: token_plan or coding_plan.
    pub plan: Plan,
    pub models: Vec<ModelUsage>,
}

/// One model's usage and its windows are the portal reader's types.
pub use crate::portal::usage::{ModelUsage, Plan, Window};

/// `doctor --json`: every check, and whether none failed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorOutput {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// One check of `doctor`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    /// A bare command that fixes it.
    pub fix: Option<String>,
    /// Advice in words, when a command alone does not say it.
    pub hint: Option<String>,
}

/// How a `doctor` check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skip,
}

/// What any command prints with --json when it fails.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorOutput {
    pub error: ErrorBody,
}

/// An error as `--json` reports it, scrubbed of secrets.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// failed, usage, needs_login, transient, store_unavailable, cancelled.
    pub class: Class,
    pub exit_code: i32,
    pub message: String,
    pub fix: Option<String>,
    pub hint: Option<String>,
    /// Seconds the portal asked to wait (HTTP 429 `Retry-After`).
    pub retry_after: Option<u64>,
}

/// `switch --json`: the profile now used without -p.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchOutput {
    pub default_profile: String,
}

/// `env --json`: the two variables Anthropic-compatible tools read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvOutput {
    #[serde(rename = "ANTHROPIC_BASE_URL")]
    pub base_url: String,
    #[serde(rename = "ANTHROPIC_AUTH_TOKEN")]
    pub auth_token: String,
}

/// `openclaw setup --json` once OpenClaw's config holds the setup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenclawSetupOutput {
    /// Whether this run changed OpenClaw's config.
    pub applied: bool,
    /// Whether the config held the setup already.
    pub already: bool,
    pub profile_id: String,
    pub provider: String,
    pub secret_provider: String,
    /// The binary OpenClaw runs for a token.
    pub command: PathBuf,
    /// OpenClaw's own stored credentials for the provider, which shadow
    /// the exec reference.
    pub stored_credentials: Vec<String>,
    /// The watcher service file, with --service.
    pub service: Option<PathBuf>,
}

/// `openclaw setup [--remove] --json` without OpenClaw (or with --dry-run):
/// the patch and the command that applies it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenclawPlanOutput {
    /// Always false: nothing was applied.
    pub applied: bool,
    pub patch: Value,
    pub command: String,
}

/// `openclaw setup --remove --json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenclawRemoveOutput {
    /// Whether OpenClaw's config held the setup (and now does not).
    pub removed: bool,
    /// How many `openclaw config patch` runs it took.
    pub patches: usize,
    pub provider: String,
    /// The watcher service file, when it is still installed.
    pub service: Option<PathBuf>,
}

/// `openclaw setup --json` by the plugin route (the default).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenclawPluginSetupOutput {
    /// Whether OpenClaw was changed (false with --dry-run or without OpenClaw).
    pub applied: bool,
    /// Whether anything was different before (false: already set up).
    pub changed: bool,
    /// `plugin`.
    pub route: String,
    /// The plugin's id in OpenClaw.
    pub plugin: String,
    /// Where OpenClaw loads the plugin from.
    pub plugin_dir: PathBuf,
    pub profile_id: String,
    /// With --set-default: OpenClaw's new default model.
    pub default_model: Option<String>,
    /// With --dry-run: the config patch that would be merged (none before a login).
    pub patch: Option<serde_json::Value>,
}

/// `openclaw setup --remove --json` when the plugin route was set up.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenclawPluginRemoveOutput {
    pub removed: bool,
    /// How many `openclaw config patch` runs it took.
    pub patches: usize,
    /// Whether the plugin itself went (no other profile uses it).
    pub plugin_removed: bool,
    pub profile_id: String,
}

/// One line of `refresh --watch --json`: an event, for which profile, when.
#[derive(Debug, Serialize, Deserialize)]
pub struct WatchLine {
    /// started, stopped, ended, a session outcome, or an error class.
    pub event: WatchEvent,
    pub profile_id: Option<String>,
    /// When it happened, epoch ms.
    pub at: i64,
    #[serde(flatten)]
    pub detail: WatchDetail,
}

/// What happened to the watch, or to one profile in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchEvent {
    Started,
    Stopped,
    /// No profile is left to watch.
    Ended,
    /// A profile's token: how it came to be fresh.
    #[serde(untagged)]
    Fresh(Outcome),
    /// A profile's failure: passing (retried), or the profile is dropped.
    #[serde(untagged)]
    Failed(Class),
}

/// What a watch event says beyond its name (its keys sit beside `event`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum WatchDetail {
    /// `started`: the profiles watched.
    Started { profiles: Vec<String> },
    /// The access token changed: its expiry, whether `--then` ran well
    /// (null without `--then`), and after a failed `--then` in how many
    /// seconds it runs again.
    Announced {
        expires: i64,
        then_ok: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then_retry_in: Option<u64>,
    },
    /// A passing failure: the next try is this many seconds away.
    Retrying { retry_in: u64 },
    /// `stopped`: nothing more to say. (Before `Ended`, whose one key may be
    /// missing when read back.)
    Stopped {},
    /// A new login is needed (or the call was wrong): the watch ends.
    Ended { fix: Option<String> },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each enum prints the exact string the output had when it was a
    /// string (docs/json.md), and reads it back.
    #[test]
    fn enums_print_todays_strings() {
        fn same<T>(value: T, text: &str)
        where
            T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            assert_eq!(serde_json::to_value(&value).unwrap(), json!(text));
            assert_eq!(serde_json::from_value::<T>(json!(text)).unwrap(), value);
        }
        for outcome in [
            Outcome::StillValid,
            Outcome::Refreshed,
            Outcome::RefreshedElsewhere,
            Outcome::NotRefreshed,
        ] {
            same(outcome, outcome.as_str());
            same(RefreshOutcome::Fresh(outcome), outcome.as_str());
            same(WatchEvent::Fresh(outcome), outcome.as_str());
        }
        for class in [Class::NeedsLogin, Class::Transient, Class::Cancelled] {
            same(RefreshOutcome::Failed(class), class.as_str());
            same(WatchEvent::Failed(class), class.as_str());
        }
        same(WatchEvent::Started, "started");
        same(WatchEvent::Stopped, "stopped");
        same(WatchEvent::Ended, "ended");
        for mode in [StoreMode::Auto, StoreMode::Keyring, StoreMode::File] {
            same(mode, mode.as_str());
        }
        for (state, text) in [
            (ProfileState::Valid, "valid"),
            (ProfileState::Expiring, "expiring"),
            (ProfileState::Expired, "expired"),
            (ProfileState::NeedsLogin, "needs_login"),
            (ProfileState::Missing, "missing"),
            (ProfileState::Unreadable, "unreadable"),
            (ProfileState::StoreUnavailable, "store_unavailable"),
        ] {
            same(state, text);
        }
        same(Plan::TokenPlan, "token_plan");
        same(Plan::CodingPlan, "coding_plan");
        assert!(serde_json::from_value::<WatchEvent>(json!("other")).is_err());
        assert!(serde_json::from_value::<ProfileState>(json!("Valid")).is_err());
    }
}
