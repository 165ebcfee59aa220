//! Parse cost and evaluation cost of a three-variable formula, measured separately (a formula
//! is parsed once per grader and evaluated once per sample).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gradekit_formula::Formula;

const VARS: [&str; 3] = ["precision", "recall", "format"];
const SRC: &str = "0.8 * (2 * precision * recall / max(precision + recall, 1e-9)) + 0.2 * format";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("formula");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_f1_3vars", |b| {
        b.iter(|| Formula::parse(black_box(SRC), black_box(&VARS)))
    });
    let f = match Formula::parse(SRC, &VARS) {
        Ok(f) => f,
        Err(e) => panic!("bench formula must parse: {e}"),
    };
    g.bench_function("eval_f1_3vars", |b| {
        b.iter(|| f.eval(black_box(&[0.75, 0.5, 1.0])))
    });
    let simple = match Formula::parse("0.5 * a + 0.3 * b + 0.2 * c", &["a", "b", "c"]) {
        Ok(f) => f,
        Err(e) => panic!("bench formula must parse: {e}"),
    };
    g.bench_function("eval_weighted_sum_3vars", |b| {
        b.iter(|| simple.eval(black_box(&[1.0, 0.0, 0.5])))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
