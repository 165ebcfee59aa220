//! What meteor costs on text it has not seen before (issue #17: `gradekit score` over distinct
//! pairs, one pass): each round scores the pairs ONCE on a fresh thread, so every per-thread
//! cache starts empty (word → stem memo, stem → WordNet id, synonym sets, tokens), then scores
//! them again on the same thread (warm). Reported per round: wall µs per pair of the cold pass
//! and of the warm pass; their difference is what the words not seen before cost (Porter
//! stemming, WordNet look-ups, synonym sets, table growth). Medians over the rounds. (Wall
//! time, not the thread CPU clock: `/proc/thread-self/schedstat` advances in scheduler ticks
//! here, 4 ms — 0.4 µs per pair of a 10,000-pair pass. On a loaded machine run it under
//! `chrt -f 10`.)
//! (The compile-time WordNet tables stay mapped and partly cached after the first round; the
//! first round's figures are printed apart.)
//!
//! `cargo run --release -p gradekit-metrics --example meteor_cold -- [PAIRS.jsonl] [N] [ROUNDS]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 10000 pairs, 15 rounds); `METEOR_COLD_METRIC=bleu`
//! (any grader metric) runs a control; `METEOR_COLD_WARM=0` skips the warm passes (to count
//! the cold pass alone under valgrind: `valgrind --tool=cachegrind ... meteor_cold F 10000 1`).
//! `METEOR_COLD_AHEAD=1`: a second thread maps METEOR's tables ahead in the first round, as
//! `score`'s idle I/O thread does (`gradekit_metrics::warm`).

mod common;

use std::time::Instant;

use common::{count_arg, median, pairs_path, read_pairs};
use gradekit_metrics::{score, Metric};

/// Wall µs per pair of one pass over `pairs`, and the score sum.
fn pass(metric: Metric, pairs: &[(String, String)]) -> Result<(f64, f64), String> {
    let t0 = Instant::now();
    let sum: f64 = pairs
        .iter()
        .map(|(i, r)| score(metric, i, r).unwrap_or(f64::NAN))
        .sum();
    let seconds = t0.elapsed().as_secs_f64();
    Ok((seconds / pairs.len().max(1) as f64 * 1e6, sum))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 10_000)?;
    let rounds = count_arg(&args, 3, 15)?;
    let pairs = read_pairs(&path, n)?;
    // Another metric as a control (what a fresh thread costs any metric: allocator arena,
    // tokenizer buffers).
    let name = std::env::var("METEOR_COLD_METRIC").unwrap_or_else(|_| "meteor".to_owned());
    let metric = Metric::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| format!("METEOR_COLD_METRIC: unknown metric {name:?}"))?;
    // `METEOR_COLD_AHEAD=1`: another thread maps the tables ahead in the first round
    // (`gradekit_metrics::warm::idle_step`), as `score`'s I/O thread does.
    let touch = std::env::var("METEOR_COLD_AHEAD").is_ok_and(|v| v == "1");
    let with_warm = std::env::var("METEOR_COLD_WARM").map_or(true, |v| v != "0");
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let mut sums = (0.0, 0.0);
    for round in 0..rounds.max(1) {
        let (c, w) = std::thread::scope(|s| {
            if round == 0 && touch {
                // `score`'s idle I/O thread, as it maps the tables ahead (the grader compiled
                // first says METEOR is expected).
                gradekit_metrics::warm::expect(metric);
                s.spawn(|| {
                    let mut steps = 0;
                    while steps < 10_000 {
                        if gradekit_metrics::warm::idle_step() {
                            steps = 0;
                        } else {
                            steps += 1;
                            std::thread::sleep(std::time::Duration::from_micros(20));
                        }
                    }
                });
            }
            s.spawn(|| -> Result<_, String> {
                let cold = pass(metric, &pairs)?;
                let warm = if with_warm {
                    pass(metric, &pairs)?
                } else {
                    (0.0, cold.1)
                };
                Ok((cold, warm))
            })
            .join()
            .map_err(|_| "scoring thread panicked".to_owned())?
        })?;
        if round == 0 {
            println!(
                "first round: cold {:.3} us/pair, warm {:.3} us/pair",
                c.0, w.0
            );
        }
        sums = (c.1, w.1);
        cold.push(c.0);
        warm.push(w.0);
    }
    let (c, w) = (median(cold), median(warm));
    println!(
        "{name} {} pairs, {} rounds (wall, medians): cold {c:.3} us/pair, warm {w:.3} us/pair, \
         cold - warm {:.3} us/pair; score sums {:.9} / {:.9}",
        pairs.len(),
        rounds.max(1),
        c - w,
        sums.0,
        sums.1
    );
    Ok(())
}
