//! The json_schema → json_object fallback is decided once per client: concurrent calls to a
//! server that rejects json_schema (llama-cpp-python) send one rejected probe between them, not
//! one each.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use gradekit_judge::stub::{self, StubReply, StubServer};
use gradekit_judge::{
    ChatMessage, ChatRequest, ChatScorer, ClientConfig, OpenAiClient, OutputSpec,
    ResponseFormatMode, RetryPolicy, SamplingParams,
};
use serde_json::json;

const REJECTION: &str = r#"{"detail":[{"type":"literal_error","loc":["body","response_format","type"],"msg":"Input should be 'text' or 'json_object'"}]}"#;

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![ChatMessage::text("user", "rate")],
        sampling: SamplingParams::default(),
        output: OutputSpec::Score { min: 0.0, max: 1.0 },
    }
}

fn client(server: &StubServer, concurrency: usize) -> Arc<OpenAiClient> {
    Arc::new(
        OpenAiClient::new(ClientConfig {
            concurrency,
            retry: RetryPolicy {
                max_retries: 2,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(20),
            },
            ..ClientConfig::for_base_url(server.base_url())
        })
        .unwrap(),
    )
}

/// `threads` calls at once; each returns its score.
fn burst(c: &Arc<OpenAiClient>, threads: usize) -> Vec<f64> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let c = Arc::clone(c);
            std::thread::spawn(move || c.chat(&request()).unwrap().score().unwrap())
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn schema_requests(server: &StubServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.json()["response_format"]["type"] == "json_schema")
        .count()
}

#[test]
fn concurrent_calls_send_one_rejected_probe() {
    // Slow replies, so that every call is in flight while the probe is answered.
    let server = StubServer::start(|req, _| {
        if req.json()["response_format"]["type"] == "json_schema" {
            StubReply::raw(500, REJECTION).with_delay(Duration::from_millis(150))
        } else {
            StubReply::json(&stub::completion(&stub::structured(json!(0.5))))
                .with_delay(Duration::from_millis(50))
        }
    });
    let c = client(&server, 32);
    assert_eq!(burst(&c, 24), vec![0.5; 24]);
    assert_eq!(schema_requests(&server), 1, "one probe for the whole burst");
    assert_eq!(
        server.calls(),
        25,
        "the probe, then one json_object call each"
    );
    assert_eq!(c.response_format_mode(), ResponseFormatMode::JsonObject);
    assert!(
        server.max_in_flight() > 1,
        "the calls after the verdict ran concurrently"
    );
    // Later calls go straight to json_object.
    assert_eq!(burst(&c, 4), vec![0.5; 4]);
    assert_eq!(schema_requests(&server), 1);
}

#[test]
fn a_server_that_accepts_json_schema_keeps_it_and_calls_stay_concurrent() {
    let server = StubServer::start(|_, _| {
        StubReply::json(&stub::completion(&stub::structured(json!(1))))
            .with_delay(Duration::from_millis(100))
    });
    let c = client(&server, 32);
    assert_eq!(burst(&c, 16), vec![1.0; 16]);
    assert_eq!(schema_requests(&server), 16);
    assert_eq!(c.response_format_mode(), ResponseFormatMode::JsonSchema);
    assert!(server.max_in_flight() >= 8, "{}", server.max_in_flight());
}

#[test]
fn an_inconclusive_probe_does_not_serialise_the_calls() {
    // Every attempt fails for a reason that says nothing about the format: after the first
    // probe, calls must not queue one by one behind each other's retries.
    let server = StubServer::start(|_, _| {
        StubReply::raw(503, "overloaded").with_delay(Duration::from_millis(100))
    });
    let c = client(&server, 32);
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || c.chat(&request()).is_err())
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
    assert!(server.max_in_flight() >= 4, "{}", server.max_in_flight());
    assert_eq!(c.response_format_mode(), ResponseFormatMode::JsonSchema);
}
