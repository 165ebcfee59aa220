//! The bodies of the fuzz targets, shared by two drivers:
//! - `fuzz/fuzz_targets/*.rs` — libFuzzer through `cargo +nightly fuzz run NAME` (coverage
//!   guided; needs a nightly toolchain);
//! - `tests/fuzz.rs` at the workspace root — a bounded random-input driver on the stable
//!   toolchain (seeds from `fixtures/`, mutations, random token soup), run by `cargo test` for
//!   a moment and by `scripts/test.d/fuzz.sh` for a few seconds per target.
//!
//! Each body returns normally for every input; a panic (or a failed assertion of a promise) is
//! the finding. Included with `#[path]` from both drivers, so it names only crates both have.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::sync::OnceLock;

/// Any string as a template: parsing never panics, nor rendering (bounded or not).
pub fn template(s: &str) {
    if let Ok(t) = gradekit_template::Template::parse(s) {
        let item = json!({"a": [1, {"b": "c"}], "x y": null, "s": s});
        let sample = json!({"output_text": s});
        let ctx = gradekit_template::Context {
            item: &item,
            sample: &sample,
        };
        let full = t.render(&ctx);
        let limited = t.render_limited(&ctx, 64);
        if let (Ok(f), Ok(l)) = (&full, &limited) {
            assert_eq!(f, l, "bounded and unbounded renderings differ");
            assert!(l.len() <= 64);
        }
    }
}

/// Any formula source and values: parse and eval never panic.
pub fn formula(src: &str, values: &[f64]) {
    if let Ok(f) = gradekit_formula::Formula::parse(src, &["a", "b", "c"]) {
        let _ = f.eval(values);
        let _ = f.referenced_slots();
    }
}

/// Skips inputs that would start python worker pools (the python crate has its own hostile
/// tests; a pool per fuzz input would measure process start-up, not find bugs).
fn names_python(data: &[u8]) -> bool {
    data.windows(6).any(|w| w.eq_ignore_ascii_case(b"python"))
}

/// Engine options for fuzzing: a small field budget, no network judge.
fn engine() -> gradekit_engine::EngineOptions {
    let mut o = gradekit_engine::EngineOptions::default();
    o.max_field_bytes = 1 << 16;
    o
}

/// Any bytes as grader JSON (and as a run request): validate, compile and grade never panic.
pub fn grader(data: &[u8]) {
    if names_python(data) {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let opts = engine();
    let _ = gradekit_engine::validate(&v, &opts);
    if let Ok(g) = gradekit_engine::compile_for_run(&v, &opts) {
        // Asked of the compiled grader: a new grader type is fuzzed without touching this.
        if g.schedule().cpu_only() {
            let ctx = gradekit_engine::EvalContext::from_text("{\"a\": [1]}", Some(v.clone()));
            let r = g.grade(&ctx);
            assert!(r.reward.is_finite(), "non-finite reward");
        }
        let _ = (g.template_refs(), g.sub_graders());
    }
    let _ = gradekit_engine::run(&v, &opts);
}

/// Any two strings: every metric, through the checked entry point the engine uses, returns a
/// finite score in [0, 1] (or a limit error); below the limits it is the unchecked score.
pub fn metrics(a: &str, b: &str) {
    use gradekit_metrics::{score, Metric};
    for m in Metric::ALL {
        if let Ok(s) = score(m, a, b) {
            assert!(
                s.is_finite() && (0.0..=1.0).contains(&s),
                "{m}: {s} for {a:?} / {b:?}"
            );
        }
    }
    let unchecked = [
        (Metric::RougeL, gradekit_metrics::rouge::rouge_l(a, b)),
        (
            Metric::FuzzyMatch,
            gradekit_metrics::fuzzy::fuzzy_match(a, b),
        ),
    ];
    for (m, s) in unchecked {
        assert!(s.is_finite() && (0.0..=1.0).contains(&s), "{m}: {s}");
        if let Ok(c) = score(m, a, b) {
            assert_eq!(c.to_bits(), s.to_bits(), "{m}");
        }
    }
}

fn score_graders() -> &'static [gradekit_engine::CompiledGrader] {
    static G: OnceLock<Vec<gradekit_engine::CompiledGrader>> = OnceLock::new();
    G.get_or_init(|| {
        [
            r#"{"type": "string_check", "input": "{{sample.output_text}}", "reference": "{{item.r}}", "operation": "ilike"}"#,
            r#"{"type": "text_similarity", "input": "{{sample.output_json.a}}", "reference": "{{ item }}", "evaluation_metric": "rouge_l"}"#,
        ]
        .iter()
        .map(|g| {
            let v: Value = serde_json::from_str(g).expect("grader JSON");
            gradekit_engine::compile_for_run(&v, &engine()).expect("grader compiles")
        })
        .collect()
    })
}

/// Any bytes as one `gradekit score` input line (with and without `--sample-key`): parsing,
/// grading and writing the output row never panic.
pub fn score_line(data: &[u8]) {
    for g in score_graders() {
        let _ = gradekit_cli::fuzz_score_line(g, data, None);
        let _ = gradekit_cli::fuzz_score_line(g, data, Some("text"));
    }
}

/// Any bytes as the body of a server request: the first byte picks the route (run, validate,
/// run_batch, an endpoint grader, get_reward), the rest is the body. The server answers every
/// one with JSON — the OpenAI envelope for errors — never a 500 nor a panic.
pub fn server_body(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let routes = gradekit_server::fuzz::ROUTES;
    let path = routes[usize::from(pick) % routes.len()];
    gradekit_server::fuzz::fuzz_request(path, body);
}
