//! Route handlers, one module per protocol, and what they share.

pub(crate) mod batch;
pub(crate) mod endpoint;
pub(crate) mod files;
pub(crate) mod ft;
pub(crate) mod jobs;
pub(crate) mod models;
pub(crate) mod openai;
pub(crate) mod openrlhf;

use crate::cache::{scoped_grader_key_and_weight, Compiled};
use crate::error::ApiError;
use crate::guard::{Deadline, Permit, Project};
use crate::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gradekit_model::{ConfigError, ConfigErrorKind, ConfigErrors};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /health`: alive, never needs a key.
pub(crate) async fn health() -> Response {
    json_response(
        serde_json::to_vec(&json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
            .unwrap_or_default(),
    )
}

/// Unknown routes: OpenAI's 404 wording.
pub(crate) async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some("not_found"),
        format!("Invalid URL ({method} {})", uri.path()),
    )
}

/// The deadline and concurrency slot the guard attached to `req`.
pub(crate) fn request_ctx(req: &Request) -> (Option<Deadline>, Option<Permit>) {
    (
        req.extensions().get::<Deadline>().copied(),
        req.extensions().get::<Permit>().cloned(),
    )
}

/// The caller's project (the guard's; [`crate::DEFAULT_PROJECT`] without a key table).
pub(crate) fn project(req: &Request) -> Arc<str> {
    req.extensions()
        .get::<Project>()
        .map(|p| p.0.clone())
        .unwrap_or_else(|| Arc::from(crate::DEFAULT_PROJECT))
}

/// The request's cancellation token and the guard that fires it when the handler's future is
/// dropped (the guard's 504, a client that went away). The token also fires at the deadline,
/// so grading that outlives its request stops between samples and frees its slot and cores.
pub(crate) fn cancellation(
    deadline: Option<Deadline>,
) -> (gradekit_engine::Cancel, gradekit_engine::CancelOnDrop) {
    let c = match deadline {
        Some(Deadline(at)) => gradekit_engine::Cancel::with_deadline(at),
        None => gradekit_engine::Cancel::new(),
    };
    let armed = c.on_drop();
    (c, armed)
}

/// A 200 with a JSON body already serialised.
pub(crate) fn json_response(body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v).map_err(|e| ApiError::internal(format!("cannot encode the answer: {e}")))
}

/// A compiled grader for `/run`-like requests of `project`, from the cache or compiled now.
/// Errors name their field from the request body's root (`grader.graders.a.operation`).
///
/// Cached per project and compiled with the project's python scope: a python grader's workers
/// keep module globals between calls, so two projects sending the same code must not share
/// them (or one project's samples could reach the other's grader).
pub(crate) async fn compiled_for_run(
    state: &AppState,
    project: &str,
    grader: Value,
) -> Result<Arc<Compiled>, ApiError> {
    let (key, weight) = scoped_grader_key_and_weight(project, &grader);
    let engine = state.engine_for(project);
    state
        .0
        .cache
        .get_or_compile_weighed(key, weight, move || {
            gradekit_engine::compile_for_run(&grader, &engine)
                .map(Compiled::new)
                .map_err(|e| ApiError::config("invalid_grader", &prefixed("grader", e)))
        })
        .await
}

/// Entry errors as the config errors of a 400 envelope.
pub(crate) fn entry_errors(errs: Vec<gradekit_engine::EntryError>) -> ConfigErrors {
    ConfigErrors(errs.into_iter().map(ConfigError::from).collect())
}

pub(crate) fn prefixed(prefix: &str, errs: ConfigErrors) -> ConfigErrors {
    ConfigErrors(errs.0.into_iter().map(|e| e.prefixed(prefix)).collect())
}

/// A JSON type name as OpenAI's errors spell it (shared with gradekit-model's reader).
pub(crate) use gradekit_model::json_kind as kind;

pub(crate) fn type_error(path: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError::with(
        ConfigErrorKind::InvalidType,
        path,
        format!(
            "invalid type: expected {expected}, but got {} instead",
            kind(got)
        ),
    )
}

/// The body as an object, or a 400 naming the root.
pub(crate) fn body_object(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::config(
            "invalid_request",
            &ConfigError::with(
                ConfigErrorKind::InvalidType,
                "",
                format!(
                    "invalid type: expected an object, but got {} instead",
                    kind(&other)
                ),
            )
            .into(),
        )),
    }
}
