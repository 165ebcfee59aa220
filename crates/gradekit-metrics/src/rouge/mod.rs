//! ROUGE-N (N ≥ 1) and ROUGE-L F-measures as Google's rouge-score 0.1.2
//! computes them with `RougeScorer([type], use_stemmer=False)
//! .score(reference, input)[type].fmeasure` (research/metrics.md §2.6).
//!
//! Pipeline: rouge-score's own tokenizer ([`tokenize`]; lowercased runs of
//! `[a-z0-9]`), tokens interned to ids anchored to the reference, then
//!
//! * ROUGE-N: clipped n-gram overlap `o` (shared with bleu/gleu in
//!   `crate::ngram`), `P = o / max(1, #n-grams(input))`,
//!   `R = o / max(1, #n-grams(reference))`;
//! * ROUGE-L: LCS length by the bit-parallel algorithm of `lcs` —
//!   O(|input| · ⌈|reference|/64⌉) time, O(|input| + |reference|) memory —
//!   instead of rouge-score's O(n·m) table; `P = lcs / |input|`,
//!   `R = lcs / |reference|`, 0 when either side has no token;
//! * `F = 2·P·R / (P + R)` evaluated in that order, 0 when `P + R = 0`.
//!
//! P and R are separate correctly rounded divisions of integer counts, as in
//! Python, so the scores are bit-identical to the reference (checked by
//! `tests/dev_vectors.rs` and `tests/random_vectors.rs`).
//!
//! [`PreparedReference`] tokenises and interns a reference once (and builds
//! its LCS masks) for scoring many inputs against it.

mod lcs;
mod tokenize;

use std::collections::HashMap;

use crate::ngram::{clipped_overlaps, intern_pair, ngram_count, Hasher, ABSENT};
use lcs::Pattern;
use tokenize::Tokens;

pub use tokenize::tokenize;

/// rouge-score's `scoring.fmeasure`: `2 * precision * recall / (precision + recall)`.
#[inline]
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// rouge-score's `_score_ngrams` F-measure from the overlap and n-gram totals.
#[inline]
fn ngram_f(overlap: u64, input_grams: u64, reference_grams: u64) -> f64 {
    let precision = overlap as f64 / input_grams.max(1) as f64;
    let recall = overlap as f64 / reference_grams.max(1) as f64;
    fmeasure(precision, recall)
}

/// rouge-score's `_score_lcs` F-measure.
#[inline]
fn lcs_f(lcs: usize, input_len: usize, reference_len: usize) -> f64 {
    if input_len == 0 || reference_len == 0 {
        return 0.0;
    }
    fmeasure(
        lcs as f64 / input_len as f64,
        lcs as f64 / reference_len as f64,
    )
}

/// Clipped overlap of order `n` between interned id lists (n ≥ 1).
fn overlap_of_order(reference: &[u32], input: &[u32], vocab: usize, n: usize) -> u64 {
    // No n-grams on a side → no overlap (also bounds the buffer below by the
    // token count, whatever `n` the caller passes).
    if n == 0 || n > reference.len() || n > input.len() {
        return 0;
    }
    let mut small = [0u64; 5];
    let mut large;
    let out: &mut [u64] = if n <= small.len() {
        &mut small[..n]
    } else {
        large = vec![0u64; n];
        &mut large
    };
    clipped_overlaps(reference, input, vocab, out);
    out[n - 1]
}

/// ROUGE-N F-measure of `input` against `reference` (the grader's `rouge_1`
/// … `rouge_5` for `n` = 1..5; any `n ≥ 1` is computed the same way, `n = 0`
/// gives 0 where rouge-score raises).
pub fn rouge_n(input: &str, reference: &str, n: usize) -> f64 {
    let r = Tokens::from_text(reference);
    let h = Tokens::from_text(input);
    let ids = intern_pair(r.iter(), h.iter());
    let o = overlap_of_order(&ids.reference, &ids.input, ids.vocab, n);
    ngram_f(o, ngram_count(h.len(), n), ngram_count(r.len(), n))
}

/// ROUGE-L (sentence-level LCS, not rougeLsum) F-measure of `input` against
/// `reference`. O(|input| · ⌈|reference|/64⌉) time on the shorter side as
/// bit vector; see the module docs.
pub fn rouge_l(input: &str, reference: &str) -> f64 {
    let r = Tokens::from_text(reference);
    let h = Tokens::from_text(input);
    if r.len() == 0 || h.len() == 0 {
        return 0.0;
    }
    let ids = intern_pair(r.iter(), h.iter());
    // LCS is symmetric: put the shorter list in the bit vector.
    let lcs = if ids.input.len() < ids.reference.len() {
        Pattern::new(&ids.input, ids.vocab).lcs(ids.reference.iter().copied())
    } else {
        Pattern::new(&ids.reference, ids.vocab).lcs(ids.input.iter().copied())
    };
    lcs_f(lcs, h.len(), r.len())
}

/// All six grader ROUGE scores of one pair, tokenising once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeScores {
    /// `rouge_n[k]` is the ROUGE-(k+1) F-measure (`rouge_1` … `rouge_5`).
    pub rouge_n: [f64; 5],
    /// ROUGE-L F-measure.
    pub rouge_l: f64,
}

/// `rouge_1` … `rouge_5` and `rouge_l` of `input` against `reference`.
pub fn rouge_all(input: &str, reference: &str) -> RougeScores {
    PreparedReference::new(reference).rouge_all(input)
}

/// A reference tokenised, interned and turned into LCS masks once, to score
/// many inputs against it.
#[derive(Debug, Clone)]
pub struct PreparedReference {
    vocab: HashMap<Box<[u8]>, u32, Hasher>,
    ids: Vec<u32>,
    pattern: Pattern,
}

impl PreparedReference {
    /// Prepares `reference` (the ground-truth text).
    pub fn new(reference: &str) -> Self {
        let tokens = Tokens::from_text(reference);
        let mut vocab: HashMap<Box<[u8]>, u32, Hasher> =
            HashMap::with_capacity_and_hasher(tokens.len(), Hasher::default());
        let mut ids = Vec::with_capacity(tokens.len());
        for t in tokens.iter() {
            let next = vocab.len() as u32;
            let id = match vocab.get(t) {
                Some(&id) => id,
                None => {
                    vocab.insert(t.into(), next);
                    next
                }
            };
            ids.push(id);
        }
        let pattern = Pattern::new(&ids, vocab.len());
        PreparedReference {
            vocab,
            ids,
            pattern,
        }
    }

    /// Number of reference tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the reference has no token (every score is then 0).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn input_ids(&self, input: &str) -> Vec<u32> {
        Tokens::from_text(input)
            .iter()
            .map(|t| self.vocab.get(t).copied().unwrap_or(ABSENT))
            .collect()
    }

    /// ROUGE-N F-measure of `input` against this reference (see [`rouge_n`]).
    pub fn rouge_n(&self, input: &str, n: usize) -> f64 {
        let h = self.input_ids(input);
        let o = overlap_of_order(&self.ids, &h, self.vocab.len(), n);
        ngram_f(o, ngram_count(h.len(), n), ngram_count(self.ids.len(), n))
    }

    /// ROUGE-L F-measure of `input` against this reference (see [`rouge_l`]).
    pub fn rouge_l(&self, input: &str) -> f64 {
        let h = self.input_ids(input);
        let lcs = self.pattern.lcs(h.iter().copied());
        lcs_f(lcs, h.len(), self.pattern.len())
    }

    /// All six grader ROUGE scores of `input` against this reference.
    pub fn rouge_all(&self, input: &str) -> RougeScores {
        let h = self.input_ids(input);
        let mut overlaps = [0u64; 5];
        clipped_overlaps(&self.ids, &h, self.vocab.len(), &mut overlaps);
        let mut rouge_n = [0.0; 5];
        for (k, score) in rouge_n.iter_mut().enumerate() {
            let n = k + 1;
            *score = ngram_f(
                overlaps[k],
                ngram_count(h.len(), n),
                ngram_count(self.ids.len(), n),
            );
        }
        let lcs = self.pattern.lcs(h.iter().copied());
        RougeScores {
            rouge_n,
            rouge_l: lcs_f(lcs, h.len(), self.pattern.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_rouge_score() {
        // RougeScorer([t]).score(reference, input)[t].fmeasure, rouge-score 0.1.2.
        let (inp, refr) = ("The cat sat on the mat.", "the cat is on the mat");
        assert_eq!(rouge_n(inp, refr, 1), 0.8333333333333334);
        assert_eq!(rouge_n(inp, refr, 2), 0.6);
        assert_eq!(rouge_l(inp, refr), 0.8333333333333334);
        assert_eq!(rouge_n("", "", 1), 0.0);
        assert_eq!(rouge_l("a", ""), 0.0);
        assert_eq!(rouge_n("a", "a", 2), 0.0);
        assert_eq!(rouge_n("a b", "a b", 0), 0.0);
        assert_eq!(rouge_n("a b", "a b", usize::MAX), 0.0);
    }

    #[test]
    fn prepared_agrees_with_direct() {
        let refr = "The quick brown fox jumps over the lazy dog, the end.";
        let p = PreparedReference::new(refr);
        for inp in [
            "the lazy dog jumps",
            "",
            "The quick brown fox",
            "fox fox fox the the",
        ] {
            for n in 1..=6 {
                assert_eq!(p.rouge_n(inp, n), rouge_n(inp, refr, n));
            }
            assert_eq!(p.rouge_l(inp), rouge_l(inp, refr));
            let all = p.rouge_all(inp);
            assert_eq!(all.rouge_l, rouge_l(inp, refr));
            for n in 1..=5 {
                assert_eq!(all.rouge_n[n - 1], rouge_n(inp, refr, n));
            }
        }
    }
}
