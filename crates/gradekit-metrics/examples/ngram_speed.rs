//! The n-gram part of bleu and gleu alone: the benchmark pairs are tokenized once
//! ([`nltk_tokenize_into`]) outside the timed loop, then [`bleu_nltk_tokens`] /
//! [`gleu_nltk_tokens`] run on the token lists as `bleu`/`gleu` do after tokenizing
//! (interning, clipped overlaps of orders 1..4, the score; no per-pair cache). Thread CPU time per
//! pair, median and best of the repeats. Run old and new binaries side by side; under
//! `valgrind --tool=callgrind` set `NGRAM_SPEED_PASSES=1` for instruction counts.
//!
//! `cargo run --release -p gradekit-metrics --example ngram_speed -- [PAIRS.jsonl] [N] [REPEAT]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 2000, 7).

mod common;

use std::hint::black_box;

use common::{pairs_path, read_pairs, time_passes};
use gradekit_metrics::bleu::bleu_nltk_tokens;
use gradekit_metrics::gleu::gleu_nltk_tokens;
use gradekit_metrics::tokenize::{nltk_tokenize_into, Tokens};

type Toks = Tokens;

fn time(
    pairs: &[(Toks, Toks)],
    repeat: usize,
    f: fn(&Toks, &Toks) -> f64,
) -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    time_passes(pairs.len(), repeat, "NGRAM_SPEED_PASSES", &mut || {
        pairs
            .iter()
            .map(|(h, r)| f(black_box(h), black_box(r)))
            .sum()
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let repeat: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    let pairs: Vec<(Toks, Toks)> = read_pairs(&path, n)?
        .iter()
        .map(|(i, r)| {
            let (mut h, mut t) = (Tokens::default(), Tokens::default());
            nltk_tokenize_into(i, &mut h);
            nltk_tokenize_into(r, &mut t);
            (h, t)
        })
        .collect();
    let tokens: usize = pairs.iter().map(|(h, r)| h.len() + r.len()).sum();
    for (name, f) in [
        ("bleu", bleu_nltk_tokens as fn(&Toks, &Toks) -> f64),
        ("gleu", gleu_nltk_tokens),
    ] {
        let (best, median, sum) = time(&pairs, repeat, f)?;
        println!(
            "ngram {name} us_per_pair {median:.3} (best {best:.3}; {} pairs, {:.1} tokens a pair, \
             {repeat} runs, thread cpu; score sum {sum:.12})",
            pairs.len(),
            tokens as f64 / pairs.len() as f64,
        );
    }
    Ok(())
}
