//! Limits and start-up policy in-process: body size (413), stalled bodies (408), the
//! concurrency limit (429 + retry-after), the request deadline (504), unsandboxed python.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use gradekit_engine::python::{PythonMode, PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use gradekit_server::{app, AppState, ConfiguredGraders, ServerConfig, StartError};
use serde_json::json;
use std::time::{Duration, Instant};

fn config() -> ServerConfig {
    ServerConfig::default()
}

#[tokio::test]
async fn bodies_past_the_limit_are_413() {
    let state = state_with(
        ServerConfig {
            max_body: 1024,
            ..config()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    );
    let app = app(state);
    // Declared too large: refused before reading.
    let big = json!({"grader": string_check("eq"), "model_sample": "x".repeat(2000)});
    let a = post(&app, RUN, &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.envelope()["code"], "request_too_large");
    // Undeclared length (chunked): refused once it grows past the limit.
    let r = Request::post(RUN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(chunked(10, 200))
        .unwrap();
    let a = send(&app, r).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    a.envelope();
    // Under the limit, still served.
    let ok = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn a_body_that_stalls_is_408() {
    let state = state_with(
        ServerConfig {
            timeout: Duration::from_millis(200),
            ..config()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    );
    let app = app(state);
    let r = Request::post(RUN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::new(Stall))
        .unwrap();
    let t = Instant::now();
    let a = send(&app, r).await;
    assert_eq!(a.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(a.envelope()["code"], "request_timeout");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_grading_is_504_and_the_server_answers_others() {
    let state = state_with(
        ServerConfig {
            timeout: Duration::from_millis(300),
            ..config()
        },
        engine_with_judge(Duration::from_secs(2)),
        ConfiguredGraders::default(),
    );
    let app = app(state);
    let t = Instant::now();
    let a = post(
        &app,
        RUN,
        &json!({"grader": score_model(), "model_sample": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::GATEWAY_TIMEOUT);
    let e = a.envelope();
    assert_eq!(e["type"], "server_error");
    assert_eq!(e["code"], "timeout");
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let ok = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_grader_within_the_deadline_is_graded() {
    let state = state_with(
        config(),
        engine_with_judge(Duration::from_millis(10)),
        ConfiguredGraders::default(),
    );
    let a = post(
        &app(state),
        RUN,
        &json!({"grader": score_model(), "model_sample": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["reward"], 0.5);
    assert_eq!(a.json["metadata"]["type"], "score_model");
}

/// The slot is held by work (a judge call of 1 s): a second request is 429 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_is_429_with_retry_after() {
    let state = state_with(
        ServerConfig {
            concurrency: 1,
            ..config()
        },
        engine_with_judge(Duration::from_millis(1000)),
        ConfiguredGraders::default(),
    );
    let app = app(state);
    let working = {
        let app = app.clone();
        tokio::spawn(async move {
            post(
                &app,
                RUN,
                &json!({"grader": score_model(), "model_sample": "x"}),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}});
    let a = post(&app, RUN, &body).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers[header::RETRY_AFTER], "1");
    assert_eq!(a.envelope()["type"], "rate_limit_error");
    // /health is never limited.
    let h = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(working.await.unwrap().status, StatusCode::OK);
    // The slot is free again once the work is done.
    let a = post(&app, RUN, &body).await;
    assert_eq!(a.status, StatusCode::OK);
}

/// A request still sending its body holds no slot: with one slot and stalled bodies in
/// flight, a complete request is served; the stalled ones are cut with 408 by the body pace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_still_arriving_hold_no_slot_and_are_cut_at_their_pace() {
    let state = state_with(
        ServerConfig {
            concurrency: 1,
            body_timeout: Duration::from_millis(600),
            ..config()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    );
    let app = app(state);
    let stalled: Vec<_> = (0..3)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let r = Request::post(RUN)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::new(Stall))
                    .unwrap();
                send(&app, r).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let body = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}});
    let a = post(&app, RUN, &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    for s in stalled {
        let a = s.await.unwrap();
        assert_eq!(a.status, StatusCode::REQUEST_TIMEOUT);
        let e = a.envelope();
        assert_eq!(e["code"], "request_timeout");
        let m = e["message"].as_str().unwrap();
        assert!(
            m.contains("too slowly") && m.contains("--body-timeout"),
            "{m}"
        );
    }
    // Streamed (non-JSON) bodies, i.e. uploads, are paced too.
    let dir = tempfile::tempdir().unwrap();
    let jobs = gradekit_jobs::Jobs::open(
        gradekit_jobs::JobsConfig::new(dir.path().join("data")),
        std::sync::Arc::new(gradekit_jobs::LocalBackend::new("true").unwrap()),
    )
    .unwrap();
    let app = gradekit_server::app(state_with(
        ServerConfig {
            concurrency: 1,
            body_timeout: Duration::from_millis(600),
            jobs: Some(jobs),
            ..config()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    ));
    let r = Request::post("/v1/files")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(Body::new(Stall))
        .unwrap();
    let a = send(&app, r).await;
    assert_eq!(a.status, StatusCode::REQUEST_TIMEOUT, "{}", a.json);
    assert!(AppState::new(
        ServerConfig {
            body_timeout: Duration::ZERO,
            ..config()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    )
    .is_err());
}

#[test]
fn unsandboxed_python_needs_the_operator_to_opt_in() {
    let engine = || {
        let mut e = EngineOptions::default();
        e.python = PythonRuntime::new(PythonOptions {
            mode: PythonMode::Process,
            ..PythonOptions::default()
        });
        e
    };
    let refused = AppState::new(config(), engine(), ConfiguredGraders::default());
    match refused {
        Err(e @ StartError::UnsandboxedPython(_)) => {
            assert!(e.to_string().contains("--allow-untrusted-python"), "{e}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let allowed = AppState::new(
        ServerConfig {
            allow_untrusted_python: true,
            ..config()
        },
        engine(),
        ConfiguredGraders::default(),
    );
    assert!(allowed.is_ok());
}

#[test]
fn configured_graders_must_be_valid() {
    let bad = AppState::new(
        config(),
        EngineOptions::default(),
        ConfiguredGraders {
            endpoint: vec![("x".into(), string_check("equals"))],
            openrlhf: None,
        },
    );
    match bad {
        Err(e @ StartError::InvalidGrader { .. }) => {
            assert!(e.to_string().contains("operation"), "{e}")
        }
        other => panic!("expected InvalidGrader, got {other:?}"),
    }
    let bad_name = AppState::new(
        config(),
        EngineOptions::default(),
        ConfiguredGraders {
            endpoint: vec![("a/b".into(), string_check("eq"))],
            openrlhf: None,
        },
    );
    assert!(matches!(bad_name, Err(StartError::Config(_))));
    for c in [
        ServerConfig {
            concurrency: 0,
            ..config()
        },
        ServerConfig {
            max_body: 0,
            ..config()
        },
        ServerConfig {
            timeout: Duration::ZERO,
            ..config()
        },
    ] {
        assert!(AppState::new(c, EngineOptions::default(), ConfiguredGraders::default()).is_err());
    }
}
