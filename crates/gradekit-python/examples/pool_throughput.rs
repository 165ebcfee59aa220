//! Throughput and CPU cost per call of the pool, independent of machine load:
//! `cargo run --release -p gradekit-python --example pool_throughput -- [sandboxed|process|embedded] [calls] [workers]`
//!
//! Prints wall-clock calls/s and CPU µs per call split into engine (this process) and workers
//! (reaped children, counted once the runtime is dropped). On a busy machine the wall figure
//! drops while the CPU figure stays: capacity on N idle cores ≈ N / (CPU per call).

use std::time::{Duration, Instant};

use gradekit_python::{PyOutcome, PythonMode, PythonOptions, PythonRuntime};
use serde_json::{json, Value};

fn cpu(who: i32) -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode: PythonMode = args
        .get(1)
        .map(|s| s.parse().expect("mode"))
        .unwrap_or_default();
    let n: usize = args
        .get(2)
        .map(|s| s.parse().expect("calls"))
        .unwrap_or(200_000);
    let workers: usize = args
        .get(3)
        .map(|s| s.parse().expect("workers"))
        .unwrap_or(2);
    let samples: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "output_text": format!("The answer to question {i} is computed step by step: first we add the numbers, then we divide by two, and finally we check the units. Therefore the result is \\boxed{{{}}}.", i % 97),
                "output_json": {"answer": i % 97, "confidence": 0.5},
                "output_tools": [],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "…"}, "finish_reason": "stop"}],
            })
        })
        .collect();
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"id": i, "reference_answer": format!("{}", i % 89), "meta": {"split": "test"}}))
        .collect();
    let pairs: Vec<(&Value, &Value)> = samples.iter().zip(&items).collect();
    let rt = PythonRuntime::new(PythonOptions {
        mode,
        workers: Some(workers),
        timeout: Duration::from_secs(10),
        ..PythonOptions::default()
    });
    let src = "def grade(sample, item):\n    return 1.0 if sample['output_text'] == item['reference_answer'] else 0.0\n";
    let t0 = Instant::now();
    let p = rt.compile(src, None).expect("compiles");
    let startup = t0.elapsed();
    let _ = p.grade_batch(&pairs[..pairs.len().min(1024)]);
    let (e0, c0) = (cpu(libc::RUSAGE_SELF), cpu(libc::RUSAGE_CHILDREN));
    let t = Instant::now();
    let out = p.grade_batch(&pairs);
    let wall = t.elapsed().as_secs_f64();
    let e1 = cpu(libc::RUSAGE_SELF);
    assert!(out.iter().all(|o| matches!(o, PyOutcome::Reward(_))));
    drop(p);
    drop(rt);
    std::thread::sleep(Duration::from_millis(200));
    let c1 = cpu(libc::RUSAGE_CHILDREN);
    let per = |s: f64| s / n as f64 * 1e6;
    println!(
        "mode={mode:?} workers={workers} calls={n} first-worker start-up {:.1} ms\n  wall {:.0} calls/s ({:.2} µs/call)\n  CPU per call: engine {:.2} µs + workers {:.2} µs (workers incl. their start-up and warm-up)",
        startup.as_secs_f64() * 1e3,
        n as f64 / wall,
        per(wall),
        per(e1 - e0),
        per(c1 - c0),
    );
}
