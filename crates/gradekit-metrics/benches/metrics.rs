//! Throughput of the text-similarity metrics on the benchmark workload
//! `fixtures/bench/pairs-10k.jsonl` (input = `model_sample`, reference =
//! `item.reference`), one pair per call, single thread — the workload of
//! `scripts/bench_reference.py`, which times the Python references.
//!
//! One iteration scores the whole workload (`BENCH_PAIRS` limits it); the
//! reported time divided by the pair count is µs/pair. The measurement is
//! process CPU time (like the Python script's `process_time`), which stays
//! close to uncontended time on a machine shared with other jobs.
//!
//! Rows: bleu / gleu end to end (tokenisation included, as the grader calls
//! them) and on pre-tokenised input; rouge_1, rouge_2, rouge_l and all six
//! ROUGE scores in one call; ROUGE with the reference prepared outside the
//! timed loop (compile cost separate from grade cost).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use cpu_time::ProcessTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use gradekit_metrics::tokenize::nltk_tokenize;
use gradekit_metrics::{bleu, gleu, rouge};

/// Process CPU time as a criterion measurement.
struct CpuTime;

static WALL: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = ProcessTime;
    type Value = Duration;

    fn start(&self) -> ProcessTime {
        ProcessTime::now()
    }
    fn end(&self, start: ProcessTime) -> Duration {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

fn load_pairs() -> Vec<(String, String)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bench/pairs-10k.jsonl");
    let limit: usize = std::env::var("BENCH_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(limit)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let input = v["model_sample"].as_str().unwrap().to_owned();
            let reference = v["item"]["reference"].as_str().unwrap().to_owned();
            (input, reference)
        })
        .collect()
}

fn group<'a>(
    c: &'a mut Criterion<CpuTime>,
    name: &str,
    pairs: usize,
) -> BenchmarkGroup<'a, CpuTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(pairs as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g
}

fn bench_metrics(c: &mut Criterion<CpuTime>) {
    let pairs = load_pairs();
    let n = pairs.len();
    let tokenized: Vec<(Vec<String>, Vec<String>)> = pairs
        .iter()
        .map(|(i, r)| (nltk_tokenize(i), nltk_tokenize(r)))
        .collect();

    let mut g = group(c, "bleu", n);
    g.bench_function("end_to_end", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(bleu::bleu(black_box(i), black_box(r)));
            }
        })
    });
    g.bench_function("tokens", |b| {
        b.iter(|| {
            for (i, r) in &tokenized {
                black_box(bleu::bleu_tokens(black_box(i), black_box(r)));
            }
        })
    });
    g.finish();

    let mut g = group(c, "gleu", n);
    g.bench_function("end_to_end", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(gleu::gleu(black_box(i), black_box(r)));
            }
        })
    });
    g.bench_function("tokens", |b| {
        b.iter(|| {
            for (i, r) in &tokenized {
                black_box(gleu::gleu_tokens(black_box(i), black_box(r)));
            }
        })
    });
    g.finish();

    let mut g = group(c, "rouge", n);
    for k in [1usize, 2] {
        g.bench_function(format!("rouge_{k}"), |b| {
            b.iter(|| {
                for (i, r) in &pairs {
                    black_box(rouge::rouge_n(black_box(i), black_box(r), k));
                }
            })
        });
    }
    g.bench_function("rouge_l", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(rouge::rouge_l(black_box(i), black_box(r)));
            }
        })
    });
    g.bench_function("all_six", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(rouge::rouge_all(black_box(i), black_box(r)));
            }
        })
    });
    let prepared: Vec<rouge::PreparedReference> = pairs
        .iter()
        .map(|(_, r)| rouge::PreparedReference::new(r))
        .collect();
    g.bench_function("rouge_l_prepared", |b| {
        b.iter(|| {
            for ((i, _), p) in pairs.iter().zip(&prepared) {
                black_box(p.rouge_l(black_box(i)));
            }
        })
    });
    g.finish();
}

fn config() -> Criterion<CpuTime> {
    Criterion::default().with_measurement(CpuTime)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_metrics
}
criterion_main!(benches);
