//! Bounded cost: the checked entry point [`score`] and the input limits behind it.
//!
//! Every metric is linear in its input except two parts whose exact algorithms are quadratic
//! in the worst case (issue 12 item 2):
//!
//! * **rouge_l** — the LCS of the two token lists. Bit-parallel (`rouge::lcs`), it costs
//!   `⌈m/64⌉ · n` word steps for token counts m ≤ n; no exact LCS algorithm is sub-quadratic
//!   in general, so the cost is bounded by a limit on that product: [`ROUGE_L_MAX_STEPS`].
//!   A long text against a short one stays cheap and is accepted (`⌈m/64⌉` is then 1).
//! * **fuzzy_match** — WRatio on the processed code points (m ≤ n). With lengths within 1.5×
//!   it runs bit-parallel Indel (`ratio`, token sort, token set): `⌈m/64⌉ · n` word steps
//!   each, bounded by [`FUZZY_MAX_STEPS`]. Lengths further apart take `partial_ratio`, whose
//!   window search falls back to seaweed combing: `m · n` cells, bounded by
//!   [`FUZZY_MAX_PARTIAL_CELLS`] (a needle of at most 64 code points is searched with one
//!   machine word per window, so its `m · n` is also its cost).
//!
//! Both limits are input-length limits, checked before the quadratic part allocates or runs:
//! a pair over them is refused with a [`LimitError`] naming the metric, the side lengths and
//! the limit (the engine turns it into `other_error` for that sample). The values are set so
//! the worst input under them takes about a second on the 2-core development VM
//! (`examples/worst_case.rs`; figures in BENCHMARKS.md); below them every metric is exactly the
//! reference, above them no score is produced rather than a different one.
//!
//! bleu, gleu, meteor and rouge_1..5 are linear in their input (tokenizers are single passes or
//! a fixed number of passes; n-grams are interned by hashing; METEOR's alignment walks each
//! side a fixed number of times) and have no limit beyond the caller's size budget.

use crate::Metric;
use std::fmt;

/// rouge_l: largest `⌈m/64⌉ · n` (token counts m ≤ n) scored; e.g. two texts of ~140k tokens
/// each, or any text against one of at most 64 tokens up to ~4·10^9 tokens.
pub const ROUGE_L_MAX_STEPS: u64 = 320_000_000;

/// fuzzy_match, lengths within 1.5×: largest `⌈m/64⌉ · n` (processed code points, m ≤ n);
/// e.g. two texts of ~110k characters each.
pub const FUZZY_MAX_STEPS: u64 = 200_000_000;

/// fuzzy_match, lengths 1.5× or more apart (`partial_ratio`): largest `m · n`; e.g. 5,000
/// against 50,000 characters, or 64 against 3.9M.
pub const FUZZY_MAX_PARTIAL_CELLS: u64 = 250_000_000;

/// A pair refused because scoring it exactly would cost more than the metric's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    /// The metric refused.
    pub metric: Metric,
    /// Units of the lengths below (`tokens`, `characters`).
    pub unit: &'static str,
    /// Length of the input side in `unit`s.
    pub input_len: u64,
    /// Length of the reference side in `unit`s.
    pub reference_len: u64,
    /// What is limited, in words, with the limit's value.
    pub limit: String,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: input of {} {} against reference of {} {} exceeds the metric's limit ({})",
            self.metric, self.input_len, self.unit, self.reference_len, self.unit, self.limit
        )
    }
}

impl std::error::Error for LimitError {}

/// `⌈min/64⌉ · max`: the word steps of a bit-parallel LCS of lengths `a` and `b`.
pub(crate) fn lcs_steps(a: usize, b: usize) -> u64 {
    let (m, n) = (a.min(b) as u64, a.max(b) as u64);
    m.div_ceil(64).saturating_mul(n)
}

/// Checks rouge_l's LCS cost for token counts `input_len` and `reference_len`.
pub(crate) fn check_rouge_l(input_len: usize, reference_len: usize) -> Result<(), LimitError> {
    if lcs_steps(input_len, reference_len) <= ROUGE_L_MAX_STEPS {
        return Ok(());
    }
    Err(LimitError {
        metric: Metric::RougeL,
        unit: "tokens",
        input_len: input_len as u64,
        reference_len: reference_len as u64,
        limit: format!(
            "ceil(shorter/64) * longer token count at most {ROUGE_L_MAX_STEPS}, \
             e.g. 140k tokens a side"
        ),
    })
}

/// Checks fuzzy_match's cost for processed lengths (code points) `input_len`, `reference_len`.
pub(crate) fn check_fuzzy(input_len: usize, reference_len: usize) -> Result<(), LimitError> {
    let (m, n) = (
        input_len.min(reference_len) as u64,
        input_len.max(reference_len) as u64,
    );
    if m == 0 {
        return Ok(());
    }
    // WRatio's own branch: lr = n / m as f64, partial path from 1.5 on.
    let partial = n as f64 / m as f64 >= 1.5;
    let ok = if partial {
        m.saturating_mul(n) <= FUZZY_MAX_PARTIAL_CELLS
    } else {
        lcs_steps(input_len, reference_len) <= FUZZY_MAX_STEPS
    };
    if ok {
        return Ok(());
    }
    // The message is built only on the error path: this check runs once per graded pair.
    let limit = if partial {
        format!(
            "lengths 1.5x or more apart: shorter * longer at most {FUZZY_MAX_PARTIAL_CELLS}, \
             e.g. 5,000 against 50,000 characters"
        )
    } else {
        format!(
            "lengths within 1.5x: ceil(shorter/64) * longer at most {FUZZY_MAX_STEPS}, \
             e.g. 110,000 characters a side"
        )
    };
    Err(LimitError {
        metric: Metric::FuzzyMatch,
        unit: "characters after default_process",
        input_len: input_len as u64,
        reference_len: reference_len as u64,
        limit,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_and_steps() {
        assert_eq!(Metric::ALL.map(Metric::name)[8], "rouge_5");
        assert_eq!(lcs_steps(64, 1000), 1000);
        assert_eq!(lcs_steps(1000, 65), 2000);
        assert_eq!(lcs_steps(0, 5), 0);
    }

    #[test]
    fn fuzzy_branches() {
        assert!(check_fuzzy(0, usize::MAX).is_ok());
        assert!(check_fuzzy(64, 2_000_000).is_ok());
        assert!(check_fuzzy(5_000, 30_000).is_ok());
        let e = check_fuzzy(10_000, 30_000).unwrap_err();
        assert!(e.limit.contains("1.5x or more apart"), "{e}");
        assert!(check_fuzzy(60_000, 60_000).is_ok());
        let e = check_fuzzy(150_000, 160_000).unwrap_err();
        assert!(e.limit.contains("within 1.5x"), "{e}");
        assert!(e
            .to_string()
            .starts_with("fuzzy_match: input of 150000 characters"));
    }
}
