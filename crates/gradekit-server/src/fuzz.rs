//! An in-process driver of the whole app for the fuzz target `server_body` (and its stable
//! twin, `tests/fuzz.rs` at the workspace root): one request body to one route, through the
//! guard, the body reader, the cache, the engine and the answer, with no socket.
//!
//! The invariants checked are the server's promises: no panic, no 500, every answer is JSON
//! (the OpenAI envelope for errors), and the server keeps answering. Judge graders reach an
//! in-memory judge (no network); bodies that name a python grader are skipped (each distinct
//! source would start a sandboxed worker pool — the python crate has its own hostile tests).

use crate::{app, AppState, ConfiguredGraders, ServerConfig};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use gradekit_engine::judge::{
    ChatReply, ChatRequest, ChatScorer, EmbedReply, Embedder, JudgeError, Usage,
};
use gradekit_engine::EngineOptions;
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

/// The routes a fuzz input is sent to (the first input byte picks one).
pub const ROUTES: [&str; 5] = [
    crate::paths::RUN,
    crate::paths::VALIDATE,
    crate::paths::RUN_BATCH,
    "/v1/endpoint_graders/fuzz",
    crate::paths::GET_REWARD,
];

#[derive(Debug)]
struct MemoryJudge;

impl ChatScorer for MemoryJudge {
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        if req.messages.len() % 3 == 2 {
            return Err(JudgeError::server("the fuzz judge fails every third shape"));
        }
        Ok(ChatReply {
            content: Some(json!({"steps": [], "result": 0.5}).to_string()),
            refusal: None,
            finish_reason: Some("stop".into()),
            model: req.model.clone(),
            usage: Usage::default(),
            from_cache: false,
        })
    }
}

impl Embedder for MemoryJudge {
    fn embed(&self, model: &str, inputs: &[String]) -> Result<EmbedReply, JudgeError> {
        Ok(EmbedReply {
            embeddings: inputs
                .iter()
                .map(|s| vec![s.len() as f64, 1.0, f64::from(s.is_empty())])
                .collect(),
            model: model.to_string(),
            usage: Usage::default(),
            from_cache: false,
        })
    }
}

fn harness() -> &'static (tokio::runtime::Runtime, Router) {
    static H: OnceLock<(tokio::runtime::Runtime, Router)> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("fuzz runtime");
        let judge = Arc::new(MemoryJudge);
        let mut engine = EngineOptions::default();
        engine.judge = Some(judge.clone());
        engine.embedder = Some(judge);
        engine.max_field_bytes = 1 << 20;
        let config = ServerConfig {
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
            max_batch: 64,
            ..ServerConfig::default()
        };
        let graders = ConfiguredGraders {
            endpoint: vec![(
                "fuzz".into(),
                json!({"type": "string_check", "name": "e", "operation": "ilike",
                       "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"}),
            )],
            openrlhf: Some(
                json!({"type": "multi", "name": "m", "calculate_output": "a * 2 - b",
                "graders": {
                    "a": {"type": "string_check", "name": "a", "operation": "eq",
                          "input": "{{ sample.output_text }}", "reference": "{{ item.label }}"},
                    "b": {"type": "text_similarity", "name": "b", "evaluation_metric": "rouge_l",
                          "input": "{{ sample.output_text }}", "reference": "{{ item.prompt }}"}}}),
            ),
        };
        let state = AppState::new(config, engine, graders).expect("fuzz app state");
        (rt, app(state))
    })
}

/// Sends `body` to `path` and checks the answer; returns its status. Panics when a promise is
/// broken (that is what the fuzzer looks for).
#[doc(hidden)]
pub fn fuzz_request(path: &str, body: &[u8]) -> u16 {
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"python")) {
        return 0;
    }
    let (rt, app) = harness();
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let (status, bytes) = rt.block_on(async {
        let resp = app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .expect("answer body");
        (status, bytes)
    });
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 for {path}: {}",
        String::from_utf8_lossy(&bytes)
    );
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON ({e})"));
    if !status.is_success() {
        assert!(
            v["error"]["message"].is_string(),
            "{path} answered {status} without the error envelope: {v}"
        );
    }
    status.as_u16()
}
