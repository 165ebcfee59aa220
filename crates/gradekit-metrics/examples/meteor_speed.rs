//! Times meteor on the benchmark pairs, one thread, thread CPU µs per pair (median of the
//! repeats, [`common::time_passes`]):
//!
//! * `strings` — `meteor::meteor(input, reference)`, as the grader calls it: tokenizer (through
//!   the per-thread text cache) and metric;
//! * `twice` — the same call twice per pair: the second call finds both texts in the cache, so
//!   `twice − strings` is what meteor itself costs on the tokenizer's lists (stage 1 in place,
//!   stages 2–3, the score) plus a cache hit (two `memcmp`s of the texts) — the part of issue
//!   #17's cost ratio that this module owns, measured without the tokenizer's noise;
//! * `tokens` — `meteor::meteor_tokens` on pre-tokenised `Vec<String>` lists (the general path:
//!   every word through `str.lower()`, a string table).
//!
//! The NLTK twin is `scripts/bench_meteor.py` (same rows, same pairs).
//!
//! `cargo run --release -p gradekit-metrics --example meteor_speed -- [PAIRS.jsonl] [N] [REPEAT]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 3000, 7; `METEOR_SPEED_PASSES` fixes the passes per
//! sample, e.g. 1 under callgrind); `METEOR_SPEED_ROW=strings|twice|tokens` runs one row only.

mod common;

use std::hint::black_box;

use common::{pairs_path, read_pairs, time_passes};

use gradekit_metrics::meteor::{meteor, meteor_tokens};
use gradekit_metrics::tokenize::nltk_tokenize;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    let pairs = read_pairs(&path, n)?;
    let toks: Vec<(Vec<String>, Vec<String>)> = pairs
        .iter()
        .map(|(i, r)| (nltk_tokenize(i), nltk_tokenize(r)))
        .collect();

    type Row<'a> = (&'a str, &'a dyn Fn() -> f64);
    let rows: [Row; 3] = [
        ("strings", &|| {
            pairs
                .iter()
                .map(|(i, r)| meteor(black_box(i), black_box(r)))
                .sum()
        }),
        ("twice", &|| {
            pairs
                .iter()
                .map(|(i, r)| {
                    meteor(black_box(i), black_box(r)) + meteor(black_box(i), black_box(r))
                })
                .sum::<f64>()
                / 2.0
        }),
        ("tokens", &|| {
            toks.iter()
                .map(|(h, r)| meteor_tokens(black_box(h), black_box(r)))
                .sum()
        }),
    ];
    let only = std::env::var("METEOR_SPEED_ROW").ok();
    let mut medians = Vec::new();
    for (name, f) in rows {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (best, median, sum) =
            time_passes(pairs.len(), repeat, "METEOR_SPEED_PASSES", &mut || f())?;
        println!(
            "gradekit meteor {name:8} {} pairs: {median:8.3} us/pair cpu median (best {best:.3}, {repeat} runs); score sum {sum:.12}",
            pairs.len(),
        );
        medians.push((name, median));
    }
    let get = |row: &str| medians.iter().find(|(n, _)| *n == row).map(|&(_, m)| m);
    if let (Some(once), Some(twice)) = (get("strings"), get("twice")) {
        println!(
            "meteor in place, tokens cached: {:.3} us/pair (twice - strings)",
            twice - once
        );
    }
    Ok(())
}
