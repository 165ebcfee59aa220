//! score_model, label_model and cosine through the engine, against the judge crate's loopback
//! stub server: rewards, flags, usage accounting, request bodies as sent, batch concurrency and
//! the cache. Expected values follow DESIGN.md §4 and the OpenAI graders guide (clamping to
//! `range`, labels → 1/0, error flags), not this engine's output.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use gradekit_engine::judge::stub::{self, StubReply, StubServer};
use gradekit_engine::judge::{ClientConfig, OpenAiClient, RetryPolicy};
use gradekit_engine::{compile, run, EngineOptions, EvalContext};
use serde_json::{json, Value};

fn client(server: &StubServer) -> Arc<OpenAiClient> {
    Arc::new(
        OpenAiClient::new(ClientConfig {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_retries: 2,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            },
            ..ClientConfig::for_base_url(server.base_url())
        })
        .unwrap(),
    )
}

fn options(server: &StubServer) -> EngineOptions {
    let c = client(server);
    let mut opts = EngineOptions::default();
    opts.judge = Some(c.clone());
    opts.embedder = Some(c);
    opts
}

fn score_grader() -> Value {
    json!({
        "type": "score_model",
        "name": "judge",
        "model": "gpt-4o",
        "input": [
            {"role": "system", "content": "Compare with the reference {{ item.reference }}."},
            {"role": "user", "content": [{"type": "input_text", "text": "Answer: {{ sample.output_text }}"}]}
        ],
        "sampling_params": {"max_completions_tokens": 300, "temperature": 0, "seed": 5}
    })
}

fn run_with(server: &StubServer, grader: Value) -> Value {
    let request =
        json!({"grader": grader, "model_sample": "Paris", "item": {"reference": "Paris"}});
    let resp = run(&request, &options(server)).unwrap();
    serde_json::to_value(resp).unwrap()
}

fn replying(content: String) -> StubServer {
    StubServer::start(move |_, _| StubReply::json(&stub::completion(&content)))
}

fn true_flags(resp: &Value) -> Vec<String> {
    resp["metadata"]["errors"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| **v == Value::Bool(true))
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn score_in_range_with_usage_and_request_as_sent() {
    let server = replying(stub::structured(json!(0.7)));
    let resp = run_with(&server, score_grader());
    assert_eq!(resp["reward"], 0.7);
    assert!(true_flags(&resp).is_empty());
    assert_eq!(resp["metadata"]["type"], "score_model");
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cached_tokens": 0});
    assert_eq!(resp["metadata"]["token_usage"], usage);
    assert_eq!(
        resp["metadata"]["sampled_model_name"],
        "stub-model-2025-01-01"
    );
    assert_eq!(
        resp["model_grader_token_usage_per_model"],
        json!({"stub-model-2025-01-01": usage})
    );
    assert_eq!(resp["sub_rewards"], json!({}));

    let body = server.requests()[0].json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Compare with the reference Paris."},
            {"role": "user", "content": [{"type": "text", "text": "Answer: Paris"}]}
        ])
    );
    assert_eq!(body["max_completion_tokens"], 300);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["seed"], 5);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["properties"]["result"]["type"],
        "number"
    );
}

#[test]
fn scores_are_clamped_to_range() {
    for (range, result, expected) in [
        (None, json!(1.7), 1.0),
        (None, json!(-0.2), 0.0),
        (Some(json!([0, 10])), json!(12), 10.0),
        (Some(json!([0, 10])), json!(7.5), 7.5),
        (Some(json!([-1, 1])), json!(-0.5), -0.5),
        (Some(json!([-1, 1])), json!(-3), -1.0),
    ] {
        let server = replying(stub::structured(result.clone()));
        let mut g = score_grader();
        if let Some(r) = &range {
            g["range"] = r.clone();
        }
        let resp = run_with(&server, g);
        assert_eq!(resp["reward"], expected, "{range:?} {result}");
        assert!(true_flags(&resp).is_empty());
    }
}

#[test]
fn judge_failures_set_their_flags() {
    let cases: Vec<(StubServer, &str, bool)> = vec![
        (
            replying("definitely a 7/10".into()),
            "model_grader_parse_error",
            true,
        ),
        (
            replying(stub::structured(json!("high"))),
            "model_grader_parse_error",
            true,
        ),
        (
            StubServer::start(|_, _| {
                StubReply::json(&stub::completion_full(
                    None,
                    Some("I can't help with that."),
                    "stop",
                    "m-1",
                    (7, 3, 0),
                ))
            }),
            "model_grader_refusal_error",
            true,
        ),
        (
            StubServer::start(|_, _| {
                StubReply::json(&stub::completion_full(
                    Some("{\"steps\": [{\"desc"),
                    None,
                    "length",
                    "m-1",
                    (7, 300, 0),
                ))
            }),
            "model_grader_exceeded_max_tokens_error",
            true,
        ),
        (
            StubServer::start(|_, _| StubReply::raw(500, "boom")),
            "model_grader_server_error",
            false,
        ),
        (
            StubServer::start(|_, _| {
                StubReply::raw(400, "{\"error\":{\"message\":\"bad model\"}}")
            }),
            "model_grader_server_error",
            false,
        ),
        (
            StubServer::start(|_, _| StubReply::raw(200, "<html>oops</html>")),
            "model_grader_server_error",
            false,
        ),
    ];
    for (server, flag, billed) in cases {
        let resp = run_with(&server, score_grader());
        assert_eq!(resp["reward"], 0.0, "{flag}");
        assert_eq!(true_flags(&resp), vec![flag.to_string()], "{flag}");
        let details = match flag {
            "model_grader_exceeded_max_tokens_error" => None,
            "model_grader_server_error" => Some("model_grader_server_error_details"),
            "model_grader_refusal_error" => Some("model_grader_refusal_error_details"),
            _ => Some("model_grader_parse_error_details"),
        };
        if let Some(d) = details {
            assert!(
                resp["metadata"]["errors"][d]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{flag}: {resp}"
            );
        }
        // A reply that came back was billed; a failed transport was not.
        assert_eq!(!resp["metadata"]["token_usage"].is_null(), billed, "{flag}");
    }
}

#[test]
fn server_error_after_retries_made_three_attempts() {
    let server = StubServer::start(|_, _| StubReply::raw(503, "busy"));
    let resp = run_with(&server, score_grader());
    assert_eq!(server.calls(), 3);
    assert!(
        resp["metadata"]["errors"]["model_grader_server_error_details"]
            .as_str()
            .unwrap()
            .contains("503")
    );
}

fn label_grader() -> Value {
    json!({
        "type": "label_model",
        "name": "tone",
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "Classify: {{ sample.output_text }}"}],
        "labels": ["positive", "neutral", "negative"],
        "passing_labels": ["positive", "neutral"]
    })
}

#[test]
fn labels_map_to_one_or_zero() {
    for (label, reward, flag) in [
        ("positive", 1.0, None),
        ("neutral", 1.0, None),
        ("negative", 0.0, None),
        ("angry", 0.0, Some("model_grader_parse_error")),
    ] {
        let server = replying(stub::structured(json!(label)));
        let resp = run_with(&server, label_grader());
        assert_eq!(resp["reward"], reward, "{label}");
        assert_eq!(
            true_flags(&resp),
            flag.map(String::from).into_iter().collect::<Vec<_>>()
        );
        let body = server.requests()[0].json();
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["properties"]["result"]["enum"],
            json!(["positive", "neutral", "negative"])
        );
    }
}

#[test]
fn multi_sums_usage_per_model_and_has_no_single_model_name() {
    let server = StubServer::start(|req, _| {
        let body = req.json();
        if body["model"] == "gpt-4o-mini" {
            StubReply::json(&stub::completion_full(
                Some(&stub::structured(json!("positive"))),
                None,
                "stop",
                "gpt-4o-mini-2024-07-18",
                (20, 4, 8),
            ))
        } else {
            StubReply::json(&stub::completion(&stub::structured(json!(0.5))))
        }
    });
    let grader = json!({
        "type": "multi",
        "name": "both",
        "graders": {"score": score_grader(), "tone": label_grader()},
        "calculate_output": "score + tone"
    });
    let resp = run_with(&server, grader);
    assert_eq!(resp["reward"], 1.5);
    assert_eq!(resp["sub_rewards"], json!({"score": 0.5, "tone": 1.0}));
    assert_eq!(
        resp["metadata"]["token_usage"],
        json!({"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39, "cached_tokens": 8})
    );
    assert_eq!(resp["metadata"]["sampled_model_name"], Value::Null);
    assert_eq!(
        resp["model_grader_token_usage_per_model"],
        json!({
            "stub-model-2025-01-01": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cached_tokens": 0},
            "gpt-4o-mini-2024-07-18": {"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24, "cached_tokens": 8}
        })
    );
}

#[test]
fn missing_template_path_is_invalid_variable_and_makes_no_call() {
    let server = replying(stub::structured(json!(1)));
    let mut g = score_grader();
    g["input"][0]["content"] = json!("Reference: {{ item.missing }}");
    let resp = run_with(&server, g);
    assert_eq!(resp["reward"], 0.0);
    assert_eq!(
        true_flags(&resp),
        vec!["invalid_variable_error".to_string()]
    );
    assert_eq!(server.calls(), 0);
    assert_eq!(resp["metadata"]["token_usage"], Value::Null);
}

#[test]
fn image_and_audio_parts_pass_through_with_templates_rendered() {
    let server = replying(stub::structured(json!(1)));
    let g = json!({
        "type": "score_model",
        "model": "gpt-4o",
        "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "Does the picture match {{ sample.output_text }}?"},
            {"type": "input_image", "image_url": "{{ item.image }}", "detail": "low"},
            {"type": "input_audio", "input_audio": {"data": "{{ item.audio }}", "format": "wav"}}
        ]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Earlier: {{ item.reference }}"}]}]
    });
    let request = json!({"grader": g, "model_sample": "a cat",
        "item": {"image": "https://example.invalid/cat.png", "audio": "UklGRg==", "reference": "x"}});
    let resp = serde_json::to_value(run(&request, &options(&server)).unwrap()).unwrap();
    assert_eq!(resp["reward"], 1.0);
    assert_eq!(
        server.requests()[0].json()["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "Does the picture match a cat?"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "Earlier: x"}]}
        ])
    );
}

#[test]
fn cosine_is_the_raw_cosine_of_two_embeddings() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::embeddings(
            "text-embedding-3-large",
            &[vec![1.0, 0.0], vec![-1.0, 1.0]],
        ))
    });
    let g = json!({"type": "text_similarity", "name": "cos", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.reference }}", "evaluation_metric": "cosine"});
    let resp = run_with(&server, g);
    // (1·-1 + 0·1) / (1 · √2) = -1/√2.
    let r = resp["reward"].as_f64().unwrap();
    assert!((r + std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12, "{r}");
    let body = server.requests()[0].json();
    assert_eq!(body["input"], json!(["Paris", "Paris"]));
    assert_eq!(body["model"], "text-embedding-3-large");
    assert_eq!(resp["metadata"]["token_usage"]["prompt_tokens"], 8);

    let broken = StubServer::start(|_, _| {
        StubReply::json(&stub::embeddings("e", &[vec![0.0, 0.0], vec![1.0, 1.0]]))
    });
    let g = json!({"type": "text_similarity", "input": "a", "reference": "b", "evaluation_metric": "cosine"});
    let resp = run_with(&broken, g);
    assert_eq!(resp["reward"], 0.0);
    assert_eq!(
        true_flags(&resp),
        vec!["model_grader_server_error".to_string()]
    );
}

#[test]
fn invalid_model_grader_configs_are_rejected_with_paths() {
    let server = replying(String::new());
    let opts = options(&server);
    let cases = [
        (json!({"range": [1, 0]}), "range"),
        (json!({"range": [0]}), "range"),
        (
            json!({"input": [{"role": "user", "content": "{{ item.x + 1 }}"}]}),
            "input[0].content",
        ),
    ];
    for (patch, path) in cases {
        let mut g = score_grader();
        for (k, v) in patch.as_object().unwrap() {
            g[k] = v.clone();
        }
        let errs = compile(&g, &opts).unwrap_err();
        assert!(errs.0.iter().any(|e| e.path == path), "{path}: {errs:?}");
    }
    for (patch, path) in [
        (json!({"labels": []}), "labels"),
        (
            json!({"labels": ["a", "a"], "passing_labels": ["a"]}),
            "labels[1]",
        ),
        (json!({"passing_labels": ["great"]}), "passing_labels[0]"),
    ] {
        let mut g = label_grader();
        for (k, v) in patch.as_object().unwrap() {
            g[k] = v.clone();
        }
        let errs = compile(&g, &opts).unwrap_err();
        assert!(errs.0.iter().any(|e| e.path == path), "{path}: {errs:?}");
    }
    assert_eq!(server.calls(), 0);
}

/// 96 samples, 100 ms per judge call: on the CPU pool (2 threads here) ≈ 4.8 s; on the I/O
/// pool 32 wide ≈ 0.3 s. The bound is generous — this checks behaviour, not speed.
#[test]
fn grade_batch_runs_judge_calls_beyond_the_core_count() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion(&stub::structured(json!(0.5))))
            .with_delay(Duration::from_millis(100))
    });
    let mut opts = options(&server);
    opts.judge_concurrency = 32;
    let grader = compile(&score_grader(), &opts).unwrap();
    assert_eq!(grader.io_width(), Some(32));
    let ctxs: Vec<EvalContext> = (0..96)
        .map(|i| EvalContext::from_text(&format!("answer {i}"), Some(json!({"reference": "r"}))))
        .collect();
    let start = Instant::now();
    let results = grader.grade_batch(&ctxs);
    let took = start.elapsed();
    assert_eq!(results.len(), 96);
    assert!(results.iter().all(|r| r.reward == 0.5));
    assert!(server.max_in_flight() > 8, "{}", server.max_in_flight());
    assert!(server.max_in_flight() <= 32);
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Results are in input order: each request carried its own sample.
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.json()["messages"][1]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for i in 0..96 {
        assert!(sent.contains(&format!("Answer: answer {i}")));
    }
}

#[test]
fn cpu_graders_have_no_io_width() {
    let g = json!({"type": "string_check", "input": "a", "reference": "a", "operation": "eq"});
    assert_eq!(
        compile(&g, &EngineOptions::default()).unwrap().io_width(),
        None
    );
}

#[test]
fn cache_makes_reruns_call_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = replying(stub::structured(json!(0.8)));
    let cached_opts = || {
        let c = Arc::new(
            OpenAiClient::new(ClientConfig {
                cache_dir: Some(dir.path().to_path_buf()),
                ..ClientConfig::for_base_url(server.base_url())
            })
            .unwrap(),
        );
        let mut o = EngineOptions::default();
        o.judge = Some(c);
        o
    };
    let request =
        json!({"grader": score_grader(), "model_sample": "Paris", "item": {"reference": "Paris"}});
    let first = serde_json::to_value(run(&request, &cached_opts()).unwrap()).unwrap();
    let second = serde_json::to_value(run(&request, &cached_opts()).unwrap()).unwrap();
    assert_eq!(server.calls(), 1);
    assert_eq!(first["reward"], 0.8);
    assert_eq!(second["reward"], first["reward"]);
    assert_eq!(
        second["metadata"]["token_usage"],
        first["metadata"]["token_usage"]
    );
}
