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
//! keys are ignored. What the fields mean is the engine's one entry reader, as on every route (a
//! legacy `reference_answer` included). A failed sample scores 0, as everywhere.

use super::{body_object, cancellation, entry_errors, json_response, request_ctx, to_json};
use crate::body::read_json;
use crate::error::ApiError;
use crate::guard::{deadline_exceeded, until};
use crate::{work, AppState};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use gradekit_engine::model::SampleParts;
use gradekit_engine::{read_entry, EntryRules, EvalContext};
use serde_json::{json, Value};

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
    let body = Value::Object(body_object(body)?);
    let ctx = context(body, compiled.grader.sample_parts())?;
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

/// The call's sample and item, read by the engine's one entry reader under Azure's lenient
/// rules (`EntryRules::ENDPOINT`).
fn context(body: Value, parts: SampleParts) -> Result<EvalContext, ApiError> {
    read_entry(body, &EntryRules::ENDPOINT, "", parts)
        .map_err(|e| ApiError::config("invalid_request", &entry_errors(e)))
}
