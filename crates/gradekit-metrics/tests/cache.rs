//! The per-thread text cache (`src/cache.rs`) never changes a score: metrics called in any
//! order over pairs drawn from a small pool of texts (so that hits, identical sides and
//! evictions all happen) equal the uncached token-level functions.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::rouge::PreparedReference;
use gradekit_metrics::{bleu, gleu, meteor, nltk_tokenize, score, Metric};

const POOL: &[&str] = &[
    "The cat sat on the mat.",
    "the cat is on the mat",
    "A dog. It barked loudly, then it ran away.",
    "It barked loudly, then the dog ran away!",
    "",
    "café au lait, s'il vous plaît",
    "Dr. Smith can't come; he's busy.",
    "the the the cat",
    "cat",
];

fn oracle(m: Metric, a: &str, b: &str) -> f64 {
    let (h, r) = (nltk_tokenize(a), nltk_tokenize(b));
    match m {
        Metric::Bleu => bleu::bleu_tokens(&h, &r),
        Metric::Gleu => gleu::gleu_tokens(&h, &r),
        Metric::Meteor => meteor::meteor_tokens(&h, &r),
        Metric::RougeN(n) => PreparedReference::new(b).rouge_n(a, usize::from(n)),
        Metric::RougeL => PreparedReference::new(b).rouge_l(a),
        _ => gradekit_metrics::fuzzy::fuzzy_match(a, b),
    }
}

#[test]
fn cached_scores_equal_uncached_in_any_order() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..3000 {
        let a = POOL[next(POOL.len())];
        let b = POOL[next(POOL.len())];
        let m = Metric::ALL[next(Metric::ALL.len())];
        let got = score(m, a, b).unwrap();
        assert_eq!(got.to_bits(), oracle(m, a, b).to_bits(), "{m} {a:?} {b:?}");
    }
}

#[test]
fn long_texts_bypass_the_cache() {
    let long = "word ".repeat(20_000);
    let other = format!("{long} tail");
    for m in [
        Metric::Bleu,
        Metric::Gleu,
        Metric::Meteor,
        Metric::RougeN(2),
    ] {
        let a = score(m, &long, &other).unwrap();
        let b = score(m, &long, &other).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        assert_eq!(a.to_bits(), oracle(m, &long, &other).to_bits(), "{m}");
    }
}
