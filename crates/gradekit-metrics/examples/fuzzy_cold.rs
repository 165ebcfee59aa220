//! fuzzy_match on one pass over distinct pairs, as `gradekit score --threads 1` runs it (issue
//! #17): each round scores the first N pairs ONCE on a fresh thread (its reused buffers start
//! empty, the branch history is another thread's), then again on the same thread (warm).
//! Wall-clock nanoseconds per pair of each pass (`Instant`: the thread CPU clock ticks in 4 ms
//! here, about one pass), medians over the rounds; run it under `chrt -f 10` on a loaded
//! machine. `FUZZY_COLD_WARM_ONLY=K` instead scores the pairs K times on the main thread and
//! prints nothing but the score sum (for `perf record` / callgrind of the metric alone).
//!
//! `cargo run --release -p gradekit-metrics --example fuzzy_cold -- [PAIRS.jsonl] [N] [ROUNDS]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 2000 pairs, 21 rounds).

mod common;

use common::{cold_warm_rounds, count_arg, metric_pass, pairs_path, read_pairs};
use gradekit_metrics::Metric;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 2_000)?;
    let rounds = count_arg(&args, 3, 21)?;
    let pairs = read_pairs(&path, n)?;
    if let Ok(k) = std::env::var("FUZZY_COLD_WARM_ONLY") {
        let k: usize = k.parse()?;
        let sum: f64 = (0..k)
            .map(|_| metric_pass(Metric::FuzzyMatch, &pairs).1)
            .sum();
        println!("score sum {sum:.9}");
        return Ok(());
    }
    cold_warm_rounds(Metric::FuzzyMatch, "fuzzy_match", &pairs, rounds)
}
