//! The cost limits of the checked entry point `gradekit_metrics::score` (issue 12 item 2):
//! regression tests on the adversarial sizes that used to take about a minute, acceptance of
//! cheap shapes of the same size, and property tests — every score in [0, 1], and below the
//! limits the checked score is exactly the unchecked one.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::{
    fuzzy, rouge, score, Metric, FUZZY_MAX_PARTIAL_CELLS, FUZZY_MAX_STEPS, ROUGE_L_MAX_STEPS,
};
use proptest::prelude::*;

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// `len` bytes of random lower-case words.
fn prose(len: usize, seed: u64) -> String {
    let mut s = seed;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        for _ in 0..1 + lcg(&mut s) % 8 {
            out.push((b'a' + (lcg(&mut s) % 26) as u8) as char);
        }
        out.push(' ');
    }
    out.truncate(len);
    out
}

#[test]
fn fuzzy_100k_against_150k_unrelated_is_refused() {
    // Took ~56 s through partial_ratio before the limit.
    let (a, b) = (prose(100_000, 1), prose(150_000, 2));
    let e = score(Metric::FuzzyMatch, &a, &b).unwrap_err();
    assert_eq!(e.metric, Metric::FuzzyMatch);
    assert_eq!((e.input_len, e.reference_len), (100_000, 150_000));
    let msg = e.to_string();
    assert!(
        msg.starts_with("fuzzy_match: input of 100000 characters"),
        "{msg}"
    );
    assert!(msg.contains(&FUZZY_MAX_PARTIAL_CELLS.to_string()), "{msg}");
    // Either side may be the long one.
    assert!(score(Metric::FuzzyMatch, &b, &a).is_err());
}

#[test]
fn fuzzy_1mb_similar_lengths_is_refused() {
    let (a, b) = (prose(1 << 20, 3), prose(1 << 20, 4));
    let e = score(Metric::FuzzyMatch, &a, &b).unwrap_err();
    assert!(e.limit.contains(&FUZZY_MAX_STEPS.to_string()), "{e}");
}

#[test]
fn rouge_l_10mb_is_refused_and_long_against_short_is_scored() {
    // Took ~59 s (LCS) before the limit.
    let (a, b) = (prose(10 << 20, 5), prose(10 << 20, 6));
    let e = score(Metric::RougeL, &a, &b).unwrap_err();
    assert_eq!(e.metric, Metric::RougeL);
    assert_eq!(e.unit, "tokens");
    assert!(
        e.to_string().contains(&ROUGE_L_MAX_STEPS.to_string()),
        "{e}"
    );
    // One long side against a short one is linear: scored, equal to the unchecked value.
    let short = prose(300, 7);
    let s = score(Metric::RougeL, &a, &short).unwrap();
    assert_eq!(s, rouge::rouge_l(&a, &short));
    assert_eq!(
        score(Metric::RougeL, &short, &a).unwrap(),
        rouge::rouge_l(&short, &a)
    );
}

#[test]
fn linear_metrics_take_long_inputs() {
    let (a, b) = (prose(2 << 20, 8), prose(2 << 20, 9));
    for m in Metric::ALL {
        if matches!(m, Metric::FuzzyMatch | Metric::RougeL) {
            continue;
        }
        let s = score(m, &a, &b).unwrap();
        assert!((0.0..=1.0).contains(&s), "{m}: {s}");
    }
}

#[test]
fn fuzzy_just_inside_the_limits_is_exact() {
    // Partial path: 64 code points against a long text (one machine word per window).
    let needle = prose(64, 10).replace(' ', "x");
    let hay = prose(1 << 20, 11);
    assert_eq!(
        score(Metric::FuzzyMatch, &needle, &hay).unwrap(),
        fuzzy::fuzzy_match(&needle, &hay)
    );
    // Similar lengths: 20k characters a side.
    let (a, b) = (prose(20_000, 12), prose(21_000, 13));
    assert_eq!(
        score(Metric::FuzzyMatch, &a, &b).unwrap(),
        fuzzy::fuzzy_match(&a, &b)
    );
}

fn unchecked(m: Metric, a: &str, b: &str) -> f64 {
    use gradekit_metrics::{bleu, gleu, meteor};
    match m {
        Metric::FuzzyMatch => fuzzy::fuzzy_match(a, b),
        Metric::Bleu => bleu::bleu(a, b),
        Metric::Gleu => gleu::gleu(a, b),
        Metric::Meteor => meteor::meteor(a, b),
        Metric::RougeN(n) => rouge::rouge_n(a, b, usize::from(n)),
        Metric::RougeL => rouge::rouge_l(a, b),
        _ => unreachable!(),
    }
}

fn text() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a", "b", "the", "The", "cat", "sat", " ", "  ", "\n", ".", ",", "'s", "n't", "\"", "é",
        "中", "🙂", "-", "?", "1", "Dr.",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn checked_equals_unchecked_below_the_limits(a in text(), b in text()) {
        for m in Metric::ALL {
            let s = score(m, &a, &b).unwrap();
            prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{m}: {s}");
            prop_assert_eq!(s.to_bits(), unchecked(m, &a, &b).to_bits(), "{}", m);
        }
    }

    #[test]
    fn long_repetitive_texts_stay_in_range(unit in text(), times in 1usize..400) {
        let a = unit.repeat(times);
        for m in Metric::ALL {
            if let Ok(s) = score(m, &a, &unit) {
                prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{m}: {s}");
            }
        }
    }
}
