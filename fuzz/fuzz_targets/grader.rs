//! Any bytes as grader JSON (and as a run request): compile, validate and grade never panic.
//! Which graders are graded is asked of the compiled grader (CPU-only ones: no python workers
//! or judge calls), so a new grader type is fuzzed without touching this file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let opts = gradekit_engine::EngineOptions::default();
    let _ = gradekit_engine::validate(&v, &opts);
    if let Ok(g) = gradekit_engine::compile_for_run(&v, &opts) {
        if g.schedule().cpu_only() {
            let ctx = gradekit_engine::EvalContext::from_text("{\"a\": [1]}", Some(v.clone()));
            let _ = g.grade(&ctx);
        }
        let _ = g.template_refs();
        let _ = g.sub_graders();
    }
    if let Ok(r) = gradekit_engine::RunRequest::from_value(v) {
        let _ = r.context(gradekit_engine::model::SampleParts::ALL);
    }
});
