//! token_ratio's fast paths against the composed (allocating) oracle and plain sorts.

use super::words::is_space;
use super::*;

/// `token_ratio` composed from the allocating parts (the oracle of the fast one).
fn token_ratio_composed(s1: &[u32], s2: &[u32], score_cutoff: f64) -> f64 {
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
        // up to ~150 words (the counting sort) as well as short lists
        let len = (round % 40 + if round % 3 == 0 { round % 300 } else { 0 }) as usize;
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
    // many first-letter buckets not starting at 0 (the counting sort's prefix sums over
    // lo..=hi), words of 1–12 letters so some share 8-byte keys (the fix-up scan)
    for round in 0..2000u64 {
        let words = 1 + round % 60;
        let mut s: Vec<u32> = Vec::new();
        for _ in 0..words {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = seed >> 20;
            let len = 1 + (r % 12) as u32;
            let first = [b'0', b'a', b'q', b'z'][(r >> 8) as usize % 4];
            s.push(u32::from(first) + (r >> 12) as u32 % 3);
            for i in 1..len {
                s.push(97 + ((r >> (16 + i)) as u32 & 1) * (1 + round as u32 % 25));
            }
            s.push(0x20);
        }
        let got = sorted_split(&s, true);
        let mut want: Vec<&[u32]> = s.split(|&c| c == 0x20).filter(|w| !w.is_empty()).collect();
        want.sort();
        assert_eq!(got, want, "{s:?}");
    }
    // more than 256 words: the library sort
    let s: Vec<u32> = (0..3000u32)
        .map(|i| {
            if i % 5 == 4 {
                0x20
            } else {
                97 + (i * 7919 % 13)
            }
        })
        .collect();
    let mut want: Vec<&[u32]> = s.split(|&c| c == 0x20).filter(|w| !w.is_empty()).collect();
    want.sort();
    assert_eq!(sorted_split(&s, true), want);
}

#[test]
fn token_ratio_equals_the_decomposition() {
    let mut seed = 5u64;
    let words = [
        "a",
        "ab",
        "b",
        "abc",
        "x",
        "\u{4e2d}",
        "aaaaaaaaab",
        "aaaaaaaaa",
    ];
    for round in 0..4000 {
        let mut side = || {
            let n = (round % 9) as usize;
            let mut t = String::new();
            for _ in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                t.push_str(words[(seed >> 33) as usize % words.len()]);
                t.push(if seed >> 40 & 3 == 0 { '\t' } else { ' ' });
            }
            cps(&t)
        };
        let (a, b) = (side(), side());
        for cutoff in [0.0, 50.0, 90.0, 101.0] {
            assert_eq!(
                token_ratio(&a, &b, cutoff).to_bits(),
                token_ratio_composed(&a, &b, cutoff).to_bits(),
                "{a:?} {b:?} {cutoff}"
            );
        }
    }
}

/// Near-duplicate sentences (the pairs WRatio sends to `token_ratio`) at the cutoffs WRatio
/// passes (`ratio / 0.95`): the fast path (count bound, keyed merge) equals the composition.
#[test]
fn token_ratio_near_duplicates_at_wratio_cutoffs() {
    let mut seed = 17u64;
    let vocab = [
        "the",
        "a",
        "of",
        "cat",
        "cats",
        "sat",
        "on",
        "mat",
        "mats",
        "internationalization",
        "internationalisation",
        "x",
        "\u{e9}t\u{e9}",
        "\u{4e2d}\u{6587}",
        "42",
        "b\tc",
    ];
    let mut next = |k: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % k
    };
    // FUZZY_TOKEN_CASES=N for a longer run.
    let cases: usize = std::env::var("FUZZY_TOKEN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for _ in 0..cases {
        let n = 1 + next(30);
        let words: Vec<&str> = (0..n).map(|_| vocab[next(vocab.len())]).collect();
        let mut other = words.clone();
        for _ in 0..next(4) {
            match next(3) {
                0 if !other.is_empty() => {
                    let k = next(other.len());
                    other.remove(k);
                }
                1 => {
                    let k = next(other.len() + 1);
                    other.insert(k, vocab[next(vocab.len())]);
                }
                _ => {
                    let (i, j) = (next(other.len().max(1)), next(other.len().max(1)));
                    if i < other.len() && j < other.len() {
                        other.swap(i, j);
                    }
                }
            }
        }
        let (a, b) = (cps(&words.join(" ")), cps(&other.join("  ")));
        let r = ratio(&a, &b, 0.0);
        for cutoff in [r / 0.95, r, 0.0, 99.0, 100.0] {
            assert_eq!(
                token_ratio(&a, &b, cutoff).to_bits(),
                token_ratio_composed(&a, &b, cutoff).to_bits(),
                "{a:?} {b:?} {cutoff}"
            );
        }
    }
}

#[test]
fn narrow_strings_do_not_split_on_nbsp() {
    let s = cps("a\u{a0}b");
    assert_eq!(sorted_split(&s, true).len(), 1);
    assert_eq!(sorted_split(&s, false).len(), 2);
}

/// The hashed path (both strings narrow): words sharing long prefixes (equal 8-byte keys,
/// different tails), duplicates on either side, every narrow separator, and U+0085 / U+00A0
/// (not separators in a narrow string) — equal to the composition at WRatio's cutoffs.
#[test]
fn hashed_equals_the_composition() {
    let mut seed = 23u64;
    let mut next = |k: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % k
    };
    let stems = [
        "abcdefgh",
        "abcdefg",
        "abcd",
        "x",
        "\u{e9}\u{ff}",
        "zz\u{85}z",
    ];
    let tails = ["", "i", "ij", "ijklmnopq", "\u{a0}", "0"];
    let seps = [" ", "  ", "\t", "\n", "\u{b}", "\u{1c}", "\u{1f}", "\r "];
    // FUZZY_TOKEN_CASES=N for a longer run.
    let cases: usize = std::env::var("FUZZY_TOKEN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for _ in 0..cases {
        let vocab: Vec<String> = (0..1 + next(12))
            .map(|_| format!("{}{}", stems[next(stems.len())], tails[next(tails.len())]))
            .collect();
        let (na, nb) = (next(40), next(40));
        let mut side = |n: usize| {
            let mut t = String::new();
            if next(4) == 0 {
                t.push_str(seps[next(seps.len())]);
            }
            for _ in 0..n {
                t.push_str(&vocab[next(vocab.len())]);
                t.push_str(seps[next(seps.len())]);
            }
            cps(&t)
        };
        let (a, b) = (side(na), side(nb));
        assert!(is_narrow(&a) && is_narrow(&b));
        let r = ratio(&a, &b, 0.0);
        for cutoff in [0.0, r / 0.95, r, 50.0, 95.0, 100.0] {
            assert_eq!(
                token_ratio(&a, &b, cutoff).to_bits(),
                token_ratio_composed(&a, &b, cutoff).to_bits(),
                "{a:?} {b:?} {cutoff}"
            );
        }
    }
}
