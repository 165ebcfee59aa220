//! `fuzz.ratio`: the normalized Indel similarity on a 0–100 scale.
//!
//! rapidfuzz-cpp `fuzz::ratio` = `indel_normalized_similarity(s1, s2, cutoff/100) * 100`;
//! the float steps (`1 − dist/(|a|+|b|)`, then `× 100`) are kept in the same order so scores
//! match bit for bit, and `ratio("", "") = 100`.

use super::indel;

/// `fuzz.ratio` on code points with a score cutoff on the 0–100 scale.
pub(crate) fn ratio(a: &[u32], b: &[u32], score_cutoff: f64) -> f64 {
    indel::normalized_similarity(a, b, score_cutoff / 100.0) * 100.0
}

/// Score of one alignment of lengths summing to `lensum` at Indel distance `dist`, as
/// rapidfuzz's token scorers compute it (`fuzz_detail::norm_distance`): `100 − 100·dist/lensum`,
/// 0 below the cutoff.
pub(crate) fn norm_distance(dist: usize, lensum: usize, score_cutoff: f64) -> f64 {
    let score = if lensum > 0 {
        100.0 - 100.0 * dist as f64 / lensum as f64
    } else {
        100.0
    };
    if score >= score_cutoff {
        score
    } else {
        0.0
    }
}

/// rapidfuzz's `score_cutoff_to_distance`: the largest Indel distance that can still reach
/// `score_cutoff` for strings of total length `lensum`.
pub(crate) fn score_cutoff_to_distance(score_cutoff: f64, lensum: usize) -> usize {
    let d = (lensum as f64 * (1.0 - score_cutoff / 100.0)).ceil();
    if d <= 0.0 {
        0
    } else {
        d as usize
    }
}
