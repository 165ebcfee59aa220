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

use super::partial::partial_ratio;
use super::ratio::ratio;
use super::token::{partial_token_ratio, token_ratio};

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
    let mut end_ratio = ratio(s1, s2, score_cutoff);
    if len_ratio < 1.5 {
        let cutoff = score_cutoff.max(end_ratio) / UNBASE_SCALE;
        return end_ratio.max(token_ratio(s1, s2, cutoff) * UNBASE_SCALE);
    }
    let partial_scale = if len_ratio < 8.0 { 0.9 } else { 0.6 };
    let mut cutoff = score_cutoff.max(end_ratio) / partial_scale;
    end_ratio = end_ratio.max(partial_ratio(s1, s2, cutoff) * partial_scale);
    cutoff = cutoff.max(end_ratio) / UNBASE_SCALE;
    end_ratio.max(partial_token_ratio(s1, s2, cutoff) * UNBASE_SCALE * partial_scale)
}
