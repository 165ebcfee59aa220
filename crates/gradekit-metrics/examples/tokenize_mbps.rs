//! Tokenizer throughput on ASCII prose (issue #17 item 1: "aim ≥ 1 GB/s on ASCII prose"):
//! `nltk_tokenize_into` (Punkt sentences, then the fused one-pass tokenizer or the exact
//! Treebank port per sentence) over the ASCII texts of the benchmark pairs, one text per call
//! into a reused `Tokens`, as the metrics call it. Prints MB/s of input by thread CPU time
//! (median and best of the repeats), how many Punkt sentences the fused path took, and the
//! same for the non-ASCII texts (NIST path) for completeness.
//!
//! `cargo run --release -p gradekit-metrics --example tokenize_mbps -- [PAIRS.jsonl] [N] [REPEAT] [ascii|nist]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 2000 pairs, 9 repeats of ≥ 0.25 s each, both
//! kinds of text).

mod common;

use std::hint::black_box;

use common::{cpu_seconds, pairs_path};
use gradekit_metrics::tokenize::{fused_coverage, nltk_tokenize_into, Tokens};

/// Median and best MB/s of tokenizing `texts` one by one.
fn mbps(texts: &[String], repeat: usize) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut out = Tokens::new();
    let pass = |out: &mut Tokens| {
        let mut n = 0;
        for t in texts {
            nltk_tokenize_into(black_box(t), out);
            n += out.len();
        }
        black_box(n)
    };
    pass(&mut out);
    let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
    pass(&mut out);
    let once = cpu_seconds().ok_or("no thread CPU clock")? - c0;
    let passes = (0.25 / once.max(1e-4)).ceil().max(1.0) as usize;
    let mut rates = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
        for _ in 0..passes {
            pass(&mut out);
        }
        let secs = cpu_seconds().ok_or("no thread CPU clock")? - c0;
        rates.push((bytes * passes) as f64 / secs.max(1e-9) / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    Ok((rates[rates.len() / 2], rates[rates.len() - 1]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(9);
    let only = args.get(4).cloned().unwrap_or_default();
    let text = std::fs::read_to_string(&path)?;
    let (mut ascii, mut other) = (Vec::new(), Vec::new());
    for line in text.lines().take(n) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        for t in [&v["model_sample"], &v["item"]["reference"]] {
            let t = t.as_str().ok_or("text field")?.to_owned();
            if t.is_ascii() {
                ascii.push(t);
            } else {
                other.push(t);
            }
        }
    }
    let (sentences, fused) = ascii
        .iter()
        .filter_map(|t| fused_coverage(t))
        .fold((0, 0), |(s, f), (a, b)| (s + a, f + b));
    for (name, texts) in [
        ("ascii (word_tokenize)", &ascii),
        ("non-ascii (NIST)", &other),
    ] {
        let wanted = only.is_empty() || (only == "ascii") == name.starts_with("ascii");
        if texts.is_empty() || !wanted {
            continue;
        }
        let bytes: usize = texts.iter().map(String::len).sum();
        let (median, best) = mbps(texts, repeat)?;
        println!(
            "tokenize {name}: {median:.0} MB/s median, {best:.0} best ({} texts, {:.0} bytes/text, thread cpu)",
            texts.len(),
            bytes as f64 / texts.len() as f64
        );
    }
    println!(
        "fused path took {fused} of {sentences} Punkt sentences of the ascii texts ({:.1}%)",
        100.0 * fused as f64 / sentences.max(1) as f64
    );
    Ok(())
}
