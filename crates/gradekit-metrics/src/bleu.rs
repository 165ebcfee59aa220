//! BLEU as NLTK 3.9.1 computes it for the grader: `sentence_bleu([reference],
//! hypothesis, weights=(0.25,)*4, smoothing_function=SmoothingFunction().method4)`.
//!
//! Bit-level parity (research/metrics.md §2.3, §8) rests on reproducing NLTK's
//! float operations in the same order:
//!
//! * modified precisions are unreduced fractions `clipped / max(1, #n-grams)`
//!   until converted to float; `int / int` in Python is correctly rounded, as
//!   is `f64 / f64` of the exactly converted counts;
//! * no clipped unigram → the score is 0 before any smoothing;
//! * method4 replaces each zero precision (walking n = 1..4, `k` counting only
//!   the replaced orders, and only when the hypothesis has more than one token)
//!   by `1 / (2^k · 5 / ln(c)) / denominator`, evaluated exactly in that
//!   order;
//! * zero precisions that survive (hypothesis of ≤ 1 token) are dropped from
//!   the sum — so a 1-token exact match scores 1.0;
//! * the weighted logs are summed with an exactly rounded sum ([`fsum`], the
//!   algorithm of CPython's `math.fsum`), then `exp`; `ln`/`exp` are the
//!   platform libm's, as in CPython;
//! * brevity penalty `exp(1 − ρ/c)` unless `c > ρ`.
//!
//! The n-gram counting itself is in `crate::ngram` (interned ids, iterated
//! pairing), O(|hyp| + |ref|) expected time per order.

use crate::ngram::{ngram_count, with_scratch, Keyed, TokenSeq};

/// Maximum n-gram order (uniform weights 1/4 each).
const MAX_ORDER: usize = 4;
/// Uniform weight of each order, as the float NLTK multiplies with.
const WEIGHT: f64 = 0.25;
/// `SmoothingFunction().k`, the divisor of method4.
const METHOD4_K: u64 = 5;

/// Sentence BLEU of tokenised `hyp` (the text being graded) against one
/// tokenised reference, exactly as NLTK 3.9.1 `sentence_bleu` with method4
/// smoothing and uniform 4-gram weights. Case-sensitive; result in [0, 1].
///
/// Verified against the reference on `fixtures/vectors/dev.jsonl` and
/// `random_bleu.jsonl` (`tests/dev_vectors.rs`, `tests/random_vectors.rs`).
pub fn bleu_tokens<S: AsRef<str>>(hyp: &[S], refr: &[S]) -> f64 {
    bleu_of(hyp, refr)
}

/// [`bleu_tokens`] of two lists from [`crate::tokenize::nltk_tokenize_into`], uncached: the
/// n-gram part of [`bleu`] alone, for `examples/ngram_speed.rs`.
#[doc(hidden)]
pub fn bleu_nltk_tokens(hyp: &crate::tokenize::Tokens, refr: &crate::tokenize::Tokens) -> f64 {
    bleu_of(hyp, refr)
}

fn bleu_of<T: TokenSeq + Keyed + ?Sized>(hyp: &T, refr: &T) -> f64 {
    let mut clipped = [0u64; MAX_ORDER];
    with_scratch(|s| s.overlaps(refr, hyp, &mut clipped));
    score_from_counts(&clipped, hyp.count(), refr.count())
}

/// BLEU of the text `input` against `reference`, both tokenised with
/// [`crate::tokenize::nltk_tokenize`] (the grader's `bleu` metric).
pub fn bleu(input: &str, reference: &str) -> f64 {
    crate::tokenize::with_nltk_tokens(input, reference, |hyp, refr, key| {
        let clipped = crate::ngram::clipped_1_to_4(hyp, refr, key);
        score_from_counts(&clipped, hyp.len(), refr.len())
    })
}

/// The float part of NLTK's `corpus_bleu` for one sentence pair, from the
/// clipped n-gram counts, the hypothesis length `c` and reference length `rho`.
fn score_from_counts(clipped: &[u64; MAX_ORDER], c: usize, rho: usize) -> f64 {
    if clipped[0] == 0 {
        // `if p_numerators[1] == 0: return 0`
        return 0.0;
    }
    let mut terms = [0.0f64; MAX_ORDER];
    let mut used = 0;
    let mut smoothed_orders = 0u32;
    for (i, &num) in clipped.iter().enumerate() {
        let den = ngram_count(c, i + 1).max(1) as f64;
        let p = if num != 0 {
            num as f64 / den
        } else if c > 1 {
            // method4: numerator = 1 / (2**incvnt * k / math.log(hyp_len))
            smoothed_orders += 1;
            let scaled = (METHOD4_K << smoothed_orders) as f64;
            let numerator = 1.0 / (scaled / ln(c as f64));
            numerator / den
        } else {
            0.0
        };
        // `... for w_i, p_i in zip(weight, p_n) if p_i > 0`
        if p > 0.0 {
            // ln(1) is exactly +0 in every libm (IEEE 754): no call for a full match.
            terms[used] = if p == 1.0 { 0.0 } else { WEIGHT * ln(p) };
            used += 1;
        }
    }
    let bp = if c >= rho {
        // `c == rho`: exp(1 − 1) = exp(0), exactly 1.
        1.0
    } else {
        (1.0 - rho as f64 / c as f64).exp()
    };
    bp * fsum(&terms[..used]).exp()
}

/// Entries of [`ln`]'s memo (a power of two).
const LN_MEMO: usize = 1024;

/// `x.ln()` (the platform libm's `log`, as CPython's `math.log`), remembered per thread in a
/// direct-mapped table keyed by the bits of `x`: a pair's precisions are fractions of small
/// counts, so the same few hundred values recur (88 % of the logarithms of the 2,000 benchmark
/// pairs repeat an earlier one), and a hit costs a few instructions against ~65 for `log`. The
/// value stored is `ln`'s own result for exactly those bits, so a hit returns what a call would
/// (`tests::ln_memo_returns_what_ln_does`).
///
/// An entry is all zero bits until written, so that the table is thread-local memory the
/// program does not carry (`.tbss`, not `.tdata`): a 16 KiB initial image is copied into every
/// thread of every run, bleu or not. It stands for (+0.0, −∞), `ln`'s own value there: the
/// value is kept as its bits exclusive-or those of −∞ ([`LN_EMPTY`]).
fn ln(x: f64) -> f64 {
    use std::cell::Cell;
    thread_local! {
        // Entry (bits of x, bits of ln x ^ LN_EMPTY).
        static MEMO: [Cell<(u64, u64)>; LN_MEMO] = const { [const { Cell::new((0, 0)) }; LN_MEMO] };
    }
    let bits = x.to_bits();
    let i = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - LN_MEMO.trailing_zeros())) as usize;
    MEMO.try_with(|m| {
        let e = &m[i % LN_MEMO];
        let (key, value) = e.get();
        if key == bits {
            f64::from_bits(value ^ LN_EMPTY)
        } else {
            let value = x.ln();
            e.set((bits, value.to_bits() ^ LN_EMPTY));
            value
        }
    })
    // During thread teardown: no memo.
    .unwrap_or_else(|_| x.ln())
}

/// The bits an empty entry of [`ln`]'s memo is read with: those of `ln(+0.0)`, −∞.
const LN_EMPTY: u64 = 0xFFF0_0000_0000_0000;

/// Exactly rounded floating-point sum, the algorithm of CPython's `math.fsum`
/// (Shewchuk's non-overlapping partials, then the round-half-even correction
/// across partials). Inputs must be finite; a non-finite input yields the
/// plain sum.
pub(crate) fn fsum(xs: &[f64]) -> f64 {
    // The partials never outnumber the inputs seen: BLEU sums at most four terms, so they live
    // on the stack (a heap allocation per pair cost more than the sum itself).
    const STACK: usize = 16;
    if xs.len() <= STACK {
        fsum_in(xs, &mut [0.0; STACK])
    } else {
        fsum_in(xs, &mut vec![0.0; xs.len()])
    }
}

/// [`fsum`] with `partials` (at least `xs.len()` long) as the partials' storage.
fn fsum_in(xs: &[f64], partials: &mut [f64]) -> f64 {
    if xs.iter().any(|x| !x.is_finite()) {
        return xs.iter().sum();
    }
    let mut len = 0;
    for &value in xs {
        let mut x = value;
        let mut i = 0;
        for j in 0..len {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        len = i;
        if x != 0.0 {
            if !x.is_finite() {
                return xs.iter().sum();
            }
            partials[len] = x;
            len += 1;
        }
    }
    let partials = &partials[..len];
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        let yr = x - hi;
        if y == yr {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn fsum_is_exactly_rounded() {
        // CPython: math.fsum([1e-16, 1, 1e16]) == 1.0000000000000002e16
        assert_eq!(fsum(&[1e-16, 1.0, 1e16]), 1.000_000_000_000_000_2e16);
        // CPython: math.fsum([0.1] * 10) == 1.0 (a naive sum gives 0.9999999999999999)
        assert_eq!(fsum(&[0.1; 10]), 1.0);
        // CPython: math.fsum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]) == 1e-100
        assert_eq!(
            fsum(&[1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]),
            1e-100
        );
        assert_eq!(fsum(&[]), 0.0);
        // CPython: math.fsum([0.1] * 20) == 2.0 (more terms than the stack storage holds)
        assert_eq!(fsum(&[0.1; 20]), 2.0);
    }

    #[test]
    fn ln_memo_returns_what_ln_does() {
        // Precisions of small counts (hits and evictions: more distinct values than entries),
        // integers, and the edges: every call agrees with `f64::ln` bit for bit, before and
        // after the value is remembered.
        // A thread's first calls read entries never written (all zero bits: +0.0's).
        let fresh = std::thread::spawn(|| [ln(0.0), ln(-0.0), ln(1.0)].map(f64::to_bits));
        let want = [0.0f64.ln(), (-0.0f64).ln(), 0.0].map(f64::to_bits);
        assert_eq!(fresh.join().ok(), Some(want));
        let mut xs: Vec<f64> = Vec::new();
        for den in 1..=80u32 {
            for num in 1..=den {
                xs.push(f64::from(num) / f64::from(den));
            }
            xs.push(f64::from(den));
        }
        xs.extend([
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            1.0,
            f64::MAX,
            f64::INFINITY,
        ]);
        for round in 0..3 {
            for &x in xs.iter().chain(xs.iter().rev()) {
                assert_eq!(ln(x).to_bits(), x.ln().to_bits(), "{x:e} round {round}");
            }
        }
        assert!(ln(f64::NAN).is_nan() && ln(-1.0).is_nan());
    }

    #[test]
    fn corner_cases_from_nltk() {
        // Values printed by nltk 3.9.1 sentence_bleu(..., method4).
        let the = toks("the cat sat on the mat");
        assert_eq!(
            bleu_tokens(&the, &toks("the cat is on the mat")),
            0.293945703509473
        );
        assert_eq!(bleu_tokens(&toks("cat"), &toks("cat")), 1.0);
        assert_eq!(bleu_tokens(&toks("Cat"), &toks("cat")), 0.0);
        assert_eq!(bleu_tokens::<&str>(&[], &[]), 0.0);
        assert_eq!(bleu_tokens(&toks("a b"), &toks("a b")), 0.2213885886251307);
        assert_eq!(
            bleu_tokens(&toks("a b c"), &toks("a b c")),
            0.5757197301274735
        );
        assert_eq!(
            bleu_tokens(&toks("cat"), &toks("cat dog")),
            0.36787944117144233
        );
        let the7 = toks("the the the the the the the");
        assert_eq!(
            bleu_tokens(&the7, &toks("the cat is on the mat")),
            0.03848196746087264
        );
    }
}
