//! Times `meteor::meteor` (tokenizer included) and `meteor::meteor_tokens` (metric alone) on the
//! benchmark pairs; the NLTK twin is `scripts/bench_meteor.py` (same rows, same pairs).
//!
//! `cargo run --release -p gradekit-metrics --example meteor_speed -- [PAIRS.jsonl] [N] [REPEAT]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 2000, 5);
//! `METEOR_SPEED_ROW=tokens` (or `strings`) runs one row only, for profiling.

mod common;

use std::time::Instant;

use common::{cpu_seconds, pairs_path, read_pairs};

use gradekit_metrics::meteor::{meteor, meteor_tokens};
use gradekit_metrics::tokenize::nltk_tokenize;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let pairs = read_pairs(&path, n)?;
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
