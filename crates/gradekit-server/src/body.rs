//! Reading a JSON request body: content type, size limit, pace, parse.
//!
//! The order matters for what a client is told: a wrong content type is 415 before anything is
//! read; a `content-length` past the limit is 413 before anything is read; a body that grows
//! past the limit while streaming is 413 as soon as it does; a body that falls behind its pace
//! (`pace.rs`) or stalls past the request deadline is 408; bytes that are not JSON are 400
//! `invalid_json`.
//!
//! The guard reads JSON bodies ([`buffer`]) *before* the request takes its slot of the
//! concurrency limit, so clients still sending do not hold slots meant for CPU work; the
//! handler then finds the bytes in [`Buffered`].

use crate::budget::{self, Share};
use crate::error::ApiError;
use crate::guard::Deadline;
use crate::pace::{Pace, Paced};
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::Duration;

/// Bodies larger than this are parsed on the blocking pool, not on an async worker.
const INLINE_PARSE_LIMIT: usize = 256 * 1024;

/// Most bytes of an oversized body read (and dropped) so that the client sees the 413.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// A JSON body the guard has read in full.
#[derive(Debug, Clone)]
pub(crate) struct Buffered(pub Bytes);

/// True for `application/json` and `application/*+json`, parameters allowed.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
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

/// The `content-length` a request declares, if any.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
}

/// Reads and parses the JSON body of `req` (read by the guard already when it passed one).
pub(crate) async fn read_json(req: Request, max: usize) -> Result<Value, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type"),
            "the request body must be JSON, sent with 'Content-Type: application/json'",
        ));
    }
    let bytes = match req.extensions().get::<Buffered>() {
        Some(b) => b.0.clone(),
        None => {
            // Not through the guard: only the request deadline bounds the body.
            let deadline = req.extensions().get::<Deadline>().map(|d| d.0.into());
            let declared = declared_length(req.headers());
            let pace = Pace {
                timeout: Duration::from_secs(86_400 * 365),
                min_rate: 0,
            };
            buffer(req.into_body(), declared, max, pace, deadline, None).await?
        }
    };
    if bytes.len() > INLINE_PARSE_LIMIT {
        crate::work::blocking(move || parse(&bytes)).await?
    } else {
        parse(&bytes)
    }
}

/// Reads a whole body of at most `max` bytes that keeps `pace` and arrives before `hard`.
///
/// With a `share` of the body budget, the buffer grows only as bytes arrive and each growth is
/// covered by the share first (`budget.rs`); a body that does not fit in what is left gets the
/// budget's 429 (after its bytes are read and dropped, like a 413). The caller keeps the share
/// for as long as it keeps the bytes.
pub(crate) async fn buffer(
    body: Body,
    declared: Option<u64>,
    max: usize,
    pace: Pace,
    hard: Option<tokio::time::Instant>,
    mut share: Option<&mut Share>,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("request_too_large"),
            format!("the request body is larger than the server's limit of {max} bytes"),
        )
    };
    let (mut body, report) = Paced::new(body, pace, hard);
    // Too large: read and discard what the client is sending (up to DRAIN_LIMIT) before
    // answering. Closing a socket with unread data makes the kernel send a reset, and most
    // clients (urllib, requests, httpx) then see "connection reset" instead of the 413.
    if declared.is_some_and(|n| n > max as u64) {
        if declared.is_some_and(|n| n <= DRAIN_LIMIT) {
            drain(&mut body, DRAIN_LIMIT).await;
        }
        return Err(too_large());
    }
    // The buffer never grows past what the client declares (or the limit), and grows in
    // steps as bytes arrive: a declared length is not trusted with memory.
    let limit = declared.map_or(max, |n| (n as usize).min(max));
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(_) => {
                return Err(match report.get() {
                    Some(cut) => too_slow(cut, pace),
                    None => {
                        ApiError::bad_request("invalid_body", "the request body could not be read")
                    }
                })
            }
        };
        if let Ok(data) = frame.into_data() {
            let need = buf.len() + data.len();
            if need > max {
                drop(buf);
                if let Some(share) = share {
                    share.release();
                }
                drain(&mut body, DRAIN_LIMIT).await;
                return Err(too_large());
            }
            if need > buf.capacity() {
                let cap = budget::next_capacity(buf.capacity(), need, limit);
                if let Some(share) = share.as_deref_mut() {
                    if !share.cover(cap) {
                        let e = budget::full(share.limit);
                        drop(buf);
                        share.release();
                        drain(&mut body, DRAIN_LIMIT).await;
                        return Err(e);
                    }
                }
                buf.reserve_exact(cap - buf.len());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// The 408 of a body that was cut (see `pace.rs`).
pub(crate) fn too_slow(cut: &crate::pace::TooSlow, pace: Pace) -> ApiError {
    let message = if cut.deadline {
        format!(
            "the request body did not arrive before the request deadline ({} bytes in {:.1} s)",
            cut.received,
            cut.elapsed.as_secs_f64()
        )
    } else {
        format!(
            "{}; the server waits {} s for a body plus 1 s per {} bytes received (--body-timeout, --body-min-rate)",
            cut,
            pace.timeout.as_secs_f64(),
            pace.min_rate
        )
    };
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        Some("request_timeout"),
        message,
    )
}

/// Reads and drops up to `limit` bytes of `body` (stops at its pace).
async fn drain(body: &mut Paced, limit: u64) {
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
