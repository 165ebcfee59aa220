//! Models (`/v1/models`: the registry's base models, the project's fine-tuned models and the
//! checkpoints it may use) and checkpoint permissions (`/v1/fine_tuning/checkpoints/{ckpt}/
//! permissions`: create, list — also the SDK's deprecated `retrieve` — and delete).

use crate::body::read_json;
use crate::error::ApiError;
use crate::routes::ft::{bounded, call, ctx, deleted, ok, on_id, order, paging, param, query};
use crate::AppState;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use gradekit_jobs::{wire, Jobs};
use serde_json::json;

/// `GET /v1/models`.
pub(crate) async fn list(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let data = call(move || jobs.models(&project)).await?;
    ok(&json!({"object": "list", "data": data}))
}

/// `GET /v1/models/{model}`.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&on_id(ctx(&state, &req)?, id, "model", Jobs::model).await?)
}

/// `DELETE /v1/models/{model}`: the project's own fine-tuned models and checkpoints only.
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let i2 = id.clone();
    on_id(ctx(&state, &req)?, i2, "model", Jobs::delete_model).await?;
    deleted(&id, "model")
}

/// The checkpoint and the permission id of a path under `/v1/fine_tuning/checkpoints/`
/// ([`crate::routes::ft::CHECKPOINT_PERMISSIONS`]): `CKPT/permissions` (`want_id` false) or
/// `CKPT/permissions/ID` (`want_id` true); anything else is an unknown URL.
fn permission_path(
    rest: &str,
    want_id: bool,
    req: &Request,
) -> Result<(String, Option<String>), ApiError> {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let split = if want_id {
        rest.rsplit_once('/').and_then(|(head, id)| {
            let ckpt = head.strip_suffix("/permissions")?;
            (!id.is_empty()).then(|| (ckpt.to_string(), Some(id.to_string())))
        })
    } else {
        rest.strip_suffix("/permissions")
            .map(|ckpt| (ckpt.to_string(), None))
    };
    let unknown = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            Some("not_found"),
            format!("Invalid URL ({} {})", req.method(), req.uri().path()),
        )
    };
    let (ckpt, id) = split.ok_or_else(unknown)?;
    if ckpt.is_empty() {
        return Err(unknown());
    }
    Ok((bounded(ckpt, "fine_tuned_model_checkpoint")?, id))
}

/// `POST …/permissions` `{"project_ids": [...]}` → a list of permissions.
pub(crate) async fn grant(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let (ckpt, _) = permission_path(&rest, false, &req)?;
    let body = read_json(req, state.0.config.max_body).await?;
    let rows = call(move || jobs.grant(&project, &ckpt, &body)).await?;
    let page = gradekit_jobs::Page {
        data: rows,
        has_more: false,
    };
    ok(&wire::page(
        &page,
        wire::Cursor::FirstLast,
        wire::permission,
    ))
}

/// `GET …/permissions?project_id&order&after&limit`.
pub(crate) async fn permissions(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let (ckpt, _) = permission_path(&rest, false, &req)?;
    let q = query(&req)?;
    let (after, limit) = paging(&q, 10, 1000)?;
    let order = order(&q, ["ascending", "descending"])?;
    let pid = param(&q, "project_id").map(str::to_string);
    let page = call(move || {
        jobs.permissions(
            &project,
            &ckpt,
            pid.as_deref(),
            after.as_deref(),
            limit,
            order,
        )
    })
    .await?;
    ok(&wire::page(
        &page,
        wire::Cursor::FirstLast,
        wire::permission,
    ))
}

/// `DELETE …/permissions/{permission_id}`.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let (ckpt, pid) = permission_path(&rest, true, &req)?;
    let pid = bounded(pid.unwrap_or_default(), "permission_id")?;
    let p2 = pid.clone();
    call(move || jobs.revoke(&project, &ckpt, &p2)).await?;
    deleted(&pid, "checkpoint.permission")
}
