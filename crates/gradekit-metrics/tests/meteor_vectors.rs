//! METEOR and its Porter stemmer against NLTK 3.9.1.
//!
//! * `fixtures/vectors/dev.jsonl`: every primary meteor vector, through the string entry point
//!   (our tokenizer) and through the NLTK tokens recorded in `dev_pairs.jsonl` (metric alone).
//! * `fixtures/vectors/random_meteor.jsonl`: thousands of synonym-rich token-list pairs scored by
//!   NLTK (`scripts/gen_meteor_fixtures.py`).
//! * `fixtures/vectors/porter_words.jsonl`: NLTK's stem of >100k words.
//!
//! Scores must agree within 1e-9; the count of values that are not bit-identical is printed.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use gradekit_metrics::meteor::wordnet::WordNet;
use gradekit_metrics::meteor::{meteor, meteor_tokens, porter};
use proptest::prelude::*;
use serde_json::Value;

fn read_jsonl(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

fn meteor_vectors() -> Vec<(String, String, String, f64)> {
    read_jsonl("dev.jsonl")
        .into_iter()
        .filter(|v| v["metric"] == "meteor" && v["variant"] == "primary")
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["input"].as_str().unwrap().to_owned(),
                v["reference"].as_str().unwrap().to_owned(),
                v["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn dev_vectors_on_nltk_tokens() {
    let pairs: HashMap<String, Value> = read_jsonl("dev_pairs.jsonl")
        .into_iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    let vectors = meteor_vectors();
    assert_eq!(vectors.len(), 298);
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for (id, _, _, want) in &vectors {
        let p = &pairs[id];
        let got = meteor_tokens(
            &strings(&p["input_nltk_tokens"]),
            &strings(&p["reference_nltk_tokens"]),
        );
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{id}: got {got}, want {want}"));
        }
        inexact += usize::from(got != *want);
    }
    println!(
        "meteor dev (NLTK tokens): {} vectors, {} not bit-identical",
        vectors.len(),
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn dev_vectors_on_strings() {
    let vectors = meteor_vectors();
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for (id, input, reference, want) in &vectors {
        let got = meteor(input, reference);
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{id}: got {got}, want {want}"));
        }
        inexact += usize::from(got != *want);
    }
    println!(
        "meteor dev (strings): {} vectors, {} not bit-identical",
        vectors.len(),
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn random_pairs_match_nltk() {
    let rows = read_jsonl("random_meteor.jsonl");
    assert!(rows.len() >= 4000);
    let with_synonyms = rows
        .iter()
        .filter(|r| r["stages"][2].as_u64().unwrap() > 0)
        .count();
    assert!(
        with_synonyms > 500,
        "fixture should exercise the synonym stage"
    );
    let (mut bad, mut inexact) = (Vec::new(), 0);
    for r in &rows {
        let want = r["score"].as_f64().unwrap();
        let got = meteor_tokens(&strings(&r["hyp"]), &strings(&r["ref"]));
        if (got - want).abs() > 1e-9 {
            bad.push(format!("{}: got {got}, want {want}", r["id"]));
        }
        inexact += usize::from(got != want);
    }
    println!(
        "meteor random: {} pairs ({} with synonym matches), {} not bit-identical",
        rows.len(),
        with_synonyms,
        inexact
    );
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
}

#[test]
fn porter_matches_nltk() {
    let rows = read_jsonl("porter_words.jsonl");
    assert!(rows.len() > 100_000);
    let mut bad = Vec::new();
    let mut buf = String::new();
    for r in &rows {
        let (word, want) = (r[0].as_str().unwrap(), r[1].as_str().unwrap());
        porter::stem_into(word, &mut buf);
        if buf != want {
            bad.push(format!("{word:?}: got {buf:?}, want {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n")
    );
}

/// NLTK's `single_meteor_score` transcribed naively (list pops, linear scans, synonym sets
/// from the public WordNet API), to cross-check the fast paths (buckets, caches) on inputs
/// larger than the fixtures hold.
fn naive_meteor(hyp: &[String], refr: &[String]) -> f64 {
    type Enum = Vec<(usize, String)>;
    fn stage(
        h: &mut Enum,
        r: &mut Enum,
        m: &mut Vec<(usize, usize)>,
        accepts: impl Fn(&str) -> Vec<String>,
    ) {
        let mut i = h.len();
        while i > 0 {
            i -= 1;
            let ok = accepts(&h[i].1);
            if let Some(j) = (0..r.len()).rev().find(|&j| ok.contains(&r[j].1)) {
                m.push((h[i].0, r[j].0));
                h.remove(i);
                r.remove(j);
            }
        }
    }
    let mut h: Enum = hyp.iter().map(|t| t.to_lowercase()).enumerate().collect();
    let mut r: Enum = refr.iter().map(|t| t.to_lowercase()).enumerate().collect();
    let mut m = Vec::new();
    // accepts(w) = the reference words that hypothesis word w may pair with in a stage
    let same = |w: &str| vec![w.to_owned()];
    stage(&mut h, &mut r, &mut m, same);
    let stem_all = |e: &mut Enum| e.iter_mut().for_each(|(_, w)| *w = porter::stem(w));
    stem_all(&mut h);
    stem_all(&mut r);
    stage(&mut h, &mut r, &mut m, same);
    let wn = WordNet::get();
    stage(&mut h, &mut r, &mut m, |w| {
        let mut ok: Vec<String> = wn.synonyms(w).into_iter().map(str::to_owned).collect();
        ok.push(w.to_owned());
        ok
    });
    if hyp.is_empty() || refr.is_empty() || m.is_empty() {
        return 0.0;
    }
    m.sort();
    let (p, rc) = (
        m.len() as f64 / hyp.len() as f64,
        m.len() as f64 / refr.len() as f64,
    );
    let fmean = p * rc / (0.9 * p + (1.0 - 0.9) * rc);
    let chunks = 1 + m
        .windows(2)
        .filter(|w| !(w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1))
        .count();
    (1.0 - 0.5 * (chunks as f64 / m.len() as f64).powf(3.0)) * fmean
}

#[test]
fn naive_transcription_agrees_with_nltk() {
    // The cross-check below is only as good as the naive version: pin it to NLTK first.
    for r in read_jsonl("random_meteor.jsonl").iter().take(400) {
        let want = r["score"].as_f64().unwrap();
        let got = naive_meteor(&strings(&r["hyp"]), &strings(&r["ref"]));
        assert_eq!(got, want, "{}", r["id"]);
    }
}

/// Words with many WordNet neighbours (synonyms, inflections, exception forms).
fn synonym_word() -> impl Strategy<Value = String> {
    let words = [
        "run",
        "ran",
        "running",
        "go",
        "went",
        "gone",
        "big",
        "large",
        "great",
        "bigger",
        "dog",
        "dogs",
        "hound",
        "cat",
        "happy",
        "glad",
        "car",
        "auto",
        "automobile",
        "machine",
        "begin",
        "start",
        "commence",
        "fast",
        "quick",
        "rapid",
        "speedy",
        "house",
        "home",
        "sat",
        "sit",
        "sitting",
        "seat",
        "geese",
        "goose",
        "better",
        "good",
        "well",
        "best",
        "make",
        "made",
        "do",
        "did",
        "get",
        "got",
        "take",
        "took",
        "see",
        "saw",
        "the",
        ",",
    ];
    (prop::sample::select(words.to_vec()), 0..4u8).prop_map(|(w, case)| match case {
        0 => w.to_uppercase(),
        1 => {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        _ => w.to_owned(),
    })
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "run",
            "ran",
            "running",
            "Runs",
            "dog",
            "dogs",
            "hound",
            "Cat",
            "geese",
            "goose",
            "happy",
            "glad",
            "the",
            "a",
            ".",
            ",",
            "big",
            "large",
            "café",
            "ΣΑΣ",
            "yyy",
            "x*ded",
            "ice_cream",
            "",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z*'\\-]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Disjoint vocabularies whose words are WordNet neighbours: nothing matches before the
    /// synonym stage, and long references take its bucketed path.
    #[test]
    fn synonym_stage_matches_naive_transcription(
        hyp in prop::collection::vec(prop::sample::select(vec![
            "run", "big", "dog", "car", "begin", "fast", "house", "sat", "geese", "good",
            "make", "took", "saw", "glad"]), 0..120),
        refr in prop::collection::vec(prop::sample::select(vec![
            "ran", "large", "great", "hound", "auto", "automobile", "machine", "commence",
            "start", "quick", "rapid", "speedy", "home", "sit", "seat", "goose", "well",
            "made", "take", "see", "happy"]), 0..120),
    ) {
        prop_assert_eq!(meteor_tokens(&hyp, &refr), naive_meteor(
            &hyp.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &refr.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ));
    }

    #[test]
    fn fast_paths_match_naive_transcription(
        hyp in prop::collection::vec(synonym_word(), 0..150),
        refr in prop::collection::vec(synonym_word(), 0..150),
    ) {
        prop_assert_eq!(meteor_tokens(&hyp, &refr), naive_meteor(&hyp, &refr));
    }
}

proptest! {
    #[test]
    fn score_is_finite_in_unit_interval(
        hyp in prop::collection::vec(token(), 0..40),
        refr in prop::collection::vec(token(), 0..40),
    ) {
        let s = meteor_tokens(&hyp, &refr);
        prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{s}");
    }

    #[test]
    fn identical_lists_score_below_one(toks in prop::collection::vec(token(), 1..30)) {
        let s = meteor_tokens(&toks, &toks);
        // every token matches itself in one chunk: (1 - 0.5/m^3) with P = R = 1
        let m = toks.len() as f64;
        let want = 1.0 - 0.5 * (1.0 / m).powf(3.0);
        prop_assert!((s - want).abs() < 1e-12, "{s} vs {want}");
    }

    #[test]
    fn strings_never_panic(a in any::<String>(), b in any::<String>()) {
        let s = meteor(&a, &b);
        prop_assert!(s.is_finite() && (0.0..=1.0).contains(&s));
    }

    #[test]
    fn stem_never_panics(w in any::<String>()) {
        let _ = porter::stem(&w);
    }
}
