//! OpenAI's `/v1/fine_tuning/alpha/graders/run` and `/validate`, wire-identical (DESIGN.md §3).
//!
//! `run`: a malformed request body (missing `model_sample`, unknown field) is 400
//! `invalid_request`; a grader that does not compile is 400 `invalid_grader` with `param` at
//! the first bad field — except a multi grader whose only fault is its formula, which is
//! answered 200 with `formula_parse_error` (the engine's `compile_for_run`). Anything that goes
//! wrong with the sample is 200 with reward 0 and the flag.

use super::{
    cancellation, compiled_for_run, json_response, prefixed, project, request_ctx, to_json,
};
use crate::body::read_json;
use crate::error::ApiError;
use crate::guard::{deadline_exceeded, until};
use crate::{work, AppState};
use axum::extract::{Request, State};
use axum::response::Response;
use gradekit_engine::RunRequest;
use gradekit_model::ValidateRequest;
use serde_json::json;

/// `POST /v1/fine_tuning/alpha/graders/run`.
pub(crate) async fn run(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (deadline, permit) = request_ctx(&req);
    let project = project(&req);
    let timeout = state.0.config.timeout;
    let body = read_json(req, state.0.config.max_body).await?;
    let rr = RunRequest::from_value(body).map_err(|e| ApiError::config("invalid_request", &e))?;
    let (cancel, _armed) = cancellation(deadline);
    until(deadline, timeout, async move {
        let compiled = compiled_for_run(&state, &project, rr.grader).await?;
        let io_bound = compiled.io_bound;
        let bytes = work::grade(io_bound, move || {
            let _slot = permit;
            if cancel.is_cancelled() {
                return Err(deadline_exceeded(timeout)); // queued past the deadline: skip
            }
            let g = &compiled.grader;
            let ctx = rr
                .entry
                .into_context(g.sample_parts(), "")
                .map_err(|e| ApiError::config("invalid_request", &e.into()))?;
            to_json(
                &g.grade_cancellable(&ctx, &cancel)
                    .to_response(g.name(), g.kind()),
            )
        })
        .await??;
        Ok(json_response(bytes))
    })
    .await
}

/// `POST /v1/fine_tuning/alpha/graders/validate`: `{"grader": <echo>}` or 400.
pub(crate) async fn validate(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (deadline, permit) = request_ctx(&req);
    let engine = state.engine_for(&project(&req));
    let timeout = state.0.config.timeout;
    let body = read_json(req, state.0.config.max_body).await?;
    let vr =
        ValidateRequest::from_value(&body).map_err(|e| ApiError::config("invalid_request", &e))?;
    drop(body);
    until(deadline, timeout, async move {
        let bytes = work::blocking(move || {
            let _slot = permit;
            let echo = gradekit_engine::validate(&vr.grader, &engine)
                .map_err(|e| ApiError::config("invalid_grader", &prefixed("grader", e)))?;
            to_json(&json!({ "grader": echo }))
        })
        .await??;
        Ok(json_response(bytes))
    })
    .await
}
