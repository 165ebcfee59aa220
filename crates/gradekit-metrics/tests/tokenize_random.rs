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

/// Characters of every NIST class and their mixes: ASCII letters, digits and punctuation
/// (Number and/or Punctuation in NLTK's lists), non-ASCII letters, digits, punctuation,
/// symbols, Python whitespace (U+3000, U+0085, U+001C), U+2028, entities and `<skipped>`.
const NIST_PIECES: &[&str] = &[
    "a",
    "Z",
    "7",
    "0",
    ".",
    ",",
    "!",
    "\"",
    "#",
    "$",
    "%",
    "'",
    "(",
    ")",
    "*",
    "+",
    "-",
    "/",
    ":",
    ";",
    "<",
    "=",
    ">",
    "?",
    "@",
    "[",
    "\\",
    "]",
    "^",
    "_",
    "`",
    "{",
    "|",
    "}",
    "~",
    " ",
    "  ",
    "\t",
    "\n",
    "é",
    "É",
    "ß",
    "東",
    "京",
    "、",
    "。",
    "«",
    "»",
    "¡",
    "¿",
    "–",
    "—",
    "…",
    "€",
    "£",
    "©",
    "°",
    "±",
    "×",
    "÷",
    "½",
    "²",
    "٣",
    "٫",
    "٬",
    "١",
    "・",
    "！",
    "？",
    "１",
    "Ａ",
    "＄",
    "\u{3000}",
    "\u{85}",
    "\u{a0}",
    "\u{1c}",
    "\u{2028}",
    "\u{200b}",
    "🍕",
    "𝒳",
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#124;",
    "&#91;",
    "&#93;",
    "&amp;lt;",
    "&",
    "<skipped>",
    "caf",
    "3.14",
    "1,000",
    "x-y",
    "Amazon.com",
];

#[test]
fn one_pass_nist_equals_the_pass_by_pass_port() {
    use gradekit_metrics::tokenize::international_tokenize_exact;
    let cases: usize = std::env::var("NIST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut failed = Vec::new();
    for _ in 0..cases {
        let mut s = String::new();
        for _ in 0..next() % 16 {
            s.push_str(NIST_PIECES[(next() % NIST_PIECES.len() as u64) as usize]);
        }
        let (got, want) = (international_tokenize(&s), international_tokenize_exact(&s));
        if got != want {
            failed.push(format!("{s:?}\n  want {want:?}\n  got  {got:?}"));
            if failed.len() >= 20 {
                break;
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn one_pass_nist_equals_the_port_on_any_string(s in any::<String>()) {
        use gradekit_metrics::tokenize::international_tokenize_exact;
        prop_assert_eq!(international_tokenize(&s), international_tokenize_exact(&s));
    }
}
