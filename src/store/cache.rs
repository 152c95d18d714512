//! How the stores use the kernel cache (`kcache.rs`): served only where no
//! newer copy can exist, warmed from a read under the profile's lock, and
//! forgotten before any write.

use super::kcache::{self, Cached, KernelCache};
use super::lock::{self, FileLock};
use super::{Locked, Stores};
use crate::profile::{Profile, ProfileName};
use std::path::{Path, PathBuf};

impl Stores {
    /// The kernel cache's entry for `name` in this state folder, if the
    /// cache is in use and has one. Not in `file` mode, where the file is
    /// as fast and a person may replace it by hand.
    ///
    /// The entry stands for the keyring copy: while a recovery file or (in
    /// `auto`) a plain copy exists, one of those may be the newest, so the
    /// store decides (two `lstat`s, no read).
    pub fn cached(&self, name: &ProfileName) -> Option<Cached> {
        self.keyring.as_ref()?;
        let cache = self.kcache.as_ref().ok()?;
        let mut others = vec![self.recovery.path_of(name)];
        if let Some(file) = &self.file {
            others.push(file.path_of(name));
        }
        let absent = |path: &PathBuf| {
            std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        };
        if !others.iter().all(absent) {
            return None;
        }
        cache.get(name)
    }

    /// The profile's lock, taken without waiting, when the cache is in use
    /// and could be warmed from a read made under it.
    pub fn lock_for_warming(&self, name: &ProfileName) -> Option<Locked<'_>> {
        if self.keyring.is_none() || self.kcache.is_err() {
            return None;
        }
        let lock = lock::try_acquire(&self.home, &self.lock_name(name))
            .ok()
            .flatten()?;
        Some(self.locked(name, lock))
    }

    /// Puts a profile read under its lock (`held`) into the kernel cache.
    pub(super) fn warm_cache(&self, name: &ProfileName, profile: &Profile, _held: &FileLock) {
        if let Ok(cache) = &self.kcache {
            cache.put(name, profile, crate::clock::now_ms());
        }
    }

    pub(super) fn forget_cached(&self, name: &ProfileName) {
        if let Ok(cache) = &self.kcache {
            cache.remove(name);
        }
    }

    /// Whether `token` is served from the kernel keyring cache, for
    /// `status` and `doctor`: "on", or "off (why)".
    pub fn kernel_cache_state(&self) -> String {
        match &self.kcache {
            Err(why) => format!("off ({why})"),
            Ok(_) if self.keyring.is_none() => "off (the file store needs none)".to_string(),
            Ok(cache) if !cache.works() => "off (no kernel keyring answers)".to_string(),
            Ok(_) => "on (kernel user keyring)".to_string(),
        }
    }
}

/// The kernel cache for OAuth profiles, unless it is turned off or cannot
/// apply here.
pub(super) fn kernel_cache(
    provider: &'static str,
    home: &Path,
) -> std::result::Result<KernelCache, &'static str> {
    if !cfg!(target_os = "linux") {
        return Err("only Linux needs it");
    }
    if kcache::disabled_by_env() {
        return Err("MINIMAX_PORTAL_AUTH_KERNEL_CACHE=0");
    }
    let settings = crate::settings::Settings::load_quietly(home);
    if settings.is_some_and(|s| s.kernel_cache == Some(false)) {
        return Err("kernel_cache = false in config.toml");
    }
    KernelCache::new(provider, home).ok_or("the state folder cannot be named")
}
