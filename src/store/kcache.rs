//! A cache of what `token` needs, in the Linux kernel's key-retention
//! service (keyutils), so the hot path is one system call instead of an
//! encrypted D-Bus session with the Secret Service.
//!
//! What it holds per profile and state folder: the access token, its
//! expiry, the base URL, the region, the profile's `updated_at` and the
//! state folder it belongs to. Never the refresh token: that stays in the
//! store, the one truth.
//!
//! Where: the user keyring (`@u`). It is shared by every process of the
//! same user (a terminal, an OpenClaw Gateway started by systemd, a cron
//! job), while a session keyring is per login session, so the Gateway and
//! the terminal would each pay the cold path. A key is readable only by its
//! owner (possessor and user: view, read, write, search, setattr; nothing
//! for group or others) and carries a kernel timeout at the token's expiry.
//!
//! Why an entry is never older than the stored profile (the argument, kept
//! by `Stores`): every write of a profile (`Locked::commit`, the recovery
//! file moved into place by `Stores::reconcile`, `Locked::delete`) happens
//! under the profile's lock, and removes this cache's entries for the
//! profile *before* it touches the store and writes the new entry only
//! after the store took the save, before the lock is released and before
//! anyone is told. A reader that warms the cache does so only while it
//! holds the same lock (taken without waiting), from what it read under
//! it. So at any moment an entry either describes the stored profile or
//! is absent. A crash between the two steps leaves no entry: the next
//! reader takes the store path. And since the entry stands for the keyring
//! copy, it is not used while a recovery file or (in `auto`) a plain copy
//! exists, which might be newer (`Stores::cached`).
//!
//! What it does not cover: a program other than this one (or an older
//! version of it) rewriting the Secret Service item; and two state folders
//! sharing one Secret Service item, where a reader warming its folder's
//! entry under its own lock can race a save made under the other folder's
//! lock. Both are bounded by the entry's timeout (the token's expiry).
//!
//! Elsewhere (macOS Keychain, Windows Credential Manager) the OS keyring is
//! already fast: this is a no-op there.

use crate::profile::{Profile, ProfileName};
use crate::region::Region;
use oauth2::AccessToken;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Turns the cache off when `0` (or `false`, `off`, `no`).
pub const ENV: &str = "MINIMAX_PORTAL_AUTH_KERNEL_CACHE";

/// What the cache holds for one profile: enough for `token` to decide
/// "not due" and print.
#[derive(Debug, Clone)]
pub struct Cached {
    pub access: AccessToken,
    pub expires: i64,
    pub base_url: String,
    pub updated_at: i64,
}

/// The stored form of an entry. `folder` ties it to one state folder.
#[derive(Serialize, Deserialize)]
struct Payload {
    v: u32,
    folder: String,
    access: String,
    expires: i64,
    base_url: String,
    region: Region,
    updated_at: i64,
}

const VERSION: u32 = 1;
/// The most keys of the user keyring looked at when removing entries.
#[cfg(target_os = "linux")]
const MAX_LINKS: usize = 65536;
/// An entry larger than this is not ours.
#[cfg(target_os = "linux")]
const MAX_ENTRY_BYTES: usize = 16 * 1024;

/// Whether the environment turns the cache off.
pub fn disabled_by_env() -> bool {
    std::env::var(ENV).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        )
    })
}

/// The cache for one provider's profiles in one state folder.
pub struct KernelCache {
    provider: &'static str,
    /// The state folder as the entries name it: its canonical path, device
    /// and inode (a container with the same path has another device).
    folder: String,
}

impl KernelCache {
    /// None where the cache cannot apply (not Linux, the state folder
    /// cannot be resolved).
    pub fn new(provider: &'static str, home: &Path) -> Option<KernelCache> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        Some(KernelCache {
            provider,
            folder: folder_tag(home)?,
        })
    }

    /// All entries of one profile, whatever their state folder, start so.
    fn prefix(&self, name: &ProfileName) -> String {
        format!("minimax-portal-auth:{}:{name}:", self.provider)
    }

    /// The entry's name in the keyring: per profile and per state folder.
    fn description(&self, name: &ProfileName) -> String {
        format!(
            "{}{:016x}",
            self.prefix(name),
            fnv1a(self.folder.as_bytes())
        )
    }

    /// The entry for `name`, when there is one for this state folder.
    /// Any error is a miss.
    pub fn get(&self, name: &ProfileName) -> Option<Cached> {
        let bytes = sys::read(&self.description(name))?;
        let payload: Payload = serde_json::from_slice(&bytes).ok()?;
        if payload.v != VERSION || payload.folder != self.folder || payload.access.is_empty() {
            return None;
        }
        crate::redact::register(&payload.access);
        Some(Cached {
            access: AccessToken::new(payload.access),
            expires: payload.expires,
            base_url: payload.base_url,
            updated_at: payload.updated_at,
        })
    }

    /// Writes the entry for a profile just saved or read under its lock.
    /// A profile that needs a new login gets none. Best effort.
    /// Only this folder's entry is replaced: a read changes nothing for the
    /// others, and a save removed theirs already (`Locked::commit`).
    pub fn put(&self, name: &ProfileName, profile: &Profile, now_ms: i64) {
        let description = self.description(name);
        sys::remove_exact(&description);
        let left_ms = profile.expires.saturating_sub(now_ms);
        if profile.needs_login || left_ms < 1000 {
            return;
        }
        let payload = Payload {
            v: VERSION,
            folder: self.folder.clone(),
            access: profile.access.secret().clone(),
            expires: profile.expires,
            base_url: profile.base_url.to_string(),
            region: profile.region,
            updated_at: profile.updated_at,
        };
        let Ok(bytes) = serde_json::to_vec(&payload) else {
            return;
        };
        // Rounded down: the kernel drops it no later than the expiry.
        let seconds = u64::try_from(left_ms / 1000).unwrap_or(0);
        sys::add(&description, &bytes, seconds);
    }

    /// Removes every entry of `name` (of any state folder: keyring copies
    /// are shared by state folders, so a save here may outdate theirs).
    /// Best effort; a keyutils that does not answer has no entries to use.
    pub fn remove(&self, name: &ProfileName) {
        sys::remove_prefixed(&self.prefix(name));
    }

    /// Whether the kernel keyring answers here (for `status`, `doctor`).
    pub fn works(&self) -> bool {
        sys::works()
    }
}

fn folder_tag(home: &Path) -> Option<String> {
    let canonical = std::fs::canonicalize(home).ok()?;
    let path = canonical.to_str()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&canonical).ok()?;
        Some(format!("{path}|{}|{}", meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        Some(path.to_string())
    }
}

/// A short, stable name for the state folder (FNV-1a, 64 bits): not a
/// secret, and a clash only costs a miss (the payload names the folder).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(target_os = "linux")]
mod sys {
    use super::{MAX_ENTRY_BYTES, MAX_LINKS};
    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

    fn user_keyring() -> Option<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, false).ok()
    }

    pub fn read(description: &str) -> Option<Vec<u8>> {
        let key = user_keyring()?.search(description).ok()?;
        let mut buffer = vec![0u8; MAX_ENTRY_BYTES];
        let len = key.read(&mut buffer).ok()?;
        if len > buffer.len() {
            return None;
        }
        buffer.truncate(len);
        Some(buffer)
    }

    /// The key is made in this process's own keyring, which it possesses,
    /// so it may bound it in time and close it; only then is it linked
    /// into the user keyring. (A process whose session keyring does not
    /// link the user keyring does not possess what it adds there directly,
    /// and could not change it.)
    pub fn add(description: &str, payload: &[u8], timeout_secs: u64) {
        let (Some(ring), Ok(own)) = (
            user_keyring(),
            KeyRing::from_special_id(KeyRingIdentifier::Process, true),
        ) else {
            return;
        };
        let Ok(key) = own.add_key(description, payload) else {
            return;
        };
        // Search for the user too: a process whose session keyring does not
        // link the user keyring finds the entry as its user, not as its
        // possessor. Nothing for group or others.
        let mine = || {
            Permission::VIEW
                | Permission::READ
                | Permission::WRITE
                | Permission::SEARCH
                | Permission::SETATTR
        };
        let perms = KeyPermissionsBuilder::builder()
            .posessor(mine() | Permission::LINK)
            .user(mine())
            .build();
        // An entry that could not be bounded in time or closed to others
        // is not kept.
        let ready = usize::try_from(timeout_secs)
            .ok()
            .is_some_and(|secs| key.set_timeout(secs).is_ok())
            && key.set_perms(perms).is_ok();
        if ready {
            let _ = ring.link_key(key);
        }
        let _ = own.unlink_key(key);
    }

    pub fn remove_exact(description: &str) {
        if let Some(ring) = user_keyring()
            && let Ok(key) = ring.search(description)
        {
            let _ = ring.unlink_key(key);
        }
    }

    /// Unlinks (rather than invalidates) the entries: that needs only the
    /// user keyring's write permission, not a permission on the key.
    pub fn remove_prefixed(prefix: &str) {
        let Some(ring) = user_keyring() else {
            return;
        };
        // linux-keyutils 0.2.5 trusts the length the kernel reports, which
        // may exceed the buffer: room for far more keys than the default
        // quota (200 per user) allows.
        let Ok(links) = ring.get_links(MAX_LINKS) else {
            return;
        };
        for key in links.iter().filter_map(|link| link.as_key()) {
            if key
                .metadata()
                .is_ok_and(|m| m.get_description().starts_with(prefix))
            {
                let _ = ring.unlink_key(key);
            }
        }
    }

    pub fn works() -> bool {
        user_keyring().is_some_and(|ring| ring.metadata().is_ok())
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    pub fn read(_description: &str) -> Option<Vec<u8>> {
        None
    }
    pub fn add(_description: &str, _payload: &[u8], _timeout_secs: u64) {}
    pub fn remove_exact(_description: &str) {}
    pub fn remove_prefixed(_prefix: &str) {}
    pub fn works() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_name_is_stable_and_distinct() {
        assert_eq!(fnv1a(b"/a"), fnv1a(b"/a"));
        assert_ne!(fnv1a(b"/a"), fnv1a(b"/b"));
    }
}
