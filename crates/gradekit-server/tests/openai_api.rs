//! `/run`, `/validate` and `/health` in-process: the wire of DESIGN.md §3/§6 and the error
//! envelope of every failure. Expected values come from the spec (spec-graders.md §4, the
//! string_check semantics of DESIGN.md §4), not from this server's output.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use gradekit_model::ERROR_KEYS;
use serde_json::{json, Value};

#[tokio::test]
async fn run_string_check_is_the_openai_response() {
    let app = default_app();
    let a = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "Paris", "item": {"answer": "Paris"}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    let r = &a.json;
    assert_eq!(r["reward"], 1.0);
    assert_eq!(r["sub_rewards"], json!({}));
    assert_eq!(r["model_grader_token_usage_per_model"], json!({}));
    let md = &r["metadata"];
    assert_eq!(md["name"], "exact");
    assert_eq!(md["type"], "string_check");
    assert!(md["execution_time"].as_f64().unwrap() >= 0.0);
    assert_eq!(md["token_usage"], Value::Null);
    assert_eq!(md["sampled_model_name"], Value::Null);
    let errors = md["errors"].as_object().unwrap();
    let keys: Vec<&str> = errors.keys().map(String::as_str).collect();
    assert_eq!(keys, ERROR_KEYS);
    assert!(errors.values().all(|v| *v == json!(false) || v.is_null()));

    let miss = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "paris", "item": {"answer": "Paris"}}),
    )
    .await;
    assert_eq!(miss.json["reward"], 0.0);
    let ilike = post(
        &app,
        RUN,
        &json!({"grader": string_check("ilike"), "model_sample": "It is PARIS.", "item": {"answer": "paris"}}),
    )
    .await;
    assert_eq!(ilike.json["reward"], 1.0);
}

#[tokio::test]
async fn sample_failures_are_200_with_flags() {
    let app = default_app();
    let a = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "Paris", "item": {"other": 1}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["reward"], 0.0);
    let e = &a.json["metadata"]["errors"];
    assert_eq!(e["invalid_variable_error"], true);
    assert!(e["invalid_variable_error_details"]
        .as_str()
        .unwrap()
        .contains("item.answer"));
}

#[tokio::test]
async fn legacy_reference_answer_becomes_the_item() {
    let app = default_app();
    let g = json!({"type": "string_check", "name": "x", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.reference_answer }}", "operation": "eq"});
    let a = post(
        &app,
        RUN,
        &json!({"grader": g, "model_sample": "42", "reference_answer": "42"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["reward"], 1.0);
}

#[tokio::test]
async fn invalid_grader_is_400_naming_the_field() {
    let app = default_app();
    let a = post(
        &app,
        RUN,
        &json!({"grader": string_check("equals"), "model_sample": "x"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let e = a.envelope();
    assert_eq!(e["type"], "invalid_request_error");
    assert_eq!(e["param"], "grader.operation");
    assert_eq!(e["code"], "invalid_grader");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .starts_with("grader.operation:"));

    let multi = json!({"type": "multi", "name": "m", "calculate_output": "email",
        "graders": {"email": {"type": "string_check", "name": "e", "input": "{{ sample.output_text }}",
                              "reference": "x", "operation": "equals"}}});
    let a = post(&app, RUN, &json!({"grader": multi, "model_sample": "x"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.envelope()["param"], "grader.graders.email.operation");

    let not_object = post(
        &app,
        RUN,
        &json!({"grader": "string_check", "model_sample": "x"}),
    )
    .await;
    assert_eq!(not_object.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_object.envelope()["param"], "grader");
}

#[tokio::test]
async fn a_grader_whose_only_fault_is_its_formula_runs_with_the_flag() {
    let app = default_app();
    let multi = json!({"type": "multi", "name": "m", "calculate_output": "a +* 2",
        "graders": {"a": string_check("eq")}});
    let a = post(
        &app,
        RUN,
        &json!({"grader": multi, "model_sample": "x", "item": {"answer": "x"}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["reward"], 0.0);
    assert_eq!(a.json["metadata"]["errors"]["formula_parse_error"], true);
    // /validate rejects the same grader.
    let v = post(&app, VALIDATE, &json!({"grader": multi})).await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST);
    assert_eq!(v.envelope()["param"], "grader.calculate_output");
}

#[tokio::test]
async fn malformed_run_requests_name_the_field() {
    let app = default_app();
    for (body, param) in [
        (json!({"grader": string_check("eq")}), json!("model_sample")),
        (json!({"model_sample": "x"}), json!("grader")),
        (
            json!({"grader": string_check("eq"), "model_sample": 3}),
            json!("model_sample"),
        ),
        (
            json!({"grader": string_check("eq"), "model_sample": "x", "itme": {}}),
            json!("itme"),
        ),
        (json!([1, 2]), Value::Null),
    ] {
        let a = post(&app, RUN, &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        let e = a.envelope();
        assert_eq!(e["param"], param, "{body}");
        assert_eq!(e["code"], "invalid_request");
    }
}

#[tokio::test]
async fn validate_echoes_the_normalised_grader() {
    let app = default_app();
    let g = json!({"type": "string_check", "input": "{{ sample.output_text }}", "reference": "a",
                   "operation": "neq"});
    let a = post(&app, VALIDATE, &json!({"grader": g})).await;
    assert_eq!(a.status, StatusCode::OK);
    let echo = &a.json["grader"];
    assert_eq!(a.json.as_object().unwrap().len(), 1);
    assert_eq!(echo["operation"], "ne");
    let name = echo["name"].as_str().unwrap();
    assert!(name.starts_with("grader-") && name.len() == 19, "{name}");
    // The run of the same grader reports the same generated name.
    let r = post(&app, RUN, &json!({"grader": g, "model_sample": "b"})).await;
    assert_eq!(r.json["metadata"]["name"], name);
    assert_eq!(r.json["reward"], 1.0);

    let bad = post(&app, VALIDATE, &json!({"grader": string_check("equals")})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.envelope()["param"], "grader.operation");
    let missing = post(&app, VALIDATE, &json!({})).await;
    assert_eq!(missing.envelope()["param"], "grader");
}

#[tokio::test]
async fn health_needs_no_key() {
    let state = state_with(
        gradekit_server::ServerConfig {
            api_key: Some(gradekit_server::ApiKey::new("sekret")),
            ..Default::default()
        },
        Default::default(),
        Default::default(),
    );
    let app = gradekit_server::app(state);
    let r = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["status"], "ok");
}

#[tokio::test]
async fn bearer_auth() {
    let key = "sk-test-0123456789";
    let state = state_with(
        gradekit_server::ServerConfig {
            api_key: Some(gradekit_server::ApiKey::new(key)),
            ..Default::default()
        },
        Default::default(),
        Default::default(),
    );
    let app = gradekit_server::app(state);
    let body = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}});
    let with = |auth: Option<&str>| {
        let mut b = Request::post(RUN).header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let missing = send(&app, with(None)).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    missing.envelope();
    assert_eq!(missing.headers[header::WWW_AUTHENTICATE], "Bearer");
    for wrong in ["Bearer nope", "Bearer sk-test-012345678", "Basic c2s=", key] {
        let a = send(&app, with(Some(wrong))).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{wrong}");
        let e = a.envelope();
        assert_eq!(e["code"], "invalid_api_key");
        assert!(!a.json.to_string().contains(key), "the key leaked");
    }
    let ok = send(&app, with(Some(&format!("Bearer {key}")))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["reward"], 1.0);
    // Unknown routes are behind the key too.
    let unknown = send(&app, Request::post("/v1/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type() {
    let app = default_app();
    for body in ["{\"grader\": ", "", "not json", "{\"a\":1}}"] {
        let r = Request::post(RUN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let a = send(&app, r).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(a.envelope()["code"], "invalid_json");
    }
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut b = Request::post(RUN);
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        let a = send(&app, b.body(Body::from("{}")).unwrap()).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(a.envelope()["code"], "unsupported_media_type");
    }
    let charset = Request::post(RUN)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(
            json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}})
                .to_string(),
        ))
        .unwrap();
    assert_eq!(send(&app, charset).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let app = default_app();
    let a = send(&app, Request::post("/v1/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.envelope()["message"], "Invalid URL (POST /v1/nope)");
    let a = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    a.envelope();
    for (m, path) in [
        (Method::GET, RUN),
        (Method::DELETE, VALIDATE),
        (Method::POST, "/health"),
    ] {
        let a = send(
            &app,
            Request::builder()
                .method(m.clone())
                .uri(path)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        assert_eq!(a.envelope()["code"], "method_not_allowed");
        assert!(a.headers.get(header::ALLOW).is_some(), "{m} {path}");
    }
}

#[tokio::test]
async fn the_cache_compiles_a_grader_once() {
    let state = state_with(Default::default(), Default::default(), Default::default());
    let app = gradekit_server::app(state.clone());
    for s in ["a", "b", "c"] {
        let a = post(
            &app,
            RUN,
            &json!({"grader": string_check("eq"), "model_sample": s, "item": {"answer": "b"}}),
        )
        .await;
        assert_eq!(a.json["reward"], if s == "b" { 1.0 } else { 0.0 });
    }
    assert_eq!(state.cached_graders(), 1);
    post(
        &app,
        RUN,
        &json!({"grader": string_check("ne"), "model_sample": "a", "item": {"answer": "b"}}),
    )
    .await;
    assert_eq!(state.cached_graders(), 2);
    // Invalid graders are not cached.
    post(
        &app,
        RUN,
        &json!({"grader": string_check("bad"), "model_sample": "a"}),
    )
    .await;
    assert_eq!(state.cached_graders(), 2);
}
