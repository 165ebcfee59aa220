//! The fused one-pass tokenizer (`src/tokenize/fused.rs`) against the exact Treebank port:
//! `word_tokenize` (fused where it applies) must equal `word_tokenize_exact` on every text of
//! the committed vectors and on random and adversarial strings.
//!
//! The random run is `FUSED_CASES` strings (default 30,000, a few seconds); the recorded
//! 10M-string run is `FUSED_CASES=10000000 cargo test --release -p gradekit-metrics --test
//! tokenize_fused` (BENCHMARKS.md, "Metrics end to end"). `FUSED_SEED` picks another stream.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::tokenize::{fused_coverage, word_tokenize, word_tokenize_exact};
use proptest::prelude::*;
use serde_json::Value;

fn check(text: &str) -> Result<(), String> {
    let fused = word_tokenize(text);
    let exact = word_tokenize_exact(text);
    if fused == exact {
        Ok(())
    } else {
        Err(format!("{text:?}\n  exact {exact:?}\n  fused {fused:?}"))
    }
}

fn texts_of(file: &str, keys: &[&str]) -> Vec<String> {
    let path = format!(
        "{}/../../fixtures/vectors/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        for k in keys {
            if let Some(t) = v[*k].as_str() {
                out.push(t.to_owned());
            }
        }
    }
    out
}

#[test]
fn committed_vectors_agree_and_mostly_take_the_fast_path() {
    let mut texts = texts_of("dev_pairs.jsonl", &["input", "reference"]);
    texts.extend(texts_of("tokenize_random.jsonl", &["text"]));
    for f in [
        "random_bleu.jsonl",
        "random_gleu.jsonl",
        "random_meteor.jsonl",
    ] {
        texts.extend(texts_of(f, &["input", "reference"]));
    }
    let bench = format!(
        "{}/../../fixtures/bench/pairs-10k.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bench_texts = Vec::new();
    for line in std::fs::read_to_string(bench).unwrap().lines().take(3000) {
        let v: Value = serde_json::from_str(line).unwrap();
        bench_texts.push(v["model_sample"].as_str().unwrap().to_owned());
        bench_texts.push(v["item"]["reference"].as_str().unwrap().to_owned());
    }
    let failed: Vec<String> = texts
        .iter()
        .chain(&bench_texts)
        .filter_map(|t| check(t).err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} texts differ:\n{}",
        failed.len(),
        failed[..failed.len().min(20)].join("\n")
    );
    let (mut sentences, mut fused) = (0, 0);
    for t in &bench_texts {
        if let Some((s, f)) = fused_coverage(t) {
            sentences += s;
            fused += f;
        }
    }
    eprintln!("bench texts: {fused} of {sentences} sentences take the fused path");
    // The fast path must cover the common case, or it is not worth having.
    assert!(
        fused * 10 >= sentences * 8,
        "{fused} of {sentences} sentences fused"
    );
}

/// A small deterministic generator (xorshift), fast enough for millions of strings.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Pieces that exercise every rule of the fused tokenizer and its boundaries.
const WORDS: &[&str] = &[
    "the", "The", "cat", "CAT", "a", "I", "x", "Dr", "Mr", "U.S", "e.g", "p.m", "No", "St", "3",
    "3.88", "1,000", "10:30", "2", "co", "n", "N", "t", "s", "do", "ca", "wo", "John", "cannot",
    "Cannot", "gonna", "wanna", "Gimme", "lemme", "gotta", "more", "d", "tis", "twas", "_", "a_b",
    "x1", "cannon", "cannotn", "don", "didn", "won",
];
const PUNCT: &[&str] = &[
    ".", ".", ".", ",", ",", ":", ";", "?", "!", "'", "'", "\"", "`", "``", "''", "-", "--", "---",
    "(", ")", "[", "]", "{", "}", "<", ">", "*", "$", "%", "&", "@", "#", "/", "+", "=", "~", "^",
    "|", "\\", "...", "..", "'s", "'S", "'ll", "'LL", "'Ll", "'re", "'ve", "'VE", "'m", "'d", "'D",
    "n't", "N'T", "n'T", "'t", "'ye", "'n", "'em", "'90s", "\x00", "\x7f",
];
const SPACE: &[&str] = &[
    " ", " ", " ", "  ", "\n", "\t", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f",
];

fn random_text(g: &mut Gen) -> String {
    let mut s = String::new();
    let parts = g.below(24);
    for _ in 0..parts {
        match g.below(10) {
            0..=3 => s.push_str(g.pick(WORDS)),
            4..=6 => s.push_str(g.pick(PUNCT)),
            7 => s.push_str(g.pick(SPACE)),
            8 => {
                // a word with a clitic or trailing punctuation, the common prose shapes
                s.push_str(g.pick(WORDS));
                s.push_str(g.pick(PUNCT));
                s.push_str(g.pick(SPACE));
            }
            _ => {
                // a sentence end, so Punkt splits
                s.push_str(g.pick(&[". ", "? ", "! ", ".\n", ". The ", "... ", ".) "]));
            }
        }
    }
    s
}

#[test]
fn random_and_adversarial_strings_agree() {
    let cases: usize = std::env::var("FUSED_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let seed: u64 = std::env::var("FUSED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_F00D);
    let mut g = Gen(seed | 1);
    let mut failed = Vec::new();
    for _ in 0..cases {
        let t = random_text(&mut g);
        if let Err(e) = check(&t) {
            failed.push(e);
            if failed.len() >= 20 {
                break;
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Long runs of words, spaces and commas (the fused scan's 64-byte-window path, `fused.rs`
/// `word_space_runs`): words of every length around the window size, the CONTRACTIONS2 words
/// and their near misses (5 and 6 bytes, `c g l w` initials) at every offset of a window,
/// commas before a space or not, and the punctuation that stops a window, in texts of up to
/// ~400 bytes so that runs cross one or more window boundaries. `WINDOW_CASES` strings
/// (default 100,000).
#[test]
fn runs_across_word_windows_agree() {
    const RUN_WORDS: &[&str] = &[
        "the",
        "a",
        "I",
        "of",
        "cannot",
        "CANNOT",
        "gonna",
        "Wanna",
        "gimme",
        "lemme",
        "gotta",
        "could",
        "Could",
        "would",
        "going",
        "large",
        "while",
        "cannon",
        "gonnab",
        "wannabe",
        "lemmee",
        "c",
        "g",
        "l",
        "w",
        "cgl",
        "wwwww",
        "gggggg",
        "x_y",
        "_",
        "9",
        "2024",
        "abc1",
        "Q",
        "cann0t",
        "g0nna",
        "so-so",
        "well-known",
        "a-",
        "-b",
        "x-y-z",
        "-",
        "cannot-x",
        "x-cannot",
        "x-could",
        "Wanna-be",
        "well--known",
        "a---b",
        "-x-",
        "x-_-y",
        "9-11",
    ];
    const RUN_SEPS: &[&str] = &[
        " ", " ", " ", " ", " ", ", ", ", ", "  ", " , ", ",", ",,", ",:", ":", ". ", ".", "'s ",
        "n't ", "-", "--", "(", ") ", "\n", "\t", "\"", "' ", "? ", "; ", "- ", " -", "-, ",
    ];
    let cases: usize = std::env::var("WINDOW_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut g = Gen(0x0057_1D0E_u64 | 1);
    let mut failed = Vec::new();
    for case in 0..cases {
        let mut s = String::new();
        // A lead-in of every length up to two windows, so every word meets every offset.
        let lead = case % 140;
        for k in 0..lead {
            s.push(if k % 6 == 5 { ' ' } else { 'x' });
        }
        s.push(' ');
        let target = 40 + g.below(360);
        while s.len() < target {
            match g.below(20) {
                // A long word (around and past the window size).
                0 => {
                    let len = 50 + g.below(100);
                    s.extend(std::iter::repeat_n('w', len));
                }
                1..=10 => s.push_str(g.pick(RUN_WORDS)),
                _ => {
                    s.push_str(g.pick(RUN_WORDS));
                    s.push_str(g.pick(RUN_SEPS));
                    continue;
                }
            }
            s.push(' ');
        }
        if g.below(2) == 0 {
            s.push('.');
        }
        if let Err(e) = check(&s) {
            failed.push(e);
            if failed.len() >= 10 {
                break;
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn ascii_soup_agrees(s in "[ -~\t\n\r\x0b\x0c\x1c-\x1f]{0,60}") {
        prop_assert_eq!(word_tokenize(&s), word_tokenize_exact(&s), "{:?}", s);
    }

    #[test]
    fn prose_like_agrees(words in prop::collection::vec(
        "([A-Za-z]{1,7}|[0-9]{1,3}([.,:][0-9]{1,3})?)('s|'ll|n't|'re|'d|'m|'ve|[.,;:?!)(]|--|\\.\\.\\.)?",
        0..30,
    ), seps in prop::collection::vec("[ \n]|[.?!] ", 0..30)) {
        let mut s = String::new();
        for (w, sep) in words.iter().zip(seps.iter().chain(std::iter::repeat(&" ".to_owned()))) {
            s.push_str(w);
            s.push_str(sep);
        }
        prop_assert_eq!(word_tokenize(&s), word_tokenize_exact(&s), "{:?}", s);
    }
}

#[test]
fn quote_and_period_corners_agree() {
    for t in [
        "\"\"hi\"",
        "\"",
        "He said \"hi.\"",
        "hi. \"",
        "hi.\" ",
        "hi.) \"",
        "(\"a\")",
        "a \"\" b",
        "\"'s",
        "x. \"y\"",
        "\"John's\" car.",
        "[\"x\"] {\"y\"} <\"z\">",
        "a\"b\"c.",
        "a,\" b:\"",
        "\"Yes,\" he said, \"it is.\"",
        "done.\"\"",
        "done. \"\"",
        "\t\"a\"\n\"b\"",
        // The bare apostrophe after a word (plural possessives) and its neighbours.
        "the jurors' verdict.",
        "jurors'.",
        "jurors'. The",
        "jurors',",
        "jurors',5",
        "jurors':",
        "jurors'",
        "jurors' ",
        "jurors')",
        "(jurors')",
        "jurors'--",
        "jurors'---",
        "jurors'-",
        "jurors'*",
        "jurors'\"",
        "jurors'?",
        "jurors'!",
        "jurors'...",
        "jurors'..",
        "jurors';",
        "jurors''",
        "jurors'' x",
        "jurors'''",
        "jurors's",
        "jurors'sx",
        "jurors'x",
        "jurors'\tx",
        "jurors'\n",
        "x.' y",
        "U.S.' z",
        "cannot' x",
        "gonna' x",
        "it's' x",
        "don't' x",
        "3.5' x",
        "a-b' c",
        "a_' c",
        "_' c",
        "9' c",
        "' x",
        "a ' x",
        "\"Jones'\" said.",
        "Jones'.\"",
        "Jones'.)",
        "Jones'.) x",
        "x. Jones'.",
        "Jones' ' x",
        "Jones' 's x",
        "Jones'`",
        "Jones'\x1c",
    ] {
        check(t).unwrap();
    }
}

/// An apostrophe that opens a word (`'Augsburg Confession'`, `('80s)`): every context before
/// it, run after it and ending, against the exact port; the common ones take the fast path.
#[test]
fn opening_apostrophes_agree() {
    let before = [
        "", " ", "x ", "x  ", "x\n", "x\t", "(", "x (", "[", "{", "<", "x,", "x-", "x--", "\"",
        "x \"", "'", "x'", "`", "x.", "x:", "x;", "x)", "3 ",
    ];
    let runs = [
        "a", "ab", "abc", "Augsburg", "t", "tis", "Tis", "twas", "TWAS", "ta", "s", "sam", "S",
        "re", "ve", "ll", "LL", "m", "d", "n", "nt", "em", "80s", "5", "_", "_a", "a_", "cannot",
        "Cannot", "gonna", "bout", "n't", "ab's", "abn't", "ab'", "ab''", "a.b", "a-b", "ab.",
    ];
    let after = [
        "", " ", "' ", "',", "'.", "' x", "'s x", ")", "),", ".", ". The", ",", ", x", "?", "\"",
        "--", "-x", "'", "''", "' '", "n't x",
    ];
    let mut fused_any = 0;
    for b in before {
        for r in runs {
            for a in after {
                let t = format!("{b}'{r}{a}");
                check(&t).unwrap();
                let (sentences, fused) = fused_coverage(&t).unwrap();
                fused_any += usize::from(sentences > 0 && fused == sentences);
            }
        }
    }
    assert!(fused_any > 1000, "{fused_any}");
    for t in [
        "The composition now known as the 'Augsburg Confession' was laid before the Diet.",
        "students who enjoy gaming, 'anime', 'manga', and other aspects.",
        "including local bands (early 80s), EP's ('80s), videos.",
        "'Tis the season. 'twas the night.",
    ] {
        check(t).unwrap();
    }
    assert_eq!(
        fused_coverage("The composition known as the 'Augsburg Confession' was laid."),
        Some((1, 1))
    );
}
