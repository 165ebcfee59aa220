//! "One text's words are a subsequence of the other's", decided without splitting or sorting.
//!
//! Then the first text's word set is a subset of the second's (with a common word when the
//! first has a word), so the token ratio is 100 whatever its cutoff — WRatio's lazy step 3
//! returns 95 without the set decomposition. Near-duplicate texts of lengths ≥ 5 % apart are
//! mostly that: one text with words inserted or left out.
//!
//! The greedy test (each word of the longer text matches the next unmatched word of the
//! shorter if equal, else is skipped) decides it exactly. Here it runs on the texts
//! themselves: equal stretches are compared sixteen code points at a time
//! (`indel::common_prefix`), and within one every word of the shorter text that ends before
//! the stretch does is matched (the same code points make the same words); only around a
//! difference are the words found. A subsequence skips exactly the non-space code points by
//! which the longer text exceeds the shorter, so the test stops as soon as it has skipped
//! more.

use super::words::is_space;
use crate::fuzzy::indel::common_prefix;

/// Words of the longer text the test skips before it gives up (answers `false`, which the
/// caller takes as "not decided"): texts of inserted words skip a few; texts that are not
/// subsets would otherwise be walked to the end of their budget.
const MAX_SKIPS: usize = 12;

/// Whether the words of one of `s1`, `s2` (split as rapidfuzz splits them, `narrow` choosing
/// its `is_space`) are a non-empty subsequence of the other's. `false` may also mean "not
/// decided" (the two texts split differently, one narrow and one wide, or more than
/// [`MAX_SKIPS`] words skipped).
pub(crate) fn words_subsequence(s1: &[u32], n1: bool, s2: &[u32], n2: bool) -> bool {
    if n1 != n2 {
        return false;
    }
    let (c1, c2) = (non_space(s1, n1), non_space(s2, n1));
    let (x, y, budget) = if c1 <= c2 {
        (s1, s2, c2 - c1)
    } else {
        (s2, s1, c1 - c2)
    };
    if n1 {
        subsequence::<true>(x, y, budget)
    } else {
        subsequence::<false>(x, y, budget)
    }
}

/// `is_space(c, NARROW)`, the narrow one as two range tests.
#[inline(always)]
fn sp<const NARROW: bool>(c: u32) -> bool {
    if NARROW {
        c.wrapping_sub(0x09) < 5 || c.wrapping_sub(0x1C) < 5
    } else {
        is_space(c, false)
    }
}

/// Code points of `s` that are not spaces.
fn non_space(s: &[u32], narrow: bool) -> usize {
    if narrow {
        // `default_process` leaves no code point below 0x20, so its spaces are the code points
        // ≤ 0x20: counted with that below 0x20 in one pass of two signed compares (code points
        // are below 2³¹; a larger `u32` reads as negative, is counted below 0x20 and takes the
        // exact count)
        let (upto, below) = s.iter().fold((0u32, 0u32), |(upto, below), &c| {
            let c = c as i32;
            (upto + u32::from(c <= 0x20), below + u32::from(c < 0x20))
        });
        if below == 0 {
            return s.len() - upto as usize;
        }
        // the narrow spaces are 0x09..=0x0D and 0x1C..=0x20: two disjoint range tests added,
        // no short circuit (the count vectorizes)
        let spaces: u32 = s
            .iter()
            .map(|&c| u32::from(c.wrapping_sub(0x09) < 5) + u32::from(c.wrapping_sub(0x1C) < 5))
            .sum();
        s.len() - spaces as usize
    } else {
        s.iter().filter(|&&c| !is_space(c, false)).count()
    }
}

/// First position from `k` on that is not a space (or the end).
#[inline]
fn skip_spaces<const NARROW: bool>(s: &[u32], mut k: usize) -> usize {
    while s.get(k).is_some_and(|&c| sp::<NARROW>(c)) {
        k += 1;
    }
    k
}

/// First position from `k` on that is a space (or the end).
#[inline]
fn word_end<const NARROW: bool>(s: &[u32], mut k: usize) -> usize {
    while s.get(k).is_some_and(|&c| !sp::<NARROW>(c)) {
        k += 1;
    }
    k
}

/// Whether the words of `x` are a non-empty subsequence of those of `y`, where `y` has
/// `budget` more non-space code points than `x`.
fn subsequence<const NARROW: bool>(x: &[u32], y: &[u32], mut budget: usize) -> bool {
    let space = |s: &[u32], k: usize| s.get(k).is_none_or(|&c| sp::<NARROW>(c));
    let mut i = skip_spaces::<NARROW>(x, 0);
    let mut j = skip_spaces::<NARROW>(y, 0);
    if i == x.len() {
        return false; // no word: no common word
    }
    let mut skips = 0;
    // i and j are word starts (or the ends)
    loop {
        if i == x.len() {
            return true;
        }
        if j == y.len() {
            return false;
        }
        let (rx, ry) = (
            x.get(i..).unwrap_or_default(),
            y.get(j..).unwrap_or_default(),
        );
        // a stretch of equal code points, most often none after a skipped word
        let run = if rx.first() == ry.first() {
            common_prefix(rx, ry)
        } else {
            0
        };
        let (p, q) = (i + run, j + run);
        // start of the word of `x` in progress at `p`: after the last space before it
        let mut s = p;
        while s > i && !space(x, s - 1) {
            s -= 1;
        }
        let (sx, sy) = (space(x, p), space(y, q));
        // No word of `x` in progress at `p` (all of the stretch's words matched) and one side
        // at a space or end: the other one has more spaces there. Or the word in progress
        // ends at the same place in both: matched too.
        if (s == p && (sx || sy)) || (sx && sy) {
            i = skip_spaces::<NARROW>(x, p);
            j = skip_spaces::<NARROW>(y, q);
            continue;
        }
        // The word of `x` starting at `s` differs from the word of `y` at the same offset:
        // that word of `y` is skipped.
        let t = j + (s - i);
        let end = word_end::<NARROW>(y, q);
        let Some(left) = budget.checked_sub(end - t) else {
            return false;
        };
        budget = left;
        skips += 1;
        if skips > MAX_SKIPS {
            return false; // undecided: the set decomposition decides
        }
        i = s;
        j = skip_spaces::<NARROW>(y, end);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn words(s: &[u32], narrow: bool) -> Vec<&[u32]> {
        s.split(|&c| is_space(c, narrow))
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// The greedy test on split words, and the words of `y` it skips.
    fn plain(x: &[u32], y: &[u32], narrow: bool) -> (bool, usize) {
        let (wx, wy) = (words(x, narrow), words(y, narrow));
        let (mut i, mut skips) = (0, 0);
        for w in &wy {
            if wx.get(i) == Some(w) {
                i += 1;
            } else if i < wx.len() {
                skips += 1;
            }
        }
        (!wx.is_empty() && i == wx.len(), skips)
    }

    /// What [`words_subsequence`] answers: the plain test, capped at [`MAX_SKIPS`] (in the
    /// direction of fewer non-space code points, or either when the counts are equal).
    fn want(a: &[u32], b: &[u32], narrow: bool) -> bool {
        let (ca, cb) = (non_space(a, narrow), non_space(b, narrow));
        let ok = |(yes, skips): (bool, usize)| yes && skips <= MAX_SKIPS;
        match ca.cmp(&cb) {
            std::cmp::Ordering::Less => ok(plain(a, b, narrow)),
            std::cmp::Ordering::Greater => ok(plain(b, a, narrow)),
            std::cmp::Ordering::Equal => ok(plain(a, b, narrow)) || ok(plain(b, a, narrow)),
        }
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// The non-space count equals a count by `is_space`, narrow and wide: processed text
    /// (nothing below 0x20), every narrow space among other code points, any `u32`.
    #[test]
    fn non_space_counts_by_is_space() {
        let mut seed = 43u64;
        let pools: [&[u32]; 4] = [
            &[0x20, 97, 0x30, 0xE9, 0x7A],
            &[
                0x09, 0x0D, 0x0E, 0x1B, 0x1C, 0x1F, 0x20, 0x21, 0x08, 97, 0x85, 0xA0,
            ],
            &[0x20, 97, 0x8000_0000, 0xFFFF_FFFF, 0x4E2D, 0x0A],
            &[0x20, 0x00, 0x01, 97, 0xFF],
        ];
        for round in 0..20_000 {
            let pool = pools[round % pools.len()];
            let len = lcg(&mut seed) as usize % 70;
            let s: Vec<u32> = (0..len)
                .map(|_| pool[lcg(&mut seed) as usize % pool.len()])
                .collect();
            for narrow in [true, false] {
                let want = s.iter().filter(|&&c| !is_space(c, narrow)).count();
                assert_eq!(non_space(&s, narrow), want, "{s:?} {narrow}");
            }
        }
    }

    /// Against splitting and a plain greedy test, both directions: a text and a copy with
    /// words inserted, removed, changed or moved, runs of mixed spaces (tabs, U+001C..U+001F,
    /// U+0085 / U+00A0 which only wide texts split on), words that are prefixes of others,
    /// empty and all-space sides, wide code points.
    #[test]
    fn equals_splitting_and_a_plain_test() {
        let mut seed = 41u64;
        let vocab: [&[u32]; 10] = [
            &[97],
            &[97, 98],
            &[97, 98, 99],
            &[98],
            &[99, 97, 116],
            &[0xE9, 116, 0xE9],
            &[0x4E2D],
            &[97, 0xA0, 98],
            &[97, 0x85],
            &[
                120, 121, 122, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
            ],
        ];
        let spaces: [&[u32]; 5] = [&[0x20], &[0x20, 0x20], &[0x09], &[0x1C, 0x20], &[0xA0]];
        let (mut yes, mut no, mut capped) = (0, 0, 0);
        for round in 0..20000 {
            let n = lcg(&mut seed) as usize % if round % 5 == 0 { 60 } else { 12 };
            let mut ws: Vec<usize> = (0..n)
                .map(|_| lcg(&mut seed) as usize % vocab.len())
                .collect();
            let mut other = ws.clone();
            // a few edits, or many (past `MAX_SKIPS` inserted words)
            let edits = lcg(&mut seed) % if round % 7 == 0 { 40 } else { 5 };
            for _ in 0..edits {
                let at = lcg(&mut seed) as usize % (other.len() + 1);
                // (only insertions when many: supersets)
                let op = if round % 7 == 0 {
                    3
                } else {
                    lcg(&mut seed) % 4
                };
                match op {
                    0 if at < other.len() => {
                        other.remove(at);
                    }
                    1 if at < other.len() => other[at] = lcg(&mut seed) as usize % vocab.len(),
                    2 if at < other.len() => {
                        let w = other.remove(at);
                        ws.push(w);
                    }
                    _ => other.insert(at, lcg(&mut seed) as usize % vocab.len()),
                }
            }
            let mut text = |ids: &[usize]| {
                let mut t: Vec<u32> = Vec::new();
                if lcg(&mut seed).is_multiple_of(4) {
                    t.push(0x20);
                }
                for (k, &w) in ids.iter().enumerate() {
                    if k > 0 {
                        let sp = spaces[lcg(&mut seed) as usize % spaces.len()];
                        t.extend_from_slice(sp);
                    }
                    t.extend_from_slice(vocab[w]);
                }
                if lcg(&mut seed).is_multiple_of(4) {
                    t.push(0x09);
                }
                t
            };
            let (a, b) = (text(&ws), text(&other));
            for narrow in [true, false] {
                let (full, _) = plain(&a, &b, narrow);
                let full = full || plain(&b, &a, narrow).0;
                let want = want(&a, &b, narrow);
                assert!(full || !want);
                capped += usize::from(full && !want);
                assert_eq!(
                    words_subsequence(&a, narrow, &b, narrow),
                    want,
                    "{a:?} {b:?} {narrow}"
                );
                assert_eq!(words_subsequence(&b, narrow, &a, narrow), want);
                if want {
                    yes += 1;
                } else {
                    no += 1;
                }
            }
            assert!(!words_subsequence(&a, true, &b, false));
        }
        assert!(
            yes > 5000 && no > 5000 && capped > 100,
            "{yes} {no} {capped}"
        );
    }
}
