//! `fuzzy_match`: rapidfuzz 3.10.1 `fuzz.WRatio(input, reference,
//! processor=utils.default_process) / 100`, reproduced to the bit.
//!
//! The grader's fuzzy metric is rapidfuzz's WRatio, which is a tree of simpler scorers; each
//! lives in its own module so it can be tested against rapidfuzz on its own:
//!
//! * `process`: `default_process` — per-code-point simple lowercase, non-alphanumerics to
//!   spaces, trim; tables generated from the installed library (`tables.rs`).
//! * `indel`: LCS-based Indel distance, bit-parallel (⌈m/64⌉ words per text character).
//! * `ratio`: `ratio` and the float conventions of rapidfuzz's normalisations.
//! * `partial`: `partial_ratio` — the window search (see its docs for the complexity).
//! * `token`: `token_sort`, `token_set`, `token_ratio` and their partial forms.
//! * `wratio`: the weighting flow with its score-cutoff chaining.
//!
//! Everything works on Unicode code points (`u32`), as rapidfuzz does on Python `str`; no
//! normalisation, no grapheme clustering. The public functions other than [`fuzzy_match`] and
//! [`FuzzyMatcher`] mirror rapidfuzz's `fuzz` module *without* a processor and keep its 0–100
//! scale; apply [`default_process`] first to get the processed variants.
//!
//! Version note: rapidfuzz-cpp 3.1.1 (inside rapidfuzz 3.10.1) gives a length ratio of exactly
//! 8 the 0.6 partial weight (`WRatio("a", "aaaaaaaa") = 60`); later rapidfuzz-cpp releases use
//! 0.9 there. We follow 3.10.1.
//!
//! Parity: `tests/fuzzy_vectors.rs` checks the shared dev vectors (every variant) and
//! thousands of random/adversarial pairs scored by rapidfuzz 3.10.1
//! (`fixtures/vectors/random_fuzzy.jsonl`, generator in `scripts/gen_fuzzy_vectors.py`).

mod indel;
mod partial;
mod process;
mod ratio;
mod tables;
mod token;
mod wratio;

pub use process::default_process;

/// A word of the tokenizing floor's buffers (`crate::floor`).
pub(crate) type FloorWord = token::Word;

use process::{code_points, process_into};

/// The `fuzzy_match` metric in [0, 1]: `WRatio(default_process(input),
/// default_process(reference)) / 100`. Either side empty after processing gives 0.
///
/// ```
/// use gradekit_metrics::fuzzy::fuzzy_match;
/// assert_eq!(fuzzy_match("Cat", "cat"), 1.0);
/// assert_eq!(fuzzy_match("!!!", "..."), 0.0);
/// ```
pub fn fuzzy_match(input: &str, reference: &str) -> f64 {
    with_processed(input, reference, |a, b| wratio::wratio(a, b, 0.0) / 100.0)
}

/// [`fuzzy_match`], or a [`crate::LimitError`] when the processed lengths are over the cost
/// limits of `crate::limits` (checked before the quadratic scorers run).
pub fn fuzzy_match_checked(input: &str, reference: &str) -> Result<f64, crate::LimitError> {
    with_processed(input, reference, |a, b| {
        crate::limits::check_fuzzy(a.len(), b.len())?;
        Ok(wratio::wratio(a, b, 0.0) / 100.0)
    })
}

/// Runs `f` with `default_process` of both texts, in this thread's reused buffers (fresh
/// ones when nested; buffers past 64 Ki code points are not kept).
fn with_processed<R>(input: &str, reference: &str, f: impl FnOnce(&[u32], &[u32]) -> R) -> R {
    use std::cell::Cell;
    type Buffers = Option<Box<(Vec<u32>, Vec<u32>)>>;
    thread_local! {
        static BUFFERS: Cell<Buffers> = const { Cell::new(None) };
    }
    let mut b = BUFFERS
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    process_into(input, &mut b.0);
    process_into(reference, &mut b.1);
    let r = f(&b.0, &b.1);
    if b.0.capacity().max(b.1.capacity()) <= 1 << 16 {
        let _ = BUFFERS.try_with(|c| c.set(Some(b)));
    }
    r
}

/// `default_process` of both texts and their sorted word split, uncached: fuzzy_match's
/// tokenizing floor (`crate::floor`). Returns the number of words.
pub(crate) fn tokenize_floor(
    input: &str,
    reference: &str,
    bufs: &mut (Vec<u32>, Vec<u32>, Vec<token::Word>),
) -> usize {
    process_into(input, &mut bufs.0);
    process_into(reference, &mut bufs.1);
    token::sorted_words_into(&bufs.0, token::is_narrow(&bufs.0), &mut bufs.2);
    let a = bufs.2.len();
    token::sorted_words_into(&bufs.1, token::is_narrow(&bufs.1), &mut bufs.2);
    a + bufs.2.len()
}

/// A reference prepared once for many `fuzzy_match` calls. Only its `default_process` output
/// is cached — on the 10k-pair bench that saves nothing measurable (processing is ~5 % of a
/// call); caching the reference's LCS masks and sorted words, as rapidfuzz's `CachedWRatio`
/// does, is the next step if batch scoring against one reference matters.
#[derive(Debug, Clone)]
pub struct FuzzyMatcher {
    reference: Vec<u32>,
}

impl FuzzyMatcher {
    /// Prepares `reference`.
    pub fn new(reference: &str) -> Self {
        let mut processed = Vec::with_capacity(reference.len());
        process_into(reference, &mut processed);
        FuzzyMatcher {
            reference: processed,
        }
    }

    /// `fuzzy_match(input, reference)`.
    pub fn score(&self, input: &str) -> f64 {
        let mut a = Vec::with_capacity(input.len());
        process_into(input, &mut a);
        wratio::wratio(&a, &self.reference, 0.0) / 100.0
    }
}

macro_rules! raw_scorer {
    ($(#[$doc:meta])* $name:ident => $imp:path) => {
        $(#[$doc])*
        pub fn $name(s1: &str, s2: &str) -> f64 {
            $imp(&code_points(s1), &code_points(s2), 0.0)
        }
    };
}

raw_scorer!(
    /// rapidfuzz `fuzz.ratio(s1, s2)` (0–100): normalized Indel similarity; `("", "")` → 100.
    ratio => ratio::ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.partial_ratio(s1, s2)` (0–100): best `ratio` of the shorter string
    /// against windows of the longer one; `("", "")` → 100, one side empty → 0.
    ///
    /// Cost: O(m·⌈m/64⌉) per window examined, at most O(m·n) overall (seaweed combing takes
    /// over when window pruning fails); ~10 ms for 1,000 vs 3,000 unrelated code points,
    /// seconds at tens of thousands. `fuzzy_match` reaches it when lengths differ ≥ 1.5×.
    partial_ratio => partial::partial_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.token_sort_ratio(s1, s2)` (0–100): `ratio` of the sorted words.
    token_sort_ratio => token::token_sort_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.token_set_ratio(s1, s2)` (0–100): word-set comparison.
    token_set_ratio => token::token_set_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.token_ratio(s1, s2)` (0–100): max of token sort and token set ratios.
    token_ratio => token::token_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.partial_token_sort_ratio(s1, s2)` (0–100).
    partial_token_sort_ratio => token::partial_token_sort_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.partial_token_set_ratio(s1, s2)` (0–100).
    partial_token_set_ratio => token::partial_token_set_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.partial_token_ratio(s1, s2)` (0–100).
    partial_token_ratio => token::partial_token_ratio
);
raw_scorer!(
    /// rapidfuzz `fuzz.WRatio(s1, s2)` without a processor (0–100).
    wratio => wratio::wratio
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rapidfuzz_examples() {
        // values from rapidfuzz 3.10.1
        assert_eq!(wratio("a", "aaaaaaaa"), 60.0);
        assert_eq!(wratio("ab", "xxxxxxxxxxxxxxab"), 60.0);
        assert_eq!(fuzzy_match("İstanbul", "istanbul"), 1.0);
        assert_eq!(ratio("", ""), 100.0);
        assert_eq!(fuzzy_match("", ""), 0.0);
        let m = FuzzyMatcher::new("The Cat sat.");
        assert_eq!(
            m.score("the cat sat"),
            fuzzy_match("the cat sat", "The Cat sat.")
        );
    }
}
