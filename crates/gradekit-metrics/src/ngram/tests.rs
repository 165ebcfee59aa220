//! Overlap counts against brute force, the token table's growth and reuse.

#![allow(clippy::unwrap_used)]
use super::*;
use std::collections::HashMap;

/// Brute-force multiset intersection of n-gram tuples.
fn naive(reference: &[&str], input: &[&str], n: usize) -> u64 {
    let mut counts: HashMap<Vec<&str>, i64> = HashMap::new();
    if reference.len() >= n {
        for w in reference.windows(n) {
            *counts.entry(w.to_vec()).or_default() += 1;
        }
    }
    let mut o = 0;
    if input.len() >= n {
        for w in input.windows(n) {
            if let Some(c) = counts.get_mut(w) {
                if *c > 0 {
                    *c -= 1;
                    o += 1;
                }
            }
        }
    }
    o
}

#[test]
fn matches_naive_counts() {
    let cases: &[(&str, &str)] = &[
        ("the cat sat on the mat", "the cat is on the mat"),
        ("a a a a a", "a a a"),
        ("a b a b a b", "b a b a"),
        ("x y z", "p q r"),
        ("", "a b"),
        ("a b", ""),
        ("a b c d e f", "a b c d e f"),
        ("the the the the the the the", "the cat is on the mat"),
    ];
    with_scratch(|s| {
        for (r, h) in cases {
            let r: Vec<&str> = r.split_whitespace().collect();
            let h: Vec<&str> = h.split_whitespace().collect();
            s.intern(&r[..], &h[..]);
            let mut out = [0u64; 5];
            s.clipped_overlaps(&mut out);
            for n in 1..=5 {
                assert_eq!(out[n - 1], naive(&r, &h, n), "{r:?} {h:?} n={n}");
            }
        }
    });
}

#[test]
fn matches_naive_counts_past_the_direct_table() {
    // 300 distinct reference tokens: 300 × 300 entries exceed DIRECT_LIMIT, so the
    // hashed path runs; long tokens exercise the byte comparison.
    let words: Vec<String> = (0..300)
        .map(|i| format!("token-number-{}", i % 290))
        .collect();
    let r: Vec<&str> = words.iter().map(String::as_str).collect();
    let h: Vec<&str> = r.iter().rev().chain(r.iter().skip(7)).copied().collect();
    with_scratch(|s| {
        s.intern(&r[..], &h[..]);
        let mut out = [0u64; 5];
        s.clipped_overlaps(&mut out);
        for n in 1..=5 {
            assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
        }
    });
}

#[test]
fn a_large_vocabulary_grows_the_token_table() {
    // 20,000 distinct tokens (short and long) in a reference of 30,000: the table starts
    // sized for SPARSE_UP_TO tokens and grows several times.
    let words: Vec<String> = (0..30_000)
        .map(|i| {
            let k = i % 20_000;
            if k % 3 == 0 {
                format!("a-rather-long-token-{k}")
            } else {
                format!("w{k}")
            }
        })
        .collect();
    let r: Vec<&str> = words.iter().map(String::as_str).collect();
    let h: Vec<&str> = r
        .iter()
        .step_by(7)
        .chain(["absent", "w3"].iter())
        .copied()
        .collect();
    with_scratch(|s| {
        s.intern(&r[..], &h[..]);
        assert_eq!(s.ids.vocab, 20_000);
        for (j, &id) in s.ids.reference.iter().enumerate() {
            assert_eq!(s.ids.reference[j % 20_000], id, "{j}");
        }
        let mut out = [0u64; 2];
        s.clipped_overlaps(&mut out);
        for n in 1..=2 {
            assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
        }
    });
}

#[test]
fn nested_scratch_use_falls_back_to_fresh_buffers() {
    let v = with_scratch(|_| with_scratch(|s| s.ids.vocab));
    assert_eq!(v, 0);
}
