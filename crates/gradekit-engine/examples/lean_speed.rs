//! The grading thread's per-pair cost in `gradekit score --threads 1`, in-process: a compiled
//! grader over the benchmark pairs lent as `score` lends them (texts in one buffer, the item's
//! keys as borrowed strings, [`LeanContext`], [`CompiledGrader::grade_compact_since`] with the
//! clock read once per line), next to the bare metric call on the same strings.
//!
//! `cargo run --release -p gradekit-engine --example lean_speed -- PAIRS.jsonl N GRADER.json [PASSES] [MODE]`
//!
//! MODE: `both` (default) prints wall ns per pair of the first pass (cold: fresh text buffer)
//! and of the warm passes, for the lean path and the metric alone (text_similarity graders);
//! `lean` / `metric` run only that path `PASSES` times (for callgrind:
//! `--toggle-collect='lean_speed::lean_pass'` or `'lean_speed::metric_pass'`, Ir ÷ (N·PASSES)).
#![allow(clippy::unwrap_used)]

use gradekit_engine::{
    compile, Compact, EngineOptions, LeanContext, LeanItem, LeanSample, LeanValue,
};
use serde_json::Value;
use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

/// One line: the sample's text and each item key's string (ranges into `Lent::text`).
type Line = (Range<usize>, Vec<Option<Range<usize>>>);

/// The pairs as `score`'s plans hold them: one text buffer, ranges into it.
struct Lent {
    text: String,
    lines: Vec<Line>,
}

fn read(path: &str, n: usize, keys: &[String]) -> Lent {
    read_from(path, 0, n, keys)
}

fn read_from(path: &str, skip: usize, n: usize, keys: &[String]) -> Lent {
    let src = std::fs::read_to_string(path).unwrap();
    let mut text = String::new();
    let mut lines = Vec::new();
    let push = |text: &mut String, s: &str| {
        let a = text.len();
        text.push_str(s);
        a..text.len()
    };
    for line in src.lines().skip(skip).take(n) {
        let v: Value = serde_json::from_str(line).unwrap();
        let sample = push(&mut text, v["model_sample"].as_str().unwrap());
        let vals = keys
            .iter()
            .map(|k| v["item"][k].as_str().map(|s| push(&mut text, s)))
            .collect();
        lines.push((sample, vals));
    }
    Lent { text, lines }
}

#[inline(never)]
fn lean_pass(g: &gradekit_engine::CompiledGrader, lent: &Lent, keys: &[String]) -> f64 {
    let mut clock = Instant::now();
    let mut sum = 0.0;
    for (sample, vals) in &lent.lines {
        let mut small = [None; 8];
        for (v, r) in small.iter_mut().zip(vals) {
            *v = r.clone().map(|r| LeanValue::Str(&lent.text[r]));
        }
        let ctx = LeanContext::new(
            LeanSample::Text(&lent.text[sample.clone()]),
            LeanItem::Keys(&small[..vals.len()]),
            keys,
            g.sample_parts(),
        );
        sum += match g.grade_compact_since(black_box(&ctx), &mut clock) {
            Compact::Clean { reward, .. } => reward,
            Compact::Full(r) => r.reward,
        };
    }
    sum
}

#[inline(never)]
fn metric_pass(m: gradekit_metrics::Metric, lent: &Lent) -> f64 {
    let mut sum = 0.0;
    for (sample, vals) in &lent.lines {
        let r = vals[0].clone().unwrap();
        sum += gradekit_metrics::score(
            m,
            black_box(&lent.text[sample.clone()]),
            black_box(&lent.text[r]),
        )
        .unwrap();
    }
    sum
}

fn ns_per(t: Instant, n: usize) -> f64 {
    t.elapsed().as_nanos() as f64 / n.max(1) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let n: usize = args[2].parse().unwrap();
    let grader: Value = serde_json::from_str(&std::fs::read_to_string(&args[3]).unwrap()).unwrap();
    let passes: usize = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(20);
    let mode = args.get(5).map(String::as_str).unwrap_or("both");
    let g = compile(&grader, &EngineOptions::default()).unwrap();
    let keys = g.item_keys().unwrap().to_vec();
    let metric = grader["evaluation_metric"].as_str().and_then(|m| {
        gradekit_metrics::Metric::ALL
            .into_iter()
            .find(|x| x.name() == m)
    });
    let lent = read(path, n, &keys);
    let n = lent.lines.len();
    match mode {
        "lean" => {
            let s: f64 = (0..passes).map(|_| lean_pass(&g, &lent, &keys)).sum();
            println!("lean sum {s}");
        }
        "fresh" => {
            // Warm on lines N..2N of the file, then one pass over lines 0..N (code warm, data
            // unseen), then warm passes over 0..N: separates first-use costs of the code from
            // those of the data.
            let other = read_from(path, n, n, &keys);
            for _ in 0..passes {
                black_box(lean_pass(&g, &other, &keys));
            }
            let t = Instant::now();
            black_box(lean_pass(&g, &lent, &keys));
            let fresh = ns_per(t, n);
            let t = Instant::now();
            for _ in 0..passes {
                black_box(lean_pass(&g, &lent, &keys));
            }
            let warm = ns_per(t, n * passes);
            println!("lean warm code, unseen pairs {fresh:.0} ns/pair; seen pairs {warm:.0}");
        }
        "metric" => {
            let m = metric.unwrap();
            let s: f64 = (0..passes).map(|_| metric_pass(m, &lent)).sum();
            println!("metric sum {s}");
        }
        _ => {
            // Cold: a fresh copy of the texts, the grader's first pass.
            let t = Instant::now();
            let s = lean_pass(&g, &lent, &keys);
            let cold = ns_per(t, n);
            let mut warm = Vec::new();
            let mut mwarm = Vec::new();
            for _ in 0..passes {
                let t = Instant::now();
                black_box(lean_pass(&g, &lent, &keys));
                warm.push(ns_per(t, n));
                if let Some(m) = metric {
                    let t = Instant::now();
                    black_box(metric_pass(m, &lent));
                    mwarm.push(ns_per(t, n));
                }
            }
            warm.sort_by(f64::total_cmp);
            mwarm.sort_by(f64::total_cmp);
            let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
            println!(
                "lean cold {cold:.0} ns/pair, warm median {:.0} (best {:.0}); metric warm median {:.0} (best {:.0}); {n} pairs, sum {s:.12}",
                med(&warm),
                warm.first().copied().unwrap_or(f64::NAN),
                med(&mwarm),
                mwarm.first().copied().unwrap_or(f64::NAN),
            );
        }
    }
}
