use std::fmt;

/// One fault in a grader config or request, with the path of the offending field
/// (`graders.email.operation`, `input[0].content`; empty for the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
    /// True when the fault is in a multi grader's `calculate_output` formula: `/run` answers
    /// such a grader with `formula_parse_error` instead of rejecting it.
    pub formula: bool,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
            formula: false,
        }
    }

    pub fn formula(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            formula: true,
            ..ConfigError::new(path, message)
        }
    }

    /// The same error with `prefix` put in front of its path (`grader` + `operation` →
    /// `grader.operation`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = join(prefix, &self.path);
        self
    }
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
        !self.0.is_empty() && self.0.iter().all(|e| e.formula)
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
