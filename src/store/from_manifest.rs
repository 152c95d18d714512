//! The stores a host's manifest describes (`[profile]` of plugin.toml): the
//! store mode its `store_env` asks for and the stores it opens. Here, not
//! in `manifest.rs`, so that the manifest (data, below the stores) does not
//! import the stores (ARCHITECTURE.md, "Layers and imports").

use super::StoreMode;
use crate::error::{Error, Result};
use crate::manifest::ProfileSection;

impl ProfileSection {
    /// The store mode `store_env` asks for in `env`; `auto` when it is unset.
    ///
    /// ```
    /// use minimax_portal_auth::StoreMode;
    /// let profile = minimax_portal_auth::Manifest::built_in()?.profile;
    /// assert_eq!(profile.store_env, "MINIMAX_PORTAL_AUTH_STORE");
    /// let file = profile.store_mode_in(|_| Some(" File ".to_string()))?;
    /// assert_eq!(file, StoreMode::File);
    /// assert_eq!(profile.store_mode_in(|_| None)?, StoreMode::Auto);
    /// let cloud = profile.store_mode_in(|_| Some("cloud".to_string())).unwrap_err();
    /// assert_eq!(cloud.class.exit_code(), 2);
    /// # Ok::<(), minimax_portal_auth::Error>(())
    /// ```
    pub fn store_mode_in(&self, env: impl Fn(&str) -> Option<String>) -> Result<StoreMode> {
        let value = env(&self.store_env).unwrap_or_default();
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(StoreMode::Auto),
            "keyring" => Ok(StoreMode::Keyring),
            "file" => Ok(StoreMode::File),
            other => Err(Error::usage(format!(
                "{}={other} is not a store: use auto, keyring or file",
                self.store_env
            ))),
        }
    }

    /// The stores this manifest describes, as this process's environment
    /// sets them: the mode from `store_env`, the folder from `file`.
    pub fn open_stores(&self) -> Result<crate::Stores> {
        let mode = self.store_mode_in(|name| std::env::var(name).ok())?;
        crate::Stores::open(mode, &self.file.state_home()?)
    }
}
