//! The one error type of this crate.
//!
//! A formula error is shown to a person who typed the formula into a grader config, usually
//! behind a config path such as `calculate_output: `. The message therefore names the offending
//! text, says where it is (1-based column, plus line when the formula spans several lines) and,
//! where a guess at the intent is cheap and certain, what to write instead. The machine-readable
//! parts are `kind` (stable, for tests and tools) and `offset` (byte offset into the source).

/// What went wrong; see [`FormulaError::message`] for the text shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormulaErrorKind {
    /// The formula is empty or only whitespace.
    Empty,
    /// The formula is longer than [`crate::MAX_FORMULA_LEN`] bytes.
    TooLong,
    /// Parentheses, function calls, unary operators and powers nest deeper than
    /// [`crate::MAX_DEPTH`].
    TooDeep,
    /// A character that is not part of the language (`%`, `=`, `"`, …).
    InvalidCharacter,
    /// A malformed or out-of-range numeric literal (`1e`, `1e999`).
    InvalidNumber,
    /// A token where it cannot stand (`1 + * 2`, `)` with nothing open, `a b`).
    UnexpectedToken,
    /// The formula stops in the middle of an expression (`1 +`, `max(a,`).
    UnexpectedEnd,
    /// An identifier that is not one of the grader keys.
    UnknownVariable,
    /// A call of a function the language does not have.
    UnknownFunction,
    /// A known function called with the wrong number of arguments.
    WrongArity,
}

impl FormulaErrorKind {
    /// A stable snake_case code for the kind.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong => "too_long",
            Self::TooDeep => "too_deep",
            Self::InvalidCharacter => "invalid_character",
            Self::InvalidNumber => "invalid_number",
            Self::UnexpectedToken => "unexpected_token",
            Self::UnexpectedEnd => "unexpected_end",
            Self::UnknownVariable => "unknown_variable",
            Self::UnknownFunction => "unknown_function",
            Self::WrongArity => "wrong_arity",
        }
    }
}

/// A formula that cannot be parsed or bound to the grader keys.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{message}")]
pub struct FormulaError {
    /// What went wrong.
    pub kind: FormulaErrorKind,
    /// Byte offset into the source where the problem starts (the source length for errors at
    /// the end).
    pub offset: usize,
    /// A complete, user-facing sentence (no trailing period), e.g.
    /// `unknown variable "recal" at column 12; the graders are: precision, recall`.
    pub message: String,
}

impl FormulaError {
    pub(crate) fn new(kind: FormulaErrorKind, offset: usize, message: String) -> Self {
        Self {
            kind,
            offset,
            message,
        }
    }
}

/// `at column C` (single-line source) or `at line L, column C`; columns count characters, from 1.
pub(crate) fn position(src: &str, offset: usize) -> String {
    // Clamp to a char boundary at or before `offset` so a bad offset can never panic.
    let mut at = offset.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let before = &src[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    if src.contains('\n') {
        let line = before.matches('\n').count() + 1;
        format!("at line {line}, column {column}")
    } else {
        format!("at column {column}")
    }
}

#[cfg(test)]
mod tests {
    use super::position;

    #[test]
    fn columns_count_characters_from_one() {
        assert_eq!(position("abc", 0), "at column 1");
        assert_eq!(position("abc", 3), "at column 4");
        assert_eq!(position("éa", 2), "at column 2");
        // An offset inside a multi-byte character is clamped, never a panic.
        assert_eq!(position("éa", 1), "at column 1");
        assert_eq!(position("a +\n  b", 6), "at line 2, column 3");
        assert_eq!(position("a", 99), "at column 2");
    }
}
