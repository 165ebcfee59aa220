//! `string_check`: eq / ne / like / ilike on the rendered input and reference.
//!
//! No trimming and no Unicode normalisation. `like` means *input contains reference* (an empty
//! reference is always contained). `ilike` lower-cases both sides the way Python's
//! `str.lower()` does — Rust's `str::to_lowercase` uses the same full Unicode mapping — which
//! is not case folding: "STRASSE" does not contain "straße".

use super::{join, template, Field};
use crate::context::GradeInput;
use crate::result::Failure;
use gradekit_model::{ConfigErrors, Operation, StringCheckGrader};

#[derive(Debug)]
pub(crate) struct StringCheck {
    input: Field,
    reference: Field,
    op: Operation,
}

impl StringCheck {
    /// The template fields rendered per sample.
    pub(crate) fn fields(&self) -> [&Field; 2] {
        [&self.input, &self.reference]
    }

    pub(crate) fn compile(
        c: &StringCheckGrader,
        path: &str,
        opts: &crate::EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<StringCheck> {
        let input = template(&c.input, join(path, "input"), opts, errs);
        let reference = template(&c.reference, join(path, "reference"), opts, errs);
        Some(StringCheck {
            input: input?,
            reference: reference?,
            op: c.operation,
        })
    }

    pub(crate) fn grade(&self, ctx: &dyn GradeInput) -> Result<f64, Failure> {
        let input = self.input.render_input(ctx)?;
        let reference = self.reference.render_input(ctx)?;
        let hit = match self.op {
            Operation::Eq => input == reference,
            Operation::Ne => input != reference,
            Operation::Like => contains(&input, &reference),
            Operation::Ilike => contains(&input.to_lowercase(), &reference.to_lowercase()),
        };
        Ok(if hit { 1.0 } else { 0.0 })
    }
}

/// `needle in haystack`, exact for UTF-8 when done on bytes (a match of a valid needle can only
/// start on a character boundary).
///
/// The standard library's Two-Way search spends O(needle) setting up before it looks; with
/// a new needle per sample (the rendered reference) that set-up is most of the cost. So:
/// candidates are found with `memchr` on the needle's first byte and compared directly, under
/// a work budget linear in the input; past the budget the search falls back to Two-Way. The
/// worst case stays O(haystack + needle).
fn contains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if n.len() > h.len() {
        return false;
    }
    let last_start = h.len() - n.len();
    let mut budget = 4 * h.len() + 2 * n.len();
    let mut from = 0;
    while let Some(p) = memchr::memchr(first, &h[from..=last_start]) {
        let at = from + p;
        if &h[at..at + n.len()] == n {
            return true;
        }
        match budget.checked_sub(n.len()) {
            Some(b) => budget = b,
            None => return haystack.contains(needle),
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod contains_tests {
    use super::contains;

    #[test]
    fn agrees_with_str_contains() {
        let hays = [
            "",
            "a",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "In short, Paris is the capital.",
            "héllo wörld ✓ 東京",
            "abababababababababababababababababac",
        ];
        let needles = [
            "",
            "a",
            "b",
            "aab",
            "aaaaaaaaaaaab",
            "Paris",
            "paris",
            "wörld",
            "東京",
            "ö",
            "abac",
            "ababac",
            "x",
            "capital.",
            "In short, Paris is the capital.!",
        ];
        for h in hays {
            for n in needles {
                assert_eq!(contains(h, n), h.contains(n), "{h:?} contains {n:?}");
            }
        }
        // Past the budget (many near-misses of a long needle) the answer is still exact.
        let h = "a".repeat(5000) + "b";
        let n = "a".repeat(300) + "b";
        assert!(contains(&h, &n));
        assert!(!contains(&h, &(n.clone() + "c")));
    }
}
