//! Tests of the bit-parallel LCS against the DP, the narrow and compact layouts, the affix
//! scan and rapidfuzz's similarity values.

#![allow(clippy::unwrap_used)]

use super::*;

fn naive_lcs(a: &[u32], b: &[u32]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    for &x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        prev = cur;
    }
    prev[b.len()]
}

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn bit_parallel_matches_dp() {
    let mut seed = 7;
    let alphabet = [97u32, 98, 99, 0x4E2D, 0x1F642, 300];
    for round in 0..400 {
        let la = (lcg(&mut seed) % if round % 4 == 0 { 200 } else { 20 }) as usize;
        let lb = (lcg(&mut seed) % 200) as usize;
        let a: Vec<u32> = (0..la)
            .map(|_| alphabet[(lcg(&mut seed) % 6) as usize])
            .collect();
        let b: Vec<u32> = (0..lb)
            .map(|_| alphabet[(lcg(&mut seed) % 6) as usize])
            .collect();
        assert_eq!(lcs(&a, &b), naive_lcs(&a, &b), "{a:?} {b:?}");
        if !a.is_empty() {
            let pm = PatternMatch::new(&a);
            pm.lcs_profile(&b, |k, l| assert_eq!(l, naive_lcs(&a, &b[..k])));
        }
    }
}

/// One reused `PatternMatch` across narrow and wide patterns of many lengths (the narrow
/// layout, its row clearing when the width changes, the switch to the compact layout and
/// back, and patterns past `NARROW_MAX`) always gives the LCS of the DP.
#[test]
fn reused_masks_across_layouts_match_dp() {
    let mut seed = 99;
    let mut pm = PatternMatch::new(&[]);
    for round in 0..300 {
        let wide = round % 3 == 0;
        let m = match round % 7 {
            0 => 1 + (lcg(&mut seed) % 64) as usize,
            1 => NARROW_MAX + (lcg(&mut seed) % 100) as usize,
            2 => 60 + (lcg(&mut seed) % 200) as usize,
            _ => 1 + (lcg(&mut seed) % 400) as usize,
        };
        let n = (lcg(&mut seed) % 300) as usize;
        let pick = |seed: &mut u64| {
            let c = 97 + (lcg(seed) % 6) as u32;
            if wide && lcg(seed).is_multiple_of(5) {
                0x4E2D
            } else if lcg(seed).is_multiple_of(7) {
                255
            } else {
                c
            }
        };
        let a: Vec<u32> = (0..m).map(|_| pick(&mut seed)).collect();
        let b: Vec<u32> = (0..n).map(|_| pick(&mut seed)).collect();
        pm.rebuild(&a);
        assert_eq!(pm.lcs(&b), naive_lcs(&a, &b), "round {round}");
    }
}

/// Narrow patterns whose code points span a small range (the rows cover only the AND to
/// the OR of the pattern) against texts with code points below, inside and above that
/// range, and wide ones: the LCS and its profile equal the DP.
#[test]
fn narrow_row_range_matches_dp() {
    let mut seed = 5;
    let pool = [
        0x20u32, 0x30, 0x61, 0x62, 0x63, 0x7A, 0x7F, 0xE9, 0xFF, 0x1F, 0, 0x4E2D,
    ];
    let mut pm = PatternMatch::new(&[]);
    for round in 0..2000 {
        let k = 1 + round % pool.len();
        let lo = (lcg(&mut seed) as usize) % (pool.len() - k + 1);
        let sub = &pool[lo..lo + k];
        let m = 1 + (lcg(&mut seed) % 140) as usize;
        let n = (lcg(&mut seed) % 160) as usize;
        let a: Vec<u32> = (0..m)
            .map(|_| sub[(lcg(&mut seed) as usize) % sub.len()])
            .collect();
        let b: Vec<u32> = (0..n)
            .map(|_| pool[(lcg(&mut seed) as usize) % pool.len()])
            .collect();
        pm.rebuild(&a);
        assert_eq!(pm.lcs(&b), naive_lcs(&a, &b), "{a:?} {b:?}");
        pm.lcs_profile(&b, |k, l| assert_eq!(l, naive_lcs(&a, &b[..k])));
    }
}

/// The chunked affix scan equals a scan one code point at a time, mismatches at every
/// offset around the chunk edges included.
#[test]
fn affixes_equal_a_plain_scan() {
    let mut seed = 41;
    for _ in 0..3000 {
        let len = (lcg(&mut seed) % 80) as usize;
        let a: Vec<u32> = (0..len).map(|_| 97 + (lcg(&mut seed) % 2) as u32).collect();
        let mut b = a.clone();
        b.truncate(len - (lcg(&mut seed) as usize % (len + 1)).min(len));
        for _ in 0..lcg(&mut seed) % 3 {
            if !b.is_empty() {
                let at = lcg(&mut seed) as usize % b.len();
                b[at] = 120;
            }
        }
        let p = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let s = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        assert_eq!(common_prefix(&a, &b), p);
        assert_eq!(common_suffix(&a, &b), s);
        assert_eq!(common_prefix(&b, &a), p);
        assert_eq!(common_suffix(&b, &a), s);
    }
}

#[test]
fn similarity_examples() {
    let a: Vec<u32> = "this is a test".chars().map(u32::from).collect();
    let b: Vec<u32> = "this is a test!".chars().map(u32::from).collect();
    // rapidfuzz: fuzz.ratio("this is a test", "this is a test!") == 96.55172413793103
    assert_eq!(
        normalized_similarity(&a, &b, 0.0) * 100.0,
        96.55172413793103
    );
    assert_eq!(normalized_similarity(&[], &[], 0.0), 1.0);
}
