//! "Give me a valid token": the margin, the cross-process lock, the
//! refresh, and persisting the result before anyone is told it worked.

use crate::error::{Error, Result};
use crate::portal::http::Http;
use crate::portal::refresh::{Refreshed, refresh};
use crate::profile::{Profile, ProfileName, now_ms};
use crate::store::{StoreKind, Stores, login_hint};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// More than the margin was left: nothing was done.
    StillValid,
    /// This process refreshed it.
    Refreshed,
    /// Another process refreshed it while this one waited for the lock.
    RefreshedElsewhere,
    /// The refresh failed for a passing reason, but the access token has
    /// not expired yet: it is still good to use (only when asked for).
    NotRefreshed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::StillValid => "valid",
            Outcome::Refreshed => "refreshed",
            Outcome::RefreshedElsewhere => "refreshed_elsewhere",
            Outcome::NotRefreshed => "not_refreshed",
        }
    }
}

pub struct Fresh {
    pub profile: Profile,
    pub store: StoreKind,
    pub outcome: Outcome,
}

/// An access token with less than this left is not handed out after a
/// failed refresh: the request it is for would likely outlive it.
const MIN_LEFT_AFTER_FAILED_REFRESH: Duration = Duration::from_secs(30);

/// When a due refresh fails for a passing reason (network, 5xx, timeout),
/// what to do with an access token that has not expired yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTransient {
    /// Report the failure (the start-up hook: the host must know).
    Fail,
    /// Use the token while it lasts, with a warning (`token`, `usage`).
    UseCurrent,
}

fn is_due(profile: &Profile, margin: Duration) -> bool {
    profile.expires_in_ms(now_ms()) < margin.as_millis() as i64
}

/// A token to use now: refreshed when due; after a passing refresh failure,
/// the current one while it lasts (`token`, `usage`).
pub fn token_for_use(stores: &Stores, name: &ProfileName, margin: Duration) -> Result<Fresh> {
    ensure_fresh(stores, name, margin, false, OnTransient::UseCurrent)
}

/// Loads a profile and refreshes it when due (or when forced). Network and
/// the lock are touched only when a refresh is due.
pub fn ensure_fresh(
    stores: &Stores,
    name: &ProfileName,
    margin: Duration,
    force: bool,
    on_transient: OnTransient,
) -> Result<Fresh> {
    let (profile, store) = load_usable(stores, name)?;
    if !force && !is_due(&profile, margin) {
        return Ok(Fresh {
            profile,
            store,
            outcome: Outcome::StillValid,
        });
    }
    let _guard = stores.lock(name)?;
    // Another process may have refreshed while this one waited.
    let (current, store) = load_usable(stores, name)?;
    let changed = current.refresh.secret() != profile.refresh.secret()
        || current.updated_at != profile.updated_at;
    if changed && !is_due(&current, margin) {
        return Ok(Fresh {
            profile: current,
            store,
            outcome: Outcome::RefreshedElsewhere,
        });
    }
    let refreshed = run_async(async {
        let http = Http::new()?;
        Ok(refresh(&http, &current.token_endpoint, &current.refresh).await)
    })??;
    match refreshed {
        Refreshed::Tokens(tokens) => {
            let mut next = current.clone();
            next.access = tokens.access;
            if let Some(rotated) = tokens.refresh {
                next.refresh = rotated;
            }
            next.expires = tokens.expires_ms;
            if let Some(url) = tokens.resource_url {
                next.base_url = url.to_string().trim_end_matches('/').to_string();
            }
            next.updated_at = now_ms();
            next.needs_login = false;
            // Persist before the lock is released and before success is told.
            stores.save(name, &next, Some(store))?;
            Ok(Fresh {
                profile: next,
                store,
                outcome: Outcome::Refreshed,
            })
        }
        Refreshed::Rejected(reason) => {
            let mut marked = current.clone();
            marked.needs_login = true;
            marked.updated_at = now_ms();
            // Best effort: the error below matters more than the mark.
            let _ = stores.save(name, &marked, Some(store));
            Err(rejected(name, &current, &reason))
        }
        Refreshed::Transient(why)
            if on_transient == OnTransient::UseCurrent
                && current.expires_in_ms(now_ms())
                    > MIN_LEFT_AFTER_FAILED_REFRESH.as_millis() as i64 =>
        {
            eprintln!(
                "warning: could not refresh {}: {why}. Using the current access token, valid for {} more minute(s).",
                name.profile_id(),
                current.expires_in_ms(now_ms()) / 60_000
            );
            Ok(Fresh {
                profile: current,
                store,
                outcome: Outcome::NotRefreshed,
            })
        }
        Refreshed::Transient(why) => Err(Error::transient(format!(
            "could not refresh {}: {why}",
            name.profile_id()
        ))
        .with_hint("try again later; the stored profile is unchanged")),
        Refreshed::Failed(why) => Err(Error::failed(format!(
            "could not refresh {}: {why}",
            name.profile_id()
        ))
        .with_hint("the stored profile is unchanged; if this persists, log in again")),
    }
}

/// Loads a profile that can still be refreshed, or says how to log in.
fn load_usable(stores: &Stores, name: &ProfileName) -> Result<(Profile, StoreKind)> {
    let Some((profile, store)) = stores.load(name)? else {
        return Err(Error::needs_login(format!(
            "no MiniMax profile {} is stored",
            name.profile_id()
        ))
        .with_hint(login_hint(name)));
    };
    if profile.needs_login {
        return Err(rejected(
            name,
            &profile,
            "the portal rejected its refresh token earlier",
        ));
    }
    Ok((profile, store))
}

fn rejected(name: &ProfileName, profile: &Profile, reason: &str) -> Error {
    let profile_flag = if name.as_str() == "default" {
        String::new()
    } else {
        format!(" --profile {name}")
    };
    Error::needs_login(format!(
        "{} must sign in again: {reason}",
        name.profile_id()
    ))
    .with_hint(format!(
        "run: minimax-portal-auth login --region {}{profile_flag}\n  \
         or, in the host: onboard --auth-choice minimax-portal",
        profile.region.as_str()
    ))
}

/// Runs a future on a small single-threaded runtime.
pub fn run_async<T>(future: impl std::future::Future<Output = T>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
