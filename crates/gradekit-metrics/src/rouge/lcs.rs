//! Longest-common-subsequence length by bit-parallelism over token ids
//! (Allison & Dix 1986; Crochemore et al. 2001; Hyyrö 2004, "Bit-parallel LCS
//! length computation revisited").
//!
//! rouge-score fills the full (|ref|+1)×(|cand|+1) DP table in Python. The LCS
//! *length* is unique, so any exact algorithm gives the same number; here one
//! side (the *pattern*, length m) is a bit vector `V` of ⌈m/64⌉ words and each
//! token `t` of the other side (length n) updates it with
//! `U = V & M[t]; V = (V + U) | (V − U)` where `M[t]` has bit `j` set iff
//! `pattern[j] == t` (and `V − U = V & !M[t]`). At the end the LCS length is
//! the number of zero bits among the low m bits of `V`.
//!
//! Cost: O(n · ⌈m/64⌉) time; memory O(m + σ) for m ≤ 64 (σ = vocabulary), and
//! O(m) for longer patterns: masks of ids that occur often (at least ⌈m/64⌉/4
//! times) are stored dense, rarer ids keep their positions and their mask is
//! set into a scratch vector for the step and cleared after it (O(occurrences)
//! extra per step), so memory never grows like m²/64.

use crate::ngram::ABSENT;

/// Precomputed match masks of one token-id sequence (the pattern).
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    len: usize,
    words: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// m ≤ 64: one mask word per vocabulary id.
    Single(Vec<u64>),
    /// m > 64.
    Multi {
        /// Per id: index of its dense row in `rows`, or `NO_ROW`.
        row_of: Vec<u32>,
        /// Dense mask rows, `words` words each.
        rows: Vec<u64>,
        /// CSR offsets into `positions` per id (len vocab + 1).
        start: Vec<usize>,
        /// Pattern positions of each sparse id.
        positions: Vec<usize>,
    },
}

const NO_ROW: u32 = u32::MAX;

impl Pattern {
    /// Builds the masks of `ids` (each in `0..vocab` or [`ABSENT`], which
    /// never matches).
    pub(crate) fn new(ids: &[u32], vocab: usize) -> Self {
        let len = ids.len();
        let words = len.div_ceil(64);
        if words <= 1 {
            let mut masks = vec![0u64; vocab];
            for (j, &id) in ids.iter().enumerate() {
                if let Some(m) = masks.get_mut(id as usize) {
                    *m |= 1u64 << j;
                }
            }
            return Pattern {
                len,
                words,
                kind: Kind::Single(masks),
            };
        }
        let mut count = vec![0usize; vocab];
        for &id in ids {
            if let Some(c) = count.get_mut(id as usize) {
                *c += 1;
            }
        }
        let dense_min = words.div_ceil(4);
        let mut row_of = vec![NO_ROW; vocab];
        let mut n_rows = 0u32;
        for (id, &c) in count.iter().enumerate() {
            if c >= dense_min {
                row_of[id] = n_rows;
                n_rows += 1;
            }
        }
        let mut rows = vec![0u64; n_rows as usize * words];
        let mut start = vec![0usize; vocab + 1];
        for (id, &c) in count.iter().enumerate() {
            let sparse = if row_of[id] == NO_ROW { c } else { 0 };
            start[id + 1] = start[id] + sparse;
        }
        let mut fill = start.clone();
        let mut positions = vec![0usize; start[vocab]];
        for (j, &id) in ids.iter().enumerate() {
            if id == ABSENT || id as usize >= vocab {
                continue;
            }
            let id = id as usize;
            match row_of[id] {
                NO_ROW => {
                    positions[fill[id]] = j;
                    fill[id] += 1;
                }
                r => rows[r as usize * words + j / 64] |= 1u64 << (j % 64),
            }
        }
        Pattern {
            len,
            words,
            kind: Kind::Multi {
                row_of,
                rows,
                start,
                positions,
            },
        }
    }

    /// Length of the pattern.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// LCS length of the pattern and `text` (ids in the same vocabulary;
    /// [`ABSENT`] and out-of-vocabulary ids never match).
    pub(crate) fn lcs<I: IntoIterator<Item = u32>>(&self, text: I) -> usize {
        if self.len == 0 {
            return 0;
        }
        match &self.kind {
            Kind::Single(masks) => {
                let mut v = !0u64;
                for t in text {
                    if let Some(&m) = masks.get(t as usize) {
                        let u = v & m;
                        v = v.wrapping_add(u) | (v & !m);
                    }
                }
                let low = if self.len == 64 {
                    !0u64
                } else {
                    (1u64 << self.len) - 1
                };
                self.len - (v & low).count_ones() as usize
            }
            Kind::Multi {
                row_of,
                rows,
                start,
                positions,
            } => {
                let words = self.words;
                let mut v = vec![!0u64; words];
                let mut scratch = vec![0u64; words];
                for t in text {
                    let t = t as usize;
                    let Some(&row) = row_of.get(t) else { continue };
                    if row != NO_ROW {
                        let r = row as usize * words;
                        step(&mut v, &rows[r..r + words]);
                    } else {
                        let occ = &positions[start[t]..start[t + 1]];
                        if occ.is_empty() {
                            continue;
                        }
                        for &j in occ {
                            scratch[j / 64] |= 1u64 << (j % 64);
                        }
                        step(&mut v, &scratch);
                        for &j in occ {
                            scratch[j / 64] = 0;
                        }
                    }
                }
                let full = self.len / 64;
                let mut ones: usize = v[..full].iter().map(|w| w.count_ones() as usize).sum();
                let rest = self.len % 64;
                if rest != 0 {
                    ones += (v[full] & ((1u64 << rest) - 1)).count_ones() as usize;
                }
                self.len - ones
            }
        }
    }
}

/// [`Pattern::lcs`] for a pattern of at most 64 ids, with this thread's mask buffer (the
/// common case, sentence-sized texts: no allocation once warm). Only the masks of the
/// pattern's ids are set and cleared again, not the whole vocabulary.
pub(crate) fn lcs_one_word(pattern: &[u32], text: &[u32], vocab: usize) -> usize {
    use std::cell::Cell;
    thread_local! {
        static MASKS: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
    }
    debug_assert!(pattern.len() <= 64);
    if pattern.is_empty() {
        return 0;
    }
    let mut masks = MASKS.try_with(Cell::take).unwrap_or_default();
    if masks.len() < vocab {
        masks.resize(vocab, 0);
    }
    for (j, &id) in pattern.iter().enumerate() {
        if let Some(m) = masks.get_mut(id as usize) {
            *m |= 1u64 << j;
        }
    }
    let mut v = !0u64;
    for &t in text {
        if let Some(&m) = masks.get(t as usize) {
            let u = v & m;
            v = v.wrapping_add(u) | (v & !m);
        }
    }
    for &id in pattern {
        if let Some(m) = masks.get_mut(id as usize) {
            *m = 0;
        }
    }
    let len = pattern.len();
    let low = if len == 64 { !0u64 } else { (1u64 << len) - 1 };
    // Keep the buffer unless a huge vocabulary made it large.
    if masks.len() <= 1 << 16 {
        let _ = MASKS.try_with(|c| c.set(masks));
    }
    len - (v & low).count_ones() as usize
}

/// One Hyyrö step over multi-word vectors: `V = (V + (V & M)) | (V & !M)`
/// with the carry of the addition propagated from low to high words.
#[inline]
fn step(v: &mut [u64], m: &[u64]) {
    let mut carry = 0u64;
    for (vw, &mw) in v.iter_mut().zip(m) {
        let u = *vw & mw;
        let (s1, c1) = vw.overflowing_add(u);
        let (s2, c2) = s1.overflowing_add(carry);
        carry = u64::from(c1 | c2);
        *vw = s2 | (*vw & !mw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rouge-score's `_lcs_table` recurrence.
    fn lcs_dp(a: &[u32], b: &[u32]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] && a[i - 1] != ABSENT {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    #[test]
    fn matches_dp_across_word_boundaries() {
        // Deterministic pseudo-random sequences over small alphabets, lengths
        // around the 64-bit word boundaries and the dense/sparse threshold.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |k: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % k) as u32
        };
        for &(m, n, sigma) in &[
            (1, 1, 2),
            (63, 70, 3),
            (64, 64, 4),
            (65, 40, 2),
            (130, 200, 5),
            (300, 90, 40),
            (700, 650, 300),
            (1000, 30, 7),
        ] {
            let a: Vec<u32> = (0..m).map(|_| next(sigma)).collect();
            let b: Vec<u32> = (0..n)
                .map(|_| {
                    let x = next(sigma + 1);
                    if x == sigma as u32 {
                        ABSENT
                    } else {
                        x
                    }
                })
                .collect();
            let p = Pattern::new(&a, sigma as usize);
            assert_eq!(p.lcs(b.iter().copied()), lcs_dp(&a, &b), "m={m} n={n}");
        }
    }

    #[test]
    fn one_word_path_matches_dp() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |k: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % k) as u32
        };
        for round in 0..500u64 {
            let sigma = 1 + round % 9;
            let (m, n) = (1 + (round % 64) as usize, (round * 7 % 90) as usize);
            let a: Vec<u32> = (0..m).map(|_| next(sigma)).collect();
            let b: Vec<u32> = (0..n)
                .map(|_| match next(sigma + 1) {
                    x if x == sigma as u32 => ABSENT,
                    x => x,
                })
                .collect();
            assert_eq!(
                lcs_one_word(&a, &b, sigma as usize),
                lcs_dp(&a, &b),
                "{a:?} {b:?}"
            );
        }
        assert_eq!(lcs_one_word(&[], &[1], 2), 0);
    }

    #[test]
    fn empty_sides() {
        assert_eq!(Pattern::new(&[], 0).lcs([1, 2, 3]), 0);
        assert_eq!(Pattern::new(&[0, 1], 2).lcs([]), 0);
    }
}
