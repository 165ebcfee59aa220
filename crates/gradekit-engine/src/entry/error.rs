//! Why an entry could not be read: a stable code, a path and a message.

use gradekit_model::{ConfigError, ConfigErrorKind, ConfigErrors};
use std::fmt;

/// Why an entry could not be read: a stable snake_case code (`score` writes it in its error
/// lines; the server's envelopes and Python's `GraderError` carry the path and message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryErrorKind {
    /// The entry's text is not JSON (a `score` line).
    InvalidJson,
    /// The entry's bytes are not UTF-8 (a `score` line).
    InvalidUtf8,
    /// The entry is valid JSON but not an object.
    NotAnObject,
    /// Neither sample key holds a value.
    MissingSample,
    /// The sample has the wrong type, both sample keys are given, or a sample object field is
    /// wrong.
    InvalidSample,
    /// A key the entry point does not accept.
    UnknownField,
}

impl EntryErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntryErrorKind; 6] = [
        EntryErrorKind::InvalidJson,
        EntryErrorKind::InvalidUtf8,
        EntryErrorKind::NotAnObject,
        EntryErrorKind::MissingSample,
        EntryErrorKind::InvalidSample,
        EntryErrorKind::UnknownField,
    ];

    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            EntryErrorKind::InvalidJson => "invalid_json",
            EntryErrorKind::InvalidUtf8 => "invalid_utf8",
            EntryErrorKind::NotAnObject => "not_an_object",
            EntryErrorKind::MissingSample => "missing_sample",
            EntryErrorKind::InvalidSample => "invalid_sample",
            EntryErrorKind::UnknownField => "unknown_field",
        }
    }

    /// The kind of a code (the inverse of [`Self::code`]).
    pub fn from_code(code: &str) -> Option<EntryErrorKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for EntryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An entry that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub kind: EntryErrorKind,
    /// The offending field (`samples[3].model_sample`, `sample.output_tools`); empty for the
    /// entry itself at the root.
    pub path: String,
    pub message: String,
}

impl EntryError {
    pub fn new(kind: EntryErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        EntryError {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for EntryError {}

impl From<EntryError> for ConfigError {
    fn from(e: EntryError) -> ConfigError {
        let kind = match e.kind {
            EntryErrorKind::InvalidJson | EntryErrorKind::InvalidUtf8 => {
                ConfigErrorKind::InvalidJson
            }
            EntryErrorKind::NotAnObject => ConfigErrorKind::InvalidType,
            EntryErrorKind::MissingSample => ConfigErrorKind::MissingSample,
            EntryErrorKind::InvalidSample => ConfigErrorKind::InvalidSample,
            EntryErrorKind::UnknownField => ConfigErrorKind::UnknownField,
        };
        ConfigError::with(kind, e.path, e.message)
    }
}

impl From<EntryError> for ConfigErrors {
    fn from(e: EntryError) -> ConfigErrors {
        ConfigErrors::from(ConfigError::from(e))
    }
}
