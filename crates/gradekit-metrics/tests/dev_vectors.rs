//! Conformance of bleu, gleu and rouge_* with the reference vectors
//! (`fixtures/vectors/dev.jsonl`, primary variants: NLTK 3.9.1 and
//! rouge-score 0.1.2 values computed by `shared/reference/refmetrics.py`).
//!
//! bleu/gleu are checked twice: end to end through the string entry points
//! (`crate::tokenize::nltk_tokenize` + metric), and on the NLTK tokens
//! recorded in `fixtures/vectors/dev_pairs.jsonl`, which isolates the metric
//! arithmetic from tokenizer parity. Every comparison must agree to 1e-9;
//! values that are not bit-identical are reported and fail too.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use gradekit_metrics::{bleu, gleu, rouge};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vectors")
}

fn read_jsonl(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(vectors_dir().join(name)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Pair {
    input: String,
    reference: String,
    input_tokens: Vec<String>,
    reference_tokens: Vec<String>,
    input_rouge_tokens: Vec<String>,
    reference_rouge_tokens: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn pairs() -> HashMap<String, Pair> {
    read_jsonl("dev_pairs.jsonl")
        .into_iter()
        .map(|v| {
            let id = v["id"].as_str().unwrap().to_owned();
            let pair = Pair {
                input: v["input"].as_str().unwrap().to_owned(),
                reference: v["reference"].as_str().unwrap().to_owned(),
                input_tokens: strings(&v["input_nltk_tokens"]),
                reference_tokens: strings(&v["reference_nltk_tokens"]),
                input_rouge_tokens: strings(&v["input_rouge_tokens"]),
                reference_rouge_tokens: strings(&v["reference_rouge_tokens"]),
            };
            (id, pair)
        })
        .collect()
}

/// Scores ours for `metric` on `pair`, or None for metrics not owned here.
fn ours(metric: &str, pair: &Pair) -> Option<f64> {
    let (i, r) = (pair.input.as_str(), pair.reference.as_str());
    Some(match metric {
        "bleu_tokens" => bleu::bleu_tokens(&pair.input_tokens, &pair.reference_tokens),
        "gleu_tokens" => gleu::gleu_tokens(&pair.input_tokens, &pair.reference_tokens),
        "bleu" => bleu::bleu(i, r),
        "gleu" => gleu::gleu(i, r),
        "rouge_1" => rouge::rouge_n(i, r, 1),
        "rouge_2" => rouge::rouge_n(i, r, 2),
        "rouge_3" => rouge::rouge_n(i, r, 3),
        "rouge_4" => rouge::rouge_n(i, r, 4),
        "rouge_5" => rouge::rouge_n(i, r, 5),
        "rouge_l" => rouge::rouge_l(i, r),
        _ => return None,
    })
}

#[test]
fn primary_vectors_match_reference() {
    let pairs = pairs();
    let mut checked: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    let mut inexact = 0;
    for v in read_jsonl("dev.jsonl") {
        if v["variant"] != "primary" {
            continue;
        }
        let metric = v["metric"].as_str().unwrap();
        let id = v["id"].as_str().unwrap();
        let pair = &pairs[id];
        let Some(got) = ours(metric, pair) else {
            continue;
        };
        let want = v["score"].as_f64().unwrap();
        *checked.entry(metric.to_owned()).or_default() += 1;
        if (got - want).abs() > 1e-9 || !got.is_finite() {
            failures.push(format!("{id} {metric}: got {got:?}, want {want:?}"));
        } else if got.to_bits() != want.to_bits() {
            inexact += 1;
            failures.push(format!(
                "{id} {metric}: not bit-identical: {got:?} vs {want:?}"
            ));
        }
    }
    for m in [
        "bleu", "gleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l",
    ] {
        assert_eq!(
            checked.get(m).copied().unwrap_or(0),
            298,
            "vectors checked for {m}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures ({inexact} only inexact):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rouge_tokens_match_reference() {
    for (id, pair) in pairs() {
        assert_eq!(
            rouge::tokenize(&pair.input),
            pair.input_rouge_tokens,
            "{id} input"
        );
        assert_eq!(
            rouge::tokenize(&pair.reference),
            pair.reference_rouge_tokens,
            "{id} reference"
        );
    }
}

#[test]
fn prepared_and_batch_forms_agree() {
    for pair in pairs().values() {
        let (i, r) = (pair.input.as_str(), pair.reference.as_str());
        let prepared = rouge::PreparedReference::new(r);
        let all = rouge::rouge_all(i, r);
        for n in 1..=5 {
            let direct = rouge::rouge_n(i, r, n);
            assert_eq!(prepared.rouge_n(i, n).to_bits(), direct.to_bits());
            assert_eq!(all.rouge_n[n - 1].to_bits(), direct.to_bits());
        }
        let direct = rouge::rouge_l(i, r);
        assert_eq!(prepared.rouge_l(i).to_bits(), direct.to_bits());
        assert_eq!(all.rouge_l.to_bits(), direct.to_bits());
    }
}
