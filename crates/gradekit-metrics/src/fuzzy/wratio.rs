//! `fuzz.WRatio`: FuzzyWuzzy's weighted combination of the other scorers.
//!
//! Reproduces rapidfuzz-cpp 3.1.1 `fuzz::WRatio` (the version rapidfuzz 3.10.1 ships), score
//! cutoffs included:
//!
//! 1. either side empty → 0;
//! 2. `r = ratio(a, b)`, `lr` = longer length / shorter length (code points, as f64);
//! 3. `lr < 1.5` → `max(r, 0.95 · token_ratio(a, b, cutoff = r / 0.95))`;
//! 4. otherwise `s = 0.9` if `lr < 8.0` else `0.6` (a ratio of exactly 8 takes 0.6 in this
//!    version; rapidfuzz-cpp changed that to 0.9 in 2025), `r = max(r, s · partial_ratio(a, b,
//!    cutoff = r / s))` and the result is `max(r, 0.95 · s · partial_token_ratio(a, b,
//!    cutoff = r / 0.95))` — the second cutoff is the first one (already divided by `s`) maxed
//!    with the new `r`, then divided by 0.95, exactly as rapidfuzz carries it.
//!
//! The result is not rounded (rapidfuzz 3.x returns the raw float).
//!
//! Two shortcuts give the same value with less work (score cutoff 0, as `fuzzy_match` calls
//! it; `tests` hold both to the flow above):
//! * step 3, when the lengths alone put `ratio` under 95: the token ratio starts first and
//!   asks for `ratio` (its cutoff) only when it needs it — a subset with a common word scores
//!   100 under any cutoff ≤ 100, so the result is 95 and the LCS of the whole texts is skipped;
//! * step 4, when the texts share a word: `partial_token_ratio` is then 100, so the result is
//!   `max(100 · 0.95 · s, s · partial_ratio)` and only a `partial_ratio` above 95 matters — it
//!   runs with that cutoff (which prunes its window search) and `ratio` does not run.

use super::partial::partial_ratio;
use super::ratio::ratio;
use super::token::{
    is_narrow, partial_token_ratio, share_a_word, token_ratio, token_ratio_lazy, words_subsequence,
    Cutoff,
};

const UNBASE_SCALE: f64 = 0.95;

/// `fuzz.WRatio` on code points (0–100).
pub(crate) fn wratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let len1 = s1.len();
    let len2 = s2.len();
    if len1 == 0 || len2 == 0 {
        return 0.0;
    }
    let len_ratio = if len1 > len2 {
        len1 as f64 / len2 as f64
    } else {
        len2 as f64 / len1 as f64
    };
    if len_ratio < 1.5 && score_cutoff <= 0.0 && ratio_bound(len1, len2) < SUBSET_SCORE - MARGIN {
        return close_with_lazy_ratio(s1, s2, score_cutoff);
    }
    if len_ratio < 1.5 {
        let end_ratio = ratio(s1, s2, score_cutoff);
        let cutoff = score_cutoff.max(end_ratio) / UNBASE_SCALE;
        return end_ratio.max(token_ratio(s1, s2, cutoff) * UNBASE_SCALE);
    }
    let partial_scale = if len_ratio < 8.0 { 0.9 } else { 0.6 };
    if score_cutoff <= 0.0 && share_a_word(s1, s2) == Some(true) {
        return shared_word_partial(s1, s2, partial_scale);
    }
    let mut end_ratio = ratio(s1, s2, score_cutoff);
    let mut cutoff = score_cutoff.max(end_ratio) / partial_scale;
    end_ratio = end_ratio.max(partial_ratio(s1, s2, cutoff) * partial_scale);
    cutoff = cutoff.max(end_ratio) / UNBASE_SCALE;
    end_ratio.max(partial_token_ratio(s1, s2, cutoff) * UNBASE_SCALE * partial_scale)
}

/// What a token ratio of 100 (a subset with a common word) gives in step 3: `100 · 0.95`.
const SUBSET_SCORE: f64 = 100.0 * UNBASE_SCALE;

/// Float slack between bounds computed in different orders (scores are on 0–100).
const MARGIN: f64 = 1e-6;

/// An upper bound of `ratio` from the lengths alone: the LCS is at most the shorter length,
/// so the similarity is at most `2·shorter / (len1 + len2)`.
fn ratio_bound(len1: usize, len2: usize) -> f64 {
    200.0 * len1.min(len2) as f64 / (len1 + len2) as f64
}

/// Step 3 when the lengths alone put `ratio` below `SUBSET_SCORE`: the token ratio's set
/// decomposition runs first, and `ratio` (an LCS over the whole texts) only when the token
/// ratio needs its cutoff. When one side's words are a subset of the other's, the token
/// ratio is 100 whatever the cutoff (which is below 100 here, as `ratio` < 95), so the result
/// is `max(ratio, 95) = 95` and `ratio` is never computed; otherwise this is step 3 as written.
fn close_with_lazy_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    // the common case of that subset, found without splitting: one text's words a
    // subsequence of the other's
    if words_subsequence(s1, is_narrow(s1), s2, is_narrow(s2)) {
        return 100.0 * UNBASE_SCALE;
    }
    let mut end_ratio = None;
    let token = token_ratio_lazy(
        s1,
        s2,
        &mut Cutoff::new(|| {
            let r = ratio(s1, s2, score_cutoff);
            end_ratio = Some(r);
            score_cutoff.max(r) / UNBASE_SCALE
        }),
    );
    match end_ratio {
        Some(r) => r.max(token * UNBASE_SCALE),
        // ratio < SUBSET_SCORE − MARGIN, and token = 100
        None => token * UNBASE_SCALE,
    }
}

/// Step 4 when the texts share a word. Then `partial_token_ratio` is 100 (its cutoff stays
/// below 100 here), so the result is `max(ratio, s · partial_ratio, K)` with
/// `K = 100 · 0.95 · s`; and `ratio` ≤ 2/(1 + 1.5) = 80 (or 2/9 for s = 0.6) is under `K`.
/// Only a partial ratio with `s · partial_ratio > K` (≥ 95) can change `K`, and then it also
/// clears its cutoff `ratio / s` in rapidfuzz's flow — so `partial_ratio` runs with the
/// cutoff `K / s` (minus float slack) and `ratio` not at all.
fn shared_word_partial(s1: &[u32], s2: &[u32], partial_scale: f64) -> f64 {
    let k = 100.0 * UNBASE_SCALE * partial_scale;
    k.max(partial_ratio(s1, s2, k / partial_scale - MARGIN) * partial_scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step 3 as rapidfuzz writes it: `ratio` first, the token ratio with its cutoff.
    fn close_eager(s1: &[u32], s2: &[u32]) -> f64 {
        let r = ratio(s1, s2, 0.0);
        r.max(token_ratio(s1, s2, r / UNBASE_SCALE) * UNBASE_SCALE)
    }

    /// Texts within 1.5× of each other whose lengths put `ratio` under 95 — one side's words
    /// a subset of the other's (inserted words), or not (replaced words), narrow or wide —
    /// score the same through the lazy ratio as through the eager composition.
    #[test]
    fn lazy_ratio_equals_the_eager_step() {
        let mut seed = 29u64;
        let mut next = |k: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % k
        };
        let vocab = [
            "the",
            "cat",
            "sat",
            "on",
            "a",
            "mat",
            "cats",
            "x",
            "\u{e9}t\u{e9}",
            "\u{4e2d}",
            "internationalization",
        ];
        let mut lazy_subsets = 0;
        for round in 0..6000 {
            let n = 1 + next(25);
            let words: Vec<&str> = (0..n).map(|_| vocab[next(vocab.len() - 1)]).collect();
            let mut other = words.clone();
            for _ in 0..1 + next(6) {
                let at = next(other.len() + 1);
                let w = vocab[next(vocab.len())];
                if round % 3 == 0 && at < other.len() {
                    other[at] = w; // replaced: usually not a subset
                } else {
                    other.insert(at, w); // inserted: a superset
                }
            }
            let a: Vec<u32> = words.join(" ").chars().map(u32::from).collect();
            let b: Vec<u32> = other.join(" ").chars().map(u32::from).collect();
            let (l1, l2) = (a.len(), b.len());
            let lr = l1.max(l2) as f64 / l1.min(l2) as f64;
            if lr < 1.5 && ratio_bound(l1, l2) < SUBSET_SCORE - MARGIN {
                lazy_subsets += usize::from(token_ratio(&a, &b, 0.0) == 100.0);
            }
            for (x, y) in [(&a, &b), (&b, &a)] {
                if lr < 1.5 {
                    assert_eq!(
                        wratio(x, y, 0.0).to_bits(),
                        close_eager(x, y).to_bits(),
                        "{x:?} {y:?}"
                    );
                }
            }
        }
        assert!(lazy_subsets > 500, "{lazy_subsets}");
    }
}

#[cfg(test)]
mod partial_tests {
    use super::*;

    /// Step 4 as rapidfuzz writes it.
    fn partial_eager(s1: &[u32], s2: &[u32]) -> f64 {
        let (l1, l2) = (s1.len(), s2.len());
        let lr = l1.max(l2) as f64 / l1.min(l2) as f64;
        let scale = if lr < 8.0 { 0.9 } else { 0.6 };
        let r = ratio(s1, s2, 0.0);
        let mut cutoff = r / scale;
        let e = r.max(partial_ratio(s1, s2, cutoff) * scale);
        cutoff = cutoff.max(e) / UNBASE_SCALE;
        e.max(partial_token_ratio(s1, s2, cutoff) * UNBASE_SCALE * scale)
    }

    /// Lengths ≥ 1.5× apart (and ≥ 8×): the needle a piece of the haystack (partial ratio
    /// 100 or near it), sharing only some words, or none; narrow and wide — the shared-word
    /// shortcut equals the eager step.
    #[test]
    fn shared_word_partial_equals_the_eager_step() {
        let mut seed = 31u64;
        let mut next = |k: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % k
        };
        let vocab = [
            "the",
            "cat",
            "sat",
            "on",
            "a",
            "mat",
            "cats",
            "xq",
            "\u{e9}t\u{e9}",
            "zzz",
            "\u{4e2d}",
        ];
        let (mut shared, mut high) = (0, 0);
        for round in 0..6000 {
            let n = 4 + next(40);
            let hay: Vec<&str> = (0..n).map(|_| vocab[next(vocab.len() - 1)]).collect();
            let text = hay.join(" ");
            let chars: Vec<char> = text.chars().collect();
            let needle: String = match round % 4 {
                // a piece of the haystack, maybe edited
                0 | 1 => {
                    let len = 1 + next(chars.len() / 2);
                    let at = next(chars.len() - len + 1);
                    let mut piece: Vec<char> = chars[at..at + len].to_vec();
                    if round % 4 == 1 && !piece.is_empty() {
                        let k = next(piece.len());
                        piece[k] = 'q';
                    }
                    piece.into_iter().collect()
                }
                // words from the vocabulary (wide ones too)
                2 => (0..1 + next(4))
                    .map(|_| vocab[next(vocab.len())])
                    .collect::<Vec<_>>()
                    .join(" "),
                // nothing in common
                _ => "qqq wvw".chars().take(1 + next(7)).collect(),
            };
            let a: Vec<u32> = needle.chars().map(u32::from).collect();
            let b: Vec<u32> = chars.iter().map(|&c| u32::from(c)).collect();
            if a.is_empty() || (b.len() as f64) < 1.5 * a.len() as f64 {
                continue;
            }
            shared += usize::from(share_a_word(&a, &b) == Some(true));
            high += usize::from(partial_ratio(&a, &b, 0.0) > 95.0);
            for (x, y) in [(&a, &b), (&b, &a)] {
                assert_eq!(
                    wratio(x, y, 0.0).to_bits(),
                    partial_eager(x, y).to_bits(),
                    "{x:?} {y:?}"
                );
            }
        }
        assert!(shared > 1000 && high > 500, "{shared} {high}");
    }
}
