//! Porter stemming speed on the distinct words of a pairs file (issue #17: a one-pass run
//! stems each new word once): `porter_speed [PAIRS.jsonl] [N] [ROUNDS]` stems the distinct
//! lower-cased whitespace-separated words of the first N pairs, ROUNDS times, and prints the
//! median ns per word (and a checksum of the stems' lengths).

mod common;

use std::time::Instant;

use common::{count_arg, median, pairs_path, read_pairs};
use gradekit_metrics::meteor::porter::stem_into;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n = count_arg(&args, 2, 10_000)?;
    let rounds = count_arg(&args, 3, 21)?;
    let pairs = read_pairs(&path, n)?;
    let mut seen = std::collections::HashSet::new();
    let mut words = Vec::new();
    for (a, b) in &pairs {
        for w in a.split_whitespace().chain(b.split_whitespace()) {
            let w = w.to_lowercase();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
    }
    let mut out = String::new();
    let (mut times, mut sum) = (Vec::new(), 0usize);
    for _ in 0..rounds.max(1) {
        let t0 = Instant::now();
        sum = 0;
        for w in &words {
            stem_into(w, &mut out);
            sum += out.len();
        }
        times.push(t0.elapsed().as_secs_f64() * 1e9 / words.len().max(1) as f64);
    }
    println!(
        "{} words, {} rounds: median {:.1} ns a word (stem lengths {sum})",
        words.len(),
        rounds.max(1),
        median(times)
    );
    Ok(())
}
