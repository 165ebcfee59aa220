//! Reading a JSON request body: content type, size limit, deadline, parse.
//!
//! The order matters for what a client is told: a wrong content type is 415 before anything is
//! read; a `content-length` past the limit is 413 before anything is read; a body that grows
//! past the limit while streaming is 413 as soon as it does; a body that stalls past the
//! request deadline is 408; bytes that are not JSON are 400 `invalid_json`.

use crate::error::ApiError;
use crate::guard::Deadline;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

/// Bodies larger than this are parsed on the blocking pool, not on an async worker.
const INLINE_PARSE_LIMIT: usize = 256 * 1024;

/// Most bytes of an oversized body read (and dropped) so that the client sees the 413.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// True for `application/json` and `application/*+json`, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Reads and parses the JSON body of `req`.
pub(crate) async fn read_json(req: Request, max: usize) -> Result<Value, ApiError> {
    let deadline = req.extensions().get::<Deadline>().copied();
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type"),
            "the request body must be JSON, sent with 'Content-Type: application/json'",
        ));
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("request_too_large"),
            format!("the request body is larger than the server's limit of {max} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    let body = req.into_body();
    // Too large: read and discard what the client is sending (up to DRAIN_LIMIT) before
    // answering. Closing a socket with unread data makes the kernel send a reset, and most
    // clients (urllib, requests, httpx) then see "connection reset" instead of the 413.
    if declared.is_some_and(|n| n > max as u64) {
        if declared.is_some_and(|n| n <= DRAIN_LIMIT) {
            let _ = with_deadline(deadline, drain(body, DRAIN_LIMIT)).await;
        }
        return Err(too_large());
    }
    let bytes = match with_deadline(deadline, collect(body, max)).await? {
        Ok(b) => b,
        Err(Overrun::TooLarge) => return Err(too_large()),
        Err(Overrun::Broken) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "the request body could not be read",
            ))
        }
    };
    if bytes.len() > INLINE_PARSE_LIMIT {
        crate::work::blocking(move || parse(&bytes)).await?
    } else {
        parse(&bytes)
    }
}

enum Overrun {
    TooLarge,
    Broken,
}

/// Awaits `fut` until the deadline; 408 after it (the body is what is late).
async fn with_deadline<T>(
    deadline: Option<Deadline>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ApiError> {
    match deadline {
        Some(Deadline(at)) => tokio::time::timeout_at(at.into(), fut).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                Some("request_timeout"),
                "the request body did not arrive before the request deadline",
            )
        }),
        None => Ok(fut.await),
    }
}

/// The whole body, or `TooLarge` as soon as it passes `max` (the rest is drained).
async fn collect(mut body: Body, max: usize) -> Result<Bytes, Overrun> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Overrun::Broken);
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max {
                let _ = drain(body, DRAIN_LIMIT).await;
                return Err(Overrun::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Reads and drops up to `limit` bytes of `body`.
async fn drain(mut body: Body, limit: u64) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > limit {
                return;
            }
        }
    }
}

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("We could not parse the JSON body of your request ({e}). The API expects a JSON payload."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_media_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (ct, ok) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            assert_eq!(is_json(&h), ok, "{ct}");
        }
    }
}
