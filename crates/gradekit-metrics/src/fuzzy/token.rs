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
    // an OR over all code points (no early exit) vectorizes; texts are short
    s.iter().fold(0, |m, &c| m | c) < 256
}

/// Words of `s`, sorted by code point (with duplicates).
pub(crate) fn sorted_split(s: &[u32], narrow: bool) -> Vec<&[u32]> {
    let mut keyed = Vec::new();
    sorted_words_into(s, narrow, &mut keyed);
    keyed.iter().map(|&w| word(s, w)).collect()
}

/// A word of a string packed for sorting: its key (bits 64..128), its length (32..64) and its
/// start (0..32). Integer order is (key, length, start) order.
pub(crate) type Word = u128;

#[inline(always)]
fn make_word(key: u64, start: usize, end: usize) -> Word {
    (u128::from(key) << 64) | (((end - start) as u128) << 32) | start as u128
}

#[inline(always)]
fn word_len(w: Word) -> u32 {
    (w >> 32) as u32
}

#[inline(always)]
fn word_key(w: Word) -> u64 {
    (w >> 64) as u64
}

#[inline]
fn word(s: &[u32], w: Word) -> &[u32] {
    let start = w as u32 as usize;
    s.get(start..start + word_len(w) as usize)
        .unwrap_or_default()
}

/// The words of `s`, sorted, into `out` (cleared first).
///
/// Each word is one `u128` (its key, length and start, see [`Word`]) sorted as an integer:
/// the key decides most comparisons, the length the rest, and only words longer than their
/// key with equal keys are compared code point by code point (`cmp_keyed`). For a narrow string (every code point below 256) the key is
/// the first eight code points, one byte each, big-endian, a missing one packing as 0;
/// otherwise the first two, 32 bits each. Either way `key(x) < key(y)` implies `x < y` and
/// `x < y` implies `key(x) <= key(y)` (code points are ≥ 0 and a prefix sorts first), so
/// sorting by (key, word) is sorting by word.
pub(crate) fn sorted_words_into(s: &[u32], narrow: bool, out: &mut Vec<Word>) {
    out.clear();
    if narrow {
        narrow_words(s, out);
    } else {
        let mut start = 0;
        for (i, &c) in s.iter().enumerate() {
            // fast exit for the common non-space range before the full table
            if (0x21..0x85).contains(&c) || !is_space(c, narrow) {
                continue;
            }
            if i > start {
                out.push(make_word(key_wide(&s[start..i]), start, i));
            }
            start = i + 1;
        }
        if s.len() > start {
            out.push(make_word(key_wide(&s[start..]), start, s.len()));
        }
    }
    sort_words(s, narrow, out);
}

/// Sorts words of `s` (split from it with keys of its width) into word order.
///
/// Integer order is (key, length) order, which is word order except between two words
/// longer than the key covers with equal keys (`cmp_keyed`): those sit at the end of their
/// run of equal keys and are re-sorted by their code points.
pub(crate) fn sort_words(s: &[u32], narrow: bool, out: &mut [Word]) {
    sort_packed(out);
    let cover = if narrow { NARROW_COVER } else { WIDE_COVER };
    // A register-only scan first: most lists have no such pair, and the fix-up loop below
    // keeps its index in memory (a store-to-load chain per word).
    if !out
        .windows(2)
        .any(|p| word_key(p[0]) == word_key(p[1]) && word_len(p[1]) > cover)
    {
        return;
    }
    let mut i = 0;
    while i + 1 < out.len() {
        if word_key(out[i]) != word_key(out[i + 1]) || word_len(out[i + 1]) <= cover {
            i += 1;
            continue;
        }
        let key = word_key(out[i]);
        let mut j = i + 1;
        while j < out.len() && word_key(out[j]) == key {
            j += 1;
        }
        let run = &mut out[i..j];
        let long = run.partition_point(|&w| word_len(w) <= cover);
        if run.len() - long > 1 {
            run[long..].sort_unstable_by(|&x, &y| word(s, x).cmp(word(s, y)));
        }
        i = j;
    }
}

/// Sorts packed words as integers. Sentence-sized lists: a counting sort on the key's top
/// byte (the first code point's low byte, narrow, or its top byte, wide), then insertion
/// sort, which only moves words within a bucket; longer lists: the library sort.
fn sort_packed(out: &mut [Word]) {
    if out.len() > 256 {
        out.sort_unstable();
        return;
    }
    if out.len() > 12 {
        use std::cell::Cell;
        thread_local! {
            static TMP: Cell<Vec<Word>> = const { Cell::new(Vec::new()) };
        }
        let mut counts = [0u16; 257];
        let (mut lo, mut hi) = (255usize, 0usize);
        for &w in out.iter() {
            let b = (w >> 120) as usize;
            counts[b + 1] += 1;
            lo = lo.min(b);
            hi = hi.max(b);
        }
        // prefix sums with the running total in a register (not a load of the previous
        // entry just stored: a store-to-load chain per bucket)
        let mut acc = 0u16;
        for c in counts.iter_mut().take(hi + 1).skip(lo + 1) {
            acc += *c;
            *c = acc;
        }
        let mut sorted = TMP.try_with(Cell::take).unwrap_or_default();
        sorted.clear();
        sorted.resize(out.len(), 0);
        for &w in out.iter() {
            let b = (w >> 120) as usize;
            if let Some(slot) = sorted.get_mut(usize::from(counts[b])) {
                *slot = w;
            }
            counts[b] += 1;
        }
        out.copy_from_slice(&sorted);
        let _ = TMP.try_with(|c| c.set(sorted));
    }
    for k in 1..out.len() {
        let x = out[k];
        let mut j = k;
        while j > 0 && x < out[j - 1] {
            out[j] = out[j - 1];
            j -= 1;
        }
        out[j] = x;
    }
}

/// Code points a narrow / wide key holds.
const NARROW_COVER: u32 = 8;
const WIDE_COVER: u32 = 2;

/// Order of two words keyed alike (both narrow or both wide; `cover` code points per key):
/// the same as comparing the words. Equal keys mean the words agree on their first `cover`
/// code points, a missing one counting as 0; when at least one of them is no longer than
/// `cover`, the shorter one is then a prefix of the other (or they are equal), so comparing
/// lengths decides; only two longer words need their code points compared.
#[inline(always)]
fn cmp_keyed(sa: &[u32], x: Word, sb: &[u32], y: Word, cover: u32) -> std::cmp::Ordering {
    let (lx, ly) = (word_len(x), word_len(y));
    word_key(x).cmp(&word_key(y)).then_with(|| {
        if lx > cover && ly > cover {
            word(sa, x).cmp(word(sb, y))
        } else {
            lx.cmp(&ly)
        }
    })
}

/// rapidfuzz's `is_space` for narrow strings: the bytes in these ranges.
const NARROW_SPACE: &[(u8, u8, bool)] = &[(0x09, 0x0D, false), (0x1C, 0x20, false)];

/// The words of a narrow string with their keys: the code points are narrowed to bytes (one
/// vectorizable pass), the non-space bytes become a bitmap eight at a time
/// (`crate::bitruns`), the words are its runs, and a word's key is the eight bytes at its
/// start, masked to its length and byte-swapped (first code point in the top byte).
fn narrow_words(s: &[u32], out: &mut Vec<Word>) {
    use crate::bitruns::{bitmap, word_of, Runs};
    use std::cell::Cell;
    thread_local! {
        static BUF: Cell<(Vec<u8>, Vec<u64>)> = const { Cell::new((Vec::new(), Vec::new())) };
    }
    let (mut bytes, mut bits) = BUF.try_with(Cell::take).unwrap_or_default();
    bytes.clear();
    bytes.extend(s.iter().map(|&c| c as u8));
    bitmap(&bytes, NARROW_SPACE, true, &mut bits);
    for (start, end) in Runs::new(&bits) {
        let w = word_of(
            bytes
                .get(start..(start + 8).min(bytes.len()))
                .unwrap_or_default(),
        );
        let len = end - start;
        let w = if len >= 8 {
            w
        } else {
            w & ((1u64 << (8 * len)) - 1)
        };
        out.push(make_word(w.swap_bytes(), start, end));
    }
    if bytes.capacity() <= 1 << 16 {
        let _ = BUF.try_with(|c| c.set((bytes, bits)));
    }
}

#[inline]
fn key_wide(w: &[u32]) -> u64 {
    let c0 = w.first().copied().unwrap_or(0);
    let c1 = w.get(1).copied().unwrap_or(0);
    (u64::from(c0) << 32) | u64::from(c1)
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
    if sc.ja.capacity().max(sc.jb.capacity()) <= KEEP_CODE_POINTS {
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
    diff_a: Vec<Word>,
    diff_b: Vec<Word>,
}

/// [`sort_ratio_may_pass`] for two narrow strings with `n1` / `n2` words, from counts over
/// the whole strings: the joined sorted words hold the same code points as the string minus
/// its whitespace, plus one space between words.
fn norm_bound_passes(s1: &[u32], n1: usize, s2: &[u32], n2: usize, score_cutoff: f64) -> bool {
    if score_cutoff <= 0.0 || n1 == 0 || n2 == 0 {
        return true;
    }
    let mut hist = [[0u32; 256]; 2];
    let mut len = [0usize; 2];
    for (side, (s, n)) in [(s1, n1), (s2, n2)].into_iter().enumerate() {
        let h = &mut hist[side];
        for &c in s {
            h[(c & 0xff) as usize] += 1;
        }
        for &(lo, hi, _) in NARROW_SPACE {
            for c in lo..=hi {
                h[usize::from(c)] = 0;
            }
        }
        h[0x20] = (n - 1) as u32;
        len[side] = h.iter().map(|&k| k as usize).sum();
    }
    let common: usize = hist[0]
        .iter()
        .zip(&hist[1])
        .map(|(&x, &y)| x.min(y) as usize)
        .sum();
    let lensum = len[0] + len[1];
    indel::normalized_similarity_from(lensum - 2 * common, lensum, score_cutoff / 100.0) != 0.0
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
