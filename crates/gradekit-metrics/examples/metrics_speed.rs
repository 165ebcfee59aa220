//! Quick per-metric speed check on the benchmark pairs (tokenizer included, one pair per
//! call, one thread): thread CPU time per pair, best and median of the repeats. A lighter
//! twin of `benches/metrics.rs` for before/after comparisons on a busy machine, covering
//! meteor too; the Python side is `scripts/bench_reference.py` / `scripts/bench_meteor.py`.
//!
//! `cargo run --release -p gradekit-metrics --example metrics_speed -- [PAIRS.jsonl] [N] [REPEAT] [FILTER]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 3000, 7, all rows; each sample spans ≥ 0.25 s, or
//! `METRICS_SPEED_PASSES` passes over the pairs (for instruction counts under valgrind); FILTER is a substring of
//! the row names).

use std::hint::black_box;

use gradekit_metrics::{bleu, gleu, meteor, rouge};

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`).
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

type Row<'a> = (&'a str, &'a dyn Fn(&str, &str) -> f64);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/bench/pairs-10k.jsonl"
        )
        .to_owned()
    });
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    let filter = args.get(4).cloned().unwrap_or_default();
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
    let rows: [Row; 7] = [
        ("bleu", &bleu::bleu),
        ("gleu", &gleu::gleu),
        ("meteor", &meteor::meteor),
        ("rouge_1", &|i, r| rouge::rouge_n(i, r, 1)),
        ("rouge_2", &|i, r| rouge::rouge_n(i, r, 2)),
        ("rouge_l", &rouge::rouge_l),
        ("rouge_all_six", &|i, r| rouge::rouge_all(i, r).rouge_l),
    ];
    for (name, f) in rows {
        if !name.contains(filter.as_str()) {
            continue;
        }
        // Warm-up pass: one-time data parses (Punkt, WordNet) and buffer growth.
        let mut sum: f64 = pairs.iter().map(|(i, r)| f(i, r)).sum();
        // The kernel may account thread CPU time in scheduler ticks (4 ms): time passes
        // over the pairs until each sample spans at least 0.25 s.
        let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
        let _: f64 = pairs
            .iter()
            .map(|(i, r)| f(black_box(i), black_box(r)))
            .sum();
        let once = cpu_seconds().ok_or("no thread CPU clock")? - c0;
        let passes = match std::env::var("METRICS_SPEED_PASSES") {
            Ok(p) => p.parse()?,
            Err(_) => (0.25 / once.max(1e-3)).ceil().max(1.0) as usize,
        };
        let mut times = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
            for _ in 0..passes {
                sum = pairs
                    .iter()
                    .map(|(i, r)| f(black_box(i), black_box(r)))
                    .sum();
            }
            let c1 = cpu_seconds().ok_or("no thread CPU clock")?;
            times.push((c1 - c0) / (passes * pairs.len()) as f64 * 1e6);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:14} {} pairs: best {:6.2} µs/pair, median {:6.2} µs/pair (cpu, {repeat} runs); score sum {sum:.12}",
            pairs.len(),
            times[0],
            times[times.len() / 2],
        );
    }
    Ok(())
}
