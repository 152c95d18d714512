//! "Give me a valid token": the margin, the cross-process lock, the
//! refresh, and saving the result before anyone is told it worked.
//!
//! The order that keeps sessions alive (ARCHITECTURE.md, "Invariants"):
//! lock, re-read, prove the save can succeed, spend the refresh token, save,
//! then tell. Only a definite rejection of the grant marks a profile as
//! needing a new login; nothing else changes the stored profile.

use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::fix;
use crate::portal::answer::TokenAnswer;
use crate::portal::refresh::Refresher;
use crate::profile::{Profile, ProfileName, Tokens};
use crate::store::kcache::Cached;
use crate::store::{Loaded, Locked, PreparedSave, Saved, StoreKind, Stores, Warning};
use std::time::Duration;

/// How a profile came to be usable now (`outcome` in `token --json`,
/// serialised as `as_str` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// More than the margin was left: nothing was done.
    #[serde(rename = "valid")]
    StillValid,
    /// This process refreshed it.
    Refreshed,
    /// Another process refreshed it while this one waited for the lock.
    RefreshedElsewhere,
    /// The refresh did not happen, but the access token has not expired:
    /// it is still good to use (only when asked for).
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

/// A profile whose access token may be used now: it has not expired (with
/// `NotRefreshed`, it has at least 30 s left), and any new tokens are saved.
#[derive(Debug)]
pub struct Fresh {
    pub profile: Profile,
    pub store: StoreKind,
    pub outcome: Outcome,
    /// What the user should know. Nothing here prints: the warnings are
    /// also given to the stores ([`Stores::new_warnings`]), where the
    /// command line takes them from to say them.
    pub warnings: Vec<Warning>,
}

/// An access token with less than this left is not handed out after a
/// failed refresh: the request it is for would likely outlive it.
const MIN_LEFT_AFTER_FAILED_REFRESH: Duration = Duration::from_secs(30);

/// When a due refresh fails but the access token has not expired yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Report the failure (the start-up hook: the host must know).
    Fail,
    /// Use the token while it lasts, with a warning (`token`, `usage`).
    UseCurrent,
}

/// What to do about a profile.
pub struct Want {
    pub margin: Duration,
    pub force: bool,
    pub on_failure: OnFailure,
}

/// When a profile falls due, epoch ms: the margin before it expires; for
/// tokens that live shorter than twice the margin, half their life before
/// (otherwise every call would refresh again).
pub fn due_at(profile: &Profile, margin: Duration) -> i64 {
    due_at_parts(profile.expires, profile.updated_at, margin)
}

/// [`due_at`] from the two times it depends on (the kernel cache keeps
/// only those).
pub fn due_at_parts(expires: i64, updated_at: i64, margin: Duration) -> i64 {
    let margin_ms = i64::try_from(margin.as_millis()).unwrap_or(i64::MAX);
    let lifetime = Some(expires.saturating_sub(updated_at)).filter(|ms| *ms > 0);
    let margin_ms = match lifetime {
        Some(life) => margin_ms.min(life / 2),
        None => margin_ms,
    };
    expires.saturating_sub(margin_ms)
}

/// The kernel cache's entry for `name`, when it is there and not due: what
/// `token` prints without asking the store. Anything else (no entry, a
/// due one, keyutils failing) is None, and the caller takes the store path.
pub fn cached_token(stores: &Stores, name: &ProfileName, margin: Duration) -> Option<Cached> {
    let hit = stores.cached(name)?;
    (now_ms() <= due_at_parts(hit.expires, hit.updated_at, margin)).then_some(hit)
}

fn is_due(profile: &Profile, margin: Duration, now: i64) -> bool {
    now > due_at(profile, margin)
}

fn usable_for(profile: &Profile, now: i64) -> bool {
    profile.expires_in_ms(now) > MIN_LEFT_AFTER_FAILED_REFRESH.as_millis() as i64
}

/// A token to use now: refreshed when due; when the refresh cannot happen,
/// the current one while it lasts (`token`, `usage`).
pub fn token_for_use(
    stores: &Stores,
    portal: &dyn Refresher,
    name: &ProfileName,
    margin: Duration,
) -> Result<Fresh> {
    ensure_fresh(
        stores,
        portal,
        name,
        &Want {
            margin,
            force: false,
            on_failure: OnFailure::UseCurrent,
        },
    )
}

/// Loads a profile and refreshes it when due (or when forced). The network
/// and the lock are touched only when a refresh is due.
pub fn ensure_fresh(
    stores: &Stores,
    portal: &dyn Refresher,
    name: &ProfileName,
    want: &Want,
) -> Result<Fresh> {
    let seen = load_and_warm(stores, name)?;
    let now = now_ms();
    // `--force` asks the portal again: a mark set on a wrong reading must
    // not abandon a refresh token that still works.
    if seen.profile.needs_login && !want.force {
        return marked(stores, name, &seen, want, None);
    }
    if !want.force && !is_due(&seen.profile, want.margin, now) {
        return Ok(fresh(seen, Outcome::StillValid, Vec::new()));
    }
    let held = stores.lock(name)?;
    held.sweep(true);
    // Another process may have refreshed while this one waited: its token
    // is the freshest there is.
    let current = match held.load()? {
        Some(current) => current,
        None => return Err(no_profile(stores, name)),
    };
    if current.profile.needs_login && !want.force {
        return marked(stores, name, &current, want, None);
    }
    let changed = current.profile.updated_at != seen.profile.updated_at
        || current.profile.refresh.secret() != seen.profile.refresh.secret();
    if changed && current.profile.expires_in_ms(now_ms()) > 0 {
        return Ok(fresh(current, Outcome::RefreshedElsewhere, Vec::new()));
    }
    // Save before spend: a save that cannot work is found out now, while
    // the refresh token is still good.
    let save = held.prepare_save(Some(&current.stored))?;
    let answer = portal.refresh(
        &current.profile.token_endpoint,
        &current.profile.client_id,
        &current.profile.refresh,
    );
    act_on_answer(stores, &held, want, current, save, answer)
}

/// What the portal's answer to a refresh means for the profile, under its
/// lock with the save prepared: new tokens saved, a rejection marked, or
/// the refresh not done.
fn act_on_answer(
    stores: &Stores,
    held: &Locked,
    want: &Want,
    current: Loaded,
    save: PreparedSave,
    answer: TokenAnswer,
) -> Result<Fresh> {
    let name = held.name();
    match answer {
        TokenAnswer::Tokens(tokens) => save_refreshed(stores, held, current, save, tokens),
        TokenAnswer::Rejected(reason) => {
            let now = now_ms();
            let marked_profile = current.profile.marked_needs_login(now);
            // Best effort: the rejection matters more than the mark.
            let _ = held.commit(save, &marked_profile.to_json()?, now);
            let current = Loaded {
                profile: marked_profile,
                stored: current.stored,
            };
            marked(stores, name, &current, want, Some(reason))
        }
        TokenAnswer::Transient {
            reason,
            retry_after,
        } => not_refreshed(
            stores,
            name,
            current,
            want,
            Error::transient(reason),
            retry_after,
        ),
        TokenAnswer::SlowDown { retry_after } => not_refreshed(
            stores,
            name,
            current,
            want,
            Error::transient("the MiniMax portal asks to slow down (rate limited)"),
            retry_after,
        ),
        TokenAnswer::Pending => not_refreshed(
            stores,
            name,
            current,
            want,
            Error::transient("the portal answered the refresh without tokens"),
            None,
        ),
        TokenAnswer::Failed(reason) => {
            not_refreshed(stores, name, current, want, Error::failed(reason), None)
        }
    }
}

/// New tokens merged into the profile and saved. An access token that had
/// already expired is an error, but its refresh token is kept.
fn save_refreshed(
    stores: &Stores,
    held: &Locked,
    current: Loaded,
    save: PreparedSave,
    tokens: Tokens,
) -> Result<Fresh> {
    let name = held.name();
    let now = now_ms();
    let access_usable = tokens.access.is_some();
    let (next, odd) = current.profile.with_tokens(tokens, now);
    let saved = held.commit(save, &next.to_json()?, now)?;
    let odd = odd.into_iter().map(|what| Warning::OddAnswer { what });
    let warnings: Vec<Warning> = odd.chain(saved.warning).collect();
    // Given before any error below: the new tokens were saved either way.
    // Said with the profile's id; `--json` rows name the profile already.
    for warning in &warnings {
        stores.warn(Warning::about(name.profile_id(), warning.clone()));
    }
    if !access_usable {
        return Err(Error::transient(format!(
            "the portal refreshed {} without a usable access token",
            name.profile_id()
        ))
        .with_hint("its new refresh token was saved; try again, the next call refreshes"));
    }
    if next.expires_in_ms(now) <= 0 {
        return Err(Error::failed(format!(
            "the portal issued {} an access token that had already expired",
            name.profile_id()
        ))
        .with_hint(
            "check this machine's clock (e.g. timedatectl set-ntp true); the new \
             refresh token was saved",
        ));
    }
    Ok(Fresh {
        profile: next,
        store: saved.store,
        outcome: Outcome::Refreshed,
        warnings,
    })
}

fn fresh(loaded: Loaded, outcome: Outcome, warnings: Vec<Warning>) -> Fresh {
    Fresh {
        profile: loaded.profile,
        store: loaded.stored.store,
        outcome,
        warnings,
    }
}

/// A refresh that did not happen; the stored profile is unchanged.
fn not_refreshed(
    stores: &Stores,
    name: &ProfileName,
    current: Loaded,
    want: &Want,
    cause: Error,
    retry_after: Option<Duration>,
) -> Result<Fresh> {
    let id = name.profile_id();
    if want.on_failure == OnFailure::UseCurrent && usable_for(&current.profile, now_ms()) {
        let warning = Warning::NotRefreshed {
            profile_id: id,
            why: cause.message,
            left_ms: current.profile.expires_in_ms(now_ms()),
        };
        stores.warn(warning.clone());
        return Ok(fresh(current, Outcome::NotRefreshed, vec![warning]));
    }
    let hint = match cause.class {
        crate::error::Class::Transient => "try again later; the stored profile is unchanged",
        _ => "the stored profile is unchanged; if this persists, log in again",
    };
    let mut e = Error::new(
        cause.class,
        format!("could not refresh {id}: {}", cause.message),
    )
    .with_hint(hint);
    e.retry_after = retry_after;
    Err(e)
}

/// A profile whose refresh token the portal rejected: just now, for
/// `rejected_now` (the portal's reason), or earlier. Its access token
/// still serves while it lasts (`token`, `usage`); otherwise log in again.
fn marked(
    stores: &Stores,
    name: &ProfileName,
    loaded: &Loaded,
    want: &Want,
    rejected_now: Option<String>,
) -> Result<Fresh> {
    let mut warnings: Vec<Warning> = rejected_now
        .map(|reason| Warning::RefreshRejected { reason })
        .into_iter()
        .collect();
    let reason = warnings
        .first()
        .map(Warning::to_string)
        .unwrap_or_else(|| "MiniMax rejected its refresh token earlier".to_string());
    if want.on_failure == OnFailure::UseCurrent && usable_for(&loaded.profile, now_ms()) {
        // The rejection is said within this one line.
        let warning = Warning::MustSignInAgain {
            profile_id: name.profile_id(),
            reason,
            left_ms: loaded.profile.expires_in_ms(now_ms()),
            fix: fix::login(name, Some(loaded.profile.region)),
        };
        stores.warn(warning.clone());
        warnings.push(warning);
        return Ok(Fresh {
            profile: loaded.profile.clone(),
            store: loaded.stored.store,
            outcome: Outcome::NotRefreshed,
            warnings,
        });
    }
    Err(rejected(name, &loaded.profile, &reason))
}

/// Keeps a new login's profile under the profile's lock: leftovers a
/// crash left are cleared (not adopted: this login replaces them), the
/// copy it replaces is re-read (a damaged one does not stop the login),
/// and the profile is saved. A warning about where it went is given to
/// the stores, as a refresh's is.
pub fn save_login(stores: &Stores, name: &ProfileName, profile: &Profile) -> Result<Saved> {
    let held = stores.lock(name)?;
    held.sweep(false);
    let existing = match held.read() {
        Ok(found) => found,
        Err(e) if e.class == crate::error::Class::NeedsLogin => None,
        Err(e) => return Err(e),
    };
    let saved = held.save(existing.as_ref(), &profile.to_json()?, profile.updated_at)?;
    if let Some(warning) = &saved.warning {
        stores.warn(warning.clone());
    }
    Ok(saved)
}

/// Loads a profile and, when nobody holds its lock, puts it in the kernel
/// cache from a read made under that lock: a process saving the profile
/// holds the lock from removing the old entry to writing the new one, so
/// this cannot put back what it replaced (`store/kcache.rs`).
fn load_and_warm(stores: &Stores, name: &ProfileName) -> Result<Loaded> {
    let Some(held) = stores.lock_for_warming(name) else {
        return load_existing(stores, name);
    };
    let loaded = match held.load()? {
        Some(loaded) => loaded,
        None => return Err(no_profile(stores, name)),
    };
    held.warm_cache(&loaded.profile);
    Ok(loaded)
}

/// Loads a profile, or says how to log in.
fn load_existing(stores: &Stores, name: &ProfileName) -> Result<Loaded> {
    stores.load(name)?.ok_or_else(|| no_profile(stores, name))
}

/// "No such profile", naming the ones there are.
pub fn no_profile(stores: &Stores, name: &ProfileName) -> Error {
    let known: Vec<String> = stores
        .names()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n != name && matches!(stores.read(n), Ok(Some(_))))
        .map(|n| n.to_string())
        .collect();
    let e = Error::needs_login(format!(
        "no MiniMax profile {} is stored",
        name.profile_id()
    ))
    .with_fix(fix::login(name, None));
    if known.is_empty() {
        e
    } else {
        e.with_hint(format!("the profiles there are: {}", known.join(", ")))
    }
}

/// One sentence and the one command that fixes it.
fn rejected(name: &ProfileName, profile: &Profile, reason: &str) -> Error {
    Error::needs_login(format!(
        "{} must sign in again: {reason}",
        name.profile_id()
    ))
    .with_fix(fix::login(name, Some(profile.region)))
}

#[cfg(test)]
mod tests;
