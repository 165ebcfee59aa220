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

use std::cell::Cell;

use super::indel;
use super::partial::partial_ratio;
use super::ratio::{norm_distance, ratio, score_cutoff_to_distance};

mod subseq;
mod words;
pub(crate) use subseq::words_subsequence;
#[cfg(test)]
use words::NARROW_SPACE;
use words::{cmp_keyed, word, word_key, word_len};
pub(crate) use words::{is_narrow, sort_words, sorted_split, sorted_words_into, Word};
use words::{NARROW_COVER, WIDE_COVER};

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
    set_scores_of(
        joined_len(&d.intersection),
        &diff_ab,
        &diff_ba,
        score_cutoff,
    )
}

/// [`set_scores`] from the intersection's joined length and the joined differences.
fn set_scores_of(sect_len: usize, diff_ab: &[u32], diff_ba: &[u32], score_cutoff: f64) -> f64 {
    let ab_len = diff_ab.len();
    let ba_len = diff_ba.len();
    let sep = usize::from(sect_len != 0);
    let sect_ab_len = sect_len + sep + ab_len;
    let sect_ba_len = sect_len + sep + ba_len;

    let mut result = 0.0f64;
    let cutoff_distance = score_cutoff_to_distance(score_cutoff, sect_ab_len + sect_ba_len);
    let dist = indel::distance(diff_ab, diff_ba);
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
///
/// WRatio's common path (lengths within 1.5×), so it works in per-thread buffers: the sorted
/// words are ranges of the inputs, and the set decomposition writes the two joined
/// differences directly (the intersection is only measured) — no allocation once warm.
/// `tests::token_ratio_equals_the_decomposition` holds it to the allocating composition.
pub(crate) fn token_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    if score_cutoff > 100.0 {
        return 0.0;
    }
    token_ratio_lazy(s1, s2, &mut Cutoff::new(|| score_cutoff))
}

/// A score cutoff computed on first use (WRatio's is a `ratio`, an LCS).
pub(crate) struct Cutoff<F: FnOnce() -> f64> {
    f: Option<F>,
    value: f64,
}

impl<F: FnOnce() -> f64> Cutoff<F> {
    pub(crate) fn new(f: F) -> Self {
        Cutoff {
            f: Some(f),
            value: 0.0,
        }
    }

    fn get(&mut self) -> f64 {
        if let Some(f) = self.f.take() {
            self.value = f();
        }
        self.value
    }
}

/// [`token_ratio`] with a cutoff asked for only when it is needed: a subset with a common
/// word (narrow strings) scores 100 whatever the cutoff, so it is returned without it. The
/// caller must know the cutoff is at most 100 (`token_ratio` returns 0 above that even for a
/// subset); any other result is `token_ratio(s1, s2, cutoff)`.
pub(crate) fn token_ratio_lazy<F: FnOnce() -> f64>(
    s1: &[u32],
    s2: &[u32],
    cutoff: &mut Cutoff<F>,
) -> f64 {
    let narrow = is_narrow(s1) && is_narrow(s2);
    with_scratch(|sc| {
        let r = if narrow {
            hashed::token_ratio_hashed(s1, s2, cutoff, sc)
        } else {
            None
        };
        r.unwrap_or_else(|| match cutoff.get() {
            c if c > 100.0 => 0.0,
            c => token_ratio_in(s1, s2, c, sc),
        })
    })
}

/// Whether `s1` and `s2` share a word (then `partial_token_ratio` is 100 under any cutoff up
/// to 100); `None` unless both are narrow.
pub(crate) fn share_a_word(s1: &[u32], s2: &[u32]) -> Option<bool> {
    if !(is_narrow(s1) && is_narrow(s2)) {
        return None;
    }
    Some(with_scratch(|sc| hashed::share_a_word(s1, s2, sc)))
}

/// Runs `f` with this thread's [`Scratch`] (a fresh one when nested; large ones not kept).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    thread_local! {
        static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
    }
    let mut sc = SCRATCH
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut sc);
    let kept = [
        sc.ja.capacity(),
        sc.jb.capacity(),
        sc.ba.capacity(),
        sc.bb.capacity(),
    ];
    if kept.into_iter().max().unwrap_or(0) <= KEEP_CODE_POINTS {
        let _ = SCRATCH.try_with(|c| c.set(Some(sc)));
    }
    r
}

/// Code points of buffer kept per thread between calls of [`token_ratio`].
const KEEP_CODE_POINTS: usize = 1 << 16;

/// Buffers of [`token_ratio`].
#[derive(Default)]
struct Scratch {
    wa: Vec<Word>,
    wb: Vec<Word>,
    /// All sorted words of each side, joined.
    ja: Vec<u32>,
    jb: Vec<u32>,
    /// The deduped differences `a − b` and `b − a`, joined.
    da: Vec<u32>,
    db: Vec<u32>,
    /// Code point counts of the two joined sides (narrow strings).
    hist: Vec<[u32; 2]>,
    /// The hashed path's set decomposition and its two differences (`hashed`).
    table: hashed::Table,
    /// The two texts narrowed to bytes and padded, and a bitmap (`words::narrow_words_in`).
    ba: Vec<u8>,
    bb: Vec<u8>,
    bits: Vec<u64>,
    diff_a: Vec<Word>,
    diff_b: Vec<Word>,
}

/// [`sort_ratio_may_pass`] for two narrow strings with words `w1` / `w2`, from counts over
/// the whole strings: the joined sorted words hold the same code points as the string minus
/// its whitespace, plus one space between words. One difference histogram (+1 per code point
/// of `s1`, −1 per code point of `s2`): `Σ_c min(h1, h2) = (len1 + len2 − Σ_c |h1 − h2|) / 2`,
/// so the distance bound `lensum − 2·common` is `Σ_c |d_c|` — half the clearing and one sum
/// (the lengths come from the words). The hashed path computes the same bound from its table
/// (`hashed::counts_bound_passes`); this is its oracle.
#[cfg(test)]
fn norm_bound_passes(s1: &[u32], w1: &[Word], s2: &[u32], w2: &[Word], score_cutoff: f64) -> bool {
    if score_cutoff <= 0.0 || w1.is_empty() || w2.is_empty() {
        return true;
    }
    let mut d = [0i64; 256];
    for &c in s1 {
        d[(c & 0xff) as usize] += 1;
    }
    for &c in s2 {
        d[(c & 0xff) as usize] -= 1;
    }
    for &(lo, hi, _) in NARROW_SPACE {
        for c in lo..=hi {
            d[usize::from(c)] = 0;
        }
    }
    // the joining spaces (a space is never inside a word)
    d[0x20] = w1.len() as i64 - w2.len() as i64;
    let joined =
        |ws: &[Word]| ws.iter().map(|&w| word_len(w) as usize).sum::<usize>() + ws.len() - 1;
    let lensum = joined(w1) + joined(w2);
    let dist: u64 = d.iter().map(|x| x.unsigned_abs()).sum();
    let dist = (dist as usize).min(lensum);
    indel::normalized_similarity_from(dist, lensum, score_cutoff / 100.0) != 0.0
}

/// Whether the token sort ratio (`ratio` of the two joined sorted word lists) can still
/// reach `score_cutoff`: from the code point counts alone, the LCS is at most
/// `H = Σ_c min(count_a(c), count_b(c))`, so the Indel distance is at least `lensum − 2H`,
/// and the normalized similarity never increases with the distance. When even that distance
/// scores 0 under the cutoff, so does the exact one (`ratio` then returns 0 too).
/// Narrow strings only (a 256-entry count per side); wide ones always say `true`.
fn sort_ratio_may_pass(
    s1: &[u32],
    wa: &[Word],
    s2: &[u32],
    wb: &[Word],
    score_cutoff: f64,
    hist: &mut Vec<[u32; 2]>,
) -> bool {
    if score_cutoff <= 0.0 || wa.is_empty() || wb.is_empty() {
        return true;
    }
    hist.clear();
    hist.resize(256, [0, 0]);
    let mut len = [0usize; 2];
    for (side, (s, ws)) in [(s1, wa), (s2, wb)].into_iter().enumerate() {
        for &w in ws {
            for &c in word(s, w) {
                match hist.get_mut(c as usize) {
                    Some(h) => h[side] += 1,
                    None => return true,
                }
            }
            len[side] += word_len(w) as usize;
        }
        // the joining spaces (a space is never inside a word)
        let spaces = ws.len() - 1;
        hist[0x20][side] += spaces as u32;
        len[side] += spaces;
    }
    let common: usize = hist.iter().map(|h| h[0].min(h[1]) as usize).sum();
    let lensum = len[0] + len[1];
    let best = indel::normalized_similarity_from(lensum - 2 * common, lensum, score_cutoff / 100.0);
    best != 0.0
}

/// Appends `w` to a space-joined word list.
#[inline]
fn push_word(out: &mut Vec<u32>, w: &[u32]) {
    if !out.is_empty() {
        out.push(0x20);
    }
    out.extend_from_slice(w);
}

fn token_ratio_in(s1: &[u32], s2: &[u32], score_cutoff: f64, sc: &mut Scratch) -> f64 {
    let (n1, n2) = (is_narrow(s1), is_narrow(s2));
    sorted_words_into(s1, n1, &mut sc.wa);
    sorted_words_into(s2, n2, &mut sc.wb);
    let (wa, wb) = (&sc.wa, &sc.wb);
    let a = |k: usize| word(s1, wa[k]);
    let b = |k: usize| word(s2, wb[k]);
    // Keys of the same width compare like the words (`cmp_keyed`); mixed widths compare
    // the code points.
    let same = n1 == n2;
    let cover = if n1 { NARROW_COVER } else { WIDE_COVER };
    let cmp_ab = |i: usize, j: usize| {
        if same {
            cmp_keyed(s1, wa[i], s2, wb[j], cover)
        } else {
            a(i).cmp(b(j))
        }
    };
    // merge of the two sorted lists, skipping repeats (= dedupe + set operations)
    let next_a = |mut k: usize| {
        while k + 1 < wa.len() && cmp_keyed(s1, wa[k + 1], s1, wa[k], cover).is_eq() {
            k += 1;
        }
        k + 1
    };
    let next_b = |mut k: usize| {
        let cover = if n2 { NARROW_COVER } else { WIDE_COVER };
        while k + 1 < wb.len() && cmp_keyed(s2, wb[k + 1], s2, wb[k], cover).is_eq() {
            k += 1;
        }
        k + 1
    };
    sc.da.clear();
    sc.db.clear();
    let (mut sect_words, mut sect_chars) = (0usize, 0usize);
    let (mut i, mut j) = (0, 0);
    while i < wa.len() && j < wb.len() {
        match cmp_ab(i, j) {
            std::cmp::Ordering::Less => {
                push_word(&mut sc.da, a(i));
                i = next_a(i);
            }
            std::cmp::Ordering::Greater => {
                push_word(&mut sc.db, b(j));
                j = next_b(j);
            }
            std::cmp::Ordering::Equal => {
                sect_words += 1;
                sect_chars += a(i).len();
                i = next_a(i);
                j = next_b(j);
            }
        }
    }
    while i < wa.len() {
        push_word(&mut sc.da, a(i));
        i = next_a(i);
    }
    while j < wb.len() {
        push_word(&mut sc.db, b(j));
        j = next_b(j);
    }
    if sect_words > 0 && (sc.da.is_empty() || sc.db.is_empty()) {
        return 100.0;
    }
    let sect_len = (sect_chars + sect_words).saturating_sub(1);
    let sorted = if sort_ratio_may_pass(s1, wa, s2, wb, score_cutoff, &mut sc.hist) {
        sc.ja.clear();
        sc.jb.clear();
        for k in 0..wa.len() {
            push_word(&mut sc.ja, a(k));
        }
        for k in 0..wb.len() {
            push_word(&mut sc.jb, b(k));
        }
        ratio(&sc.ja, &sc.jb, score_cutoff)
    } else {
        0.0
    };
    sorted.max(set_scores_of(sect_len, &sc.da, &sc.db, score_cutoff))
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

mod hashed;

#[cfg(test)]
mod tests;
