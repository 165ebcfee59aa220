//! Any bytes as one `gradekit score` input line (with and without `--sample-key`): parsing,
//! grading and writing the output row never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn graders() -> &'static [gradekit_engine::CompiledGrader] {
    static G: OnceLock<Vec<gradekit_engine::CompiledGrader>> = OnceLock::new();
    G.get_or_init(|| {
        let opts = gradekit_engine::EngineOptions::default();
        [
            r#"{"type": "string_check", "input": "{{sample.output_text}}", "reference": "{{item.r}}", "operation": "ilike"}"#,
            r#"{"type": "text_similarity", "input": "{{sample.output_json.a}}", "reference": "{{ item }}", "evaluation_metric": "rouge_l"}"#,
        ]
        .iter()
        .map(|g| {
            let v: serde_json::Value = serde_json::from_str(g).expect("grader JSON");
            gradekit_engine::compile_for_run(&v, &opts).expect("grader compiles")
        })
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for g in graders() {
        let _ = gradekit_cli::fuzz_score_line(g, data, None);
        let _ = gradekit_cli::fuzz_score_line(g, data, Some("text"));
    }
});
