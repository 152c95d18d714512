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
/// the next step that fixes it. Messages never contain secrets.
#[derive(Debug)]
pub struct Error {
    pub class: Class,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(class: Class, message: impl Into<String>) -> Error {
        Error {
            class,
            message: message.into(),
            hint: None,
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
