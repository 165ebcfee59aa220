//! Times `meteor::meteor` (tokenizer included) and `meteor::meteor_tokens` (metric alone) on the
//! benchmark pairs; the NLTK twin is `scripts/bench_meteor.py` (same rows, same pairs).
//!
//! `cargo run --release -p gradekit-metrics --example meteor_speed -- [PAIRS.jsonl] [N] [REPEAT]`
//! (defaults: ../shared/bench/pairs-10k.jsonl relative to the workspace root, 2000, 5);
//! `METEOR_SPEED_ROW=tokens` (or `strings`) runs one row only, for profiling.

use std::time::Instant;

use gradekit_metrics::meteor::{meteor, meteor_tokens};
use gradekit_metrics::tokenize::nltk_tokenize;

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`, nanoseconds): on a shared,
/// loaded machine it stays close to uncontended wall time, like Python's `process_time`.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/bench/pairs-10k.jsonl"
        )
        .to_owned()
    });
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let text = std::fs::read_to_string(&path)?;
    let mut pairs = Vec::new();
    for line in text.lines().take(n) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let input = v["model_sample"].as_str().ok_or("model_sample")?.to_owned();
        let reference = v["item"]["reference"]
            .as_str()
            .ok_or("reference")?
            .to_owned();
        pairs.push((input, reference));
    }
    let toks: Vec<(Vec<String>, Vec<String>)> = pairs
        .iter()
        .map(|(i, r)| (nltk_tokenize(i), nltk_tokenize(r)))
        .collect();
    let _ = meteor_tokens(&["warm"], &["up"]); // first-use work outside the timing

    let rows: [(&str, &dyn Fn() -> f64); 2] = [
        ("strings", &|| pairs.iter().map(|(i, r)| meteor(i, r)).sum()),
        ("tokens", &|| {
            toks.iter().map(|(h, r)| meteor_tokens(h, r)).sum()
        }),
    ];
    let only = std::env::var("METEOR_SPEED_ROW").ok();
    for (name, f) in rows {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        let mut total = 0.0;
        for _ in 0..repeat {
            let (t0, c0) = (Instant::now(), cpu_seconds());
            total = f();
            best = best.min(t0.elapsed().as_secs_f64());
            if let (Some(c0), Some(c1)) = (c0, cpu_seconds()) {
                best_cpu = best_cpu.min(c1 - c0);
            }
        }
        let per = |t: f64| t / pairs.len() as f64 * 1e6;
        println!(
            "gradekit meteor {name:8} {} pairs: {:8.2} us/pair cpu, {:8.2} us/pair wall (best of {repeat}); score sum {total:.12}",
            pairs.len(),
            per(best_cpu),
            per(best),
        );
    }
    Ok(())
}
