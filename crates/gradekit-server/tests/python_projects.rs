//! Projects never share python workers through the server: byte-identical grader code sent
//! with two projects' keys runs in two pools. Its own test binary: the process-wide worker
//! budget is not shared with other tests, whose pools could evict the warm worker whose reuse
//! this test checks.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use gradekit_engine::python::{PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::json;

/// Two projects send byte-identical python code that keeps the last caller in a module global
/// (0 = first call its worker saw, 0.5 = previous call from the same project, 1.0 = from the
/// other project): no project ever sees the other's sample, and each keeps its warm worker.
/// The standalone `/run`, `/run_batch` and `/validate` all grade in the caller's project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_never_share_python_workers() {
    use axum::http::{header, Method, Request};
    let mut engine = EngineOptions::default();
    engine.python = PythonRuntime::new(PythonOptions {
        memory_mib: 256,
        workers: Some(1),
        ..PythonOptions::default()
    });
    let app = app(state_with(
        ServerConfig {
            project_keys: vec![
                ("proj_a".into(), vec![gradekit_server::ApiKey::new("key-a")]),
                ("proj_b".into(), vec![gradekit_server::ApiKey::new("key-b")]),
            ],
            ..ServerConfig::default()
        },
        engine,
        ConfiguredGraders::default(),
    ));
    let grader = json!({"type": "python", "name": "last_caller", "source":
        "last = None\ndef grade(sample, item):\n    global last\n    prev, last = last, item['who']\n    if prev is None:\n        return 0.0\n    return 0.5 if prev == item['who'] else 1.0\n"});
    let call = |key: &'static str, path: &'static str, body: serde_json::Value| {
        let app = app.clone();
        async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            send(&app, req).await
        }
    };
    let run = |key: &'static str, who: &'static str| {
        call(
            key,
            RUN,
            json!({"grader": grader, "model_sample": "x", "item": {"who": who}}),
        )
    };
    let first = run("key-a", "a").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    if first.json["metadata"]["errors"]["python_grader_server_error"] == json!(true) {
        eprintln!("SKIP: python workers unavailable here: {}", first.json);
        return;
    }
    assert_eq!(first.json["reward"], json!(0.0), "{}", first.json);
    assert_eq!(run("key-a", "a").await.json["reward"], json!(0.5));
    let v = call("key-b", VALIDATE, json!({"grader": grader})).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.json);
    let b = run("key-b", "b").await;
    assert_eq!(
        b.json["reward"],
        json!(0.0),
        "proj_b saw proj_a's sample: {}",
        b.json
    );
    let batch = call(
        "key-b",
        "/v1/graders/run_batch",
        json!({"grader": grader, "samples": [{"model_sample": "x", "item": {"who": "b"}}]}),
    )
    .await;
    assert_eq!(
        batch.json["results"][0]["reward"],
        json!(0.5),
        "{}",
        batch.json
    );
    assert_eq!(run("key-a", "a").await.json["reward"], json!(0.5));
}
