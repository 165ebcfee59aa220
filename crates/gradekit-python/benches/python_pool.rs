//! Python grader throughput: trivial `grade` calls through the pool in batches (target ≥ 100k
//! calls/s on 2 cores, sandboxed), per-call overhead of single-sample calls, and worker start-up
//! (spawn + sandbox + compile + first reply). Workload shaped like research/python-graders.md §4:
//! ~660 bytes of JSON per (sample, item) pair.
//!
//! `cargo bench -p gradekit-python --bench python_pool` (add `--features embedded` for the
//! embedded rows).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gradekit_python::{PythonMode, PythonOptions, PythonRuntime};
use serde_json::{json, Value};

const TRIVIAL: &str =
    "def grade(sample, item):\n    return 1.0 if sample['output_text'] == item['reference_answer'] else 0.0\n";

fn workload(n: usize) -> (Vec<Value>, Vec<Value>) {
    let mut samples = Vec::with_capacity(n);
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let text = format!(
            "The answer to question {i} is computed step by step: first we add the numbers, then \
             we divide by two, and finally we check the units. Therefore the result is \\boxed{{{}}}.",
            i % 97
        );
        samples.push(json!({
            "output_text": text,
            "output_json": {"answer": i % 97, "confidence": 0.5},
            "output_tools": [],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"}, "finish_reason": "stop"}],
        }));
        items.push(
            json!({"id": i, "reference_answer": format!("{}", i % 89), "meta": {"split": "test"}}),
        );
    }
    (samples, items)
}

fn runtime(mode: PythonMode) -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        mode,
        workers: Some(2),
        timeout: Duration::from_secs(10),
        ..PythonOptions::default()
    })
}

fn bench_batches(c: &mut Criterion) {
    let n = 20_000;
    let (samples, items) = workload(n);
    let pairs: Vec<(&Value, &Value)> = samples.iter().zip(&items).collect();
    let mut g = c.benchmark_group("python_pool/trivial_batch");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    let mut modes = vec![
        ("sandboxed", PythonMode::Sandboxed),
        ("process", PythonMode::Process),
    ];
    if cfg!(feature = "embedded") {
        modes.push(("embedded", PythonMode::Embedded));
    }
    for (name, mode) in modes {
        let rt = runtime(mode);
        let p = rt.compile(TRIVIAL, None).expect("trivial grader compiles");
        // Warm both workers.
        let _ = p.grade_batch(&pairs[..256]);
        g.bench_function(name, |b| b.iter(|| p.grade_batch(&pairs)));
    }
    g.finish();
}

fn bench_single(c: &mut Criterion) {
    let (samples, items) = workload(1);
    let mut g = c.benchmark_group("python_pool/one_call");
    g.throughput(Throughput::Elements(1));
    let mut modes = vec![
        ("sandboxed", PythonMode::Sandboxed),
        ("process", PythonMode::Process),
    ];
    if cfg!(feature = "embedded") {
        modes.push(("embedded", PythonMode::Embedded));
    }
    for (name, mode) in modes {
        let rt = runtime(mode);
        let p = rt.compile(TRIVIAL, None).expect("trivial grader compiles");
        g.bench_function(name, |b| b.iter(|| p.grade(&samples[0], &items[0])));
    }
    g.finish();
}

fn bench_startup(c: &mut Criterion) {
    let mut g = c.benchmark_group("python_pool/worker_startup");
    g.sample_size(20);
    let counter = AtomicU64::new(0);
    for (name, mode) in [
        ("sandboxed", PythonMode::Sandboxed),
        ("process", PythonMode::Process),
    ] {
        let rt = runtime(mode);
        g.bench_function(name, |b| {
            b.iter_batched(
                // A source never seen before: compile spawns and initialises a fresh worker.
                || format!("{TRIVIAL}# {}\n", counter.fetch_add(1, Ordering::Relaxed)),
                |src| rt.compile(&src, None).expect("compiles"),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_batches, bench_single, bench_startup);
criterion_main!(benches);
