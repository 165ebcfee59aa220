//! The engine's own cost per model-graded sample, without any network: a score_model grader
//! whose injected judge answers instantly. Prints the time per `grade` call and, for
//! comparison, per call of the fake judge alone.
//!
//! `cargo run --release -p gradekit-engine --example judge_overhead`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use gradekit_engine::judge::{ChatReply, ChatRequest, ChatScorer, JudgeError, Usage};
use gradekit_engine::{compile, EngineOptions, EvalContext};
use serde_json::json;

#[derive(Debug)]
struct Instant0;

impl ChatScorer for Instant0 {
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        Ok(ChatReply {
            content: Some(
                r#"{"steps":[{"description":"a","conclusion":"b"}],"result":0.5}"#.into(),
            ),
            refusal: None,
            finish_reason: Some("stop".into()),
            model: req.model.clone(),
            usage: Usage {
                prompt_tokens: 10,
                completion_tokens: 5,
                total_tokens: 15,
                cached_tokens: 0,
            },
            from_cache: false,
        })
    }
}

fn main() {
    let judge = Arc::new(Instant0);
    let mut opts = EngineOptions::default();
    opts.judge = Some(judge.clone());
    let grader = compile(
        &json!({
            "type": "score_model",
            "model": "gpt-4o",
            "input": [
                {"role": "system", "content": "You grade answers against {{ item.reference }}."},
                {"role": "user", "content": "Answer: {{ sample.output_text }}"}
            ],
            "sampling_params": {"temperature": 0, "max_completions_tokens": 256}
        }),
        &opts,
    )
    .unwrap();
    let ctx = EvalContext::from_text(
        "The capital of France is Paris.",
        Some(json!({"reference": "Paris"})),
    );
    let n = 200_000;
    for _ in 0..1000 {
        grader.grade(&ctx);
    }
    let start = Instant::now();
    let mut sum = 0.0;
    for _ in 0..n {
        sum += grader.grade(&ctx).reward;
    }
    let per_grade = start.elapsed().as_secs_f64() / n as f64;
    assert!((sum / n as f64 - 0.5).abs() < 1e-12);

    let req = ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![],
        sampling: Default::default(),
        output: gradekit_engine::judge::OutputSpec::Score { min: 0.0, max: 1.0 },
    };
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(judge.chat(&req).unwrap());
    }
    let per_fake = start.elapsed().as_secs_f64() / n as f64;
    println!(
        "score_model grade with an instant judge: {:.2} µs/sample ({n} samples, 1 thread); the fake judge alone: {:.2} µs/call",
        per_grade * 1e6,
        per_fake * 1e6
    );
}
