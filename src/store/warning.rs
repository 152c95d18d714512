//! What the user should know about a profile's stores or its refresh,
//! as values. The library never prints them: [`super::Stores`] collects
//! them and hands them out, `commands/` says them on stderr (and decides
//! which ones a program's stderr is spared). `Display` gives the text the
//! command line prints after "warning: " and `--json` lists.

use std::fmt;
use std::sync::Mutex;

/// One warning, by what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// In `auto`, no OS keyring answered: profiles go to the plain file.
    KeyringDown { why: String },
    /// New tokens could not be moved from the recovery file into their store.
    RecoveryWaiting {
        profile_id: String,
        /// "recovery file /path/…"
        place: String,
        why: String,
    },
    /// An older copy of a profile could not be removed, so it stays beside
    /// the newest (which is the one used).
    StaleCopyKept { why: String },
    /// The keyring took a save, but the index of what it holds did not.
    IndexNotUpdated { why: String },
    /// In `auto`, the keyring refused a save, and the plain file took it.
    SavedInFileInstead {
        why: String,
        /// "file /path/…"
        place: String,
    },
    /// The store refused a save, and the recovery file took it.
    SavedInRecovery {
        why: String,
        /// "recovery file /path/…"
        place: String,
    },
    /// The portal's answer was odd in a side field, and a fallback was used
    /// (the text comes from the merge into the profile).
    OddAnswer { what: String },
    /// The portal rejected the refresh token (always followed by
    /// [`Warning::MustSignInAgain`] or an error, which repeat the reason).
    RefreshRejected { reason: String },
    /// A due refresh did not happen; the current access token is used.
    NotRefreshed {
        profile_id: String,
        why: String,
        /// How long the access token still lasts, ms.
        left_ms: i64,
    },
    /// The grant is gone, but the access token still works for a while.
    MustSignInAgain {
        profile_id: String,
        reason: String,
        left_ms: i64,
        /// The command that signs in again.
        fix: String,
    },
    /// A warning about one profile, said with its id first.
    About {
        profile_id: String,
        warning: Box<Warning>,
    },
}

impl Warning {
    /// `warning` said about profile `profile_id`.
    pub fn about(profile_id: String, warning: Warning) -> Warning {
        Warning::About {
            profile_id,
            warning: Box::new(warning),
        }
    }

    /// Whether this is about where profiles are kept (what `status`
    /// lists), rather than about one refresh.
    pub fn is_about_stores(&self) -> bool {
        matches!(
            self,
            Warning::KeyringDown { .. }
                | Warning::RecoveryWaiting { .. }
                | Warning::StaleCopyKept { .. }
                | Warning::IndexNotUpdated { .. }
        )
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::clock::duration;
        match self {
            Warning::KeyringDown { why } => write!(
                f,
                "no OS keyring answered ({why}); profiles go to the plain-text file store"
            ),
            Warning::RecoveryWaiting {
                profile_id,
                place,
                why,
            } => write!(f, "new tokens for {profile_id} wait in the {place}: {why}"),
            Warning::StaleCopyKept { why } => write!(f, "could not remove an older copy: {why}"),
            Warning::IndexNotUpdated { why } => {
                write!(f, "could not update the keyring index: {why}")
            }
            Warning::SavedInFileInstead { why, place } => write!(
                f,
                "the keyring did not take the new tokens ({why}); they were saved in the \
                 {place} instead"
            ),
            Warning::SavedInRecovery { why, place } => write!(
                f,
                "the new tokens could not be saved in their store ({why}); they are safe in \
                 the {place} (0600) and move into the store on the next run"
            ),
            Warning::OddAnswer { what } => f.write_str(what),
            Warning::RefreshRejected { reason } => {
                write!(f, "MiniMax rejected its refresh token ({reason})")
            }
            Warning::NotRefreshed {
                profile_id,
                why,
                left_ms,
            } => write!(
                f,
                "could not refresh {profile_id}: {why}. Using the current access token, \
                 valid for {} more.",
                duration(*left_ms)
            ),
            Warning::MustSignInAgain {
                profile_id,
                reason,
                left_ms,
                fix,
            } => write!(
                f,
                "{profile_id} must sign in again: {reason}; its access token still works \
                 for {}. Run: {fix}",
                duration(*left_ms)
            ),
            Warning::About {
                profile_id,
                warning,
            } => write!(f, "{profile_id}: {warning}"),
        }
    }
}

/// Warnings in the order given, and how many were handed out as new.
#[derive(Default)]
pub(super) struct Warnings {
    given: Mutex<(Vec<Warning>, usize)>,
}

impl Warnings {
    pub(super) fn push(&self, warning: Warning) {
        if let Ok(mut given) = self.given.lock() {
            given.0.push(warning);
        }
    }

    pub(super) fn all(&self) -> Vec<Warning> {
        self.given.lock().map(|g| g.0.clone()).unwrap_or_default()
    }

    pub(super) fn take_new(&self) -> Vec<Warning> {
        let Ok(mut given) = self.given.lock() else {
            return Vec::new();
        };
        let (list, handed) = &mut *given;
        let new = list.get(*handed..).unwrap_or_default().to_vec();
        *handed = list.len();
        new
    }
}
