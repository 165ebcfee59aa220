//! A scripted OpenAI-compatible server on `127.0.0.1:0`, for tests of this crate and of the
//! engine, CLI and server above it (feature `stub`).
//!
//! A script is a closure from the request (and its 0-based arrival number) to a reply with a
//! status, headers, body and an optional delay. The server records every request and the largest
//! number of requests it had in flight at once, which is how the concurrency tests observe the
//! client's semaphore. It runs on its own thread and runtime and stops when dropped, cancelling
//! slow replies still pending.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One request as the stub received it.
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub path: String,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StubRequest {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub struct StubReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl StubReply {
    pub fn json(value: &Value) -> Self {
        Self::raw(200, value.to_string())
    }
    pub fn raw(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A chat completion whose `choices[0].message.content` is `content`, answered by `model`, with
/// usage 10/5/15 and no cached tokens.
pub fn completion(content: &str) -> Value {
    completion_full(
        Some(content),
        None,
        "stop",
        "stub-model-2025-01-01",
        (10, 5, 0),
    )
}

/// A chat completion with every field chosen; `usage` is (prompt, completion, cached).
pub fn completion_full(
    content: Option<&str>,
    refusal: Option<&str>,
    finish_reason: &str,
    model: &str,
    usage: (u64, u64, u64),
) -> Value {
    json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{
            "index": 0,
            "finish_reason": finish_reason,
            "message": {"role": "assistant", "content": content, "refusal": refusal}
        }],
        "usage": {
            "prompt_tokens": usage.0,
            "completion_tokens": usage.1,
            "total_tokens": usage.0 + usage.1,
            "prompt_tokens_details": {"cached_tokens": usage.2}
        }
    })
}

/// The structured output `{"steps":[…],"result":…}` as the content string.
pub fn structured(result: Value) -> String {
    json!({"steps": [{"description": "check", "conclusion": "done"}], "result": result}).to_string()
}

/// An `/embeddings` reply for `vectors`, in order.
pub fn embeddings(model: &str, vectors: &[Vec<f64>]) -> Value {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    json!({"object": "list", "model": model, "data": data,
           "usage": {"prompt_tokens": 8, "total_tokens": 8}})
}

type Script = dyn Fn(&StubRequest, usize) -> StubReply + Send + Sync;

struct State {
    script: Box<Script>,
    requests: Mutex<Vec<StubRequest>>,
    arrivals: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The running stub. Dropping it stops the server.
pub struct StubServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for StubServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StubServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

struct InFlight<'a>(&'a State);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(state: Arc<State>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&state);
    let request = StubRequest {
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let n = state.arrivals.fetch_add(1, Ordering::SeqCst);
    let reply = (state.script)(&request, n);
    if let Ok(mut log) = state.requests.lock() {
        log.push(request);
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    for (k, v) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl StubServer {
    /// Starts a stub answering every path with `script`.
    ///
    /// # Panics
    /// When no loopback port can be bound (a test-environment failure).
    pub fn start(
        script: impl Fn(&StubRequest, usize) -> StubReply + Send + Sync + 'static,
    ) -> Self {
        let state = Arc::new(State {
            script: Box::new(script),
            requests: Mutex::new(Vec::new()),
            arrivals: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("gradekit-judge-stub".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("stub runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let app = axum::Router::new().fallback(
                        move |uri: Uri, headers: HeaderMap, body: Bytes| {
                            handle(Arc::clone(&app_state), uri, headers, body)
                        },
                    );
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_background();
            })
            .expect("stub thread");
        Self {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests received so far, in arrival order of completion of their scripts.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Requests received so far.
    pub fn calls(&self) -> usize {
        self.state.arrivals.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
