//! Token scorers: `token_sort_ratio`, `token_set_ratio`, `token_ratio` and the partial forms.
//!
//! Reproduces rapidfuzz-cpp 3.1.1 (`fuzz_impl.hpp`, `details/common_impl.hpp`):
//! * words are maximal runs of non-whitespace, sorted by code point (`sorted_split`);
//!   whitespace is rapidfuzz's `is_space` list, which for strings whose code points are all
//!   below 256 (Python's 1-byte strings) omits U+0085 and U+00A0;
//! * `set_decomposition` dedupes both sorted word lists and splits them into the
//!   intersection, `a − b` and `b − a`, each still sorted, joined with single spaces;
//! * `token_set_ratio` scores "intersection + rest of a" against "intersection + rest of b"
//!   and both against the bare intersection from lengths alone (only the rests differ), with
//!   `100 − 100·dist/lensum`; an empty side scores 0 and a subset with a non-empty
//!   intersection scores 100.
//!
//! `score_cutoff` (0–100) is threaded through as in rapidfuzz: a part below it counts as 0.

use super::indel;
use super::partial::partial_ratio;
use super::ratio::{norm_distance, ratio, score_cutoff_to_distance};

/// rapidfuzz's `is_space`; `narrow` selects the 1-byte-string variant.
#[inline]
fn is_space(c: u32, narrow: bool) -> bool {
    match c {
        0x09..=0x0D | 0x1C..=0x20 => true,
        0x85 | 0xA0 => !narrow,
        0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000 => true,
        _ => false,
    }
}

/// Whether rapidfuzz would hold `s` in a 1-byte string (all code points below 256).
pub(crate) fn is_narrow(s: &[u32]) -> bool {
    s.iter().all(|&c| c < 256)
}

/// Words of `s`, sorted by code point (with duplicates).
pub(crate) fn sorted_split(s: &[u32], narrow: bool) -> Vec<&[u32]> {
    // (packed prefix, start, end): the packed key decides most comparisons; equal keys fall
    // back to the full comparison. For a narrow string (every code point below 256) the key
    // is the first eight code points, one byte each, big-endian, a missing one packing as 0;
    // otherwise the first two, 32 bits each. Either way `key(x) < key(y)` implies `x < y` and
    // `x < y` implies `key(x) <= key(y)` (code points are ≥ 0 and a prefix sorts first), so
    // sorting by (key, word) is sorting by word.
    let mut keyed: Vec<(u64, u32, u32)> = Vec::with_capacity(s.len() / 4 + 1);
    let key = if narrow { key_narrow } else { key_wide };
    let mut start = 0;
    for (i, &c) in s.iter().enumerate() {
        // fast exit for the common non-space range before the full table
        if (0x21..0x85).contains(&c) || !is_space(c, narrow) {
            continue;
        }
        if i > start {
            keyed.push((key(&s[start..i]), start as u32, i as u32));
        }
        start = i + 1;
    }
    if s.len() > start {
        keyed.push((key(&s[start..]), start as u32, s.len() as u32));
    }
    let word = |&(_, a, b): &(u64, u32, u32)| &s[a as usize..b as usize];
    keyed.sort_unstable_by(|x, y| match x.0.cmp(&y.0) {
        std::cmp::Ordering::Equal => word(x).cmp(word(y)),
        o => o,
    });
    keyed.iter().map(word).collect()
}

#[inline]
fn key_wide(w: &[u32]) -> u64 {
    let c0 = w.first().copied().unwrap_or(0);
    let c1 = w.get(1).copied().unwrap_or(0);
    (u64::from(c0) << 32) | u64::from(c1)
}

#[inline]
fn key_narrow(w: &[u32]) -> u64 {
    let n = w.len().min(8);
    let mut k = 0u64;
    for &c in &w[..n] {
        k = (k << 8) | u64::from(c as u8);
    }
    // the missing code points pack as 0 (words are never empty; an empty one keys as 0)
    if n == 0 {
        0
    } else {
        k << (8 * (8 - n))
    }
}

/// Words joined with single spaces.
pub(crate) fn join(words: &[&[u32]]) -> Vec<u32> {
    let mut out = Vec::with_capacity(joined_len(words));
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(0x20);
        }
        out.extend_from_slice(w);
    }
    out
}

fn joined_len(words: &[&[u32]]) -> usize {
    words.iter().map(|w| w.len()).sum::<usize>() + words.len().saturating_sub(1)
}

/// Deduped intersection, `a − b` and `b − a` of two sorted word lists.
pub(crate) struct Decomposition<'a> {
    pub(crate) intersection: Vec<&'a [u32]>,
    pub(crate) diff_ab: Vec<&'a [u32]>,
    pub(crate) diff_ba: Vec<&'a [u32]>,
}

pub(crate) fn decompose<'a>(a: &[&'a [u32]], b: &[&'a [u32]]) -> Decomposition<'a> {
    let mut d = Decomposition {
        intersection: Vec::new(),
        diff_ab: Vec::new(),
        diff_ba: Vec::new(),
    };
    // merge of two sorted lists, skipping repeats (= dedupe + set operations)
    let (mut i, mut j) = (0, 0);
    let skip = |v: &[&[u32]], mut k: usize| {
        while k + 1 < v.len() && v[k + 1] == v[k] {
            k += 1;
        }
        k + 1
    };
    while i < a.len() && j < b.len() {
        match a[i].cmp(b[j]) {
            std::cmp::Ordering::Less => {
                d.diff_ab.push(a[i]);
                i = skip(a, i);
            }
            std::cmp::Ordering::Greater => {
                d.diff_ba.push(b[j]);
                j = skip(b, j);
            }
            std::cmp::Ordering::Equal => {
                d.intersection.push(a[i]);
                i = skip(a, i);
                j = skip(b, j);
            }
        }
    }
    while i < a.len() {
        d.diff_ab.push(a[i]);
        i = skip(a, i);
    }
    while j < b.len() {
        d.diff_ba.push(b[j]);
        j = skip(b, j);
    }
    d
}

/// The set part shared by `token_set_ratio` and `token_ratio` (after the early exits).
fn set_scores(d: &Decomposition<'_>, score_cutoff: f64) -> f64 {
    let diff_ab = join(&d.diff_ab);
    let diff_ba = join(&d.diff_ba);
    let ab_len = diff_ab.len();
    let ba_len = diff_ba.len();
    let sect_len = joined_len(&d.intersection);
    let sep = usize::from(sect_len != 0);
    let sect_ab_len = sect_len + sep + ab_len;
    let sect_ba_len = sect_len + sep + ba_len;

    let mut result = 0.0f64;
    let cutoff_distance = score_cutoff_to_distance(score_cutoff, sect_ab_len + sect_ba_len);
    let dist = indel::distance(&diff_ab, &diff_ba);
    if dist <= cutoff_distance {
        result = norm_distance(dist, sect_ab_len + sect_ba_len, score_cutoff);
    }
    if sect_len == 0 {
        return result;
    }
    let sect_ab_ratio = norm_distance(sep + ab_len, sect_len + sect_ab_len, score_cutoff);
    let sect_ba_ratio = norm_distance(sep + ba_len, sect_len + sect_ba_len, score_cutoff);
    result.max(sect_ab_ratio).max(sect_ba_ratio)
}

/// `fuzz.token_sort_ratio`.
pub(crate) fn token_sort_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = join(&sorted_split(s1, is_narrow(s1)));
    let b = join(&sorted_split(s2, is_narrow(s2)));
    ratio(&a, &b, score_cutoff)
}

/// `fuzz.token_set_ratio`.
pub(crate) fn token_set_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = sorted_split(s1, is_narrow(s1));
    let b = sorted_split(s2, is_narrow(s2));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let d = decompose(&a, &b);
    if !d.intersection.is_empty() && (d.diff_ab.is_empty() || d.diff_ba.is_empty()) {
        return 100.0;
    }
    set_scores(&d, score_cutoff)
}

/// `fuzz.token_ratio`: max of `token_sort_ratio` and `token_set_ratio` in one pass (as
/// rapidfuzz-cpp's `token_ratio`, which WRatio uses). Unlike `token_set_ratio` it does not
/// return 0 for an empty side.
pub(crate) fn token_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = sorted_split(s1, is_narrow(s1));
    let b = sorted_split(s2, is_narrow(s2));
    let d = decompose(&a, &b);
    if !d.intersection.is_empty() && (d.diff_ab.is_empty() || d.diff_ba.is_empty()) {
        return 100.0;
    }
    let sorted = ratio(&join(&a), &join(&b), score_cutoff);
    sorted.max(set_scores(&d, score_cutoff))
}

/// `fuzz.partial_token_sort_ratio`.
pub(crate) fn partial_token_sort_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = join(&sorted_split(s1, is_narrow(s1)));
    let b = join(&sorted_split(s2, is_narrow(s2)));
    partial_ratio(&a, &b, score_cutoff)
}

/// `fuzz.partial_token_set_ratio`.
pub(crate) fn partial_token_set_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = sorted_split(s1, is_narrow(s1));
    let b = sorted_split(s2, is_narrow(s2));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let d = decompose(&a, &b);
    if !d.intersection.is_empty() {
        return 100.0;
    }
    partial_ratio(&join(&d.diff_ab), &join(&d.diff_ba), score_cutoff)
}

/// `fuzz.partial_token_ratio`: max of the partial token sort and set ratios.
pub(crate) fn partial_token_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    let a = sorted_split(s1, is_narrow(s1));
    let b = sorted_split(s2, is_narrow(s2));
    let d = decompose(&a, &b);
    if !d.intersection.is_empty() {
        return 100.0;
    }
    let result = partial_ratio(&join(&a), &join(&b), score_cutoff);
    // with no common word the deduped lists differ from the full ones only by duplicates
    if a.len() == d.diff_ab.len() && b.len() == d.diff_ba.len() {
        return result;
    }
    let score_cutoff = score_cutoff.max(result);
    result.max(partial_ratio(
        &join(&d.diff_ab),
        &join(&d.diff_ba),
        score_cutoff,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cps(s: &str) -> Vec<u32> {
        s.chars().map(u32::from).collect()
    }

    #[test]
    fn rapidfuzz_doc_examples() {
        // values from rapidfuzz 3.10.1
        let (a, b) = (cps("fuzzy was a bear"), cps("fuzzy fuzzy was a bear"));
        assert_eq!(token_sort_ratio(&a, &b, 0.0), 84.21052631578947);
        assert_eq!(token_set_ratio(&a, &b, 0.0), 100.0);
        let (a, b) = (
            cps("fuzzy was a bear but not a dog"),
            cps("fuzzy was a bear but not a cat"),
        );
        assert_eq!(token_set_ratio(&a, &b, 0.0), 92.3076923076923);
    }

    /// The packed sort keys order words exactly as a plain sort of the slices does,
    /// prefixes, NULs, long shared prefixes and wide code points included.
    #[test]
    fn sorted_split_is_a_plain_sort() {
        let mut seed = 11u64;
        let alphabet = [0u32, 1, 97, 98, 255, 0x20, 0x4E2D];
        for round in 0..3000 {
            let len = (round % 40) as usize;
            let s: Vec<u32> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let k = (seed >> 33) as usize % if round % 2 == 0 { 6 } else { 7 };
                    alphabet[k]
                })
                .collect();
            let narrow = is_narrow(&s);
            let got = sorted_split(&s, narrow);
            let mut want: Vec<&[u32]> = s
                .split(|&c| is_space(c, narrow))
                .filter(|w| !w.is_empty())
                .collect();
            want.sort();
            assert_eq!(got, want, "{s:?}");
        }
    }

    #[test]
    fn narrow_strings_do_not_split_on_nbsp() {
        let s = cps("a\u{a0}b");
        assert_eq!(sorted_split(&s, true).len(), 1);
        assert_eq!(sorted_split(&s, false).len(), 2);
    }
}
