//! Differential tests of `fuzzy` against rapidfuzz 3.10.1.
//!
//! * `fixtures/vectors/dev.jsonl`: every `fuzzy_match` line (primary and alternates) of the
//!   shared dev vectors;
//! * `fixtures/vectors/random_fuzzy.jsonl`: random and adversarial pairs scored by
//!   `scripts/gen_fuzzy_vectors.py` with every rapidfuzz scorer we expose.
//!
//! Expected values come from rapidfuzz (JSON floats round-trip exactly). The brief asks for
//! 1e-9; the scorers reproduce rapidfuzz's float operations in order, so we assert equality to
//! the bit (`TOL = 0`) and widen `TOL` only if a legitimate last-bit difference ever appears.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use gradekit_metrics::fuzzy;
use serde_json::Value;

const TOL: f64 = 0.0;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dp(s: &str) -> String {
    fuzzy::default_process(s)
}

#[test]
fn dev_vectors() {
    let text = fixture("dev.jsonl");
    let mut checked = 0;
    let mut primary = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["metric"] != "fuzzy_match" {
            continue;
        }
        let input = v["input"].as_str().unwrap();
        let reference = v["reference"].as_str().unwrap();
        let want = v["score"].as_f64().unwrap();
        let variant = v["variant"].as_str().unwrap();
        let got = match variant {
            "primary" => {
                primary += 1;
                fuzzy::fuzzy_match(input, reference)
            }
            "alt:ratio" => fuzzy::ratio(input, reference) / 100.0,
            "alt:ratio_dp" => fuzzy::ratio(&dp(input), &dp(reference)) / 100.0,
            "alt:wratio_raw" => fuzzy::wratio(input, reference) / 100.0,
            "alt:token_set_dp" => fuzzy::token_set_ratio(&dp(input), &dp(reference)) / 100.0,
            other => panic!("unknown fuzzy_match variant {other}"),
        };
        checked += 1;
        if (got - want).abs() > TOL || !got.is_finite() {
            failures.push(format!("{} {variant}: got {got}, want {want}", v["id"]));
        }
    }
    assert!(primary >= 290, "only {primary} primary vectors found");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn random_vectors() {
    let text = fixture("random_fuzzy.jsonl");
    type Scorer = fn(&str, &str) -> f64;
    let scorers: [(&str, Scorer); 10] = [
        ("fuzzy_match", fuzzy::fuzzy_match),
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
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let a = v["input"].as_str().unwrap();
        let b = v["reference"].as_str().unwrap();
        for (name, f) in scorers {
            let Some(mut want) = v["scores"][name].as_f64() else {
                continue;
            };
            if name == "fuzzy_match" {
                want /= 100.0; // stored on rapidfuzz's 0-100 scale
            }
            let got = f(a, b);
            checked += 1;
            if (got - want).abs() > TOL * 100.0 || !got.is_finite() {
                failures.push(format!("{} {name}: got {got}, want {want}", v["id"]));
            }
        }
    }
    assert!(checked >= 10_000, "only {checked} scores checked");
    let shown: Vec<_> = failures.iter().take(40).cloned().collect();
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        shown.join("\n")
    );
}
