//! One error type for the whole binary, classified by what the user (or the
//! host) should do next. The class decides the exit code of the contract.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure this is; decides the exit code. Serialised as
/// `class` in `--json` output (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Anything without a more specific class: exit 1.
    Failed,
    /// Bad flags or arguments: exit 2.
    Usage,
    /// No profile, or the refresh token was rejected: exit 3.
    NeedsLogin,
    /// Network, 5xx, timeout: try later; the stored profile is untouched: exit 4.
    Transient,
    /// The chosen store (keyring) cannot be reached or is locked: exit 5.
    StoreUnavailable,
    /// Ctrl-C: exit 130.
    Cancelled,
}

impl Class {
    /// Every class, for tables of them (the manifest's exit codes).
    pub const ALL: [Class; 6] = [
        Class::Failed,
        Class::Usage,
        Class::NeedsLogin,
        Class::Transient,
        Class::StoreUnavailable,
        Class::Cancelled,
    ];

    pub fn exit_code(self) -> i32 {
        match self {
            Class::Failed => 1,
            Class::Usage => 2,
            Class::NeedsLogin => 3,
            Class::Transient => 4,
            Class::StoreUnavailable => 5,
            Class::Cancelled => 130,
        }
    }

    /// How bad this failure is, for a command that ends with the worst of
    /// several (`refresh` of every profile): a passing failure is the
    /// mildest, then a needed login, then an unreachable store, then
    /// anything else. Success is below them all.
    pub fn severity(self) -> u8 {
        match self {
            Class::Transient => 1,
            Class::NeedsLogin => 2,
            Class::StoreUnavailable => 3,
            Class::Failed | Class::Usage | Class::Cancelled => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Failed => "failed",
            Class::Usage => "usage",
            Class::NeedsLogin => "needs_login",
            Class::Transient => "transient",
            Class::StoreUnavailable => "store_unavailable",
            Class::Cancelled => "cancelled",
        }
    }
}

/// An error with a message written for the user and, where there is one,
/// the command that fixes it and a word of advice. Messages never contain
/// secrets.
#[derive(Debug)]
pub struct Error {
    pub class: Class,
    pub message: String,
    /// A bare command that fixes it, ready to copy (see `fix.rs`).
    pub fix: Option<String>,
    /// Advice in prose, when a command alone does not say it.
    pub hint: Option<String>,
    /// How long the portal asked to wait before trying again.
    pub retry_after: Option<std::time::Duration>,
}

/// A result whose error says what to do next ([`Error`]).
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(class: Class, message: impl Into<String>) -> Error {
        Error {
            class,
            message: message.into(),
            fix: None,
            hint: None,
            retry_after: None,
        }
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(Class::Failed, message)
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(Class::Usage, message)
    }

    pub fn transient(message: impl Into<String>) -> Error {
        Error::new(Class::Transient, message)
    }

    pub fn needs_login(message: impl Into<String>) -> Error {
        Error::new(Class::NeedsLogin, message)
    }

    pub fn cancelled() -> Error {
        Error::new(Class::Cancelled, "cancelled")
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_fix(mut self, command: impl Into<String>) -> Error {
        self.fix = Some(command.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  {hint}")?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--json` and the messages name a class the same way.
    #[test]
    fn json_names_are_as_str() {
        for class in Class::ALL {
            let json = serde_json::to_value(class).unwrap();
            assert_eq!(json, class.as_str(), "{class:?}");
            assert_eq!(serde_json::from_value::<Class>(json).unwrap(), class);
        }
    }

    /// The order `refresh` picks its exit code by: 4 < 3 < 5 < the rest.
    #[test]
    fn severity_orders_the_exit_codes() {
        let mut by_severity = Class::ALL;
        by_severity.sort_by_key(|c| (c.severity(), c.exit_code()));
        let codes: Vec<i32> = by_severity.iter().map(|c| c.exit_code()).collect();
        assert_eq!(codes, [4, 3, 5, 1, 2, 130]);
        assert!(Class::ALL.iter().all(|c| c.severity() > 0));
    }
}
