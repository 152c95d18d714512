//! One error type for the whole binary, classified by what the user (or the
//! host) should do next. The class decides the exit code of the contract.

use std::fmt;

/// What kind of failure this is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
