//! Issue #12 against the server in-process: amplification is one sample's flag, batches are
//! capped, and a request past its deadline stops its work so its slot and cores come back.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use axum::http::StatusCode;
use common::*;
use gradekit_engine::EngineOptions;
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUN_BATCH: &str = "/v1/graders/run_batch";

/// The tests of this file run one at a time: some grade large batches on both CPUs, and one
/// times a server deadline (0.8 s), which a CPU-bound neighbour test can make it miss on a
/// two-CPU machine (seen in CI). Each test holds this for its whole run.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amplifying_template_is_one_flagged_sample() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = default_app();
    let grader = json!({"type": "string_check", "name": "amp", "operation": "like",
        "input": "{{ item.a }}".repeat(10_000), "reference": "zz"});
    let a = post(
        &app,
        RUN,
        &json!({"grader": grader, "model_sample": "x", "item": {"a": "y".repeat(1 << 20)}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let e = &a.json["metadata"]["errors"];
    assert_eq!(e["other_error"], json!(true));
    assert!(e["other_error_details"]
        .as_str()
        .unwrap()
        .contains("16777216"));
    // Neighbours in a batch are graded.
    let b = post(
        &app,
        RUN_BATCH,
        &json!({"grader": grader, "samples": [
            {"model_sample": "x", "item": {"a": "zz"}},
            {"model_sample": "x", "item": {"a": "y".repeat(1 << 20)}},
            {"model_sample": "x", "item": {"a": "azz"}}]}),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK);
    let r = b.json["results"].as_array().unwrap();
    assert_eq!(r[0]["reward"], json!(1.0));
    assert_eq!(r[1]["metadata"]["errors"]["other_error"], json!(true));
    assert_eq!(r[2]["reward"], json!(1.0));
}

fn batch(n: usize) -> Value {
    let samples: Vec<Value> = (0..n)
        .map(|i| json!({"model_sample": "x", "item": {"answer": if i % 2 == 0 { "x" } else { "y" }}}))
        .collect();
    json!({"grader": string_check("eq"), "samples": samples})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_batch_is_capped_at_400_by_default_with_the_limit_in_the_message() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = default_app();
    let ok = post(&app, RUN_BATCH, &batch(400)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["results"].as_array().unwrap().len(), 400);
    let over = post(&app, RUN_BATCH, &batch(401)).await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    let e = over.envelope();
    assert_eq!(e["param"], "samples");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("400") && m.contains("401"), "{m}");
    // Configurable.
    let small = app_with(ServerConfig {
        max_batch: 3,
        ..ServerConfig::default()
    });
    assert_eq!(
        post(&small, RUN_BATCH, &batch(3)).await.status,
        StatusCode::OK
    );
    let a = post(&small, RUN_BATCH, &batch(4)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.envelope()["message"]
        .as_str()
        .unwrap()
        .contains("at most 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_batch_answers_are_bounded_by_the_grader_shape_and_details() {
    let _one = ONE_AT_A_TIME.lock().await;
    let app = default_app();
    // A multi of many sub-graders: every result repeats every key, so 400 samples of a
    // ~0.5 MB grader would answer ~170 MB. Refused before grading, naming the limit.
    let subs: serde_json::Map<String, serde_json::Value> = (0..2_000)
        .map(|i| (format!("g{i}_{}", "k".repeat(200)), string_check("eq")))
        .collect();
    let multi = json!({"type": "multi", "graders": subs, "calculate_output": "1"});
    let samples = vec![json!({"model_sample": "x"}); 400];
    let a = post(
        &app,
        RUN_BATCH,
        &json!({"grader": multi, "samples": samples}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.json);
    let e = a.envelope();
    assert_eq!(e["param"], "samples");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("67108864") && m.contains("400 results"), "{m}");
    // The same grader in batches the message allows is graded.
    let fit: usize = m
        .rsplit("send at most ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((100..400).contains(&fit), "{m}");
    let samples = vec![json!({"model_sample": "x"}); 10];
    let ok = post(
        &app,
        RUN_BATCH,
        &json!({"grader": multi, "samples": samples}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    // A 1 MB template path that does not resolve: each result names it, cut to a bounded
    // detail (head and tail kept), not 1 MB per result.
    let path = format!("{{{{ item{} }}}}", ".a".repeat(500_000));
    let g = json!({"type": "string_check", "name": "p", "operation": "eq", "input": path, "reference": "x"});
    let samples = vec![json!({"model_sample": "x"}); 50];
    let b = post(&app, RUN_BATCH, &json!({"grader": g, "samples": samples})).await;
    assert_eq!(b.status, StatusCode::OK);
    let results = b.json["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    for r in results {
        let d = r["metadata"]["errors"]["invalid_variable_error_details"]
            .as_str()
            .unwrap();
        assert!(
            d.len() <= 16 * 1024 && d.starts_with("item.a.a"),
            "{}",
            d.len()
        );
    }
}

fn app_with(config: ServerConfig) -> axum::Router {
    app(state_with(
        config,
        EngineOptions::default(),
        ConfiguredGraders::default(),
    ))
}

/// A judge that counts its calls, each taking `delay`.
#[derive(Debug)]
struct CountingJudge {
    delay: Duration,
    calls: Arc<AtomicUsize>,
}

impl gradekit_engine::judge::ChatScorer for CountingJudge {
    fn chat(
        &self,
        req: &gradekit_engine::judge::ChatRequest,
    ) -> Result<gradekit_engine::judge::ChatReply, gradekit_engine::judge::JudgeError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(gradekit_engine::judge::ChatReply {
            content: Some(json!({"steps": [], "result": 0.5}).to_string()),
            refusal: None,
            finish_reason: Some("stop".into()),
            model: req.model.clone(),
            usage: Default::default(),
            from_cache: false,
        })
    }
}

/// Item 2: the 504'd batch used to run to its end (here ~4 s) holding its slot, so the cheap
/// request sent 1 s after the 504 got 429 (or 504 behind it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheap_request_one_second_after_a_504_succeeds() {
    let _one = ONE_AT_A_TIME.lock().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut engine = EngineOptions::default();
    engine.judge = Some(Arc::new(CountingJudge {
        delay: Duration::from_millis(100),
        calls: calls.clone(),
    }));
    engine.judge_concurrency = 8;
    let state = state_with(
        ServerConfig {
            timeout: Duration::from_millis(800),
            concurrency: 1,
            ..ServerConfig::default()
        },
        engine,
        ConfiguredGraders::default(),
    );
    let app = app(state);
    // 320 samples × 100 ms / 8 in flight = 4 s of work.
    let samples: Vec<Value> = (0..320).map(|_| json!({"model_sample": "x"})).collect();
    let t = Instant::now();
    let a = post(
        &app,
        RUN_BATCH,
        &json!({"grader": score_model(), "samples": samples}),
    )
    .await;
    assert_eq!(a.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(t.elapsed() < Duration::from_secs(2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cheap = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}});
    let ok = post(&app, RUN, &cheap).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.json);
    // The batch stopped: far fewer judge calls than samples, and no more after this point.
    let seen = calls.load(Ordering::SeqCst);
    assert!(
        seen < 200,
        "{seen} judge calls: the batch was not cancelled"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), seen);
}

/// `/get_reward` answers in chunks and refuses more than its limit of queries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openrlhf_queries_are_capped() {
    let _one = ONE_AT_A_TIME.lock().await;
    let state = state_with(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders {
            openrlhf: Some(
                json!({"type": "string_check", "name": "l", "operation": "eq",
                "input": "{{ sample.output_text }}", "reference": "{{ item.label }}"}),
            ),
            ..ConfiguredGraders::default()
        },
    );
    let app = app(state);
    let q: Vec<&str> = vec!["a"; gradekit_server::MAX_REWARD_QUERIES + 1];
    let a = post(&app, "/get_reward", &json!({"query": q})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.envelope()["message"].as_str().unwrap().contains("16384"));
    // Up to the limit (in several context chunks), every query is answered in order.
    let q: Vec<&str> = (0..3000)
        .map(|i| if i % 3 == 0 { "x" } else { "z" })
        .collect();
    let labels: Vec<&str> = vec!["x"; 3000];
    let a = post(&app, "/get_reward", &json!({"query": q, "labels": labels})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    let r = a.json["rewards"].as_array().unwrap();
    assert_eq!(r.len(), 3000);
    assert!(r
        .iter()
        .enumerate()
        .all(|(i, v)| v.as_f64() == Some(if i % 3 == 0 { 1.0 } else { 0.0 })));
}

/// Memory follows the server's limits: bodies held at once are bounded by
/// `max_inflight_body`, counted by what they sent (not what they declare); past it a request
/// is 429 with retry-after, and the budget comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_in_flight_are_bounded() {
    let _one = ONE_AT_A_TIME.lock().await;
    use axum::body::Body;
    use axum::http::{header, Request};
    let app = app_with(ServerConfig {
        max_body: 1 << 20,
        max_inflight_body: 2 << 20,
        ..ServerConfig::default()
    });
    let stalled = |sent: usize| {
        let app = app.clone();
        tokio::spawn(async move {
            let r = Request::post(RUN)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, 1 << 20)
                .body(Body::new(StallAfter(vec![Bytes::from(vec![b' '; sent])])))
                .unwrap();
            send(&app, r).await
        })
    };
    // Declaring is not holding: 8 bodies declare 4 times the budget and send nothing.
    let declared: Vec<_> = (0..8).map(|_| stalled(0)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = json!({"grader": string_check("eq"), "model_sample": "x", "item": {"answer": "x"}});
    assert_eq!(post(&app, RUN, &body).await.status, StatusCode::OK);
    for s in declared {
        s.abort();
        let _ = s.await;
    }
    // Two bodies one byte short of their 1 MiB fill the budget.
    let sent: Vec<_> = (0..2).map(|_| stalled((1 << 20) - 1)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let a = post(&app, RUN, &body).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers[axum::http::header::RETRY_AFTER], "1");
    assert!(a.envelope()["message"]
        .as_str()
        .unwrap()
        .contains("2097152 bytes of request bodies"));
    for s in sent {
        s.abort();
        let _ = s.await;
    }
    let a = post(&app, RUN, &body).await;
    assert_eq!(a.status, StatusCode::OK);
    // A configuration whose budget cannot hold one body is refused at start-up.
    assert!(gradekit_server::AppState::new(
        ServerConfig {
            max_body: 4 << 20,
            max_inflight_body: 1 << 20,
            ..ServerConfig::default()
        },
        EngineOptions::default(),
        ConfiguredGraders::default(),
    )
    .is_err());
}

/// A body that sends its chunks, then stalls.
struct StallAfter(Vec<Bytes>);

impl http_body::Body for StallAfter {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.0.pop() {
            Some(b) if !b.is_empty() => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(b)))),
            _ => std::task::Poll::Pending,
        }
    }
}
