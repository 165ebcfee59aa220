//! Extension: Azure's endpoint-grader protocol, `POST /v1/endpoint_graders/{name}`.
//!
//! Azure RFT (preview) posts `{"sample": {…}, "item": {…}, "trace_id": "trace_…"}` to a grading
//! URL and expects `{"score": float}` (peers.md §1.1). gradekit serves that for graders fixed at
//! start-up (`--endpoint-grader NAME=grader.json`), so an existing grader JSON becomes Azure's
//! grading backend without code. The URL to give Azure is
//! `https://host/v1/endpoint_graders/NAME`, with `Authorization: Bearer KEY` in its `headers`.
//!
//! Azure retries a failed call three times and then discards the rollout, so this route is
//! lenient where `/run` is strict: sample keys other than the five of the sample namespace are
//! dropped instead of rejected, `item` may be missing or null, `trace_id` and unknown top-level
//! keys are ignored. A failed sample scores 0, as everywhere.

use super::{body_object, cancellation, json_response, request_ctx, to_json, type_error};
use crate::body::read_json;
use crate::error::ApiError;
use crate::guard::{deadline_exceeded, until};
use crate::{work, AppState};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use gradekit_engine::EvalContext;
use gradekit_model::{sample_from_object, sample_from_text};
use serde_json::{json, Map, Value};

const SAMPLE_KEYS: [&str; 5] = [
    "output_text",
    "output_json",
    "output_tools",
    "choices",
    "output_audio",
];

/// `POST /v1/endpoint_graders/{name}`.
pub(crate) async fn grade(
    State(state): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let Some(compiled) = state.0.endpoint_graders.get(&name).cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Some("grader_not_found"),
            format!("no endpoint grader named {name:?} is configured on this server"),
        ));
    };
    let (deadline, permit) = request_ctx(&req);
    let timeout = state.0.config.timeout;
    let body = read_json(req, state.0.config.max_body).await?;
    let ctx = context(body_object(body)?)?;
    let (cancel, _armed) = cancellation(deadline);
    until(deadline, timeout, async move {
        let bytes = work::grade(compiled.io_bound, move || {
            let _slot = permit;
            if cancel.is_cancelled() {
                return Err(deadline_exceeded(timeout));
            }
            let score = compiled.grader.grade_cancellable(&ctx, &cancel).reward;
            to_json(&json!({ "score": score }))
        })
        .await??;
        Ok(json_response(bytes))
    })
    .await
}

fn context(mut m: Map<String, Value>) -> Result<EvalContext, ApiError> {
    let invalid = |e| ApiError::config("invalid_request", &gradekit_model::ConfigErrors::from(e));
    let sample = match m.remove("sample") {
        Some(Value::String(s)) => sample_from_text(&s),
        Some(Value::Object(mut o)) => {
            o.retain(|k, _| SAMPLE_KEYS.contains(&k.as_str()));
            sample_from_object(&Value::Object(o), "sample").map_err(invalid)?
        }
        Some(other) => {
            return Err(invalid(type_error(
                "sample",
                "an object or a string",
                &other,
            )))
        }
        None => {
            return Err(invalid(gradekit_model::ConfigError::new(
                "sample",
                "missing required field",
            )))
        }
    };
    let item = match m.remove("item") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v) => v,
    };
    Ok(EvalContext::new(sample, item))
}
