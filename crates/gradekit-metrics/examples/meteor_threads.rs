//! How meteor (against bleu, as a control) scales from one thread to two in process, and what
//! its per-thread caches cost when they start cold (issue #14: meteor through Python
//! `rewards()` scaled 1.59× on 2 threads against bleu's 1.72×).
//!
//! For each metric and thread count T ∈ {1, 2}: T fresh threads split the pairs between them
//! (round-robin), each scoring its share `PASSES` times; reported are pairs/s by wall time of
//! the first pass (every per-thread cache cold: stems, WordNet synonym sets, tokens) and of the
//! later passes (warm), and the 2-thread/1-thread ratios. The CPU time of the cold pass over the
//! warm ones shows the warm-up each new thread pays.
//!
//! `cargo run --release -p gradekit-metrics --example meteor_threads -- [PAIRS.jsonl] [N] [PASSES]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 10000 pairs, 5 passes).

mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{count_arg, pairs_path, read_pairs};
use gradekit_metrics::{score, Metric};

/// Wall seconds of the first pass and of each later pass (max over threads, per pass).
fn run(pairs: &[(String, String)], metric: Metric, threads: usize, passes: usize) -> (f64, f64) {
    let barrier = std::sync::Barrier::new(threads);
    let per_thread: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mine: Vec<&(String, String)> =
                        pairs.iter().skip(t).step_by(threads).collect();
                    let mut times = Vec::with_capacity(passes);
                    for _ in 0..passes {
                        barrier.wait();
                        let t0 = Instant::now();
                        let mut sum = 0.0;
                        for (a, b) in &mine {
                            sum += score(metric, black_box(a), black_box(b)).unwrap_or(0.0);
                        }
                        black_box(sum);
                        times.push(t0.elapsed().as_secs_f64());
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let pass_time = |p: usize| {
        per_thread
            .iter()
            .filter_map(|t| t.get(p).copied())
            .fold(0.0, f64::max)
    };
    let cold = pass_time(0);
    let mut warm: Vec<f64> = (1..passes).map(pass_time).collect();
    warm.sort_by(f64::total_cmp);
    (cold, warm.get(warm.len() / 2).copied().unwrap_or(cold))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 10_000)?;
    let passes = count_arg(&args, 3, 5)?.max(2);
    let pairs = read_pairs(&path, n)?;
    // One-time global data (Punkt) loaded before timing: this pair reaches the synonym stage
    // ("sat" and "sit" meet through WordNet).
    let _ = score(Metric::Meteor, "The cat sat.", "the cat was sitting");
    for metric in [Metric::Bleu, Metric::Meteor] {
        let (c1, w1) = run(&pairs, metric, 1, passes);
        let (c2, w2) = run(&pairs, metric, 2, passes);
        let rate = |t: f64| pairs.len() as f64 / t / 1e3;
        println!(
            "threads {name:<7} 1 thread: cold {:.0}k/s warm {:.0}k/s | 2 threads: cold {:.0}k/s \
             warm {:.0}k/s | 2/1 cold {:.2}x warm {:.2}x | cold/warm 1 thread {:.2}x ({} pairs)",
            rate(c1),
            rate(w1),
            rate(c2),
            rate(w2),
            c1 / c2,
            w1 / w2,
            c1 / w1,
            pairs.len(),
            name = metric.name(),
        );
    }
    Ok(())
}
