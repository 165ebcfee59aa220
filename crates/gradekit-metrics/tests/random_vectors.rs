//! Differential test of bleu, gleu and rouge_* against the Python reference
//! on random and adversarial pairs (`fixtures/vectors/random_<metric>.jsonl`,
//! written by `scripts/gen_random_pairs.py` from NLTK 3.9.1 / rouge-score
//! 0.1.2). Every score must be bit-identical (and so within 1e-9).
//!
//! bleu/gleu are checked end to end (`bleu::bleu`, `gleu::gleu`: our
//! `nltk_tokenize` + metric) and on the reference tokenizer's tokens carried
//! by each line (space-joined; NLTK tokens never contain whitespace) through
//! `bleu_tokens` / `gleu_tokens`, which isolates the metric arithmetic.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use gradekit_metrics::{bleu, gleu, rouge};
use serde_json::Value;

fn lines(metric: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/vectors")
        .join(format!("random_{metric}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tokens(v: &Value) -> Vec<&str> {
    let s = v.as_str().unwrap();
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(' ').collect()
    }
}

fn check(metric: &str, score: impl Fn(&Value) -> f64) {
    let vectors = lines(metric);
    assert!(
        vectors.len() >= 1000,
        "{metric}: only {} vectors",
        vectors.len()
    );
    let mut failures = Vec::new();
    for v in &vectors {
        let want = v["score"].as_f64().unwrap();
        let got = score(v);
        if got.to_bits() != want.to_bits() {
            let close = (got - want).abs() <= 1e-9;
            failures.push(format!(
                "{} ({}){}: got {got:?}, want {want:?}\n  input={:?}\n  reference={:?}",
                v["id"],
                v["kind"],
                if close { " [within 1e-9]" } else { "" },
                v["input"],
                v["reference"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{metric}: {} of {} differ:\n{}",
        failures.len(),
        vectors.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

#[test]
fn bleu_tokens_match_nltk() {
    check("bleu", |v| {
        bleu::bleu_tokens(&tokens(&v["input_tokens"]), &tokens(&v["reference_tokens"]))
    });
}

#[test]
fn gleu_tokens_match_nltk() {
    check("gleu", |v| {
        gleu::gleu_tokens(&tokens(&v["input_tokens"]), &tokens(&v["reference_tokens"]))
    });
}

#[test]
fn bleu_matches_nltk_end_to_end() {
    check("bleu", |v| {
        bleu::bleu(text(v, "input"), text(v, "reference"))
    });
}

#[test]
fn gleu_matches_nltk_end_to_end() {
    check("gleu", |v| {
        gleu::gleu(text(v, "input"), text(v, "reference"))
    });
}

#[test]
fn rouge_n_matches_rouge_score() {
    for n in 1..=5 {
        check(&format!("rouge_{n}"), |v| {
            rouge::rouge_n(text(v, "input"), text(v, "reference"), n)
        });
    }
}

#[test]
fn rouge_l_matches_rouge_score() {
    check("rouge_l", |v| {
        rouge::rouge_l(text(v, "input"), text(v, "reference"))
    });
}
