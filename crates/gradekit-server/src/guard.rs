//! What every request passes before a handler: auth, the concurrency limit, the deadline; and
//! the envelope for errors axum answers by itself.
//!
//! Order: auth first (an unauthenticated client must not use up anything); the deadline; a
//! quick 429 when every slot is taken (a loaded server answers at once instead of reading a
//! body it cannot serve); the body budget (`budget.rs`: a body holds what it has sent, not what
//! it declares); then the **body**: a JSON body is read in full here, at its pace (`pace.rs`:
//! 408 when it falls behind), and only then does the request take a slot of the concurrency
//! limit (429 + `retry-after` when none is free). Slots bound CPU
//! work, and a client still sending its body is doing none: 300 clients trickling bodies a
//! byte at a time used to hold all 256 slots until the request deadline. The slot travels
//! with the request ([`Permit`]) into the grading closure, so work that outlives its request
//! (a timed-out python call) keeps counting until it really ends.
//!
//! A body that is not JSON (a file upload, streamed to disk by its handler) is paced the same
//! way, and takes no slot at all: storing it is I/O, bounded by the connection limit, the
//! pace and the upload limit.
//!
//! `/health` passes without a key and without a slot: load balancers must see a busy server
//! as alive.

use crate::body;
use crate::budget::{self, Share, FIRST_STEP};
use crate::error::ApiError;
use crate::pace::Paced;
use crate::serve::Peer;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::sync::OwnedSemaphorePermit;

/// When the request must be answered.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

/// The request's slot of the concurrency limit.
#[derive(Debug, Clone)]
pub struct Permit(pub Arc<OwnedSemaphorePermit>);

/// Time a handler gets past the deadline to answer 504 itself before the guard does.
const GRACE: Duration = Duration::from_millis(250);

/// Counts a request from its arrival until its answer is returned or it is dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(n: &Arc<AtomicUsize>) -> InFlight {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The caller's project (DESIGN §8: every jobs-API object belongs to one).
#[derive(Debug, Clone)]
pub struct Project(pub Arc<str>);

/// Checks the bearer key against every configured digest, in constant time (all are
/// compared); comparing digests also hides the key's length. Returns the key's project.
fn authorized(req: &Request, keys: &[([u8; 32], Arc<str>)]) -> Result<Arc<str>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "You didn't provide an API key. Send it in an 'Authorization: Bearer YOUR_KEY' header.",
        ));
    };
    let token = value
        .as_bytes()
        .strip_prefix(b"Bearer ")
        .or_else(|| value.as_bytes().strip_prefix(b"bearer "))
        .map(|t| t.trim_ascii());
    let mut found = None;
    if let Some(t) = token {
        let d: [u8; 32] = Sha256::digest(t).into();
        for (digest, project) in keys {
            if bool::from(d.ct_eq(digest)) {
                found = Some(project.clone());
            }
        }
    }
    if let Some(p) = found {
        Ok(p)
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        ))
    }
}

/// The 429 of a server whose slots are all taken.
fn busy(state: &AppState) -> Response {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Some("server_busy"),
        format!(
            "the server is handling its limit of {} concurrent requests; retry shortly",
            state.0.config.concurrency
        ),
    );
    e.retry_after = Some(1);
    e.into_response()
}

/// The answer to a request whose body was cut: the connection cannot carry another request
/// (the rest of the body is still on its way), so the client is told it closes.
fn closing(e: ApiError) -> Response {
    let mut resp = e.into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Logs a request cut for its slow body.
fn log_cut(method: &Method, uri: &Uri, peer: Option<SocketAddr>, e: &ApiError) {
    crate::cutlog::note(|| {
        let peer = peer.map_or_else(|| "a client".to_string(), |p| p.to_string());
        format!("408 to {peer} for {method} {}: {}", uri.path(), e.message)
    });
}

/// Auth, deadline, body, concurrency limit (see the module docs).
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let _counted = InFlight::enter(&state.0.in_flight);
    if req.uri().path() == crate::paths::HEALTH {
        return next.run(req).await;
    }
    // The dashboard's pages authenticate with a session cookie (`dashboard::auth`) and never
    // read this extension.
    let project = if state.0.keys.is_empty() || crate::dashboard::owns(req.uri().path()) {
        Arc::from(crate::DEFAULT_PROJECT)
    } else {
        match authorized(&req, &state.0.keys) {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        }
    };
    req.extensions_mut().insert(Project(project));
    let timeout = state.0.config.timeout;
    let deadline = Instant::now() + timeout;
    req.extensions_mut().insert(Deadline(deadline));
    if state.0.permits.available_permits() == 0 {
        return busy(&state);
    }
    // The body budget (`budget.rs`): a JSON body's share grows as its bytes arrive, from its
    // declared length up to the first step; anything else (uploads stream to disk) weighs
    // 1 KiB. A request that cannot get even that is told at once.
    let json = body::is_json(req.headers());
    let declared = body::declared_length(req.headers());
    let mut share = Share::new(
        state.0.body_budget.clone(),
        state.0.config.max_inflight_body,
    );
    let first = match declared {
        Some(n) if json => usize::try_from(n).unwrap_or(usize::MAX).min(FIRST_STEP),
        _ if json => FIRST_STEP,
        _ => 1,
    };
    if !share.cover(first) {
        return budget::full(state.0.config.max_inflight_body).into_response();
    }
    let pace = state.pace();
    let peer = req.extensions().get::<Peer>().map(|p| p.0);
    if json {
        let (parts, b) = req.into_parts();
        let max = state.0.config.max_body;
        match body::buffer(
            b,
            declared,
            max,
            pace,
            Some(deadline.into()),
            Some(&mut share),
        )
        .await
        {
            Ok(bytes) => {
                req = Request::from_parts(parts, Body::from(bytes.clone()));
                req.extensions_mut().insert(body::Buffered(bytes));
            }
            Err(e) => {
                if e.status == StatusCode::REQUEST_TIMEOUT {
                    log_cut(&parts.method, &parts.uri, peer, &e);
                    return closing(e);
                }
                if e.status == StatusCode::TOO_MANY_REQUESTS {
                    // Cut mid-body: the rest of it may still be on its way.
                    return closing(e);
                }
                return e.into_response();
            }
        }
    } else if req.body().size_hint().exact() != Some(0) {
        // A streamed body: paced, no slot (see the module docs).
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let (parts, b) = req.into_parts();
        let (paced, report) = Paced::new(b, pace, Some(deadline.into()));
        let req = Request::from_parts(parts, Body::new(paced));
        let answer = tokio::time::timeout_at((deadline + GRACE).into(), next.run(req)).await;
        if let Some(cut) = report.get() {
            let e = body::too_slow(cut, pace);
            log_cut(&method, &uri, peer, &e);
            return closing(e);
        }
        return match answer {
            Ok(resp) => resp,
            Err(_) => deadline_exceeded(timeout).into_response(),
        };
    }
    let permit = match state.0.permits.clone().try_acquire_owned() {
        Ok(p) => Arc::new(p),
        Err(_) => return busy(&state),
    };
    req.extensions_mut().insert(Permit(permit.clone()));
    let answer = tokio::time::timeout_at((deadline + GRACE).into(), next.run(req)).await;
    drop(permit);
    match answer {
        Ok(resp) => resp,
        Err(_) => deadline_exceeded(timeout).into_response(),
    }
}

/// The 504 of a request that ran out of time.
pub(crate) fn deadline_exceeded(timeout: Duration) -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        Some("timeout"),
        format!(
            "the request did not finish within the server's deadline of {} s",
            timeout.as_secs_f64()
        ),
    )
}

/// Awaits `fut` until the request's deadline (504 after it).
pub(crate) async fn until<T>(
    deadline: Option<Deadline>,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    match deadline {
        Some(Deadline(at)) => tokio::time::timeout_at(at.into(), fut)
            .await
            .unwrap_or_else(|_| Err(deadline_exceeded(timeout))),
        None => fut.await,
    }
}

/// Gives the error responses axum produces by itself (405 from a method router, rejections)
/// the OpenAI envelope, keeping their status and `allow` header.
pub async fn envelope_plain_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        // JSON bodies, and the dashboard's HTML pages, are already what they should be.
        v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
    });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let (parts, body) = resp.into_parts();
    drop(parts);
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = allow
                .as_ref()
                .and_then(|a| a.to_str().ok())
                .map(|a| format!(" (allowed: {a})"))
                .unwrap_or_default();
            format!("Method {method} is not allowed for {path}{allowed}")
        }
        StatusCode::NOT_FOUND => format!("Invalid URL ({method} {path})"),
        _ if !text.is_empty() => text,
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => Some("method_not_allowed"),
        StatusCode::NOT_FOUND => Some("not_found"),
        _ => None,
    };
    let mut e = ApiError::new(status, code, message);
    e.allow = allow.or_else(|| {
        (status == StatusCode::METHOD_NOT_ALLOWED).then(|| HeaderValue::from_static("POST"))
    });
    e.into_response()
}
