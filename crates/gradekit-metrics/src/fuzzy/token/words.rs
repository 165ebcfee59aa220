//! Words of a string as rapidfuzz splits and sorts them: its `is_space` (narrow and wide),
//! each word packed into one `u128` of (key, length, start) so that sorting integers sorts
//! words, and the order of two words keyed alike. The token scorers in the parent module
//! and its hashed path work on these packed words.

/// rapidfuzz's `is_space`; `narrow` selects the 1-byte-string variant.
#[inline]
pub(super) fn is_space(c: u32, narrow: bool) -> bool {
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
pub(super) fn make_word(key: u64, start: usize, end: usize) -> Word {
    (u128::from(key) << 64) | (((end - start) as u128) << 32) | start as u128
}

#[inline(always)]
pub(super) fn word_len(w: Word) -> u32 {
    (w >> 32) as u32
}

#[inline(always)]
pub(super) fn word_key(w: Word) -> u64 {
    (w >> 64) as u64
}

#[inline]
pub(super) fn word(s: &[u32], w: Word) -> &[u32] {
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
pub(super) fn sort_packed(out: &mut [Word]) {
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
pub(super) const NARROW_COVER: u32 = 8;
pub(super) const WIDE_COVER: u32 = 2;

/// Order of two words keyed alike (both narrow or both wide; `cover` code points per key):
/// the same as comparing the words. Equal keys mean the words agree on their first `cover`
/// code points, a missing one counting as 0; when at least one of them is no longer than
/// `cover`, the shorter one is then a prefix of the other (or they are equal), so comparing
/// lengths decides; only two longer words need their code points compared.
#[inline(always)]
pub(super) fn cmp_keyed(
    sa: &[u32],
    x: Word,
    sb: &[u32],
    y: Word,
    cover: u32,
) -> std::cmp::Ordering {
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
pub(super) const NARROW_SPACE: &[(u8, u8, bool)] = &[(0x09, 0x0D, false), (0x1C, 0x20, false)];

/// The words of a narrow string with their keys: the code points are narrowed to bytes (one
/// vectorizable pass), the non-space bytes become a bitmap eight at a time
/// (`crate::bitruns`), the words are its runs, and a word's key is the eight bytes at its
/// start, masked to its length and byte-swapped (first code point in the top byte).
pub(super) fn narrow_words(s: &[u32], out: &mut Vec<Word>) {
    use std::cell::Cell;
    thread_local! {
        static BUF: Cell<(Vec<u8>, Vec<u64>)> = const { Cell::new((Vec::new(), Vec::new())) };
    }
    let (mut bytes, mut bits) = BUF.try_with(Cell::take).unwrap_or_default();
    narrow_words_in(s, out, &mut bytes, &mut bits);
    if bytes.capacity() <= 1 << 16 {
        let _ = BUF.try_with(|c| c.set((bytes, bits)));
    }
}

/// Bytes of zero padding after a narrowed string (`narrow_words_in`): every word's key, and
/// every 8-byte step of [`same_tail`], is one load of eight bytes.
pub(super) const PAD: usize = 8;

/// [`narrow_words`] into caller buffers: `bytes` is left holding the narrowed string and
/// [`PAD`] zero bytes (the code points of a narrow string are bytes, so equal byte runs are
/// equal words).
pub(super) fn narrow_words_in(
    s: &[u32],
    out: &mut Vec<Word>,
    bytes: &mut Vec<u8>,
    bits: &mut Vec<u64>,
) {
    bytes.clear();
    bytes.extend(s.iter().map(|&c| c as u8));
    crate::bitruns::bitmap(bytes, NARROW_SPACE, true, bits);
    bytes.extend([0u8; PAD]);
    out.reserve(s.len().div_ceil(2));
    // The runs of the bitmap from its edges: `x ^ (x << 1)` (the top bit of the previous
    // word carried in) has a bit at every run's start and at the position after its end; the
    // edges alternate start, end, start, … (the bitmap ends with a zero word, so the last
    // run ends). The walk keeps its state in registers and its branches regular.
    let (mut carry, mut open, mut start) = (0u64, false, 0usize);
    for (k, &x) in bits.iter().enumerate() {
        let mut edges = x ^ ((x << 1) | carry);
        carry = x >> 63;
        while edges != 0 {
            let at = 64 * k + edges.trailing_zeros() as usize;
            edges &= edges - 1;
            if !open {
                start = at;
            } else {
                let len = at - start;
                // the bytes past the word (the next ones, or the padding) masked off: no
                // branch on the word's length (shift 0 for eight or more bytes)
                let keep = u64::MAX >> (8 * (8 - len.min(8)));
                let w = load8(bytes, start) & keep;
                out.push(make_word(w.swap_bytes(), start, at));
            }
            open = !open;
        }
    }
}

/// The little-endian word of `bytes[i..i + 8]`, zero-padded past the end (padded buffers
/// always hold the eight bytes: one load).
#[inline(always)]
pub(super) fn load8(bytes: &[u8], i: usize) -> u64 {
    let tail = bytes.get(i..).unwrap_or_default();
    crate::bitruns::word_of(tail.get(..8).unwrap_or(tail))
}

/// Whether two words of equal length `len` > 8 whose first eight bytes are equal (equal
/// keys) are equal: their bytes from 8 on, compared eight at a time in padded buffers
/// (`narrow_words_in`), the last step masked to the words' end.
#[inline]
pub(super) fn same_tail(a: &[u8], sa: usize, b: &[u8], sb: usize, len: usize) -> bool {
    let mut k = 8;
    while k < len {
        let keep = u64::MAX >> (8 * (8 - (len - k).min(8)));
        if (load8(a, sa + k) ^ load8(b, sb + k)) & keep != 0 {
            return false;
        }
        k += 8;
    }
    true
}

#[inline]
pub(super) fn key_wide(w: &[u32]) -> u64 {
    let c0 = w.first().copied().unwrap_or(0);
    let c1 = w.get(1).copied().unwrap_or(0);
    (u64::from(c0) << 32) | u64::from(c1)
}
