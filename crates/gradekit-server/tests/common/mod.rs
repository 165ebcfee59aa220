//! Helpers shared by the server's integration tests: building an app, calling it in-process.
#![allow(clippy::unwrap_used, dead_code)]

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use gradekit_engine::judge::{ChatReply, ChatRequest, ChatScorer, JudgeError, Usage};
use gradekit_engine::EngineOptions;
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend, ModelRegistry};
use gradekit_server::{app, ApiKey, AppState, ConfiguredGraders, ServerConfig};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::ServiceExt;

pub const RUN: &str = "/v1/fine_tuning/alpha/graders/run";
pub const VALIDATE: &str = "/v1/fine_tuning/alpha/graders/validate";

pub fn string_check(op: &str) -> Value {
    json!({"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
           "reference": "{{ item.answer }}", "operation": op})
}

/// A judge that answers `result` after `delay`, without a network.
#[derive(Debug)]
pub struct SlowJudge {
    pub delay: Duration,
    pub result: f64,
}

impl ChatScorer for SlowJudge {
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        std::thread::sleep(self.delay);
        Ok(ChatReply {
            content: Some(json!({"steps": [], "result": self.result}).to_string()),
            refusal: None,
            finish_reason: Some("stop".into()),
            model: req.model.clone(),
            usage: Usage::default(),
            from_cache: false,
        })
    }
}

pub fn score_model() -> Value {
    json!({"type": "score_model", "name": "judge", "model": "gpt-4o",
           "input": [{"role": "user", "content": "Grade {{ sample.output_text }}"}]})
}

pub fn engine_with_judge(delay: Duration) -> EngineOptions {
    let mut e = EngineOptions::default();
    e.judge = Some(Arc::new(SlowJudge { delay, result: 0.5 }));
    e
}

pub fn state_with(
    config: ServerConfig,
    engine: EngineOptions,
    graders: ConfiguredGraders,
) -> AppState {
    AppState::new(config, engine, graders).unwrap()
}

pub fn default_app() -> Router {
    app(state_with(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders::default(),
    ))
}

/// A response, its body parsed as JSON (Null when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    /// Asserts the OpenAI error envelope and returns its `error` object.
    pub fn envelope(&self) -> &Value {
        let e = &self.json["error"];
        assert!(e["message"].is_string(), "no message in {}", self.json);
        assert!(e["type"].is_string(), "no type in {}", self.json);
        assert!(
            e.get("param").is_some() && e.get("code").is_some(),
            "{}",
            self.json
        );
        assert_eq!(self.json.as_object().unwrap().len(), 1);
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        e
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

pub fn post_json(path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

pub async fn post(app: &Router, path: &str, body: &Value) -> Answer {
    send(app, post_json(path, body)).await
}

/// A request body that never finishes arriving.
#[derive(Debug)]
pub struct Stall;

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// A body of `n` chunks of `size` bytes with no declared length.
pub fn chunked(n: usize, size: usize) -> Body {
    Body::new(Chunks(
        (0..n)
            .map(|_| Bytes::from(vec![b' '; size]))
            .collect::<Vec<_>>()
            .into_iter(),
    ))
}

pub struct Chunks(pub std::vec::IntoIter<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.next().map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// A raw HTTP/1.1 request to `/run` with a JSON body.
pub fn request(body: &str) -> Vec<u8> {
    format!(
        "POST {RUN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response with a Content-Length body: its status and body.
pub async fn read_response(s: &mut tokio::net::TcpStream) -> (u16, String) {
    try_read_response(s).await.unwrap_or_else(|e| panic!("{e}"))
}

/// [`read_response`], or why there was none (closed early, reset).
pub async fn try_read_response(s: &mut tokio::net::TcpStream) -> Result<(u16, String), String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!(
                "connection closed early: {:?}",
                String::from_utf8_lossy(&buf)
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(answer) = parse_response(&buf) {
            return Ok(answer);
        }
    }
}

/// A complete HTTP/1.1 response with a Content-Length body in `got`: its status and body;
/// `None` while it is incomplete.
pub fn parse_response(got: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(got);
    let end = text.find("\r\n\r\n")?;
    let head = &text[..end];
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    (got.len() >= end + 4 + len).then(|| {
        (
            head[9..12].parse().unwrap(),
            text[end + 4..end + 4 + len].to_string(),
        )
    })
}

/// A server over a real loopback socket (`opts.port` 0: any free port): its address, its
/// state, the sender that stops it and its task (the connections it served).
pub async fn serve_app(
    config: ServerConfig,
    opts: gradekit_server::serve::ServeOptions,
) -> (
    std::net::SocketAddr,
    AppState,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<usize>,
) {
    use gradekit_server::serve::{bind, serve};
    let listener = bind(&opts, false).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = state_with(
        config,
        EngineOptions::default(),
        ConfiguredGraders::default(),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = app(state.clone());
    let server = tokio::spawn(async move {
        serve(listener, router, &opts, async {
            let _ = stop_rx.await;
        })
        .await
    });
    (addr, state, stop_tx, server)
}

/// An app with the jobs API over `dir` (model `tiny`, the protocol test trainer), projects
/// `proj_a` (key `key-a`) and `proj_b` (`key-b`); `max_upload` when given.
pub fn jobs_app(dir: &std::path::Path, max_upload: Option<u64>) -> Router {
    jobs_app_with(dir, max_upload, &["tiny"])
}

/// [`jobs_app`] with base models `models` (each a registry entry with path `dir`).
pub fn jobs_app_with(dir: &std::path::Path, max_upload: Option<u64>, models: &[&str]) -> Router {
    let trainer = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/trainer/fake_trainer.py");
    let mut cfg = JobsConfig::new(dir.join("data"));
    let registry: String = models
        .iter()
        .map(|m| format!("[models.\"{m}\"]\npath = \"{}\"\n", dir.display()))
        .collect();
    cfg.models = ModelRegistry::from_toml(&registry).unwrap();
    let jobs = Jobs::open(
        cfg,
        Arc::new(LocalBackend::new(&format!("python3 {}", trainer.display())).unwrap()),
    )
    .unwrap();
    let mut config = ServerConfig {
        project_keys: vec![
            ("proj_a".into(), vec![ApiKey::new("key-a")]),
            ("proj_b".into(), vec![ApiKey::new("key-b")]),
        ],
        jobs: Some(jobs),
        ..ServerConfig::default()
    };
    if let Some(m) = max_upload {
        config.max_upload = m;
    }
    app(state_with(
        config,
        EngineOptions::default(),
        ConfiguredGraders::default(),
    ))
}

/// A request with `key` as its bearer token and `body` (JSON) if any.
pub fn authed(method: Method, path: &str, key: &str, body: Option<Value>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {key}"));
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}
