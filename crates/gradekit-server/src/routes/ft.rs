//! The fine-tuning jobs API (DESIGN §8): routes, and what its handlers share — the caller's
//! project, the jobs service, cursor-page query parameters, and the mapping of the jobs
//! crate's errors onto the OpenAI envelope.
//!
//! The handlers are thin: parse the request, call [`gradekit_jobs::Jobs`] on the blocking pool
//! (SQLite and the disk are blocking I/O), answer with [`gradekit_jobs::wire`] shapes.

use crate::error::ApiError;
use crate::guard::Project;
use crate::routes::{json_response, to_json};
use crate::AppState;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use gradekit_jobs::{Jobs, Kind, Order};
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) const FILES: &str = "/v1/files";
pub(crate) const FILE: &str = "/v1/files/{file_id}";
pub(crate) const FILE_CONTENT: &str = "/v1/files/{file_id}/content";
pub(crate) const JOBS: &str = "/v1/fine_tuning/jobs";
pub(crate) const JOB: &str = "/v1/fine_tuning/jobs/{job_id}";
pub(crate) const JOB_CANCEL: &str = "/v1/fine_tuning/jobs/{job_id}/cancel";
pub(crate) const JOB_PAUSE: &str = "/v1/fine_tuning/jobs/{job_id}/pause";
pub(crate) const JOB_RESUME: &str = "/v1/fine_tuning/jobs/{job_id}/resume";
pub(crate) const JOB_EVENTS: &str = "/v1/fine_tuning/jobs/{job_id}/events";
pub(crate) const JOB_CHECKPOINTS: &str = "/v1/fine_tuning/jobs/{job_id}/checkpoints";
/// Checkpoint permissions: `…/checkpoints/{ckpt}/permissions` and
/// `…/checkpoints/{ckpt}/permissions/{permission_id}`. One wildcard, because a checkpoint is
/// named after its base model and Hugging Face names hold a '/' (`ft:Qwen/Qwen2.5-0.5B:…`),
/// which a client may send as is rather than as `%2F` (as `/v1/models/{*model}` takes it).
pub(crate) const CHECKPOINT_PERMISSIONS: &str = "/v1/fine_tuning/checkpoints/{*rest}";
pub(crate) const MODELS: &str = "/v1/models";
pub(crate) const MODEL: &str = "/v1/models/{*model}";

/// The jobs API's routes.
pub(crate) fn router() -> Router<AppState> {
    use crate::routes::{files, jobs, models};
    Router::new()
        .route(
            FILES,
            post(files::upload)
                .get(files::list)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(FILE, get(files::retrieve).delete(files::remove))
        .route(FILE_CONTENT, get(files::content))
        .route(JOBS, post(jobs::create).get(jobs::list))
        .route(JOB, get(jobs::retrieve))
        .route(JOB_CANCEL, post(jobs::cancel))
        .route(JOB_PAUSE, post(jobs::pause))
        .route(JOB_RESUME, post(jobs::resume))
        .route(JOB_EVENTS, get(jobs::events))
        .route(JOB_CHECKPOINTS, get(jobs::checkpoints))
        .route(
            CHECKPOINT_PERMISSIONS,
            post(models::grant)
                .get(models::permissions)
                .delete(models::revoke),
        )
        .route(MODELS, get(models::list))
        .route(MODEL, get(models::retrieve).delete(models::remove))
}

/// The jobs service and the caller's project; 404 when the server runs without one, 503 when
/// it could not start (`ServerConfig::jobs_off` says why).
pub(crate) fn ctx(state: &AppState, req: &Request) -> Result<(Jobs, Arc<str>), ApiError> {
    let config = &state.0.config;
    let jobs = config.jobs.clone().ok_or_else(|| match &config.jobs_off {
        Some(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("jobs_unavailable"),
            why.clone(),
        ),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            Some("not_found"),
            "the fine-tuning jobs API is not enabled on this server",
        ),
    })?;
    let project = req
        .extensions()
        .get::<Project>()
        .map(|p| p.0.clone())
        .unwrap_or_else(|| Arc::from(crate::DEFAULT_PROJECT));
    Ok((jobs, project))
}

/// The jobs crate's error as the OpenAI envelope.
pub(crate) fn api_error(e: gradekit_jobs::Error) -> ApiError {
    let status = match e.kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut a = ApiError::new(status, Some(e.code), e.message);
    a.param = e.param;
    a
}

/// Runs a service call on the blocking pool.
pub(crate) async fn call<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> gradekit_jobs::Result<T> + Send + 'static,
    T: Send + 'static,
{
    crate::work::blocking(f).await?.map_err(api_error)
}

/// A 200 with a JSON value.
pub(crate) fn ok(v: &Value) -> Result<Response, ApiError> {
    Ok(json_response(to_json(v)?))
}

/// Decoded query pairs.
pub(crate) fn query(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let q = req.uri().query().unwrap_or("");
    if q.len() > 16 * 1024 {
        return Err(ApiError::bad_request(
            "invalid_query",
            "the query string is too long",
        ));
    }
    serde_urlencoded::from_str(q)
        .map_err(|e| ApiError::bad_request("invalid_query", format!("invalid query string: {e}")))
}

/// The value of query parameter `k` (the last one when repeated).
pub(crate) fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// `after` and `limit` (default `default`, 1 to `max`).
pub(crate) fn paging(
    q: &[(String, String)],
    default: usize,
    max: usize,
) -> Result<(Option<String>, usize), ApiError> {
    let after = match param(q, "after") {
        Some(a) if a.len() > 256 => {
            return Err(
                ApiError::bad_request("invalid_value", "`after` is too long").with_param("after"),
            )
        }
        Some(a) => Some(a.to_string()),
        None => None,
    };
    let limit = match param(q, "limit") {
        None => default,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    format!("`limit` must be an integer from 1 to {max}, got {l:?}"),
                )
                .with_param("limit"))
            }
        },
    };
    Ok((after, limit))
}

/// `order` of a list that takes one: `words` = its (ascending, descending) spellings — files
/// `asc`/`desc`, checkpoint permissions `ascending`/`descending`, as OpenAI spells them.
/// Newest first when absent.
pub(crate) fn order(q: &[(String, String)], words: [&str; 2]) -> Result<Order, ApiError> {
    match param(q, "order") {
        None => Ok(Order::NewestFirst),
        Some(o) if o == words[1] => Ok(Order::NewestFirst),
        Some(o) if o == words[0] => Ok(Order::OldestFirst),
        Some(o) => Err(ApiError::bad_request(
            "invalid_value",
            format!("`order` must be {} or {}, got {o:?}", words[0], words[1]),
        )
        .with_param("order")),
    }
}

/// `order` of a list OpenAI gives none (jobs, events, checkpoints): DESIGN's rule for every
/// list, newest first unless `order` says otherwise. Either spelling OpenAI uses elsewhere is
/// taken (`asc`/`desc` as files, `ascending`/`descending` as permissions).
pub(crate) fn any_order(q: &[(String, String)]) -> Result<Order, ApiError> {
    match param(q, "order") {
        None | Some("desc" | "descending") => Ok(Order::NewestFirst),
        Some("asc" | "ascending") => Ok(Order::OldestFirst),
        Some(o) => Err(ApiError::bad_request(
            "invalid_value",
            format!("`order` must be asc, desc, ascending or descending, got {o:?}"),
        )
        .with_param("order")),
    }
}

/// Runs `f(jobs, project, id)` on the blocking pool for a route on one object, given
/// [`ctx`]'s service and project; the path's `id` is bounded (named `name` in the 404).
pub(crate) async fn on_id<T, F>(
    (jobs, project): (Jobs, Arc<str>),
    id: String,
    name: &str,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&Jobs, &str, &str) -> gradekit_jobs::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let id = bounded(id, name)?;
    call(move || f(&jobs, &project, &id)).await
}

/// The body of a successful `DELETE`: `{"id", "object", "deleted": true}`.
pub(crate) fn deleted(id: &str, object: &str) -> Result<Response, ApiError> {
    ok(&json!({"id": id, "object": object, "deleted": true}))
}

/// A path parameter, bounded (ids are short; a huge one is simply not found).
pub(crate) fn bounded(v: String, name: &str) -> Result<String, ApiError> {
    if v.is_empty() || v.len() > 512 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Some("not_found"),
            format!("no object with that {name}"),
        )
        .with_param(name));
    }
    Ok(v)
}
