//! `fuzz.partial_ratio`: the best `ratio` of the shorter string against parts of the longer.
//!
//! rapidfuzz-cpp 3.1.1 (`fuzz_impl.hpp`, vendored by rapidfuzz 3.10.1) scores the needle `a`
//! (|a| = m ≤ |b| = n) against three families of substrings of `b` and keeps the best:
//!
//! * every full-length window `b[i..i+m]`;
//! * every prefix `b[..k]` and suffix `b[n−k..]` with k < m (it skips those whose last/first
//!   character is not in `a`; a skipped one never beats its one-shorter neighbour, so the
//!   maximum is unchanged);
//! * when |a| = |b|, the same again with the roles swapped.
//!
//! Every candidate is `ratio(a, window)` = `(1 − (m + w − 2·LCS)/(m + w))·100`, computed in that
//! float order; a best score below `score_cutoff` gives 0. rapidfuzz finds the best full
//! window by bisection over window starts with a bound (moving a window by one changes its LCS
//! by at most one); that search returns the exact optimum, so any exact method gives the same
//! number. We use the same idea, best-first with a tighter bound, and fall back to Tiskin's
//! seaweed algorithm when the bisection stops pruning.
//!
//! Complexity (m = needle, n = haystack, w = 64):
//! * prefixes and suffixes: two bit-parallel LCS passes, O(m·⌈m/w⌉);
//! * full windows: the best-first window search costs O(m·⌈m/w⌉) per window it evaluates.
//!   Similar texts prune almost every window; unrelated texts prune almost none (every window
//!   scores about the same), which is where rapidfuzz goes O((n−m)·m·⌈m/w⌉). When scanning
//!   every window would cost more than seaweed combing and half of that price is spent, we
//!   switch to the seaweed algorithm: O(m·n) simple steps for all windows at once, O(n) memory.
//!
//! So partial_ratio is O(m·n) in the worst case — not O(m·n/w) like `ratio`: we know of no
//! bit-parallel semi-local LCS for general alphabets, and this is the one quadratic-with-no-64
//! part of WRatio (reached only when the lengths differ by ≥ 1.5×). Measured (process CPU,
//! shared 2-core VM, random 26-letter texts; rapidfuzz 3.10.1 in brackets): 1,000 vs 3,000
//! code points 10 ms unrelated / 0.7 ms similar (35 ms); 5,000 vs 12,000: 0.2 s / 13 ms
//! (4.2 s); 20,000 vs 50,000: 3.5 s / 0.35 s. A 1 MB needle in a 1.5 MB text that share
//! nothing would take on the order of an hour: bounded, but callers that accept arbitrary
//! sizes should cap them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::indel::PatternMatch;

/// Score of a needle of length `m` against a window of length `w` with `lcs` common characters.
#[inline]
fn window_score(m: usize, w: usize, lcs: usize) -> f64 {
    let lensum = m + w;
    let dist = lensum - 2 * lcs;
    (1.0 - dist as f64 / lensum as f64) * 100.0
}

/// `fuzz.partial_ratio` on code points (0–100, `score_cutoff` on the same scale).
pub(crate) fn partial_ratio(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
    let (a, b) = if s1.len() <= s2.len() {
        (s1, s2)
    } else {
        (s2, s1)
    };
    if score_cutoff > 100.0 {
        return 0.0;
    }
    if a.is_empty() || b.is_empty() {
        return if a.len() == b.len() { 100.0 } else { 0.0 };
    }
    let mut best = best_against(a, b, score_cutoff);
    if best != 100.0 && a.len() == b.len() {
        best = best.max(best_against(b, a, score_cutoff));
    }
    if best >= score_cutoff {
        best
    } else {
        0.0
    }
}

/// Best candidate score of needle `a` (non-empty) against `b` (|b| ≥ |a|) when it is at
/// least `score_cutoff`; otherwise some score below it. The cutoff only skips candidates
/// that cannot reach it: full windows with an LCS under `cutoff · m / 100` (the window
/// search starts from that floor), prefixes and suffixes shorter than
/// `cutoff · m / (200 − cutoff)` (a window of k code points scores at most
/// `200·k / (m + k)`; the profile still scans them, without counting).
fn best_against(a: &[u32], b: &[u32], score_cutoff: f64) -> f64 {
    let m = a.len();
    let n = b.len();
    let pm = PatternMatch::new(a);
    let mut best = 0.0f64;
    let cutoff = score_cutoff.clamp(0.0, 100.0);
    // 1e-9 of slack: a window exactly at the cutoff must still be scored
    let floor = ((cutoff * m as f64 / 100.0 - 1e-9).ceil().max(1.0) as usize - 1).min(m);
    let shortest = ((cutoff * m as f64 / (200.0 - cutoff) - 1e-9)
        .ceil()
        .max(1.0) as usize)
        .min(m);

    // full windows b[i..i+m], i in 0..=n-m
    let best_lcs = best_window_lcs(&pm, a, b, floor);
    best = best.max(window_score(m, m, best_lcs));
    if best == 100.0 {
        return best;
    }
    if shortest >= m {
        return best;
    }

    // prefixes b[..k], k < m
    let head = &b[..m - 1];
    pm.lcs_profile_from(head, shortest, |k, l| {
        best = best.max(window_score(m, k, l));
    });

    // suffixes b[n-k..], k < m: prefixes of the reversed tail against the reversed needle
    let rev_a: Vec<u32> = a.iter().rev().copied().collect();
    let rev_tail: Vec<u32> = b[n - (m - 1)..].iter().rev().copied().collect();
    PatternMatch::new(&rev_a).lcs_profile_from(&rev_tail, shortest, |k, l| {
        best = best.max(window_score(m, k, l));
    });
    best
}

/// Largest LCS of `a` with any window `b[i..i+m]`, or `floor` when none is larger.
fn best_window_lcs(pm: &PatternMatch, a: &[u32], b: &[u32], floor: usize) -> usize {
    let m = a.len();
    let n = b.len();
    let last = n - m;
    let eval = |i: usize| pm.lcs(&b[i..i + m]);
    let first_lcs = eval(0);
    if last == 0 || first_lcs == m {
        return first_lcs;
    }
    let last_lcs = eval(last);
    let mut best = first_lcs.max(last_lcs).max(floor);

    // Work budget before switching to the seaweed algorithm, in bit-parallel word steps (one
    // seaweed cell measured ~1.5 word steps). Scanning every window costs windows · cost; when
    // that is below the seaweed's price (always for needles of ≤ 64 code points) never switch,
    // otherwise switch once half the seaweed's price is spent without finishing.
    let cost = m.div_ceil(64) * m;
    let seaweed_cost = m.saturating_mul(n).saturating_mul(3) / 2;
    let budget = if (last + 1).saturating_mul(cost) <= seaweed_cost {
        usize::MAX
    } else {
        seaweed_cost / 2
    };
    let mut spent = 2 * cost;

    // Best-first search over intervals (lo, hi) of window starts whose ends are evaluated.
    // With deficits e = m − LCS, e changes by ≤ 1 per shift, so inside (lo, hi) of width d,
    // e ≥ ⌈(e_lo + e_hi − d)/2⌉; an interval whose bound cannot beat `best` is dropped.
    let mut heap: BinaryHeap<(Reverse<isize>, usize, usize, usize, usize)> = BinaryHeap::new();
    let push = |heap: &mut BinaryHeap<_>, lo: usize, e_lo: usize, hi: usize, e_hi: usize| {
        if hi - lo > 1 {
            let bound = (e_lo as isize + e_hi as isize - (hi - lo) as isize + 1).div_euclid(2);
            heap.push((Reverse(bound), lo, e_lo, hi, e_hi));
        }
    };
    push(&mut heap, 0, m - first_lcs, last, m - last_lcs);
    while let Some((Reverse(bound), lo, e_lo, hi, e_hi)) = heap.pop() {
        if bound >= (m - best) as isize {
            break; // best-first: no remaining interval can improve
        }
        if spent > budget {
            return seaweed_best_window(a, b);
        }
        let mid = lo + (hi - lo) / 2;
        let l = eval(mid);
        spent += cost;
        if l > best {
            best = l;
            if best == m {
                return best;
            }
        }
        push(&mut heap, lo, e_lo, mid, m - l);
        push(&mut heap, mid, m - l, hi, e_hi);
    }
    best
}

/// Seaweed combing of `a` (rows) against `b` (columns); returns, for each bottom column t, the
/// label of the seaweed leaving there (top seaweeds are labelled by their column, left ones
/// negative). On a match, or when the two seaweeds crossed already, they swap.
///
/// Each row is one long dependency chain (the seaweed travelling along it), so rows are combed
/// four at a time in a wavefront — row r+1 one column behind row r — giving the CPU four
/// independent chains. Same cells, same order per column, same result.
fn comb<T: Label>(a: &[u32], b: &[u32]) -> Vec<T> {
    const K: usize = 4;
    let n = b.len();
    let mut v: Vec<T> = (0..n).map(T::from_index).collect();
    #[inline(always)]
    fn cell<T: Label>(ca: u32, cb: u32, cur: &mut T, vj: &mut T) {
        let (c, other) = (*cur, *vj);
        let swap = (ca == cb) | (c > other);
        *vj = if swap { c } else { other };
        *cur = if swap { other } else { c };
    }
    let mut rows = a.chunks_exact(K);
    let mut i = 0;
    for ca in rows.by_ref() {
        let mut cur = [T::left(i), T::left(i + 1), T::left(i + 2), T::left(i + 3)];
        // step t: row r combs column t − r
        let checked = |t: usize, cur: &mut [T; K], v: &mut [T]| {
            for r in 0..K {
                if t >= r && t - r < n {
                    cell(ca[r], b[t - r], &mut cur[r], &mut v[t - r]);
                }
            }
        };
        let head = (K - 1).min(n + K - 1);
        for t in 0..head {
            checked(t, &mut cur, &mut v);
        }
        for t in K - 1..n {
            let cols = &mut v[t + 1 - K..=t];
            let bs = &b[t + 1 - K..=t];
            cell(ca[0], bs[3], &mut cur[0], &mut cols[3]);
            cell(ca[1], bs[2], &mut cur[1], &mut cols[2]);
            cell(ca[2], bs[1], &mut cur[2], &mut cols[1]);
            cell(ca[3], bs[0], &mut cur[3], &mut cols[0]);
        }
        for t in n.max(K - 1)..n + K - 1 {
            checked(t, &mut cur, &mut v);
        }
        i += K;
    }
    for &ca in rows.remainder() {
        let mut cur = T::left(i);
        for (&cb, vj) in b.iter().zip(v.iter_mut()) {
            cell(ca, cb, &mut cur, vj);
        }
        i += 1;
    }
    v
}

trait Label: Copy + Ord {
    fn from_index(j: usize) -> Self;
    fn left(i: usize) -> Self;
}

impl Label for i32 {
    fn from_index(j: usize) -> Self {
        j as i32
    }
    fn left(i: usize) -> Self {
        -(i as i32) - 1
    }
}

impl Label for i64 {
    fn from_index(j: usize) -> Self {
        j as i64
    }
    fn left(i: usize) -> Self {
        -(i as i64) - 1
    }
}

/// Largest LCS of `a` with any window `b[i..i+|a|]`, by seaweed combing (Tiskin, "Semi-local
/// string comparison", 2008): O(|a|·|b|) time, O(|a|+|b|) space.
///
/// Seaweeds enter from the left of every row (labels −1, −2, …) and from the top of every
/// column (label = column). At a matching cell the two seaweeds meeting there turn (swap);
/// elsewhere they cross unless they crossed before (labels already inverted). Afterwards
/// `V[t]` is the seaweed leaving the bottom at column t, and for any l ≤ r,
/// `LCS(a, b[l..r]) = (r − l) − #{t < r : V[t] ≥ l}`.
pub(crate) fn seaweed_best_window(a: &[u32], b: &[u32]) -> usize {
    let m = a.len();
    let n = b.len();
    if m == 0 || m > n {
        return 0;
    }
    // labels fit in i32 for anything below 2^31 code points; i64 beyond (never in practice)
    let v: Vec<i64> = if n < i32::MAX as usize && m < i32::MAX as usize {
        comb::<i32>(a, b).into_iter().map(i64::from).collect()
    } else {
        comb::<i64>(a, b)
    };
    // For window start i (0 ≤ i ≤ n−m), count(i) = #{t : V[t] ≥ i, t < i+m}. A seaweed from
    // column s ≥ 0 ending at t counts for i in (t−m, s]: accumulate with a difference array.
    let last = n - m;
    let mut diff = vec![0i64; last + 2];
    for (t, &s) in v.iter().enumerate() {
        if s < 0 {
            continue;
        }
        let lo = (t + 1).saturating_sub(m);
        let hi = (s as usize).min(last);
        if lo <= hi {
            diff[lo] += 1;
            diff[hi + 1] -= 1;
        }
    }
    let mut count = 0i64;
    let mut best_count = i64::MAX;
    for d in diff.iter().take(last + 1) {
        count += d;
        best_count = best_count.min(count);
    }
    m - best_count.clamp(0, m as i64) as usize
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fuzzy::indel::lcs;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    fn brute(a: &[u32], b: &[u32]) -> f64 {
        let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        let one = |a: &[u32], b: &[u32]| {
            let m = a.len();
            let n = b.len();
            let mut best = 0.0f64;
            for i in 0..=n - m {
                best = best.max(window_score(m, m, lcs(a, &b[i..i + m])));
            }
            for k in 1..m {
                best = best.max(window_score(m, k, lcs(a, &b[..k])));
                best = best.max(window_score(m, k, lcs(a, &b[n - k..])));
            }
            best
        };
        let mut best = one(a, b);
        if a.len() == b.len() {
            best = best.max(one(b, a));
        }
        best
    }

    fn next_down(x: f64) -> f64 {
        if x > 0.0 {
            f64::from_bits(x.to_bits() - 1)
        } else {
            x
        }
    }

    /// Needles of 2–4 mask words (the fixed-width profiles), related to the haystack or
    /// not, at cutoffs around the score.
    #[test]
    fn long_needles_with_cutoffs_are_exact() {
        let mut seed = 13;
        for round in 0..80 {
            let k = 2 + round % 4;
            let la = 65 + (lcg(&mut seed) % 190) as usize;
            let lb = la + 1 + (lcg(&mut seed) % 90) as usize;
            let b: Vec<u32> = (0..lb).map(|_| 97 + (lcg(&mut seed) % k) as u32).collect();
            let a: Vec<u32> = if round % 2 == 0 {
                let at = (lcg(&mut seed) as usize) % (lb - la + 1);
                let mut piece = b[at..at + la].to_vec();
                for _ in 0..lcg(&mut seed) % 4 {
                    let i = (lcg(&mut seed) as usize) % la;
                    piece[i] = 97 + (lcg(&mut seed) % (k + 1)) as u32;
                }
                piece
            } else {
                (0..la).map(|_| 97 + (lcg(&mut seed) % k) as u32).collect()
            };
            let want = brute(&a, &b);
            assert_eq!(partial_ratio(&a, &b, 0.0), want);
            for cutoff in [want, next_down(want), want + 1e-7, 50.0, 90.0, 95.0] {
                let expect = if want >= cutoff { want } else { 0.0 };
                assert_eq!(partial_ratio(&a, &b, cutoff), expect, "{round} {cutoff}");
            }
        }
    }

    #[test]
    fn window_search_and_seaweed_are_exact() {
        let mut seed = 11;
        for round in 0..1500 {
            let k = 2 + round % 5;
            let la = 1 + (lcg(&mut seed) % 30) as usize;
            let lb = la + (lcg(&mut seed) % 80) as usize;
            let a: Vec<u32> = (0..la).map(|_| 97 + (lcg(&mut seed) % k) as u32).collect();
            let b: Vec<u32> = (0..lb).map(|_| 97 + (lcg(&mut seed) % k) as u32).collect();
            // every other round the needle is a (lightly edited) piece of the haystack
            let a: Vec<u32> = if round % 2 == 0 && lb > la {
                let at = (lcg(&mut seed) as usize) % (lb - la + 1);
                let mut piece = b[at..at + la].to_vec();
                let i = (lcg(&mut seed) as usize) % la;
                piece[i] = 97 + (lcg(&mut seed) % k) as u32;
                piece
            } else {
                a
            };
            let pm = PatternMatch::new(&a);
            let want = (0..=lb - la).map(|i| lcs(&a, &b[i..i + la])).max().unwrap();
            assert_eq!(best_window_lcs(&pm, &a, &b, 0), want);
            assert_eq!(seaweed_best_window(&a, &b), want);
            let want = brute(&a, &b);
            assert_eq!(partial_ratio(&a, &b, 0.0), want);
            assert_eq!(partial_ratio(&b, &a, 0.0), want);
            // with a cutoff: the same score at or above it, 0 below it
            let near = [want, want - 1e-7, want + 1e-7, next_down(want)];
            for cutoff in near.into_iter().chain([30.0, 60.0, 90.0, 95.0, 100.0]) {
                let expect = if want >= cutoff { want } else { 0.0 };
                assert_eq!(
                    partial_ratio(&a, &b, cutoff),
                    expect,
                    "{a:?} {b:?} {cutoff}"
                );
                assert_eq!(
                    partial_ratio(&b, &a, cutoff),
                    expect,
                    "{a:?} {b:?} {cutoff}"
                );
            }
        }
    }
}
