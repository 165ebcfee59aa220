//! Per-metric in-process cost on the benchmark pairs, one pair per call, one thread, as the
//! engine calls it ([`gradekit_metrics::score`], tokenizer and per-thread text cache included;
//! the pairs are distinct, so the cache only shares work inside a pair), next to the cost of
//! tokenizing the same two texts with the metric's tokenizer
//! ([`gradekit_metrics::tokenize_pair`], uncached): issue #17's "each metric's in-process
//! cost ≤ 2× the cost of tokenizing its two texts". Thread CPU time per pair, best and median
//! of the repeats; `scripts/bench_end_to_end.py` runs it and reads the `cost` lines.
//!
//! `cargo run --release -p gradekit-metrics --example metrics_speed -- [PAIRS.jsonl] [N] [REPEAT] [FILTER]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 3000, 7, all metrics; each sample spans ≥ 0.25 s, or
//! `METRICS_SPEED_PASSES` passes over the pairs (for instruction counts under valgrind); FILTER is a
//! comma-separated list of metric names).

mod common;

use std::hint::black_box;

use common::{pairs_path, read_pairs, time_passes};
use gradekit_metrics::{score, tokenize_pair, Metric};

/// Best and median µs per pair of `f` over `pairs` (the warm-up pass covers first-use work
/// such as buffer growth).
fn time(
    pairs: &[(String, String)],
    repeat: usize,
    f: &dyn Fn(&str, &str) -> f64,
) -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    time_passes(pairs.len(), repeat, "METRICS_SPEED_PASSES", &mut || {
        pairs
            .iter()
            .map(|(i, r)| f(black_box(i), black_box(r)))
            .sum()
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    let filter = args.get(4).cloned().unwrap_or_default();
    let pairs = read_pairs(&path, n)?;
    let wanted: Vec<&str> = filter.split(',').filter(|s| !s.is_empty()).collect();
    for metric in Metric::ALL {
        if !wanted.is_empty() && !wanted.contains(&metric.name()) {
            continue;
        }
        let (best, median, sum) = time(&pairs, repeat, &|i, r| {
            score(metric, i, r).unwrap_or(f64::NAN)
        })?;
        let (tbest, tmedian, _) = time(&pairs, repeat, &|i, r| tokenize_pair(metric, i, r) as f64)?;
        println!(
            "cost {name} metric_us {median:.3} tokenize_us {tmedian:.3} ratio {ratio:.2} \
             (best {best:.3} / {tbest:.3}; {n} pairs, {repeat} runs, thread cpu; score sum {sum:.12})",
            name = metric.name(),
            ratio = median / tmedian,
            n = pairs.len(),
        );
    }
    Ok(())
}
