//! Property tests of the fuzzy scorers: range, finiteness, no panics, symmetry (rapidfuzz
//! flags every `fuzz` scorer SYMMETRIC, and swapping the arguments of all 4,137 pairs of
//! `random_fuzzy.jsonl` in rapidfuzz 3.10.1 never changed a score), identity, and agreement of
//! the prepared form with the one-shot function.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::fuzzy;
use proptest::prelude::*;

/// Strings mixing ASCII, punctuation, exotic spaces, accents, combining marks, CJK and emoji.
fn text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a", "b", "c", "the", "The", "CAT", " ", "  ", "\t", "\n", "\u{a0}", "\u{85}", "\u{3000}",
        ".", "!!", "_", "-", "é", "e\u{301}", "İ", "K", "ß", "ẞ", "Σ", "中", "文", "🙂", "👍🏽", "’",
        "“", "1", "²", "½",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

type Scorer = fn(&str, &str) -> f64;

const RAW: [(&str, Scorer); 9] = [
    ("ratio", fuzzy::ratio),
    ("partial_ratio", fuzzy::partial_ratio),
    ("token_sort_ratio", fuzzy::token_sort_ratio),
    ("token_set_ratio", fuzzy::token_set_ratio),
    ("token_ratio", fuzzy::token_ratio),
    ("partial_token_sort_ratio", fuzzy::partial_token_sort_ratio),
    ("partial_token_set_ratio", fuzzy::partial_token_set_ratio),
    ("partial_token_ratio", fuzzy::partial_token_ratio),
    ("wratio", fuzzy::wratio),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fuzzy_match_in_unit_interval_and_symmetric(a in text(), b in text()) {
        let s = fuzzy::fuzzy_match(&a, &b);
        prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s}");
        prop_assert_eq!(s, fuzzy::fuzzy_match(&b, &a));
        prop_assert_eq!(s, fuzzy::FuzzyMatcher::new(&b).score(&a));
    }

    #[test]
    fn raw_scorers_in_range_and_symmetric(a in text(), b in text()) {
        for (name, f) in RAW {
            let s = f(&a, &b);
            prop_assert!(s.is_finite() && (0.0..=100.0).contains(&s), "{name}: {s}");
            prop_assert_eq!(s, f(&b, &a), "{} not symmetric", name);
        }
    }

    #[test]
    fn identical_texts_score_one(a in text()) {
        let want = if fuzzy::default_process(&a).is_empty() { 0.0 } else { 1.0 };
        prop_assert_eq!(fuzzy::fuzzy_match(&a, &a), want);
    }

    #[test]
    fn processing_is_idempotent(a in text()) {
        let once = fuzzy::default_process(&a);
        prop_assert_eq!(fuzzy::default_process(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
    }

    #[test]
    fn long_windows_do_not_panic(
        needle in prop::collection::vec(prop::sample::select(vec!['a', 'b', 'c', ' ']), 1..200),
        hay in prop::collection::vec(prop::sample::select(vec!['a', 'b', 'c', ' ']), 1..1200),
    ) {
        let (n, h): (String, String) = (needle.into_iter().collect(), hay.into_iter().collect());
        let s = fuzzy::partial_ratio(&n, &h);
        prop_assert!((0.0..=100.0).contains(&s));
        let w = fuzzy::fuzzy_match(&n, &h);
        prop_assert!((0.0..=1.0).contains(&w));
    }
}
