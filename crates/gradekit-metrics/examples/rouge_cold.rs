//! rouge_l on one pass over distinct pairs, as `gradekit score` runs it (issue #17): each round
//! scores the pairs ONCE on a fresh thread (its buffers and the small table start empty, the
//! code's branch history is another thread's), then again on the same thread (warm). Wall-clock
//! nanoseconds per pair of each pass (`Instant`: the thread CPU clock ticks in 4 ms here, about
//! one pass), medians over the rounds; run it under `chrt -f 10` on a loaded machine.
//!
//! `cargo run --release -p gradekit-metrics --example rouge_cold -- [PAIRS.jsonl] [N] [ROUNDS]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 10000 pairs, 21 rounds).

mod common;

use common::{cold_warm_rounds, count_arg, pairs_path, read_pairs};
use gradekit_metrics::Metric;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 10_000)?;
    let rounds = count_arg(&args, 3, 21)?;
    let pairs = read_pairs(&path, n)?;
    cold_warm_rounds(Metric::RougeL, "rouge_l", &pairs, rounds)
}
