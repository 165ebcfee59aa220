//! GLEU (Google BLEU) as NLTK 3.9.1 `sentence_gleu([reference], hypothesis)`
//! computes it, n-gram orders 1..=4 (research/metrics.md §2.4).
//!
//! NLTK counts `everygrams(…, 1, 4)` of both sides in one Counter; since
//! n-grams of different orders never compare equal, the true positives are
//! the sum over orders of the clipped overlaps (`crate::ngram`), and
//! `score = tp / max(#n-grams(hyp), #n-grams(ref))`, 0 when both sides are
//! empty. Integer counts divided once, so the float result is the correctly
//! rounded quotient, as Python's `int / int`. Symmetric in its arguments.

use crate::ngram::{ngram_count, with_scratch, Keyed, TokenSeq};

/// Largest n-gram order (`max_len=4`).
const MAX_ORDER: usize = 4;

/// Sentence GLEU of tokenised `hyp` against one tokenised reference, exactly
/// as NLTK 3.9.1 `sentence_gleu` (orders 1..=4). Case-sensitive; in [0, 1].
///
/// Verified against the reference on `fixtures/vectors/dev.jsonl` and
/// `random_gleu.jsonl` (`tests/dev_vectors.rs`, `tests/random_vectors.rs`).
pub fn gleu_tokens<S: AsRef<str>>(hyp: &[S], refr: &[S]) -> f64 {
    gleu_of(hyp, refr)
}

/// [`gleu_tokens`] of two lists from [`crate::tokenize::nltk_tokenize_into`], uncached: the
/// n-gram part of [`gleu`] alone, for `examples/ngram_speed.rs`.
#[doc(hidden)]
pub fn gleu_nltk_tokens(hyp: &crate::tokenize::Tokens, refr: &crate::tokenize::Tokens) -> f64 {
    gleu_of(hyp, refr)
}

fn gleu_of<T: TokenSeq + Keyed + ?Sized>(hyp: &T, refr: &T) -> f64 {
    let mut clipped = [0u64; MAX_ORDER];
    with_scratch(|s| s.overlaps(refr, hyp, &mut clipped));
    gleu_from_counts(&clipped, hyp.count(), refr.count())
}

/// The score from the clipped overlaps of orders 1..=4 and the two token counts.
fn gleu_from_counts(clipped: &[u64; MAX_ORDER], hyp_len: usize, ref_len: usize) -> f64 {
    let total = |len: usize| (1..=MAX_ORDER).map(|n| ngram_count(len, n)).sum::<u64>();
    // tpfp / tpfn in NLTK's names.
    let n_all = total(hyp_len).max(total(ref_len));
    if n_all == 0 {
        return 0.0;
    }
    let tp: u64 = clipped.iter().sum();
    tp as f64 / n_all as f64
}

/// GLEU of the text `input` against `reference`, both tokenised with
/// [`crate::tokenize::nltk_tokenize`] (the grader's `gleu` metric).
pub fn gleu(input: &str, reference: &str) -> f64 {
    crate::tokenize::with_nltk_tokens(input, reference, |hyp, refr, key| {
        gleu_from_counts(
            &crate::ngram::clipped_1_to_4(hyp, refr, key),
            hyp.len(),
            refr.len(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn values_from_nltk() {
        // Values printed by nltk 3.9.1 sentence_gleu.
        let the = toks("the cat sat on the mat");
        assert_eq!(gleu_tokens(&the, &toks("the cat is on the mat")), 0.5);
        assert_eq!(gleu_tokens(&toks("a"), &toks("b c")), 0.0);
        assert_eq!(gleu_tokens(&toks("a a a a"), &toks("a a")), 0.3);
        assert_eq!(gleu_tokens::<&str>(&[], &[]), 0.0);
    }
}
