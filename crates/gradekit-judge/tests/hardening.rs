//! Issue #12 against the judge client: credentials in the judge URL never reach a message,
//! and a server's `retry-after` cannot stretch a call past its budget.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gradekit_judge::stub::{StubReply, StubServer};
use gradekit_judge::{
    ApiKey, ChatMessage, ChatRequest, ChatScorer, ClientConfig, Embedder, LazyOpenAiClient,
    OpenAiClient, OutputSpec, RetryPolicy, SamplingParams,
};

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![ChatMessage::text("user", "hi")],
        sampling: SamplingParams::default(),
        output: OutputSpec::Score { min: 0.0, max: 1.0 },
    }
}

const SECRETS: [&str; 4] = ["alice", "hunter2pass", "qsecret123", "sk-topsecret-key"];

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what}: {s:?} leaked in {text}");
    }
}

fn fast(base_url: String) -> ClientConfig {
    ClientConfig {
        api_key: Some(ApiKey::new("sk-topsecret-key")),
        timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        },
        ..ClientConfig::for_base_url(base_url)
    }
}

/// Item 8: userinfo and query secrets in the base URL, and the key a server echoes back, are
/// redacted from every error detail (HTTP errors, transport errors, config errors).
#[test]
fn url_credentials_and_the_key_never_appear_in_errors() {
    // The server echoes what it received, key included, in its error body.
    let stub = StubServer::start(|req, _| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        StubReply::raw(
            500,
            format!("bad request {} auth={auth} qsecret123", req.path),
        )
    });
    let with_creds = |base: &str| {
        base.replacen("http://", "http://alice:hunter2pass@", 1) + "?api_key=qsecret123"
    };
    let c = OpenAiClient::new(fast(with_creds(&stub.base_url()))).unwrap();
    let e = c.chat(&request()).unwrap_err();
    assert_clean("HTTP error", &e.details);
    // Userinfo travels as `Basic base64(alice:hunter2pass)`; echoed back, it is a secret too.
    assert!(
        !e.details.contains("YWxpY2U6aHVudGVyMnBhc3"),
        "basic credentials leaked in {}",
        e.details
    );
    assert!(e.details.contains("HTTP 500"), "{}", e.details);
    let e = c.embed("m", &["a".into()]).unwrap_err();
    assert_clean("embeddings", &e.details);
    // The query survives into the request path (api-version style endpoints keep working).
    assert!(stub
        .requests()
        .iter()
        .all(|r| r.path == "/v1/chat/completions" || r.path == "/v1/embeddings"));

    // Transport failure: nothing listens on port 9.
    let c = OpenAiClient::new(fast(with_creds("http://127.0.0.1:9/v1"))).unwrap();
    let e = c.chat(&request()).unwrap_err();
    assert_clean("transport error", &e.details);
    assert!(e.details.contains("127.0.0.1:9"), "{}", e.details);

    // Config errors at start-up.
    for bad in [
        "ftp://alice:hunter2pass@x/v1?api_key=qsecret123",
        "alice:hunter2pass qsecret123",
    ] {
        let e = LazyOpenAiClient::new(fast(bad.into())).unwrap_err();
        assert_clean("config error", &e.details);
    }
    // Debug output of the config never shows the key.
    assert!(!format!("{:?}", fast("http://x/v1".into())).contains("sk-topsecret-key"));
}

/// The "Also" item: `retry-after: 59` used to make every call wait 2 × 59 s whatever the
/// timeout. The honoured wait is capped and the call stays within its budget.
#[test]
fn retry_after_cannot_stretch_a_call_past_its_budget() {
    let stub =
        StubServer::start(|_, _| StubReply::raw(429, "slow down").with_header("retry-after", "59"));
    let cfg = ClientConfig {
        timeout: Duration::from_secs(1),
        ..ClientConfig::for_base_url(stub.base_url())
    };
    assert_eq!(cfg.call_budget(), Duration::from_secs(3));
    let c = OpenAiClient::new(cfg).unwrap();
    let t = Instant::now();
    let e = c.chat(&request()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        e.details.contains("429") && e.details.contains("budget"),
        "{}",
        e.details
    );

    // With a budget that allows it, a long retry-after is honoured only up to the cap.
    let stub = StubServer::start(|_, n| {
        if n == 0 {
            StubReply::raw(429, "wait").with_header("retry-after", "59")
        } else {
            StubReply::json(&gradekit_judge::stub::completion(
                &gradekit_judge::stub::structured(serde_json::json!(0.5)),
            ))
        }
    });
    let cfg = ClientConfig {
        timeout: Duration::from_secs(5),
        call_budget: Some(Duration::from_secs(30)),
        ..ClientConfig::for_base_url(stub.base_url())
    };
    let c = OpenAiClient::new(cfg).unwrap();
    let t = Instant::now();
    let r = c.chat(&request()).unwrap();
    let waited = t.elapsed();
    assert_eq!(r.score().unwrap(), 0.5);
    assert!(waited >= gradekit_judge::MAX_RETRY_AFTER, "{waited:?}");
    assert!(
        waited < gradekit_judge::MAX_RETRY_AFTER + Duration::from_secs(3),
        "{waited:?}"
    );
}
