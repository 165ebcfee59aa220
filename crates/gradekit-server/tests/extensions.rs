//! The extensions in-process: `/v1/graders/run_batch`, Azure's endpoint-grader protocol and
//! OpenRLHF's `/get_reward`.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use gradekit_engine::EngineOptions;
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::{json, Value};

const BATCH: &str = "/v1/graders/run_batch";

fn multi() -> Value {
    json!({"type": "multi", "name": "m", "calculate_output": "0.25 * exact + 0.75 * sub",
        "graders": {
            "exact": {"type": "string_check", "name": "e", "input": "{{ sample.output_text }}",
                      "reference": "{{ item.label }}", "operation": "eq"},
            "sub": {"type": "string_check", "name": "s", "input": "{{ sample.output_text }}",
                    "reference": "{{ item.label }}", "operation": "like"}}})
}

#[tokio::test]
async fn run_batch_answers_in_order_like_run() {
    let app = default_app();
    let samples: Vec<Value> = (0..50)
        .map(|i| {
            if i % 3 == 0 {
                json!({"model_sample": format!("n{i}"), "item": {"answer": format!("n{i}")}})
            } else {
                json!({"sample": {"output_text": format!("n{i}")}, "item": {"answer": "zzz"}})
            }
        })
        .collect();
    let a = post(
        &app,
        BATCH,
        &json!({"grader": string_check("eq"), "samples": samples}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let results = a.json["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(
            r["reward"],
            if i % 3 == 0 { 1.0 } else { 0.0 },
            "sample {i}"
        );
        assert_eq!(r["metadata"]["name"], "exact");
        assert_eq!(r["metadata"]["errors"].as_object().unwrap().len(), 24);
    }
    // Each result is what /run answers for the same sample (execution_time aside).
    let single = post(
        &app,
        RUN,
        &json!({"grader": string_check("eq"), "model_sample": "n3", "item": {"answer": "n3"}}),
    )
    .await;
    let mut s = single.json.clone();
    let mut b = results[3].clone();
    s["metadata"]["execution_time"] = json!(0);
    b["metadata"]["execution_time"] = json!(0);
    assert_eq!(s, b);

    let empty = post(
        &app,
        BATCH,
        &json!({"grader": string_check("eq"), "samples": []}),
    )
    .await;
    assert_eq!(empty.json, json!({"results": []}));
}

#[tokio::test]
async fn run_batch_of_a_multi_grader_reports_sub_rewards() {
    let app = default_app();
    let a = post(
        &app,
        BATCH,
        &json!({"grader": multi(), "samples": [
        {"model_sample": "cat", "item": {"label": "cat"}},
        {"model_sample": "a cat", "item": {"label": "cat"}},
        {"model_sample": "dog", "item": {"label": "cat"}}]}),
    )
    .await;
    let rewards: Vec<f64> = a.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reward"].as_f64().unwrap())
        .collect();
    assert_eq!(rewards, [1.0, 0.75, 0.0]);
    assert_eq!(
        a.json["results"][1]["sub_rewards"],
        json!({"exact": 0.0, "sub": 1.0})
    );
}

#[tokio::test]
async fn run_batch_errors_name_the_field() {
    let app = default_app();
    for (body, param) in [
        (json!({"samples": []}), "grader"),
        (json!({"grader": string_check("eq")}), "samples"),
        (
            json!({"grader": string_check("eq"), "samples": {}}),
            "samples",
        ),
        (
            json!({"grader": string_check("eq"), "samples": [], "extra": 1}),
            "extra",
        ),
        (
            json!({"grader": string_check("eq"), "samples": [{"model_sample": "a"}, {"model_sample": 1}]}),
            "samples[1].model_sample",
        ),
        (
            json!({"grader": string_check("eq"), "samples": [{"sample": {"output_txt": "a"}}]}),
            "samples[0].sample.output_txt",
        ),
        (
            json!({"grader": string_check("equals"), "samples": []}),
            "grader.operation",
        ),
    ] {
        let a = post(&app, BATCH, &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(a.envelope()["param"], param, "{body}");
    }
}

fn configured() -> axum::Router {
    app(state_with(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders {
            endpoint: vec![
                ("exact".into(), string_check("eq")),
                ("combo".into(), multi()),
            ],
            openrlhf: Some(multi()),
        },
    ))
}

#[tokio::test]
async fn endpoint_grader_protocol() {
    let app = configured();
    // The payload shape of Azure's endpoint-grader demo: a sample object, the item, a trace id.
    let a = post(
        &app,
        "/v1/endpoint_graders/exact",
        &json!({
        "sample": {"output_text": "47", "output_json": {"result": 47}, "unknown_key": true},
        "item": {"answer": "47", "messages": []},
        "trace_id": "trace_1a2b3c"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json, json!({"score": 1.0}));
    let a = post(
        &app,
        "/v1/endpoint_graders/combo",
        &json!({
        "sample": {"choices": [{"index": 0, "message": {"role": "assistant", "content": "a cat"}}]},
        "item": {"label": "cat"}, "trace_id": "trace_x"}),
    )
    .await;
    assert_eq!(a.json, json!({"score": 0.75}));
    // A failed sample scores 0, it is not an HTTP error.
    let a = post(
        &app,
        "/v1/endpoint_graders/exact",
        &json!({"sample": "x", "item": null}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json, json!({"score": 0.0}));

    let missing = post(&app, "/v1/endpoint_graders/exact", &json!({"item": {}})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.envelope()["param"], "sample");
    let unknown = post(&app, "/v1/endpoint_graders/nope", &json!({"sample": "x"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.envelope()["code"], "grader_not_found");
}

#[tokio::test]
async fn openrlhf_get_reward() {
    let app = configured();
    let a = post(
        &app,
        "/get_reward",
        &json!({
        "query": ["Q1: pet? cat", "Q2: pet? a cat!", "Q3: pet? dog"],
        "prompts": ["Q1: pet? ", "Q2: pet? ", "Q3: pet? "],
        "labels": ["cat", "cat", "cat"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["rewards"], json!([1.0, 0.75, 0.0]));
    assert_eq!(a.json["scores"], json!([1.0, 0.75, 0.0]));
    assert_eq!(a.json["extra_logs"]["exact"], json!([1.0, 0.0, 0.0]));
    assert_eq!(a.json["extra_logs"]["sub"], json!([1.0, 1.0, 0.0]));
    assert_eq!(a.json["extra_logs"]["grader_error"], json!([0.0, 0.0, 0.0]));
    // Without labels the template path fails: reward 0 and the error counted.
    let a = post(&app, "/get_reward", &json!({"query": ["x"]})).await;
    assert_eq!(a.json["rewards"], json!([0.0]));
    assert_eq!(a.json["extra_logs"]["grader_error"], json!([1.0]));

    let bad = post(
        &app,
        "/get_reward",
        &json!({"query": ["a"], "labels": ["x", "y"]}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.envelope()["param"], "labels");
    let bad = post(&app, "/get_reward", &json!({"prompts": []})).await;
    assert_eq!(bad.envelope()["param"], "query");

    let unconfigured = post(&default_app(), "/get_reward", &json!({"query": []})).await;
    assert_eq!(unconfigured.status, StatusCode::NOT_FOUND);
    unconfigured.envelope();
}

/// Regression (issue 13): `"item": null` is an absent item (`{}`) on every route. run_batch
/// once kept the null, so `{{ item }}` rendered `null` there and `{}` on `/run`.
#[tokio::test]
async fn a_null_item_reads_the_same_on_every_route() {
    let grader = json!({"type": "string_check", "name": "whole_item", "input": "{{ item }}",
                        "reference": "{}", "operation": "eq"});
    let app = default_app();
    let run = post(
        &app,
        RUN,
        &json!({"grader": grader, "model_sample": "x", "item": null}),
    )
    .await;
    assert_eq!(run.status, StatusCode::OK);
    assert_eq!(run.json["reward"], 1.0, "{}", run.json);
    let batch = post(
        &app,
        BATCH,
        &json!({"grader": grader, "samples": [
            {"model_sample": "x", "item": null},
            {"sample": "x", "item": null, "reference_answer": null},
            {"sample": {"output_text": "x"}, "item": null}]}),
    )
    .await;
    assert_eq!(batch.status, StatusCode::OK);
    for r in batch.json["results"].as_array().unwrap() {
        assert_eq!(r["reward"], run.json["reward"], "{r}");
        assert_eq!(r["metadata"]["errors"], run.json["metadata"]["errors"]);
    }
}
