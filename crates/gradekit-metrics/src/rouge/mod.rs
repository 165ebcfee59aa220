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

mod fused;
mod lcs;
mod tokenize;

use std::cell::Cell;
use std::collections::HashMap;

use crate::ngram::{ngram_count, with_scratch, Hasher, Ids, Scratch, Work, ABSENT};
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

/// Reusable token buffers of one thread (see `crate::ngram::with_scratch`).
#[derive(Debug, Default)]
struct TokenBuffers {
    reference: Tokens,
    input: Tokens,
}

thread_local! {
    static TOKENS: Cell<Option<Box<TokenBuffers>>> = const { Cell::new(None) };
}

/// Buffers above this many bytes are not kept for the next call.
const KEEP_BYTES: usize = 1 << 22;

/// Runs `f` with this thread's token buffers (fresh ones when nested).
fn with_tokens<R>(f: impl FnOnce(&mut TokenBuffers) -> R) -> R {
    let mut t: Box<TokenBuffers> = TOKENS
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut t);
    if t.reference.capacity().max(t.input.capacity()) <= KEEP_BYTES {
        // Fails only during thread teardown; the buffers are then dropped.
        let _ = TOKENS.try_with(|c| c.set(Some(t)));
    }
    r
}

/// Tokenises (each distinct text once while it stays in this thread's cache, see
/// `crate::cache`) and interns a pair, then runs `f(reference, input, scratch)` with the ids
/// in `scratch.ids`.
fn with_pair<R>(
    input: &str,
    reference: &str,
    f: impl FnOnce(&Tokens, &Tokens, &mut Scratch) -> R,
) -> R {
    thread_local! {
        static CACHE: std::cell::RefCell<crate::cache::TextCache<Tokens>> =
            std::cell::RefCell::new(crate::cache::TextCache::default());
    }
    let fill = |text: &str, out: &mut Tokens| out.fill(text);
    let score = |h: &Tokens, r: &Tokens, _key| {
        with_scratch(|s| {
            s.intern(r, h);
            f(r, h, s)
        })
    };
    CACHE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut cache) => cache.with_pair(input, reference, fill, score),
        Err(_) => crate::cache::TextCache::default().with_pair(input, reference, fill, score),
    })
}

/// Tokenizes both texts into this thread's buffers, uncached (`crate::floor`); returns the
/// number of tokens.
pub(crate) fn tokenize_floor(input: &str, reference: &str) -> usize {
    with_tokens(|t| {
        t.input.fill(input);
        t.reference.fill(reference);
        t.input.len() + t.reference.len()
    })
}

/// Clipped overlap of order `n` between interned id lists (n ≥ 1).
fn overlap_of_order(
    work: &mut Work,
    reference: &[u32],
    input: &[u32],
    vocab: usize,
    n: usize,
) -> u64 {
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
    work.clipped_overlaps(reference, input, vocab, out);
    out[n - 1]
}

/// LCS length of two interned id lists, the shorter one as bit vector.
fn lcs_of(ids: &Ids) -> usize {
    let (pattern, text) = if ids.input.len() < ids.reference.len() {
        (&ids.input, &ids.reference)
    } else {
        (&ids.reference, &ids.input)
    };
    if pattern.len() <= 64 {
        return lcs::lcs_one_word(pattern, text, ids.vocab);
    }
    Pattern::new(pattern, ids.vocab).lcs(text.iter().copied())
}

/// ROUGE-N F-measure of `input` against `reference` (the grader's `rouge_1`
/// … `rouge_5` for `n` = 1..5; any `n ≥ 1` is computed the same way, `n = 0`
/// gives 0 where rouge-score raises).
pub fn rouge_n(input: &str, reference: &str, n: usize) -> f64 {
    with_pair(input, reference, |r, h, s| {
        let (ids, work) = s.split();
        let o = overlap_of_order(work, &ids.reference, &ids.input, ids.vocab, n);
        ngram_f(o, ngram_count(h.len(), n), ngram_count(r.len(), n))
    })
}

/// ROUGE-L (sentence-level LCS, not rougeLsum) F-measure of `input` against
/// `reference`. O(|input| · ⌈|reference|/64⌉) time on the shorter side as
/// bit vector; see the module docs. One pass over each text (`fused`); texts
/// holding U+0130 or U+212A take the general path.
pub fn rouge_l(input: &str, reference: &str) -> f64 {
    match fused::with_fused(|f| f.lcs(input, reference, false)) {
        fused::Outcome::Counts {
            input,
            reference,
            lcs,
        } => lcs_f(lcs, input, reference),
        _ => rouge_l_general(input, reference),
    }
}

/// [`rouge_l`] through the general path: cached token lists, interned ids, LCS over the ids
/// (the oracle of the fused path, and its fallback).
fn rouge_l_general(input: &str, reference: &str) -> f64 {
    with_pair(input, reference, |r, h, s| {
        if r.len() == 0 || h.len() == 0 {
            return 0.0;
        }
        lcs_f(lcs_of(s.split().0), h.len(), r.len())
    })
}

/// [`rouge_l`], or a [`crate::LimitError`] when the token counts are over rouge_l's cost
/// limit (`crate::limits`; checked after tokenising, before the LCS).
pub fn rouge_l_checked(input: &str, reference: &str) -> Result<f64, crate::LimitError> {
    match fused::with_fused(|f| f.lcs(input, reference, true)) {
        fused::Outcome::Counts {
            input,
            reference,
            lcs,
        } => return Ok(lcs_f(lcs, input, reference)),
        fused::Outcome::Limit(e) => return Err(e),
        fused::Outcome::General => {}
    }
    with_pair(input, reference, |r, h, s| {
        if r.len() == 0 || h.len() == 0 {
            return Ok(0.0);
        }
        crate::limits::check_rouge_l(h.len(), r.len())?;
        Ok(lcs_f(lcs_of(s.split().0), h.len(), r.len()))
    })
}

/// All six grader ROUGE scores of one pair, tokenising once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeScores {
    /// `rouge_n[k]` is the ROUGE-(k+1) F-measure (`rouge_1` … `rouge_5`).
    pub rouge_n: [f64; 5],
    /// ROUGE-L F-measure.
    pub rouge_l: f64,
}

impl RougeScores {
    fn from_counts(
        overlaps: &[u64; 5],
        lcs: usize,
        input_len: usize,
        reference_len: usize,
    ) -> Self {
        let mut rouge_n = [0.0; 5];
        for (k, score) in rouge_n.iter_mut().enumerate() {
            let n = k + 1;
            *score = ngram_f(
                overlaps[k],
                ngram_count(input_len, n),
                ngram_count(reference_len, n),
            );
        }
        RougeScores {
            rouge_n,
            rouge_l: lcs_f(lcs, input_len, reference_len),
        }
    }
}

/// `rouge_1` … `rouge_5` and `rouge_l` of `input` against `reference`.
pub fn rouge_all(input: &str, reference: &str) -> RougeScores {
    with_pair(input, reference, |r, h, s| {
        let mut overlaps = [0u64; 5];
        s.clipped_overlaps(&mut overlaps);
        let lcs = lcs_of(s.split().0);
        RougeScores::from_counts(&overlaps, lcs, h.len(), r.len())
    })
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

    /// Tokenises `input`, maps it to this reference's ids (in the scratch
    /// `ids.input`) and runs `f(input_len, scratch)`.
    fn with_input<R>(&self, input: &str, f: impl FnOnce(usize, &mut Scratch) -> R) -> R {
        with_tokens(|t| {
            t.input.fill(input);
            with_scratch(|s| {
                let ids = &mut s.split().0.input;
                ids.clear();
                ids.extend(
                    t.input
                        .iter()
                        .map(|tok| self.vocab.get(tok).copied().unwrap_or(ABSENT)),
                );
                f(t.input.len(), s)
            })
        })
    }

    /// ROUGE-N F-measure of `input` against this reference (see [`rouge_n`]).
    pub fn rouge_n(&self, input: &str, n: usize) -> f64 {
        self.with_input(input, |h_len, s| {
            let (ids, work) = s.split();
            let o = overlap_of_order(work, &self.ids, &ids.input, self.vocab.len(), n);
            ngram_f(o, ngram_count(h_len, n), ngram_count(self.ids.len(), n))
        })
    }

    /// ROUGE-L F-measure of `input` against this reference (see [`rouge_l`]).
    pub fn rouge_l(&self, input: &str) -> f64 {
        self.with_input(input, |h_len, s| {
            let lcs = self.pattern.lcs(s.split().0.input.iter().copied());
            lcs_f(lcs, h_len, self.pattern.len())
        })
    }

    /// All six grader ROUGE scores of `input` against this reference.
    pub fn rouge_all(&self, input: &str) -> RougeScores {
        self.with_input(input, |h_len, s| {
            let (ids, work) = s.split();
            let mut overlaps = [0u64; 5];
            work.clipped_overlaps(&self.ids, &ids.input, self.vocab.len(), &mut overlaps);
            let lcs = self.pattern.lcs(ids.input.iter().copied());
            RougeScores::from_counts(&overlaps, lcs, h_len, self.ids.len())
        })
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
