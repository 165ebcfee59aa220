//! Config errors as data: a stable code, a location and a message.
//!
//! Like pydantic-core's `ValLineError { error_type, location }` and jsonschema's
//! `ValidationErrorKind` + `Location`, a [`ConfigError`] carries its [`ConfigErrorKind`] (a
//! stable snake_case [`ConfigErrorKind::code`]), the path of the offending field (rendered in
//! the template notation, `graders.email.operation`, `input[0].content`; structured by
//! [`ConfigError::location`]) and a message for people. Tools match codes and paths, never
//! messages. The formula crate's typed kinds are carried through as
//! [`ConfigErrorKind::Formula`] with the formula's own code.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;

/// What kind of fault a [`ConfigError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// A required field is absent (or null).
    MissingField,
    /// A field the object does not have (typos must not pass silently).
    UnknownField,
    /// A value of the wrong JSON type.
    InvalidType,
    /// A string that is not one of the allowed names (operation, metric, grader type, role, …).
    UnknownValue,
    /// A value of the right type that breaks a rule (`range` order, duplicate label, empty list).
    InvalidValue,
    /// A value past a size limit (python source over 256 KiB).
    TooLarge,
    /// A template (`{{ item.x }}`) that starts like a reference but does not parse.
    TemplateSyntax,
    /// A python grader's source that does not load (syntax, no `grade`, import failure).
    PythonSource,
    /// A feature this build does not have.
    Unsupported,
    /// A document that is not JSON at all.
    InvalidJson,
    /// A sample entry without a sample (`model_sample` / `sample` absent or null); the code
    /// a `score` error row gives for the same fault.
    MissingSample,
    /// A sample of the wrong type, both sample keys at once, or a sample object with a bad
    /// field; the code a `score` error row gives for the same fault.
    InvalidSample,
    /// A multi grader's `calculate_output` formula; the code is the formula crate's
    /// (`unknown_variable`, `unexpected_end`, …).
    Formula(&'static str),
}

impl ConfigErrorKind {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            ConfigErrorKind::MissingField => "missing_field",
            ConfigErrorKind::UnknownField => "unknown_field",
            ConfigErrorKind::InvalidType => "invalid_type",
            ConfigErrorKind::UnknownValue => "unknown_value",
            ConfigErrorKind::InvalidValue => "invalid_value",
            ConfigErrorKind::TooLarge => "too_large",
            ConfigErrorKind::TemplateSyntax => "template_syntax",
            ConfigErrorKind::PythonSource => "python_source",
            ConfigErrorKind::Unsupported => "unsupported",
            ConfigErrorKind::InvalidJson => "invalid_json",
            ConfigErrorKind::MissingSample => "missing_sample",
            ConfigErrorKind::InvalidSample => "invalid_sample",
            ConfigErrorKind::Formula(code) => code,
        }
    }
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One step of a [`ConfigError::location`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// One fault in a grader config or request, with the path of the offending field
/// (`graders.email.operation`, `input[0].content`; empty for the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub kind: ConfigErrorKind,
    pub path: String,
    pub message: String,
}

impl ConfigError {
    /// A fault that breaks a rule of its field ([`ConfigErrorKind::InvalidValue`]).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with(ConfigErrorKind::InvalidValue, path, message)
    }

    /// A fault of `kind`.
    pub fn with(
        kind: ConfigErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A fault in a multi grader's formula, with the formula crate's code: `/run` answers such
    /// a grader with `formula_parse_error` instead of rejecting it.
    pub fn formula(
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::with(ConfigErrorKind::Formula(code), path, message)
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// True for a fault in a formula.
    pub fn is_formula(&self) -> bool {
        matches!(self.kind, ConfigErrorKind::Formula(_))
    }

    /// The path as segments: `graders["a b"].input[0]` → `graders`, `a b`, `input`, `0`.
    pub fn location(&self) -> Vec<PathSegment> {
        parse_path(&self.path)
    }

    /// The same error with `prefix` put in front of its path (`grader` + `operation` →
    /// `grader.operation`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = join(prefix, &self.path);
        self
    }
}

/// `{"path", "code", "message"}`: what `gradekit validate --json` prints per fault.
impl Serialize for ConfigError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("code", self.code())?;
        m.serialize_entry("message", &self.message)?;
        m.end()
    }
}

/// Splits a path rendered by [`join`] and `display_key`: `.key`, `[N]`, `["any key"]`.
fn parse_path(path: &str) -> Vec<PathSegment> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('[') {
            if r.starts_with('"') {
                // A JSON string up to its closing quote, then `]`.
                let mut de = serde_json::Deserializer::from_str(r).into_iter::<String>();
                if let Some(Ok(key)) = de.next() {
                    let used = de.byte_offset();
                    out.push(PathSegment::Key(key));
                    rest = r[used..].strip_prefix(']').unwrap_or(&r[used..]);
                    continue;
                }
            } else if let Some(end) = r.find(']') {
                if let Ok(i) = r[..end].parse::<usize>() {
                    out.push(PathSegment::Index(i));
                    rest = &r[end + 1..];
                    continue;
                }
            }
            // Not our notation: keep the rest as one key.
            out.push(PathSegment::Key(rest.to_string()));
            break;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        out.push(PathSegment::Key(rest[..end].to_string()));
        rest = &rest[end..];
    }
    out
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every fault found in one config, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
    /// True when there is at least one error and all are formula faults.
    pub fn only_formula(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(ConfigError::is_formula)
    }
    pub fn first(&self) -> Option<&ConfigError> {
        self.0.first()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// Joins config path segments: `join("graders", "email")` = `graders.email`; an index segment
/// (`[0]`) is appended without a dot.
pub(crate) fn join(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_string()
    } else if rest.is_empty() {
        prefix.to_string()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_the_rendered_path() {
        let e = ConfigError::new(r#"graders["a b"].input[0].content"#, "x");
        assert_eq!(
            e.location(),
            vec![
                PathSegment::Key("graders".into()),
                PathSegment::Key("a b".into()),
                PathSegment::Key("input".into()),
                PathSegment::Index(0),
                PathSegment::Key("content".into()),
            ]
        );
        assert!(ConfigError::new("", "x").location().is_empty());
        assert_eq!(
            ConfigError::new("[2]", "x").location(),
            vec![PathSegment::Index(2)]
        );
    }

    #[test]
    fn errors_serialise_as_path_code_message() {
        let e = ConfigError::with(ConfigErrorKind::UnknownField, "a.b", "unknown field");
        assert_eq!(
            serde_json::to_value(&e).ok(),
            Some(
                serde_json::json!({"path": "a.b", "code": "unknown_field", "message": "unknown field"})
            )
        );
        assert_eq!(
            ConfigError::formula("c", "unexpected_end", "m").code(),
            "unexpected_end"
        );
    }
}
