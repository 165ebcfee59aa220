//! Property tests of bleu, gleu and rouge_*: scores are finite and in [0, 1]
//! for any input (no panic), identical texts reach 1 where the reference
//! libraries do, the prepared/batch forms agree with the direct ones, and
//! the fast paths agree with naive re-implementations of the libraries'
//! algorithms (Counter intersection, the LCS DP table).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use gradekit_metrics::{bleu, gleu, rouge};
use proptest::prelude::*;

/// Text from a tiny vocabulary (so that n-grams repeat and match), with
/// case changes, punctuation, non-ASCII letters and the two code points
/// whose Python lowercase is ASCII (U+0130, U+212A).
fn wordy_text(max_words: usize) -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("the"),
        Just("The"),
        Just("cat"),
        Just("a"),
        Just("sat"),
        Just("on"),
        Just("mat"),
        Just("x1"),
        Just("İstanbul"),
        Just("\u{212A}ey"),
        Just("café"),
        Just("東京"),
        Just("🙂"),
        Just("e\u{301}"),
        Just("..."),
        Just("don't"),
    ];
    let sep = prop_oneof![
        Just(" "),
        Just("  "),
        Just(", "),
        Just("\n"),
        Just("-"),
        Just("")
    ];
    prop::collection::vec((word, sep), 0..max_words)
        .prop_map(|ws| ws.into_iter().flat_map(|(w, s)| [w, s]).collect::<String>())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![4 => any::<String>(), 4 => wordy_text(40), 1 => wordy_text(400)]
}

fn in_unit(x: f64) -> bool {
    x.is_finite() && (0.0..=1.0).contains(&x)
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// rouge-score's `_lcs_table` recurrence over token strings.
fn lcs_dp(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    for x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
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

/// rouge-score's `_score_ngrams` with Counters, then F.
fn rouge_n_naive(input: &str, reference: &str, n: usize) -> f64 {
    let (h, r) = (rouge::tokenize(input), rouge::tokenize(reference));
    let grams = |t: &[String]| {
        let mut c: HashMap<Vec<String>, u64> = HashMap::new();
        if t.len() >= n {
            for w in t.windows(n) {
                *c.entry(w.to_vec()).or_default() += 1;
            }
        }
        c
    };
    let (hc, rc) = (grams(&h), grams(&r));
    let o: u64 = rc
        .iter()
        .map(|(g, &c)| c.min(hc.get(g).copied().unwrap_or(0)))
        .sum();
    let p = o as f64 / hc.values().sum::<u64>().max(1) as f64;
    let rec = o as f64 / rc.values().sum::<u64>().max(1) as f64;
    if p + rec > 0.0 {
        2.0 * p * rec / (p + rec)
    } else {
        0.0
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn scores_are_in_unit_interval(a in any_text(), b in any_text()) {
        for n in 1..=5 {
            prop_assert!(in_unit(rouge::rouge_n(&a, &b, n)));
        }
        prop_assert!(in_unit(rouge::rouge_l(&a, &b)));
        let (ta, tb) = (words(&a), words(&b));
        prop_assert!(in_unit(bleu::bleu_tokens(&ta, &tb)));
        prop_assert!(in_unit(gleu::gleu_tokens(&ta, &tb)));
        prop_assert!(in_unit(bleu::bleu(&a, &b)));
        prop_assert!(in_unit(gleu::gleu(&a, &b)));
    }

    #[test]
    fn identical_texts_score_one(a in wordy_text(60)) {
        let toks = rouge::tokenize(&a);
        for n in 1..=5 {
            let want = if toks.len() >= n { 1.0 } else { 0.0 };
            prop_assert_eq!(rouge::rouge_n(&a, &a, n), want);
        }
        prop_assert_eq!(rouge::rouge_l(&a, &a), if toks.is_empty() { 0.0 } else { 1.0 });
        let w = words(&a);
        prop_assert_eq!(gleu::gleu_tokens(&w, &w), if w.is_empty() { 0.0 } else { 1.0 });
        if w.len() >= 4 || w.len() == 1 {
            prop_assert_eq!(bleu::bleu_tokens(&w, &w), 1.0);
        }
        let nltk = gradekit_metrics::tokenize::nltk_tokenize(&a);
        prop_assert_eq!(gleu::gleu(&a, &a), if nltk.is_empty() { 0.0 } else { 1.0 });
        if nltk.len() >= 4 || nltk.len() == 1 {
            prop_assert_eq!(bleu::bleu(&a, &a), 1.0);
        }
    }

    #[test]
    fn rouge_tokenizer_matches_lowercase_and_split(a in any_text()) {
        // rouge-score: str.lower(), runs outside [a-z0-9] separate tokens.
        // Rust's str::to_lowercase uses the same full Unicode mapping for
        // every code point whose lowercase contains ASCII.
        let lower = a.to_lowercase();
        let want: Vec<String> = lower
            .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        prop_assert_eq!(rouge::tokenize(&a), want);
    }

    #[test]
    fn gleu_is_symmetric(a in wordy_text(40), b in wordy_text(40)) {
        let (ta, tb) = (words(&a), words(&b));
        prop_assert_eq!(gleu::gleu_tokens(&ta, &tb), gleu::gleu_tokens(&tb, &ta));
    }

    #[test]
    fn rouge_matches_naive_algorithms(a in wordy_text(100), b in wordy_text(100)) {
        for n in 1..=5 {
            prop_assert_eq!(rouge::rouge_n(&a, &b, n), rouge_n_naive(&a, &b, n));
        }
        let (ha, rb) = (rouge::tokenize(&a), rouge::tokenize(&b));
        let lcs = lcs_dp(&ha, &rb);
        let want = if ha.is_empty() || rb.is_empty() {
            0.0
        } else {
            let (p, r) = (lcs as f64 / ha.len() as f64, lcs as f64 / rb.len() as f64);
            if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }
        };
        prop_assert_eq!(rouge::rouge_l(&a, &b), want);
    }

    #[test]
    fn prepared_forms_agree(a in any_text(), b in any_text()) {
        let prepared = rouge::PreparedReference::new(&b);
        let all = prepared.rouge_all(&a);
        for n in 1..=5 {
            let direct = rouge::rouge_n(&a, &b, n);
            prop_assert_eq!(prepared.rouge_n(&a, n), direct);
            prop_assert_eq!(all.rouge_n[n - 1], direct);
        }
        prop_assert_eq!(prepared.rouge_l(&a), rouge::rouge_l(&a, &b));
        prop_assert_eq!(all.rouge_l, rouge::rouge_l(&a, &b));
    }
}

#[test]
fn long_texts_do_not_blow_up() {
    // 20k tokens each side: exercises the multi-word LCS with dense and sparse
    // masks and the n-gram tables; must finish quickly and stay in [0, 1].
    let a: String = (0..20_000u64)
        .map(|i| format!("w{} ", (i * 7919) % 5000))
        .collect();
    let b: String = (0..20_000u64)
        .map(|i| format!("w{} ", (i * 104_729) % 3000))
        .collect();
    assert!(in_unit(rouge::rouge_l(&a, &b)));
    assert!(in_unit(rouge::rouge_n(&a, &b, 3)));
    let (ta, tb) = (words(&a), words(&b));
    assert!(in_unit(bleu::bleu_tokens(&ta, &tb)));
    assert!(in_unit(gleu::gleu_tokens(&ta, &tb)));
    assert!(in_unit(bleu::bleu(&a, &b)));
    assert!(in_unit(gleu::gleu(&a, &b)));
    assert_eq!(rouge::rouge_l(&a, &a), 1.0);
}
