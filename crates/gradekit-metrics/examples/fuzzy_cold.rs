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

use std::hint::black_box;
use std::time::Instant;

use common::{count_arg, median, pairs_path, read_pairs};
use gradekit_metrics::{score, Metric};

/// Nanoseconds per pair of one pass over `pairs`, and the score sum.
fn pass(pairs: &[(String, String)]) -> (f64, f64) {
    let t = Instant::now();
    let sum: f64 = pairs
        .iter()
        .map(|(i, r)| score(Metric::FuzzyMatch, black_box(i), black_box(r)).unwrap_or(f64::NAN))
        .sum();
    (
        t.elapsed().as_nanos() as f64 / pairs.len().max(1) as f64,
        sum,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 2_000)?;
    let rounds = count_arg(&args, 3, 21)?;
    let pairs = read_pairs(&path, n)?;
    if let Ok(k) = std::env::var("FUZZY_COLD_WARM_ONLY") {
        let k: usize = k.parse()?;
        let sum: f64 = (0..k).map(|_| pass(&pairs).1).sum();
        println!("score sum {sum:.9}");
        return Ok(());
    }
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let mut sums = (0.0, 0.0);
    for _ in 0..rounds.max(1) {
        let (c, w) = std::thread::scope(|s| {
            s.spawn(|| (pass(&pairs), pass(&pairs)))
                .join()
                .map_err(|_| "scoring thread panicked")
        })?;
        cold.push(c.0);
        warm.push(w.0);
        sums = (c.1, w.1);
    }
    println!(
        "fuzzy_match {} pairs, {} rounds (wall ns/pair, medians): cold {:.1}, warm {:.1}, cold - warm {:.1}; score sums {:.9} / {:.9}",
        pairs.len(),
        rounds.max(1),
        median(cold.clone()),
        median(warm.clone()),
        median(cold) - median(warm),
        sums.0,
        sums.1
    );
    Ok(())
}
