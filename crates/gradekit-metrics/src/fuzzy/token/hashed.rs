//! `token_ratio` of two narrow strings without sorting every word first.
//!
//! rapidfuzz sorts both word lists, merges them into the set decomposition, and scores the
//! token *sort* ratio (the two sorted lists joined) and the token *set* ratio (built from the
//! deduped differences) — the result is their maximum. On the near-duplicate texts WRatio
//! sends here, sorting ~40 words a side was most of the cost, yet the sorted lists are only
//! needed for the sort ratio, which rarely wins. So, with the same result:
//!
//! 1. the words of both sides go into one small open-addressing table (key = the word's
//!    8-byte packed prefix and length, the rest compared only for longer words), each entry
//!    remembering which sides hold it — that is the set decomposition, unsorted;
//! 2. "subset with a common word" gives 100 at once, as rapidfuzz does after its merge;
//! 3. only the two differences (a few words) are sorted and joined, and the set ratio is
//!    scored from them;
//! 4. the sort ratio then only matters if it can beat the set ratio, so its cutoff is raised
//!    to the set ratio (minus 1e-9: a tie must still be scored exactly, the two ratios round
//!    differently); the code-point-count bound (`sort_ratio_may_pass`), over the whole texts,
//!    usually rules it out, and only then are all words sorted and joined.
//!
//! Every part is exact or 0 below its cutoff and the parts are combined by `max`, so raising
//! the sort ratio's cutoff to a value the result already reaches cannot change the result;
//! `tests::hashed_equals_the_composition` holds the path to the allocating composition.

use super::words::{load8, narrow_words_in, same_tail};
use super::{set_scores_of, sort_words, word_key, word_len, Cutoff, Scratch, Word, NARROW_COVER};
use crate::fuzzy::indel;
use crate::fuzzy::ratio::ratio;

/// Side flags of a table entry.
const IN_A: u8 = 1;
const IN_B: u8 = 2;
/// The entry's word lies in the second string (its start indexes `s2`).
const FROM_B: u8 = 4;

/// The set decomposition's table: `(word, flags, [count in a, count in b])`, word 0 = empty
/// (a word has length ≥ 1).
/// Between calls every slot not listed in `used` is empty, so a reset of a table of a fitting
/// size empties only the slots the last call filled (not all of them: a sentence pair's table
/// has 128–256 slots of 32 bytes and fills ~80).
#[derive(Default)]
pub(super) struct Table {
    slots: Vec<Slot>,
    /// Slots in first-insertion order (so the pass over them is not a pass over the table).
    used: Vec<u32>,
}

/// A table slot: the word, its flags, how often each side holds it.
type Slot = (Word, u8, [u32; 2]);

const EMPTY: Slot = (0, 0, [0, 0]);

/// The texts' code points narrowed to bytes and padded (`words::narrow_words_in`): the
/// table compares words longer than their key on these.
pub(super) struct Bytes<'a> {
    pub(super) a: &'a [u8],
    pub(super) b: &'a [u8],
}

#[inline(always)]
fn slot_of(w: Word, shift: u32) -> usize {
    let h = word_key(w) ^ (u64::from(word_len(w)) << 56 | u64::from(word_len(w)));
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl Table {
    /// Empties the table for `n` words; returns the hash shift of its size.
    fn reset(&mut self, n: usize) -> u32 {
        let need = (2 * n).next_power_of_two().max(16);
        let cap = self.slots.len();
        if cap >= need && cap <= 4 * need {
            for &i in &self.used {
                if let Some(slot) = self.slots.get_mut(i as usize) {
                    *slot = EMPTY;
                }
            }
        } else {
            self.slots.clear();
            self.slots.resize(need, EMPTY);
        }
        self.used.clear();
        64 - self.slots.len().trailing_zeros()
    }

    /// Adds word `w` of side `flag` (`IN_A`: a word of `s1`, `IN_B`: of `s2`).
    #[inline(always)]
    fn add(&mut self, w: Word, flag: u8, bytes: &Bytes<'_>, shift: u32) {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(w, shift);
        loop {
            let Some(slot) = self.slots.get_mut(i) else {
                return;
            };
            let side = usize::from(flag == IN_B);
            if slot.0 == 0 {
                let mut counts = [0; 2];
                counts[side] = 1;
                *slot = (w, flag | if flag == IN_B { FROM_B } else { 0 }, counts);
                self.used.push(i as u32);
                return;
            }
            // packed word = key, length, start: equal keys and lengths, and for a word
            // longer than its key the code points beyond it
            if (slot.0 >> 32) == (w >> 32) {
                let same = word_len(w) <= NARROW_COVER || same_word(slot.0, slot.1, w, flag, bytes);
                if same {
                    slot.1 |= flag;
                    if let Some(n) = slot.2.get_mut(side) {
                        *n += 1;
                    }
                    return;
                }
            }
            i = (i + 1) & mask;
        }
    }
}

impl Table {
    /// Whether word `w` of side `flag` is in the table (the table holds the other side's).
    fn contains(&self, w: Word, flag: u8, bytes: &Bytes<'_>, shift: u32) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = slot_of(w, shift);
        while let Some(&(x, flags, _)) = self.slots.get(i) {
            if x == 0 {
                return false;
            }
            if (x >> 32) == (w >> 32)
                && (word_len(w) <= NARROW_COVER || same_word(x, flags, w, flag, bytes))
            {
                return true;
            }
            i = (i + 1) & mask;
        }
        false
    }
}

/// Whether table word `x` (flags `flags`) equals word `w` of side `flag`, both of the same
/// key and length, longer than the key.
#[inline]
fn same_word(x: Word, flags: u8, w: Word, flag: u8, bytes: &Bytes<'_>) -> bool {
    let home = if flags & FROM_B != 0 {
        bytes.b
    } else {
        bytes.a
    };
    let own = if flag == IN_B { bytes.b } else { bytes.a };
    let start = |w: Word| w as u32 as usize;
    same_tail(home, start(x), own, start(w), word_len(w) as usize)
}

impl Scratch {
    /// Empties the table and adds every word of `wa` (as side A) and `wb` (as side B).
    #[inline(always)]
    fn fill_table(&mut self) {
        let shift = self.table.reset(self.wa.len() + self.wb.len());
        let bytes = Bytes {
            a: &self.ba,
            b: &self.bb,
        };
        for &w in &self.wa {
            self.table.add(w, IN_A, &bytes, shift);
        }
        for &w in &self.wb {
            self.table.add(w, IN_B, &bytes, shift);
        }
    }
}

/// `token_ratio_lazy(s1, s2, cutoff)` for two narrow strings that both have words; `None`
/// otherwise (the caller takes the sorted path).
pub(super) fn token_ratio_hashed<F: FnOnce() -> f64>(
    s1: &[u32],
    s2: &[u32],
    cutoff: &mut Cutoff<F>,
    sc: &mut Scratch,
) -> Option<f64> {
    sc.wa.clear();
    sc.wb.clear();
    narrow_words_in(s1, &mut sc.wa, &mut sc.ba, &mut sc.bits);
    narrow_words_in(s2, &mut sc.wb, &mut sc.bb, &mut sc.bits);
    if sc.wa.is_empty() || sc.wb.is_empty() {
        return None;
    }
    sc.fill_table();
    let bytes = Bytes {
        a: &sc.ba,
        b: &sc.bb,
    };
    // the decomposition: the intersection measured, the differences collected
    let (mut sect_words, mut sect_chars) = (0usize, 0usize);
    sc.diff_a.clear();
    sc.diff_b.clear();
    for &i in &sc.table.used {
        let Some(&(w, flags, _)) = sc.table.slots.get(i as usize) else {
            continue;
        };
        match flags & (IN_A | IN_B) {
            IN_A => sc.diff_a.push(w),
            IN_B => sc.diff_b.push(w),
            _ => {
                sect_words += 1;
                sect_chars += word_len(w) as usize;
            }
        }
    }
    if sect_words > 0 && (sc.diff_a.is_empty() || sc.diff_b.is_empty()) {
        return Some(100.0);
    }
    let score_cutoff = cutoff.get();
    if score_cutoff > 100.0 {
        return Some(0.0);
    }
    sort_words(s1, true, &mut sc.diff_a);
    sort_words(s2, true, &mut sc.diff_b);
    join_narrow(&sc.ba, &sc.diff_a, &mut sc.da);
    join_narrow(&sc.bb, &sc.diff_b, &mut sc.db);
    let sect_len = (sect_chars + sect_words).saturating_sub(1);
    let set = set_scores_of(sect_len, &sc.da, &sc.db, score_cutoff);

    // the sort ratio, only where it can beat `set`
    let cutoff = score_cutoff.max(set - 1e-9);
    if !counts_bound_passes(&sc.table, &bytes, sc.wa.len(), sc.wb.len(), cutoff) {
        return Some(set);
    }
    sort_words(s1, true, &mut sc.wa);
    sort_words(s2, true, &mut sc.wb);
    join_narrow(&sc.ba, &sc.wa, &mut sc.ja);
    join_narrow(&sc.bb, &sc.wb, &mut sc.jb);
    Some(ratio(&sc.ja, &sc.jb, cutoff).max(set))
}

/// `norm_bound_passes(s1, wa, s2, wb, score_cutoff)` (`wa` / `wb` holding `n_a` / `n_b`
/// words) from the table instead of the texts: the code point counts of a text without its
/// spaces are the counts of its words, each as often as the text holds it, so the difference
/// of the two texts' counts is `Σ_w (count_a(w) − count_b(w)) · counts(w)` — only the words
/// the two sides hold a different number of times (the differences, and repeated words)
/// contribute, a few dozen code points instead of both texts. Same bound, same answer.
fn counts_bound_passes(
    table: &Table,
    bytes: &Bytes<'_>,
    n_a: usize,
    n_b: usize,
    score_cutoff: f64,
) -> bool {
    if score_cutoff <= 0.0 || n_a == 0 || n_b == 0 {
        return true;
    }
    let mut d = [0i64; 256];
    let mut touched = [0u64; 4];
    let mut len = [0usize; 2];
    for &i in &table.used {
        let Some(&(w, flags, [ca, cb])) = table.slots.get(i as usize) else {
            continue;
        };
        let l = word_len(w) as usize;
        len[0] += ca as usize * l;
        len[1] += cb as usize * l;
        if ca != cb {
            let k = i64::from(ca) - i64::from(cb);
            let home = if flags & FROM_B != 0 {
                bytes.b
            } else {
                bytes.a
            };
            let start = w as u32 as usize;
            for &c in home.get(start..start + l).unwrap_or_default() {
                d[usize::from(c)] += k;
                touched[usize::from(c >> 6)] |= 1 << (c & 63);
            }
        }
    }
    // the joining spaces (a space is never inside a word)
    d[0x20] = n_a as i64 - n_b as i64;
    touched[0] |= 1 << 0x20;
    let lensum = len[0] + n_a - 1 + len[1] + n_b - 1;
    // the sum over the code points met only (a few dozen, not 256)
    let mut dist = 0u64;
    for (k, &t) in touched.iter().enumerate() {
        let mut t = t;
        while t != 0 {
            let c = 64 * k + t.trailing_zeros() as usize;
            t &= t - 1;
            dist += d.get(c).map_or(0, |x| x.unsigned_abs());
        }
    }
    let dist = (dist as usize).min(lensum);
    indel::normalized_similarity_from(dist, lensum, score_cutoff / 100.0) != 0.0
}

/// `words` of a narrow string joined with single spaces into `out`, from the string's padded
/// bytes (`words::narrow_words_in`): each word is copied eight code points at a time (a
/// widening of eight bytes, no `memcpy` call per word); what a copy writes past its word is
/// overwritten by the next space and word, or cut off at the end.
fn join_narrow(bytes: &[u8], words: &[Word], out: &mut Vec<u32>) {
    let total =
        words.iter().map(|&w| word_len(w) as usize).sum::<usize>() + words.len().saturating_sub(1);
    out.clear();
    out.resize(total + 8, 0);
    let mut pos = 0;
    for (i, &w) in words.iter().enumerate() {
        if i > 0 {
            if let Some(o) = out.get_mut(pos) {
                *o = 0x20;
            }
            pos += 1;
        }
        let (start, len) = (w as u32 as usize, word_len(w) as usize);
        let mut k = 0;
        while k < len {
            let chunk = load8(bytes, start + k).to_le_bytes();
            let at = pos + k;
            if let Some(dst) = out
                .get_mut(at..at + 8)
                .and_then(|d| <&mut [u32; 8]>::try_from(d).ok())
            {
                for (d, &b) in dst.iter_mut().zip(&chunk) {
                    *d = u32::from(b);
                }
            }
            k += 8;
        }
        pos += len;
    }
    out.truncate(total);
}

/// Whether two narrow strings share a word (`partial_token_ratio`'s early 100): the words of
/// the side with fewer go into the table (WRatio's partial branch pairs a short text with a
/// long one), then the other side's words are looked up until one is found.
pub(super) fn share_a_word(s1: &[u32], s2: &[u32], sc: &mut Scratch) -> bool {
    sc.wa.clear();
    sc.wb.clear();
    narrow_words_in(s1, &mut sc.wa, &mut sc.ba, &mut sc.bits);
    narrow_words_in(s2, &mut sc.wb, &mut sc.bb, &mut sc.bits);
    let bytes = Bytes {
        a: &sc.ba,
        b: &sc.bb,
    };
    let (small, large) = if sc.wa.len() <= sc.wb.len() {
        ((&sc.wa, IN_A), (&sc.wb, IN_B))
    } else {
        ((&sc.wb, IN_B), (&sc.wa, IN_A))
    };
    let shift = sc.table.reset(small.0.len());
    for &w in small.0 {
        sc.table.add(w, small.1, &bytes, shift);
    }
    large
        .0
        .iter()
        .any(|&w| sc.table.contains(w, large.1, &bytes, shift))
}

#[cfg(test)]
mod tests {
    use super::super::norm_bound_passes;
    use super::*;

    /// The table's bound is the texts' bound: random narrow texts (repeated words, words
    /// longer than the key, tabs and runs of spaces, Latin-1), every cutoff around it.
    #[test]
    fn counts_bound_equals_the_text_bound() {
        let mut seed = 3u64;
        let mut next = |k: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % k
        };
        let vocab = [
            "a",
            "ab",
            "the",
            "cat",
            "\u{e9}t\u{e9}",
            "internationalization",
            "x",
        ];
        let (mut pass, mut fail) = (0, 0);
        for _ in 0..3000 {
            let mut text = |_side: usize| {
                let mut t = String::new();
                for _ in 0..1 + next(30) {
                    t.push_str(vocab[next(vocab.len())]);
                    t.push_str([" ", "  ", "\t", " \u{1c}"][next(4)]);
                }
                t.chars().map(u32::from).collect::<Vec<u32>>()
            };
            let s1 = text(1);
            let s2 = text(2);
            let mut sc = Scratch::default();
            narrow_words_in(&s1, &mut sc.wa, &mut sc.ba, &mut sc.bits);
            narrow_words_in(&s2, &mut sc.wb, &mut sc.bb, &mut sc.bits);
            sc.fill_table();
            let bytes = Bytes {
                a: &sc.ba,
                b: &sc.bb,
            };
            for k in 0..=40 {
                let cutoff = 60.0 + k as f64;
                let want = norm_bound_passes(&s1, &sc.wa, &s2, &sc.wb, cutoff);
                let got = counts_bound_passes(&sc.table, &bytes, sc.wa.len(), sc.wb.len(), cutoff);
                assert_eq!(got, want, "{s1:?} {s2:?} {cutoff}");
                if want {
                    pass += 1;
                } else {
                    fail += 1;
                }
            }
        }
        assert!(pass > 10000 && fail > 10000, "{pass} {fail}");
    }
}
