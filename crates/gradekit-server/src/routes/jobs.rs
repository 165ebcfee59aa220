//! Fine-tuning jobs: create, list (`after`, `limit`, `metadata[k]=v`, `metadata=null`),
//! retrieve, cancel, pause, resume, events, checkpoints. The three lists are newest first
//! unless `order` ([`any_order`]; OpenAI's SDK sends none for them).

use crate::body::read_json;
use crate::error::ApiError;
use crate::routes::ft::{any_order, bounded, call, ctx, ok, on_id, paging, query};
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use gradekit_jobs::{wire, Jobs};

/// The path parameter of every job route, as errors name it.
const JOB_ID: &str = "fine_tuning_job_id";

/// `POST /v1/fine_tuning/jobs`.
pub(crate) async fn create(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let body = read_json(req, state.0.config.max_body).await?;
    let job = call(move || jobs.create_job(&project, &body)).await?;
    ok(&wire::job(&job))
}

/// `GET /v1/fine_tuning/jobs`.
pub(crate) async fn list(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let q = query(&req)?;
    let (after, limit) = paging(&q, 20, 1000)?;
    let order = any_order(&q)?;
    let filter =
        gradekit_jobs::service::metadata_filter(&q).map_err(crate::routes::ft::api_error)?;
    let page =
        call(move || jobs.list_jobs(&project, after.as_deref(), limit, order, filter.as_ref()))
            .await?;
    ok(&wire::page(&page, wire::Cursor::HasMore, wire::job))
}

/// `GET /v1/fine_tuning/jobs/{id}`.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&wire::job(
        &on_id(ctx(&state, &req)?, id, JOB_ID, Jobs::job).await?,
    ))
}

/// `POST /v1/fine_tuning/jobs/{id}/cancel`.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&wire::job(
        &on_id(ctx(&state, &req)?, id, JOB_ID, Jobs::cancel).await?,
    ))
}

/// `POST /v1/fine_tuning/jobs/{id}/pause`.
pub(crate) async fn pause(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&wire::job(
        &on_id(ctx(&state, &req)?, id, JOB_ID, Jobs::pause).await?,
    ))
}

/// `POST /v1/fine_tuning/jobs/{id}/resume`.
pub(crate) async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&wire::job(
        &on_id(ctx(&state, &req)?, id, JOB_ID, Jobs::resume).await?,
    ))
}

/// `GET /v1/fine_tuning/jobs/{id}/events`: newest first.
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let id = bounded(id, JOB_ID)?;
    let q = query(&req)?;
    let (after, limit) = paging(&q, 20, 1000)?;
    let order = any_order(&q)?;
    let page = call(move || jobs.events(&project, &id, after.as_deref(), limit, order)).await?;
    ok(&wire::page(&page, wire::Cursor::HasMore, wire::event))
}

/// `GET /v1/fine_tuning/jobs/{id}/checkpoints`: newest first.
pub(crate) async fn checkpoints(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let id = bounded(id, JOB_ID)?;
    let q = query(&req)?;
    let (after, limit) = paging(&q, 10, 1000)?;
    let order = any_order(&q)?;
    let page =
        call(move || jobs.checkpoints(&project, &id, after.as_deref(), limit, order)).await?;
    ok(&wire::page(
        &page,
        wire::Cursor::FirstLast,
        wire::checkpoint,
    ))
}
