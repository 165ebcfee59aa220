//! METEOR and its Porter stemmer against NLTK 3.9.1.
//!
//! * `fixtures/vectors/dev.jsonl`: every primary meteor vector, through the string entry point
//!   (our tokenizer) and through the NLTK tokens recorded in `dev_pairs.jsonl` (metric alone).
//! * `fixtures/vectors/random_meteor.jsonl`: thousands of synonym-rich token-list pairs scored by
//!   NLTK (`scripts/gen_meteor_fixtures.py`).
//! * `fixtures/vectors/porter_words.jsonl`: NLTK's stem of >100k words.
//!
//! Scores must agree within 1e-9; the count of values that are not bit-identical is printed.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use gradekit_metrics::meteor::{meteor, meteor_tokens, porter};
use proptest::prelude::*;
use serde_json::Value;

fn read_jsonl(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

fn meteor_vectors() -> Vec<(String, String, String, f64)> {
    read_jsonl("dev.jsonl")
        .into_iter()
        .filter(|v| v["metric"] == "meteor" && v["variant"] == "primary")
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["input"].as_str().unwrap().to_owned(),
                v["reference"].as_str().unwrap().to_owned(),
                v["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn dev_vectors_on_nltk_tokens() {
    let pairs: HashMap<String, Value> = read_jsonl("dev_pairs.jsonl")
        .into_iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    let vectors = meteor_vectors();
    assert_eq!(vectors.len(), 298);
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for (id, _, _, want) in &vectors {
        let p = &pairs[id];
        let got = meteor_tokens(
            &strings(&p["input_nltk_tokens"]),
            &strings(&p["reference_nltk_tokens"]),
        );
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{id}: got {got}, want {want}"));
        }
        inexact += usize::from(got != *want);
    }
    println!(
        "meteor dev (NLTK tokens): {} vectors, {} not bit-identical",
        vectors.len(),
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn dev_vectors_on_strings() {
    let vectors = meteor_vectors();
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for (id, input, reference, want) in &vectors {
        let got = meteor(input, reference);
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{id}: got {got}, want {want}"));
        }
        inexact += usize::from(got != *want);
    }
    println!(
        "meteor dev (strings): {} vectors, {} not bit-identical",
        vectors.len(),
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn random_pairs_match_nltk() {
    let rows = read_jsonl("random_meteor.jsonl");
    assert!(rows.len() >= 4000);
    let with_synonyms = rows
        .iter()
        .filter(|r| r["stages"][2].as_u64().unwrap() > 0)
        .count();
    assert!(
        with_synonyms > 500,
        "fixture should exercise the synonym stage"
    );
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for r in &rows {
        let want = r["score"].as_f64().unwrap();
        let got = meteor_tokens(&strings(&r["hyp"]), &strings(&r["ref"]));
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{}: got {got}, want {want}", r["id"]));
        }
        inexact += usize::from(got != want);
    }
    println!(
        "meteor random: {} pairs ({} with synonym matches), {} not bit-identical",
        rows.len(),
        with_synonyms,
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

#[test]
fn porter_matches_nltk() {
    let rows = read_jsonl("porter_words.jsonl");
    assert!(rows.len() > 100_000);
    let mut bad = Vec::new();
    let mut buf = String::new();
    for r in &rows {
        let (word, want) = (r[0].as_str().unwrap(), r[1].as_str().unwrap());
        porter::stem_into(word, &mut buf);
        if buf != want {
            bad.push(format!("{word:?}: got {buf:?}, want {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n")
    );
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "run",
            "ran",
            "running",
            "Runs",
            "dog",
            "dogs",
            "hound",
            "Cat",
            "geese",
            "goose",
            "happy",
            "glad",
            "the",
            "a",
            ".",
            ",",
            "big",
            "large",
            "café",
            "ΣΑΣ",
            "yyy",
            "x*ded",
            "ice_cream",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z*'\\-]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn score_is_finite_in_unit_interval(
        hyp in prop::collection::vec(token(), 0..40),
        refr in prop::collection::vec(token(), 0..40),
    ) {
        let s = meteor_tokens(&hyp, &refr);
        prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s}");
    }

    #[test]
    fn identical_lists_score_below_one(toks in prop::collection::vec(token(), 1..30)) {
        let s = meteor_tokens(&toks, &toks);
        // every token matches itself in one chunk: (1 - 0.5/m^3) with P = R = 1
        let m = toks.len() as f64;
        let want = 1.0 - 0.5 * (1.0 / m).powf(3.0);
        prop_assert!((s - want).abs() < 1e-12, "{s} vs {want}");
    }

    #[test]
    fn strings_never_panic(a in any::<String>(), b in any::<String>()) {
        let s = meteor(&a, &b);
        prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s));
    }

    #[test]
    fn stem_never_panics(w in any::<String>()) {
        let _ = porter::stem(&w);
    }
}
