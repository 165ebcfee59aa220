//! Any bytes as grader JSON (and as a run request): compile, validate and grade never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let opts = gradekit_engine::EngineOptions::default();
    let _ = gradekit_engine::validate(&v, &opts);
    if let Ok(g) = gradekit_engine::compile_for_run(&v, &opts) {
        if g.kind() == "string_check" || g.kind() == "text_similarity" || g.kind() == "multi" {
            let ctx = gradekit_engine::EvalContext::from_text("{\"a\": [1]}", Some(v.clone()));
            let _ = g.grade(&ctx);
        }
    }
    let _ = gradekit_model::RunRequest::from_value(&v);
});
