//! The tool's own settings, in `config.toml` in the state folder: the
//! default profile (`switch`), the region `login` starts on, where profiles
//! are kept (`store`), and whether the keyring fallback was already
//! announced (so `auto` says it once, not on every command). A person may
//! edit it; nothing in it is secret. Also: the choices the environment
//! makes, read here so that a bad value names its variable.

use crate::error::{Error, Result};
use crate::profile::ProfileName;
use crate::region::Region;
use crate::safe_fs;
use crate::store::StoreMode;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const PROFILE_ENV: &str = "MINIMAX_PORTAL_AUTH_PROFILE";
pub const STORE_ENV: &str = "MINIMAX_PORTAL_AUTH_STORE";
pub const REGION_ENV: &str = "MINIMAX_PORTAL_REGION";
/// The keys `config.toml` may hold; others are named in a warning.
const KNOWN_KEYS: &[&str] = &[
    "profile",
    "region",
    "store",
    "file_store_announced",
    "openclaw_profiles",
    "kernel_cache",
];
/// A settings file larger than this is not ours.
const MAX_BYTES: u64 = 64 * 1024;

/// `config.toml`: what the tool remembers between runs (no secrets).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// The profile commands use without -p.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The region `login` starts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// Where profiles are kept when neither --store nor the environment
    /// says (e.g. `store = "file"` on a machine without a keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreMode>,
    /// The keyring fallback of `auto` was announced once already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub file_store_announced: bool,
    /// The profiles OpenClaw's plugin hands out (`openclaw setup`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub openclaw_profiles: Vec<String>,
    /// `false` turns off the kernel keyring cache (`store/kcache.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_cache: Option<bool>,
}

fn path(home: &Path) -> PathBuf {
    home.join("config.toml")
}

impl Settings {
    /// The settings, or the defaults when there are none or they are
    /// unreadable (a warning says which).
    pub fn load(home: &Path) -> Settings {
        let file = path(home);
        match safe_fs::read_capped(&file, MAX_BYTES) {
            Ok(None) => Settings::default(),
            Ok(Some(bytes)) => Settings::parse_noting(&file, &bytes).unwrap_or_else(|| {
                say!(
                    "warning: {} is not valid; using the defaults",
                    file.display()
                );
                Settings::default()
            }),
            Err(e) => {
                say!("warning: {}", e.message);
                Settings::default()
            }
        }
    }

    /// The settings as `load` reads them, but without a word on stderr
    /// (for the library, which never prints): None when there are none or
    /// they cannot be read.
    pub fn load_quietly(home: &Path) -> Option<Settings> {
        safe_fs::read_capped(&path(home), MAX_BYTES)
            .ok()
            .flatten()
            .and_then(|bytes| Settings::parse(&bytes))
    }

    /// The settings in `config.toml`'s bytes; None when they are not valid.
    pub fn parse(bytes: &[u8]) -> Option<Settings> {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| toml::from_str(text).ok())
    }

    /// `parse`, warning about keys that mean nothing here.
    fn parse_noting(file: &Path, bytes: &[u8]) -> Option<Settings> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            warn_unknown_keys(file, text);
        }
        Settings::parse(bytes)
    }

    pub fn save(&self, home: &Path) -> Result<()> {
        let text = toml::to_string(self)
            .map_err(|e| Error::failed(format!("cannot write the settings: {e}")))?;
        let text = format!("# minimax-portal-auth settings (README.md, \"Settings\")\n{text}");
        safe_fs::write_atomically(&path(home), text.as_bytes())
    }
}

/// The profiles OpenClaw's plugin serves: those `openclaw setup` connected,
/// else the default one.
pub fn openclaw_profiles(home: &Path) -> Vec<ProfileName> {
    let names: Vec<ProfileName> = Settings::load(home)
        .openclaw_profiles
        .iter()
        .filter_map(|name| ProfileName::parse(name).ok())
        .collect();
    if names.is_empty() {
        vec![ProfileName::default()]
    } else {
        names
    }
}

/// Names the keys of `config.toml` that mean nothing here (a typo would
/// otherwise be ignored without a word).
fn warn_unknown_keys(file: &Path, text: &str) {
    // The settings are read several times a run; said once.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| say_unknown_keys(file, text));
}

fn say_unknown_keys(file: &Path, text: &str) {
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    for key in table.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        say!(
            "warning: {}: unknown setting {:?} is ignored (known: profile, region, store)",
            file.display(),
            crate::redact::clean(key, 40)
        );
    }
}

/// Where profiles are kept: --store, else MINIMAX_PORTAL_AUTH_STORE, else
/// `store` in config.toml, else auto.
pub fn store_mode(flag: Option<StoreMode>, home: &Path) -> Result<StoreMode> {
    if let Some(mode) = flag.or(crate::env::choice(STORE_ENV)?) {
        return Ok(mode);
    }
    Ok(Settings::load(home).store.unwrap_or(StoreMode::Auto))
}

/// The profile a command works on without -p: MINIMAX_PORTAL_AUTH_PROFILE,
/// else the one `switch` chose, else `default`.
pub fn default_profile(home: &Path) -> Result<ProfileName> {
    if let Ok(name) = std::env::var(PROFILE_ENV)
        && !name.trim().is_empty()
    {
        return ProfileName::parse(name.trim())
            .map_err(|e| Error::usage(format!("{PROFILE_ENV}: {}", e.message)));
    }
    match Settings::load(home).profile {
        Some(name) => ProfileName::parse(&name).or_else(|_| {
            say!("warning: the default profile {name:?} in the settings is not a profile name");
            Ok(ProfileName::default())
        }),
        None => Ok(ProfileName::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_defaults() {
        let home = tempfile::tempdir().unwrap();
        assert!(Settings::load(home.path()).profile.is_none());
        let settings = Settings {
            profile: Some("work".into()),
            region: Some(Region::Cn),
            store: Some(StoreMode::File),
            file_store_announced: true,
            ..Settings::default()
        };
        settings.save(home.path()).unwrap();
        let back = Settings::load(home.path());
        assert_eq!(back.profile.as_deref(), Some("work"));
        assert_eq!(back.region, Some(Region::Cn));
        assert!(back.file_store_announced);
        assert_eq!(back.store, Some(StoreMode::File));
        std::fs::write(home.path().join("config.toml"), "profile = [").unwrap();
        assert!(Settings::load(home.path()).profile.is_none());
    }
}
