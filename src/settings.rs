//! The tool's own settings, in `config.toml` in the state folder: the
//! default profile (`switch`), the region `login` starts on, and whether the
//! keyring fallback was already announced (so `auto` says it once, not on
//! every command). A person may edit it; nothing in it is secret.

use crate::error::{Error, Result};
use crate::profile::ProfileName;
use crate::region::Region;
use crate::safe_fs;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const PROFILE_ENV: &str = "MINIMAX_PORTAL_AUTH_PROFILE";
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
    /// The keyring fallback of `auto` was announced once already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub file_store_announced: bool,
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
            Ok(Some(bytes)) => Settings::parse(&bytes).unwrap_or_else(|| {
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
            file_store_announced: true,
        };
        settings.save(home.path()).unwrap();
        let back = Settings::load(home.path());
        assert_eq!(back.profile.as_deref(), Some("work"));
        assert_eq!(back.region, Some(Region::Cn));
        assert!(back.file_store_announced);
        std::fs::write(home.path().join("config.toml"), "profile = [").unwrap();
        assert!(Settings::load(home.path()).profile.is_none());
    }
}
