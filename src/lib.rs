//! `minimax-portal-auth` signs in to MiniMax's portal with OAuth, keeps the
//! tokens in the OS keyring (or a private file) as an *auth profile*, and
//! keeps them fresh. This library is for hosts written in Rust: it reads the
//! profile the command-line tool stores, decodes it, hands out a fresh
//! access token (refreshing under the same cross-process lock as the tool),
//! and gives the model catalog. The binary is a thin command line over it.
//!
//! ```no_run
//! use minimax_portal_auth::{ProfileName, StoreMode};
//!
//! let stores = minimax_portal_auth::open_stores(StoreMode::Auto)?;
//! let fresh = minimax_portal_auth::fresh_token(&stores, &ProfileName::default())?;
//! println!("Authorization: Bearer …{} chars", fresh.profile.access.secret().len());
//! println!("model base URL: {}", fresh.profile.base_url);
//! # Ok::<(), minimax_portal_auth::Error>(())
//! ```
//!
//! [`json`] holds the shapes the command line prints with `--json`, for
//! hosts that run it rather than link it. ARCHITECTURE.md maps the modules,
//! which are private.

// Every module is private: hosts get the items re-exported below, the
// `--json` contract is `json`, and the binary, the fuzz targets and the
// integration tests reach in through the two hidden items at the end.
#[macro_use]
mod output;
mod api_key;
mod candidates;
mod catalog;
mod child;
mod cli;
mod clock;
mod commands;
mod env;
mod error;
mod fix;
mod fuzz_entry;
pub mod json;
mod manifest;
mod openclaw;
mod openclaw_plugin;
mod paths;
mod portal;
mod profile;
mod redact;
mod region;
mod runtime;
mod safe_fs;
mod session;
mod settings;
mod shell_quote;
mod store;
mod text;
mod ui;

pub use catalog::{Catalog, Model};
pub use error::{Class, Error, Result};
pub use manifest::{
    AuthChoice, Candidate, FileSection, Hook, KeyringSection, Manifest, ProfileSection, Provider,
    RegionEntry,
};
pub use profile::{Profile, ProfileName};
pub use region::Region;
pub use session::{Fresh, Outcome};
pub use store::{StoreKind, StoreMode, Warning};

use output::say;

use std::path::Path;
use std::time::Duration;

/// The refresh margin the command line uses: a token with less left is
/// refreshed before it is handed out.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(300);

/// The OAuth profiles' stores, as the command line keeps them: the OS
/// keyring, the private file store and the recovery file, read by the same
/// rules (the newest copy wins) and written under the same locks. The
/// command line's own handle (`store::Stores`) has more to it than a host
/// needs; this one opens and reads.
pub struct Stores(store::Stores);

impl Stores {
    /// The stores in the state folder `home`. `mode` is what `--store`
    /// says; `Auto` reads the keyring, then the file store.
    pub fn open(mode: StoreMode, home: &Path) -> Result<Stores> {
        store::Stores::open(mode, home).map(Stores)
    }

    /// What the user should know of these stores so far (a keyring that
    /// did not answer, a copy that could not be removed, ...): the library
    /// never prints them.
    pub fn warnings(&self) -> Vec<Warning> {
        self.0.warnings()
    }
}

/// Opens the profile stores where the command line keeps them: the state
/// folder from `MINIMAX_PORTAL_AUTH_HOME`, else the platform's (on Linux
/// `$XDG_STATE_HOME/minimax-portal-auth`). `mode` is what `--store` says;
/// `Auto` reads the keyring, then the file store.
///
/// ```
/// use minimax_portal_auth::{ProfileName, StoreMode};
/// let home = tempfile::tempdir()?;
/// let stores = minimax_portal_auth::Stores::open(StoreMode::File, home.path())?;
/// assert!(minimax_portal_auth::read_profile(&stores, &ProfileName::default())?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_stores(mode: StoreMode) -> Result<Stores> {
    Stores::open(mode, &paths::state_home()?)
}

/// Reads the OAuth profile `name` from whichever store holds it (the newest
/// copy when there are several), without refreshing it. `None` when there
/// is none.
pub fn read_profile(stores: &Stores, name: &ProfileName) -> Result<Option<Profile>> {
    Ok(stores.0.load(name)?.map(|loaded| loaded.profile))
}

/// As [`read_profile`], with the store the profile was read from (the
/// keyring or the file), for a host that shows where its tokens live.
pub fn read_profile_and_store(
    stores: &Stores,
    name: &ProfileName,
) -> Result<Option<(Profile, StoreKind)>> {
    Ok(stores
        .0
        .load(name)?
        .map(|loaded| (loaded.profile, loaded.stored.store)))
}

/// Decodes a profile as stored: JSON, or zlib-compressed JSON where the
/// keyring limits a credential's size (Windows). The first byte tells which.
///
/// ```
/// let json = br#"{"schema":1,"type":"oauth","provider":"minimax-portal",
///   "profile_id":"minimax-portal:default","region":"global","access":"a-1234",
///   "refresh":"r-1234","expires":1900000000000,
///   "token_endpoint":"https://account.minimax.io/oauth2/token",
///   "client_id":"78257093-7e40-4613-99e0-527b14b39113",
///   "base_url":"https://api.minimax.io/anthropic","updated_at":1800000000000}"#;
/// let profile = minimax_portal_auth::decode_profile(json)?;
/// assert_eq!(profile.base_url, "https://api.minimax.io/anthropic");
/// assert_eq!(format!("{:?}", profile.access), "AccessToken([redacted])");
/// # Ok::<(), minimax_portal_auth::Error>(())
/// ```
pub fn decode_profile(stored: &[u8]) -> Result<Profile> {
    let json = store::keyring::decode(stored).map_err(Error::failed)?;
    Profile::from_json(&json).map_err(Error::failed)
}

/// A profile whose access token may be used now: refreshed first when less
/// than [`DEFAULT_MARGIN`] is left, under the same lock as every other
/// process, and saved before it is returned. With nothing due it touches
/// neither the network nor the lock. It prints nothing: what the user
/// should know is in [`Fresh::warnings`] (and [`Stores::warnings`]).
///
/// ```
/// use minimax_portal_auth::{Outcome, ProfileName, StoreMode, Stores};
/// let home = tempfile::tempdir()?;
/// let stores = Stores::open(StoreMode::File, home.path())?;
/// // No profile: the error says how to sign in (exit code 3 in the CLI).
/// let err = minimax_portal_auth::fresh_token(&stores, &ProfileName::default()).unwrap_err();
/// assert_eq!(err.class.exit_code(), 3);
/// assert_eq!(err.fix.as_deref(), Some("minimax-portal-auth login"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fresh_token(stores: &Stores, name: &ProfileName) -> Result<Fresh> {
    session::token_for_use(
        &stores.0,
        &portal::refresh::HttpRefresher,
        name,
        DEFAULT_MARGIN,
    )
}

/// The model catalog (ids, context windows, max tokens, aliases, the
/// default model), the same the command line writes into a host's config.
///
/// ```
/// let catalog = minimax_portal_auth::catalog()?;
/// assert!(catalog.models.iter().any(|m| m.id == catalog.default));
/// # Ok::<(), minimax_portal_auth::Error>(())
/// ```
pub fn catalog() -> Result<Catalog> {
    catalog::load()
}

/// The command line (`src/main.rs`): parses the arguments, runs the command
/// and returns the exit code. Not an interface for hosts.
#[doc(hidden)]
pub use commands::main as run;

/// What the fuzz targets (`fuzz/`) and the integration tests reach inside
/// the library; not an interface, and not kept stable.
#[doc(hidden)]
pub mod testing {
    pub use crate::fuzz_entry::*;
    pub use crate::portal::wire::MAX_BELIEVED_LIFETIME_MS;
    pub use crate::profile::PROVIDER;
    pub use crate::redact::register;
    pub use crate::shell_quote::{Syntax, check_token, export_line, is_powershell_quote, quote};
    pub use crate::store::keyring::SERVICE;
}
