//! The multi grader formula language: parse once, evaluate many.
//!
//! A `multi` grader combines the rewards of its named sub-graders with `calculate_output`, e.g.
//! `2 * precision * recall / max(precision + recall, 1e-9)`. OpenAI documents only the pieces
//! (`+ - * / ^`, `min max abs floor ceil exp sqrt log`, parentheses); gradekit fixes the rest
//! (DESIGN.md §4 "multi") and this crate implements exactly that:
//!
//! | binds | syntax | associativity |
//! |---|---|---|
//! | tightest | numbers, names, `f(a, …)`, `( … )` | |
//! | | `^` (exponent may carry its own sign: `2^-1`) | right: `2^3^2 = 512` |
//! | | unary `-`, `+` (stackable: `--1`) | prefix: `-2^2 = -4` |
//! | | `*`, `/` | left |
//! | loosest | `+`, `-` | left |
//!
//! * All arithmetic is IEEE-754 `f64`: `1/2 = 0.5`; `1/0 = inf`, `sqrt(-1) = NaN`, … are
//!   returned as they are, and the engine turns a non-finite result into `other_error`.
//!   `min`/`max` take one or more arguments and propagate NaN. `log(x)` is the natural
//!   logarithm, `log(x, b) = ln(x) / ln(b)` (as Python's `math.log`). See `ops.rs`.
//! * Numbers: `1`, `1.`, `.5`, `2.5e-3`, `1E+3`. No hex, no `_` separators; a literal too large
//!   for `f64` is an error.
//! * Names: a name followed by `(` is a function call (function names are lower case, as
//!   listed); any other name is a variable and must be one of the grader keys passed to
//!   [`Formula::parse`], compared case-sensitively. A grader key is usable in a formula iff
//!   [`is_identifier`] holds: letters of any script or `_`, then letters, digits or `_`.
//!   Keys such as `exact-match` or `2nd` are legal grader keys but cannot be referenced
//!   (`exact-match` reads as `exact - match`); the unknown-variable error says so. A grader may
//!   be called `max` or `log`: `log(log)` calls the function on the variable.
//! * There are no named constants: `e` and `pi` are ordinary names (write `exp(1)`).
//! * Whitespace (any Unicode white space, including newlines and tabs) separates tokens and is
//!   otherwise ignored.
//! * Errors are rejected, never guessed around: implicit multiplication (`2x`, `a(b)`), `**`,
//!   `%`, comparisons, a trailing operator or an unbalanced parenthesis are all errors with a
//!   column and, where one is certain, the fix.
//! * Limits: [`MAX_FORMULA_LEN`] bytes of source and [`MAX_DEPTH`] levels of nesting (each
//!   parenthesis, function call, unary sign and power counts one), so hostile input is an error
//!   instead of a stack overflow.
//!
//! **Compiled form.** Parsing emits postfix code for a tiny stack machine directly (see
//! `parser.rs`): variables are resolved to slot indices, constant sub-expressions are folded,
//! and the maximum stack depth is known, so [`Formula::eval`] is a loop over a flat slice with a
//! fixed stack buffer: no allocation for ordinary formulas, no hashing, no recursion.
//!
//! **Why not `evalexpr`.** The obvious crate was checked against the rules (evalexpr 13.0.0,
//! README operator table and `src/operator/mod.rs`) and fails several: `1 / 2` is integer
//! division (`0`) because literals without a point are integers; `^` is left-associative
//! (`is_left_to_right` is false only for assignment), so `2^3^2 = 64`; the natural logarithm
//! is `math::ln` and `math::log` requires two arguments, and `exp`/`sqrt`/`abs` live under
//! `math::` too; and it accepts far more than a reward formula should (strings, booleans,
//! comparisons, assignment, `;` chaining, tuples via `,`), which we would have to reject
//! after the fact. Its tree is also evaluated through string-keyed context look-ups. A
//! hand-written parser of a few hundred lines gives exact rules, slot-bound variables and error
//! messages that name the grader keys.

mod error;
mod lexer;
mod ops;
mod parser;

pub use error::{FormulaError, FormulaErrorKind};

use ops::Op;

/// Longest accepted formula source, in bytes.
pub const MAX_FORMULA_LEN: usize = 64 * 1024;

/// Deepest accepted nesting (parentheses, calls, unary signs and powers each count one).
pub const MAX_DEPTH: usize = 256;

/// Stack buffer kept on the machine stack during [`Formula::eval`]; deeper programs (rare:
/// it takes long right-nested chains) use a heap buffer.
const INLINE_STACK: usize = 32;

/// A parsed formula with its variables bound to slots. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Formula {
    source: Box<str>,
    code: Box<[Op]>,
    max_stack: usize,
    slots: Box<[usize]>,
}

impl Formula {
    /// Parse `src`; every identifier must be one of `variables` (slot `i` = `variables[i]`).
    ///
    /// If `variables` holds a name twice, the first occurrence is its slot.
    pub fn parse(src: &str, variables: &[&str]) -> Result<Formula, FormulaError> {
        if src.len() > MAX_FORMULA_LEN {
            return Err(FormulaError::new(
                FormulaErrorKind::TooLong,
                MAX_FORMULA_LEN,
                format!(
                    "formula is {} bytes long; the limit is {MAX_FORMULA_LEN}",
                    src.len()
                ),
            ));
        }
        let tokens = lexer::tokenize(src)?;
        if tokens.len() <= 1 {
            return Err(FormulaError::new(
                FormulaErrorKind::Empty,
                0,
                "empty formula".to_string(),
            ));
        }
        let mut parser = parser::Parser::new(src, tokens, variables);
        parser.parse().map_err(|e| *e)?;
        let mut slots: Vec<usize> = parser
            .code
            .iter()
            .filter_map(|op| match op {
                Op::Var(slot) => Some(*slot as usize),
                _ => None,
            })
            .collect();
        slots.sort_unstable();
        slots.dedup();
        Ok(Formula {
            source: src.into(),
            max_stack: parser.max_stack,
            code: parser.code.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
        })
    }

    /// Evaluate with `values[i]` bound to `variables[i]`. Never panics.
    ///
    /// A slot beyond the end of `values` reads as NaN (so the result is NaN and the engine
    /// reports `other_error`); extra values are ignored. The result is not clamped.
    pub fn eval(&self, values: &[f64]) -> f64 {
        if self.max_stack <= INLINE_STACK {
            let mut stack = [0.0f64; INLINE_STACK];
            ops::run(&self.code, values, &mut stack)
        } else {
            let mut stack = vec![0.0f64; self.max_stack];
            ops::run(&self.code, values, &mut stack)
        }
    }

    /// Which slots the formula references, ascending and without repeats.
    pub fn referenced_slots(&self) -> Vec<usize> {
        self.slots.to_vec()
    }

    /// The source text the formula was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl std::fmt::Display for Formula {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// Can a grader key be referenced in a formula? True for a letter (any script) or `_` followed
/// by letters, digits and `_`; false for the empty string and for anything else (`a-b`, `2x`,
/// `a b`, `a.b`). A key that is a function name (`max`) is still an identifier.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(lexer::is_ident_start) && chars.all(lexer::is_ident_continue)
}
