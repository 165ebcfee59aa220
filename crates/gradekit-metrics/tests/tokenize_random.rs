//! Differential test against NLTK 3.9.1 on thousands of adversarial strings: the expected
//! tokens were written by `scripts/gen_tokenize_random.py` (nltk_tokenize of the shared
//! reference), plus a property test that no string makes the tokenizers panic.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::tokenize::{international_tokenize, nltk_tokenize, sent_tokenize};
use proptest::prelude::*;
use serde_json::Value;

#[test]
fn random_cases_match_nltk() {
    // TOKENIZE_RANDOM_FILE: a larger set from `gen_tokenize_random.py --n N --out PATH`.
    let path = std::env::var("TOKENIZE_RANDOM_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/vectors/tokenize_random.jsonl"
        )
        .to_owned()
    });
    let data = std::fs::read_to_string(&path).unwrap();
    let (mut checked, mut failed) = (0, Vec::new());
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let text = v["text"].as_str().unwrap();
        let want: Vec<String> = serde_json::from_value(v["tokens"].clone()).unwrap();
        let got = nltk_tokenize(text);
        checked += 1;
        if got != want {
            failed.push(format!("{text:?}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(
        checked >= 5000 || std::env::var_os("TOKENIZE_RANDOM_FILE").is_some(),
        "only {checked} cases read"
    );
    let shown: Vec<_> = failed.iter().take(40).cloned().collect();
    assert!(
        failed.is_empty(),
        "{} of {checked} cases differ (first {}):\n{}",
        failed.len(),
        shown.len(),
        shown.join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_any_string(s in any::<String>()) {
        let _ = nltk_tokenize(&s);
        let _ = international_tokenize(&s);
        let _ = sent_tokenize(&s);
    }

    #[test]
    fn never_panics_on_ascii_punctuation_soup(s in "[ -~\t\n\r\x0b\x0c\x1c-\x1f]{0,80}") {
        let toks = nltk_tokenize(&s);
        // Tokens are never empty and never contain Python whitespace.
        for t in &toks {
            prop_assert!(!t.is_empty());
            prop_assert!(!t.bytes().any(|b| matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ')));
        }
    }
}

/// Long pathological inputs finish quickly (no quadratic corner in the scanners):
/// 200 kB of each pattern, which would take hours if any step were O(n^2).
#[test]
fn long_pathological_inputs_are_fast() {
    let patterns = [
        "a.", "!", "'", "a ", ".", ". ", "--", "\"", "`", "Dr. ", "x'", " 't", "cannot ", "(",
        "a!b", "\n", "\x1c", "..", "?!", "é.", "e\u{301}", "😀", "&amp;", "1.",
    ];
    let start = std::time::Instant::now();
    for p in patterns {
        let text = p.repeat(200_000 / p.len());
        let toks = nltk_tokenize(&text);
        assert!(toks.len() <= text.len());
    }
    let secs = start.elapsed().as_secs_f64();
    // Generous: a quadratic step would take hours here, not minutes (debug build, loaded VM).
    assert!(secs < 300.0, "pathological inputs took {secs:.1} s");
}
