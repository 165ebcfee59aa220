//! The HTTP client against the scripted loopback stub: every reply path, retries, timeouts,
//! the `json_object` fallback, concurrency and the cache.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gradekit_judge::stub::{self, StubReply, StubServer};
use gradekit_judge::{
    ApiKey, ChatMessage, ChatRequest, ChatScorer, ClientConfig, Embedder, JudgeErrorKind,
    OpenAiClient, OutputSpec, ResponseFormatMode, RetryPolicy, SamplingParams,
};
use serde_json::json;

/// Fast retries so the suite stays quick; the policy's shape is unit-tested in `retry`.
fn config(stub: &StubServer) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..ClientConfig::for_base_url(stub.base_url())
    }
}

fn client(stub: &StubServer) -> OpenAiClient {
    OpenAiClient::new(config(stub)).unwrap()
}

fn score_request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".into(),
        messages: vec![
            ChatMessage::text("system", "Grade it."),
            ChatMessage::text("user", "Answer: 42"),
        ],
        sampling: SamplingParams {
            max_completions_tokens: Some(256),
            seed: Some(1),
            temperature: Some(0.0),
            ..Default::default()
        },
        output: OutputSpec::Score { min: 0.0, max: 1.0 },
    }
}

fn answering(content: &'static str) -> StubServer {
    StubServer::start(move |_, _| StubReply::json(&stub::completion(content)))
}

#[test]
fn numbers_in_and_out_of_range_are_returned_raw() {
    for (content, expected) in [
        (stub::structured(json!(0.4)), 0.4),
        (stub::structured(json!(1.7)), 1.7),
        (stub::structured(json!(-3)), -3.0),
    ] {
        let server = StubServer::start(move |_, _| StubReply::json(&stub::completion(&content)));
        let reply = client(&server).chat(&score_request()).unwrap();
        assert_eq!(reply.score().unwrap(), expected);
        assert_eq!(reply.model, "stub-model-2025-01-01");
        assert_eq!(reply.usage.total_tokens, 15);
        assert_eq!(server.calls(), 1);
    }
}

#[test]
fn request_body_as_sent() {
    let server = answering(r#"{"steps":[],"result":1}"#);
    let c = OpenAiClient::new(ClientConfig {
        api_key: Some(ApiKey::new("sk-test")),
        ..config(&server)
    })
    .unwrap();
    c.chat(&score_request()).unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    let body = req.json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Grade it."},
               {"role": "user", "content": "Answer: 42"}])
    );
    assert_eq!(body["max_completion_tokens"], 256);
    assert_eq!(body["seed"], 1);
    assert_eq!(body["temperature"], 0.0);
    assert!(body.get("top_p").is_none());
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["required"],
        json!(["steps", "result"])
    );

    // No key configured: no Authorization header at all.
    let server = answering(r#"{"result":1}"#);
    client(&server).chat(&score_request()).unwrap();
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[test]
fn non_numeric_and_garbage_content_are_parse_errors() {
    for content in ["definitely a 7/10", r#"{"result":"high"}"#, "<html>", ""] {
        let server = answering(content);
        let reply = client(&server).chat(&score_request()).unwrap();
        assert_eq!(
            reply.score().unwrap_err().kind,
            JudgeErrorKind::Parse,
            "{content}"
        );
    }
}

#[test]
fn refusal_and_length_cut_off() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion_full(
            None,
            Some("I can't grade this."),
            "stop",
            "m",
            (3, 2, 0),
        ))
    });
    let reply = client(&server).chat(&score_request()).unwrap();
    let e = reply.score().unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Refusal);
    assert!(e.details.contains("I can't grade this."));
    assert_eq!(reply.usage.total_tokens, 5);

    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion_full(
            Some(r#"{"steps":[{"descri"#),
            None,
            "length",
            "m",
            (3, 256, 0),
        ))
    });
    let reply = client(&server).chat(&score_request()).unwrap();
    assert_eq!(reply.score().unwrap_err().kind, JudgeErrorKind::MaxTokens);
}

#[test]
fn bodies_that_are_not_completions_are_server_errors_without_retry() {
    let long = "x".repeat(2_000);
    for body in [
        "<html><body>502 Bad Gateway</body></html>".to_string(),
        String::new(),
        r#"{"choices": [{"message": {"content": "#.to_string(),
        r#"{"choices": "nope"}"#.to_string(),
        long,
    ] {
        let b = body.clone();
        let server = StubServer::start(move |_, _| StubReply::raw(200, b.clone()));
        let e = client(&server).chat(&score_request()).unwrap_err();
        assert_eq!(e.kind, JudgeErrorKind::Server, "{body}");
        assert!(e.details.len() < 700, "details are excerpted");
        assert_eq!(server.calls(), 1);
    }
}

#[test]
fn huge_bodies_are_refused_not_buffered() {
    let server = StubServer::start(|_, _| StubReply::raw(200, vec![b' '; 3 << 20]));
    let c = OpenAiClient::new(ClientConfig {
        max_body_bytes: 1 << 20,
        ..config(&server)
    })
    .unwrap();
    let e = c.chat(&score_request()).unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Server);
    assert!(e.details.contains("exceeds"), "{}", e.details);
}

#[test]
fn rate_limit_then_success_honours_retry_after() {
    let server = StubServer::start(|_, n| {
        if n == 0 {
            StubReply::raw(429, r#"{"error":{"message":"slow down"}}"#)
                .with_header("retry-after", "1")
        } else {
            StubReply::json(&stub::completion(&stub::structured(json!(0.9))))
        }
    });
    let start = Instant::now();
    let reply = client(&server).chat(&score_request()).unwrap();
    let took = start.elapsed();
    assert_eq!(reply.score().unwrap(), 0.9);
    assert_eq!(server.calls(), 2);
    // The configured backoff is 20 ms; only `retry-after: 1` explains a wait of a second.
    assert!(took >= Duration::from_millis(950), "{took:?}");
}

#[test]
fn persistent_500_is_a_server_error_after_three_attempts() {
    let server = StubServer::start(|_, _| StubReply::raw(500, "upstream exploded"));
    let e = client(&server).chat(&score_request()).unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Server);
    assert!(e.details.contains("HTTP 500"), "{}", e.details);
    assert!(e.details.contains("upstream exploded"), "{}", e.details);
    assert!(e.details.contains("3 attempts"), "{}", e.details);
    assert_eq!(server.calls(), 3);
}

#[test]
fn retryable_statuses_and_x_should_retry() {
    for status in [408, 409, 502, 503] {
        let server = StubServer::start(move |_, n| {
            if n < 2 {
                StubReply::raw(status, "busy")
            } else {
                StubReply::json(&stub::completion("0.5"))
            }
        });
        assert_eq!(
            client(&server)
                .chat(&score_request())
                .unwrap()
                .score()
                .unwrap(),
            0.5
        );
        assert_eq!(server.calls(), 3, "{status}");
    }
    let server =
        StubServer::start(|_, _| StubReply::raw(503, "no").with_header("x-should-retry", "false"));
    client(&server).chat(&score_request()).unwrap_err();
    assert_eq!(server.calls(), 1);
}

#[test]
fn client_errors_are_not_retried() {
    for status in [400, 401, 404, 422] {
        let server = StubServer::start(move |_, _| {
            StubReply::raw(
                status,
                r#"{"error":{"message":"Unsupported parameter: 'temperature'"}}"#,
            )
        });
        let e = client(&server).chat(&score_request()).unwrap_err();
        assert_eq!(e.kind, JudgeErrorKind::Server);
        assert!(e.details.contains(&format!("HTTP {status}")));
        assert!(e.details.contains("Unsupported parameter"));
        assert_eq!(server.calls(), 1, "{status}");
    }
}

#[test]
fn slow_answers_time_out_per_attempt() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion("1")).with_delay(Duration::from_secs(3))
    });
    let c = OpenAiClient::new(ClientConfig {
        timeout: Duration::from_millis(200),
        ..config(&server)
    })
    .unwrap();
    let start = Instant::now();
    let e = c.chat(&score_request()).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.kind, JudgeErrorKind::Server);
    assert!(e.details.contains("timed out"), "{}", e.details);
    assert_eq!(server.calls(), 3);
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[test]
fn connection_refused_is_a_server_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = OpenAiClient::new(ClientConfig {
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        },
        ..ClientConfig::for_base_url(format!("http://127.0.0.1:{port}/v1"))
    })
    .unwrap();
    let e = c.chat(&score_request()).unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Server);
    assert!(e.details.contains("3 attempts"), "{}", e.details);
    assert_eq!(c.http_attempts(), 3);
}

#[test]
fn json_schema_rejection_falls_back_to_json_object_and_sticks() {
    // What llama-cpp-python's server answers to `response_format.type = json_schema`.
    let server = StubServer::start(|req, _| {
        if req.json()["response_format"]["type"] == "json_schema" {
            StubReply::raw(
                500,
                r#"{"detail":[{"type":"literal_error","loc":["body","response_format","type"],"msg":"Input should be 'text' or 'json_object'"}]}"#,
            )
        } else {
            StubReply::json(&stub::completion(&stub::structured(json!(0.25))))
        }
    });
    let c = client(&server);
    assert_eq!(c.chat(&score_request()).unwrap().score().unwrap(), 0.25);
    assert_eq!(c.response_format_mode(), ResponseFormatMode::JsonObject);
    assert_eq!(c.chat(&score_request()).unwrap().score().unwrap(), 0.25);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "one rejection, then json_object only");
    let fallback = requests[1].json();
    assert_eq!(fallback["response_format"]["type"], "json_object");
    assert_eq!(
        fallback["response_format"]["schema"]["required"],
        json!(["steps", "result"])
    );
    assert_eq!(requests[2].json()["response_format"]["type"], "json_object");
}

#[test]
fn failed_fallback_keeps_json_schema_and_reports_both_answers() {
    let server = StubServer::start(|req, _| {
        if req.json()["response_format"]["type"] == "json_schema" {
            StubReply::raw(
                400,
                "response_format json_schema is not supported by this model",
            )
        } else {
            StubReply::raw(400, "Unrecognized request argument: schema")
        }
    });
    let c = client(&server);
    let e = c.chat(&score_request()).unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Server);
    assert!(
        e.details.contains("Unrecognized request argument"),
        "{}",
        e.details
    );
    assert!(
        e.details.contains("json_schema is not supported"),
        "{}",
        e.details
    );
    assert_eq!(server.calls(), 2);
    assert_eq!(c.response_format_mode(), ResponseFormatMode::JsonSchema);
}

#[test]
fn configured_json_object_mode_is_sent_directly() {
    let server = answering(r#"{"result": 1}"#);
    let c = OpenAiClient::new(ClientConfig {
        response_format: ResponseFormatMode::JsonObject,
        ..config(&server)
    })
    .unwrap();
    c.chat(&score_request()).unwrap();
    assert_eq!(
        server.requests()[0].json()["response_format"]["type"],
        "json_object"
    );
}

/// 200 calls, 100 ms each, 32 in flight: ≈ 7 rounds ≈ 0.7 s. Limited by CPU threads (2 here)
/// it would take ≈ 10 s. The bound is generous: this checks behaviour, not speed.
#[test]
fn concurrency_is_the_semaphore_not_the_cores() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion("0.5")).with_delay(Duration::from_millis(100))
    });
    let c = Arc::new(client(&server));
    let start = Instant::now();
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..200 {
            s.spawn(|| {
                if c.chat(&score_request()).is_ok() {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let took = start.elapsed();
    assert_eq!(ok.load(Ordering::Relaxed), 200);
    assert_eq!(server.calls(), 200);
    assert!(server.max_in_flight() <= 32, "{}", server.max_in_flight());
    assert!(server.max_in_flight() >= 16, "{}", server.max_in_flight());
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn concurrency_limit_is_respected() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion("0.5")).with_delay(Duration::from_millis(30))
    });
    let c = OpenAiClient::new(ClientConfig {
        concurrency: 3,
        ..config(&server)
    })
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..12 {
            s.spawn(|| c.chat(&score_request()).unwrap());
        }
    });
    assert_eq!(server.calls(), 12);
    assert_eq!(server.max_in_flight(), 3);
}

#[test]
fn cache_hits_make_no_new_calls_and_errors_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let server = answering(r#"{"steps":[],"result":0.75}"#);
    let cached = || {
        OpenAiClient::new(ClientConfig {
            cache_dir: Some(dir.path().to_path_buf()),
            ..config(&server)
        })
        .unwrap()
    };
    let first = cached().chat(&score_request()).unwrap();
    assert!(!first.from_cache);
    // A fresh client (a re-run) with the same request: served from disk.
    let again = cached().chat(&score_request()).unwrap();
    assert!(again.from_cache);
    assert_eq!(again.score().unwrap(), 0.75);
    assert_eq!(again.usage, first.usage);
    assert_eq!(again.model, first.model);
    assert_eq!(server.calls(), 1);
    // Anything that changes the body is a miss.
    let mut other = score_request();
    other.sampling.seed = Some(2);
    cached().chat(&other).unwrap();
    assert_eq!(server.calls(), 2);

    // Errors: a refusal reply and a 500 are never stored.
    let flaky = StubServer::start(|_, n| match n {
        0 => StubReply::json(&stub::completion_full(
            None,
            Some("no"),
            "stop",
            "m",
            (1, 1, 0),
        )),
        1..=3 => StubReply::raw(500, "down"),
        _ => StubReply::json(&stub::completion("0.5")),
    });
    let c = OpenAiClient::new(ClientConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..config(&flaky)
    })
    .unwrap();
    assert!(c.chat(&score_request()).unwrap().score().is_err());
    assert!(c.chat(&score_request()).is_err());
    assert_eq!(c.chat(&score_request()).unwrap().score().unwrap(), 0.5);
    assert!(c.chat(&score_request()).unwrap().from_cache);
    assert_eq!(flaky.calls(), 5);
}

#[test]
fn embeddings_roundtrip_and_cache() {
    let server = StubServer::start(|req, _| {
        let n = req.json()["input"].as_array().map_or(0, Vec::len);
        let vectors: Vec<Vec<f64>> = (0..n).map(|i| vec![1.0, i as f64]).collect();
        StubReply::json(&stub::embeddings("emb-1", &vectors))
    });
    let dir = tempfile::tempdir().unwrap();
    let c = OpenAiClient::new(ClientConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..config(&server)
    })
    .unwrap();
    let inputs = vec!["a cat".to_string(), "a dog".to_string()];
    let r = c.embed("text-embedding-3-large", &inputs).unwrap();
    assert_eq!(r.embeddings, vec![vec![1.0, 0.0], vec![1.0, 1.0]]);
    assert_eq!(r.model, "emb-1");
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(
        req.json(),
        json!({"model": "text-embedding-3-large", "input": ["a cat", "a dog"], "encoding_format": "float"})
    );
    assert!(
        c.embed("text-embedding-3-large", &inputs)
            .unwrap()
            .from_cache
    );
    assert_eq!(server.calls(), 1);

    let bad = StubServer::start(|_, _| StubReply::json(&json!({"data": [{"embedding": "AAAA"}]})));
    let e = client(&bad).embed("m", &inputs).unwrap_err();
    assert_eq!(e.kind, JudgeErrorKind::Server);
}

#[test]
fn calling_from_inside_a_tokio_runtime_does_not_panic() {
    let server = answering("0.5");
    let c = client(&server);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let score = rt.block_on(async { c.chat(&score_request()).unwrap().score().unwrap() });
    assert_eq!(score, 0.5);
}
