//! Quick speed check of `nltk_tokenize` on the dev-vector texts (not a criterion bench).
//!
//! `cargo run --release -p gradekit-metrics --example tokenize_speed [ROUNDS] [API-FILTER]`
//! (API-FILTER: a substring of the API name, e.g. `_into`, to time only that one).
#![allow(clippy::unwrap_used)]

use gradekit_metrics::nltk_tokenize;
use gradekit_metrics::tokenize::{nltk_tokenize_into, Tokens};
use std::time::Instant;

/// This thread's CPU time in seconds (Linux `/proc/thread-self/schedstat`), so the
/// figure stays meaningful on a loaded machine; falls back to wall time elsewhere.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/vectors/dev_pairs.jsonl"
    );
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let data = std::fs::read_to_string(path).unwrap();
    let mut ascii = Vec::new();
    let mut other = Vec::new();
    for line in data.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for side in ["input", "reference"] {
            let t = v[side].as_str().unwrap().to_owned();
            // Typical grader texts: drop the ~1000-word edge cases so the mean reflects
            // sentence/passage-sized answers.
            if t.is_empty() || t.len() > 2000 {
                continue;
            }
            if t.is_ascii() {
                ascii.push(t);
            } else {
                other.push(t);
            }
        }
    }
    let _ = nltk_tokenize("warm up. Data load.");
    let mut buf = Tokens::new();
    for (name, texts) in [
        ("ascii (word_tokenize)", &ascii),
        ("non-ascii (NIST)", &other),
    ] {
        let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
        let only = std::env::args().nth(2).unwrap_or_default();
        for api in [
            "nltk_tokenize -> Vec<String>",
            "nltk_tokenize_into(&mut Tokens)",
        ] {
            if !api.contains(only.as_str()) {
                continue;
            }
            let mut tokens = 0usize;
            let start = Instant::now();
            let cpu0 = cpu_seconds();
            for _ in 0..rounds {
                for t in texts.iter() {
                    tokens += if api.starts_with("nltk_tokenize ") {
                        nltk_tokenize(t).len()
                    } else {
                        nltk_tokenize_into(t, &mut buf);
                        buf.len()
                    };
                }
            }
            let wall = start.elapsed().as_secs_f64();
            let secs = match (cpu0, cpu_seconds()) {
                (Some(a), Some(b)) => b - a,
                _ => wall,
            };
            let calls = (rounds * texts.len()) as f64;
            println!(
                "{name}, {api}: {} texts, {:.1} words/text, {:.2} us/text (CPU; wall {:.2}), {:.1} M tokens/s",
                texts.len(),
                words as f64 / texts.len() as f64,
                secs * 1e6 / calls,
                wall * 1e6 / calls,
                tokens as f64 / secs / 1e6
            );
        }
    }
}
