//! Compile cost and grade cost, measured separately (STYLE.md): string_check with two templates
//! and a 3-way multi grader.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gradekit::{compile, EngineOptions, EvalContext};
use serde_json::{json, Value};

fn string_check() -> Value {
    json!({"type": "string_check", "name": "eq", "input": "{{ sample.output_text }}",
           "reference": "{{ item.answer }}", "operation": "eq"})
}

fn multi() -> Value {
    json!({"type": "multi", "name": "m", "graders": {
        "exact": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"},
        "mentions": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "{{ item.keyword }}", "operation": "ilike"},
        "tool": {"type": "string_check", "input": "{{ sample.output_json.function }}", "reference": "{{ item.function }}", "operation": "eq"}},
        "calculate_output": "0.5 * exact + 0.25 * mentions + 0.25 * tool"})
}

fn bench(c: &mut Criterion) {
    let opts = EngineOptions::default();
    let mut g = c.benchmark_group("compile");
    g.bench_function("string_check", |b| {
        b.iter(|| compile(black_box(&string_check()), &opts))
    });
    g.bench_function("multi3", |b| b.iter(|| compile(black_box(&multi()), &opts)));
    g.finish();

    let sc = compile(&string_check(), &opts).expect("valid");
    let m = compile(&multi(), &opts).expect("valid");
    let item = json!({"answer": "Paris", "keyword": "paris", "function": "get_weather"});
    let ctx = EvalContext::from_text(
        r#"{"function": "get_weather", "city": "Paris"}"#,
        Some(item),
    );
    let mut g = c.benchmark_group("grade");
    g.throughput(Throughput::Elements(1));
    g.bench_function("string_check", |b| b.iter(|| sc.grade(black_box(&ctx))));
    g.bench_function("multi3", |b| b.iter(|| m.grade(black_box(&ctx))));
    g.finish();

    let ctxs: Vec<EvalContext> = (0..10_000)
        .map(|i| {
            EvalContext::from_text(
                if i % 2 == 0 { "Paris" } else { "Lyon" },
                Some(json!({"answer": "Paris", "keyword": "paris", "function": "f"})),
            )
        })
        .collect();
    let mut g = c.benchmark_group("grade_batch");
    g.throughput(Throughput::Elements(ctxs.len() as u64));
    g.bench_function("string_check_10k", |b| {
        b.iter(|| sc.grade_batch(black_box(&ctxs)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
