//! The one error type of the jobs crate: what went wrong, as the API will say it.
//!
//! Every failure a client can cause carries the HTTP-independent [`Kind`] (the server maps it to
//! a status), a stable `code`, the `param` it concerns (a path into the request, or the name of
//! the id parameter) and a message. Nothing here knows HTTP.

use std::fmt;

/// What kind of failure, for the status an API maps it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The request is invalid or the state change is not allowed (400).
    Invalid,
    /// No such object visible to the caller (404).
    NotFound,
    /// The object exists but the caller may not do this to it (403).
    Forbidden,
    /// An upload or a line past a documented bound (413).
    TooLarge,
    /// The store or the disk failed (500).
    Internal,
}

/// A failure with everything an API error envelope needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    pub param: Option<String>,
    pub message: String,
}

impl Error {
    pub fn invalid(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let p = param.into();
        Error {
            kind: Kind::Invalid,
            code,
            param: (!p.is_empty()).then_some(p),
            message: message.into(),
        }
    }

    pub fn not_found(param: &str, message: impl Into<String>) -> Self {
        Error {
            kind: Kind::NotFound,
            code: "not_found",
            param: Some(param.to_string()),
            message: message.into(),
        }
    }

    pub fn forbidden(param: &str, message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Forbidden,
            code: "permission_denied",
            param: Some(param.to_string()),
            message: message.into(),
        }
    }

    pub fn too_large(param: &str, message: impl Into<String>) -> Self {
        Error {
            kind: Kind::TooLarge,
            code: "too_large",
            param: Some(param.to_string()),
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Internal,
            code: "internal_error",
            param: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::internal(format!("job store: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::internal(format!("data directory: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
