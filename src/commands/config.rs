//! What `config.toml` (`settings.rs`) and the environment choose for a
//! command, with a warning on stderr for what is wrong in them. The
//! settings file itself is read quietly below; saying it is a command's job.

use crate::error::{Error, Result};
use crate::profile::ProfileName;
use crate::settings::{PROFILE_ENV, STORE_ENV, Settings, StoreMode};
use std::path::Path;

/// The settings, or the defaults when there are none or they are
/// unreadable (a warning says which).
pub fn load(home: &Path) -> Settings {
    let read = Settings::read(home);
    if !read.unknown_keys.is_empty() {
        // The settings are read several times a run; said once.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            for warning in &read.unknown_keys {
                say!("warning: {warning}");
            }
        });
    }
    if let Some(problem) = &read.problem {
        say!("warning: {problem}");
    }
    read.settings
}

/// The profiles OpenClaw's plugin serves: those `openclaw setup` connected,
/// else the default one.
pub fn openclaw_profiles(home: &Path) -> Vec<ProfileName> {
    let names: Vec<ProfileName> = load(home)
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

/// Where profiles are kept: --store, else MINIMAX_PORTAL_AUTH_STORE, else
/// `store` in config.toml, else auto.
pub fn store_mode(flag: Option<StoreMode>, home: &Path) -> Result<StoreMode> {
    if let Some(mode) = flag.or(crate::env::choice(STORE_ENV)?) {
        return Ok(mode);
    }
    Ok(load(home).store.unwrap_or(StoreMode::Auto))
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
    match load(home).profile {
        Some(name) => ProfileName::parse(&name).or_else(|_| {
            say!("warning: the default profile {name:?} in the settings is not a profile name");
            Ok(ProfileName::default())
        }),
        None => Ok(ProfileName::default()),
    }
}
