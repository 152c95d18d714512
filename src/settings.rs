//! The tool's own settings, in `config.toml` in the state folder: the
//! default profile (`switch`), the region `login` starts on, where profiles
//! are kept (`store`), and whether the keyring fallback was already
//! announced (so `auto` says it once, not on every command). A person may
//! edit it; nothing in it is secret. It prints nothing: what is wrong in
//! the file comes back with it, and `commands/config.rs` says it (and
//! makes the choices the file and the environment give a command).

use crate::error::{Error, Result};
use crate::region::Region;
use crate::safe_fs;
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
/// Where profiles may be kept, as `--store`, MINIMAX_PORTAL_AUTH_STORE or
/// `store` in config.toml says (`commands/config.rs`). It is defined here,
/// with the file that may name it, so that the stores can read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    /// The OS keyring; a 0600 file only when no keyring answers (with a warning)
    Auto,
    /// Only the OS keyring
    Keyring,
    /// Only the plain-text 0600 file under the state folder
    File,
}

impl StoreMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::Auto => "auto",
            StoreMode::Keyring => "keyring",
            StoreMode::File => "file",
        }
    }
}

/// The settings as read, with what was wrong in the file.
pub struct Read {
    /// The defaults when there is no file or it cannot be used.
    pub settings: Settings,
    /// Keys that mean nothing here (a typo would otherwise be ignored
    /// without a word), each as a warning.
    pub unknown_keys: Vec<String>,
    /// Why the file could not be used.
    pub problem: Option<String>,
}

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
    /// unreadable (`problem` says which).
    pub fn read(home: &Path) -> Read {
        let file = path(home);
        let (settings, unknown_keys, problem) = match safe_fs::read_capped(&file, MAX_BYTES) {
            Ok(None) => (None, Vec::new(), None),
            Ok(Some(bytes)) => {
                let unknown = unknown_keys(&file, &bytes);
                let settings = Settings::parse(&bytes);
                let problem = settings
                    .is_none()
                    .then(|| format!("{} is not valid; using the defaults", file.display()));
                (settings, unknown, problem)
            }
            Err(e) => (None, Vec::new(), Some(e.message)),
        };
        Read {
            settings: settings.unwrap_or_default(),
            unknown_keys,
            problem,
        }
    }

    /// The settings, or None when there are none or they cannot be read
    /// (for the stores, which need only one choice from them).
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

    pub fn save(&self, home: &Path) -> Result<()> {
        let text = toml::to_string(self)
            .map_err(|e| Error::failed(format!("cannot write the settings: {e}")))?;
        let text = format!("# minimax-portal-auth settings (README.md, \"Settings\")\n{text}");
        safe_fs::write_atomically(&path(home), text.as_bytes())
    }
}

/// The keys of `config.toml` that mean nothing here, each as a warning.
fn unknown_keys(file: &Path, bytes: &[u8]) -> Vec<String> {
    let Some(table) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
    else {
        return Vec::new();
    };
    table
        .keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .map(|key| {
            format!(
                "{}: unknown setting {:?} is ignored (known: profile, region, store)",
                file.display(),
                crate::redact::clean(key, 40)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_defaults() {
        let home = tempfile::tempdir().unwrap();
        assert!(Settings::read(home.path()).settings.profile.is_none());
        let settings = Settings {
            profile: Some("work".into()),
            region: Some(Region::Cn),
            store: Some(StoreMode::File),
            file_store_announced: true,
            ..Settings::default()
        };
        settings.save(home.path()).unwrap();
        let back = Settings::read(home.path()).settings;
        assert_eq!(back.profile.as_deref(), Some("work"));
        assert_eq!(back.region, Some(Region::Cn));
        assert!(back.file_store_announced);
        assert_eq!(back.store, Some(StoreMode::File));
        std::fs::write(home.path().join("config.toml"), "profile = [").unwrap();
        let broken = Settings::read(home.path());
        assert!(broken.settings.profile.is_none());
        assert!(
            broken
                .problem
                .is_some_and(|p| p.ends_with("is not valid; using the defaults"))
        );
    }
}
