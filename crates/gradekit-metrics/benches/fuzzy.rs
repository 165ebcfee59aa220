//! fuzzy_match throughput on the benchmark workload `fixtures/bench/pairs-10k.jsonl` (a copy of
//! `/work/shared/bench/pairs-10k.jsonl`; input = `model_sample`, reference = `item.reference`),
//! one call per pair as a grader makes it, single thread. `scripts/bench_fuzzy_rapidfuzz.py`
//! times rapidfuzz `fuzz.WRatio` + `default_process` on the same pairs.
//!
//! One iteration scores the whole workload (`BENCH_PAIRS` limits it): reported time / pairs =
//! µs/pair. Measured in process CPU time, like the Python script's `process_time`, because the
//! machine is shared.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use cpu_time::ProcessTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradekit_metrics::fuzzy;

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

fn bench_fuzzy(c: &mut Criterion<CpuTime>) {
    let pairs = load_pairs();
    let mut g = c.benchmark_group("fuzzy");
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("fuzzy_match", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(fuzzy::fuzzy_match(black_box(i), black_box(r)));
            }
        })
    });
    let prepared: Vec<_> = pairs
        .iter()
        .map(|(_, r)| fuzzy::FuzzyMatcher::new(r))
        .collect();
    g.bench_function("fuzzy_match_prepared_reference", |b| {
        b.iter(|| {
            for ((i, _), m) in pairs.iter().zip(&prepared) {
                black_box(m.score(black_box(i)));
            }
        })
    });
    g.bench_function("ratio_raw", |b| {
        b.iter(|| {
            for (i, r) in &pairs {
                black_box(fuzzy::ratio(black_box(i), black_box(r)));
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
    targets = bench_fuzzy
}
criterion_main!(benches);
