//! The per-thread text cache (`src/cache.rs`) never changes a score: metrics called in any
//! order over pairs drawn from a small pool of texts (so that hits, identical sides and
//! evictions all happen) equal the uncached token-level functions.
#![allow(clippy::unwrap_used)]

use gradekit_metrics::rouge::PreparedReference;
use gradekit_metrics::tokenize::nltk_cache_fills;
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

#[test]
fn each_distinct_text_is_tokenized_once_per_sample() {
    let nltk = [Metric::Bleu, Metric::Gleu, Metric::Meteor];
    for i in 0..200 {
        // Fresh texts each sample, so nothing is cached from an earlier one.
        let a = format!("Sample {i}: the cat sat on the mat. It was happy.");
        let b = format!("In sample {i} a cat sat on a mat!");
        // A multi grader: every NLTK metric, some twice, in both directions, and one
        // input equal to its reference.
        let before = nltk_cache_fills();
        for m in nltk.iter().chain(&nltk) {
            score(*m, &a, &b).unwrap();
            score(*m, &b, &a).unwrap();
            score(*m, &a, &a).unwrap();
        }
        assert_eq!(nltk_cache_fills() - before, 2, "sample {i}");
    }
    // A sample reading eight distinct texts (the cache's size): each tokenized once.
    let texts: Vec<String> = (0..8)
        .map(|k| format!("text number {k}, one of eight."))
        .collect();
    let before = nltk_cache_fills();
    for _ in 0..3 {
        for (k, a) in texts.iter().enumerate() {
            let b = &texts[(k + 3) % texts.len()];
            for m in nltk {
                score(m, a, b).unwrap();
            }
        }
    }
    assert_eq!(nltk_cache_fills() - before, 8);
}

#[test]
fn an_input_equal_to_its_reference_scores_as_uncached() {
    // bleu and gleu take the shortcut of an input sharing its reference's cache slot (each
    // order's overlap is its n-gram count): against the uncached token-level functions on
    // texts of 0 to 9 tokens (the orders past the length, smoothed by bleu) and longer ones,
    // repetitive and not, ASCII and not, and the same text first seen as a reference.
    let words = [
        "the", "cat", "sat", ",", "on", "mat", "the", "café", "Dr.", "can't",
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0..600 {
        let len = if round % 3 == 0 { next(80) } else { next(10) };
        let text: Vec<&str> = (0..len)
            .map(|_| words[next(if round % 2 == 0 { 3 } else { words.len() })])
            .collect();
        let a = text.join(" ");
        for m in [Metric::Bleu, Metric::Gleu] {
            let other = format!("{a} and more");
            score(m, &other, &a).unwrap();
            let got = score(m, &a, &a).unwrap();
            assert_eq!(got.to_bits(), oracle(m, &a, &a).to_bits(), "{m} {a:?}");
        }
    }
}
