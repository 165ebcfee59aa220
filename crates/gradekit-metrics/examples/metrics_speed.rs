//! Per-metric in-process cost on the benchmark pairs, one pair per call, one thread, as the
//! engine calls it ([`gradekit_metrics::score`], tokenizer and per-thread text cache included;
//! the pairs are distinct, so the cache only shares work inside a pair), next to the cost of
//! tokenizing the same two texts with the metric's tokenizer
//! ([`gradekit_metrics::tokenize_pair`], uncached): issue #17's "each metric's in-process
//! cost ≤ 2× the cost of tokenizing its two texts". Thread CPU time per pair, best and median
//! of the repeats, the metric's and the tokenizer's samples alternating (so a host that
//! changes speed mid-run slows both sides alike), and the median and range of the rounds'
//! ratios; `scripts/bench_end_to_end.py` runs it and reads the `cost` lines.
//!
//! `cargo run --release -p gradekit-metrics --example metrics_speed -- [PAIRS.jsonl] [N] [REPEAT] [FILTER]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 3000, 7, all metrics; each sample spans ≥ 0.25 s, or
//! `METRICS_SPEED_PASSES` passes over the pairs (for instruction counts under valgrind); FILTER is a
//! comma-separated list of metric names).

mod common;

use std::hint::black_box;

use common::{pairs_path, read_pairs, time_interleaved};
use gradekit_metrics::{score, tokenize_pair, Metric};

/// One pass of `f` over `pairs` (the score sum).
fn pass(pairs: &[(String, String)], f: &dyn Fn(&str, &str) -> f64) -> f64 {
    pairs
        .iter()
        .map(|(i, r)| f(black_box(i), black_box(r)))
        .sum()
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
        // The metric and the tokenizer in alternating samples (`time_interleaved`): both
        // sides of the ratio come from the same minutes of a drifting host.
        let t = time_interleaved(
            pairs.len(),
            repeat,
            "METRICS_SPEED_PASSES",
            &mut || pass(&pairs, &|i, r| score(metric, i, r).unwrap_or(f64::NAN)),
            &mut || pass(&pairs, &|i, r| tokenize_pair(metric, i, r) as f64),
        )?;
        let ((best, median), (tbest, tmedian)) = (t.a, t.b);
        println!(
            "cost {name} metric_us {median:.3} tokenize_us {tmedian:.3} ratio {ratio:.2} \
             (best {best:.3} / {tbest:.3}; per-round ratios median {rm:.2}, {lo:.2}–{hi:.2}; \
             {n} pairs, {repeat} alternating runs, thread cpu; score sum {sum:.12})",
            name = metric.name(),
            ratio = median / tmedian,
            rm = t.ratio_median,
            lo = t.ratio_range.0,
            hi = t.ratio_range.1,
            n = pairs.len(),
            sum = t.sums[0],
        );
    }
    Ok(())
}
