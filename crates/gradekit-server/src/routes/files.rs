//! Files: `POST /v1/files` (multipart `file` + `purpose`, optional `expires_after`), list,
//! retrieve, content, delete.
//!
//! Uploads stream to a temporary file under the data directory's `tmp/` as they arrive (never
//! held in memory), counted against `max_upload` (413 as soon as it is passed). Only a complete
//! upload is renamed into `files/` and recorded, so a client or server killed mid-upload leaves
//! no visible file (the leftover is removed on the next start).

use crate::error::ApiError;
use crate::routes::ft::{call, ctx, deleted, ok, on_id, order, paging, param, query};
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gradekit_jobs::wire;
use gradekit_jobs::Jobs;
use tokio::io::AsyncWriteExt;

/// Largest text field of the upload form.
const MAX_TEXT_FIELD: usize = 4096;
/// Most form fields.
const MAX_FIELDS: usize = 16;

fn bad(param: &str, msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_value", msg).with_param(param)
}

async fn text_field(
    mut f: axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    let mut out = Vec::new();
    while let Some(c) = f
        .chunk()
        .await
        .map_err(|e| bad(name, format!("cannot read the form field {name}: {e}")))?
    {
        out.extend_from_slice(&c);
        if out.len() > MAX_TEXT_FIELD {
            return Err(bad(
                name,
                format!("the form field {name} is longer than {MAX_TEXT_FIELD} bytes"),
            ));
        }
    }
    String::from_utf8(out).map_err(|_| bad(name, format!("the form field {name} is not UTF-8")))
}

/// Streams the `file` field to `tmp`; returns its size.
async fn save_file(
    mut f: axum::extract::multipart::Field<'_>,
    tmp: &std::path::Path,
    max: u64,
) -> Result<u64, ApiError> {
    let mut out = tokio::fs::File::create(tmp)
        .await
        .map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))?;
    let mut n = 0u64;
    while let Some(c) = f
        .chunk()
        .await
        .map_err(|e| bad("file", format!("the upload was interrupted: {e}")))?
    {
        n += c.len() as u64;
        if n > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("file_too_large"),
                format!("the file is larger than the server's upload limit of {max} bytes"),
            )
            .with_param("file"));
        }
        out.write_all(&c)
            .await
            .map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))?;
    }
    out.flush()
        .await
        .map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))?;
    Ok(n)
}

struct Form {
    file: Option<(String, u64)>,
    purpose: Option<String>,
    anchor: Option<String>,
    seconds: Option<String>,
}

async fn read_form(
    jobs: &Jobs,
    req: Request,
    max: u64,
    tmp: &std::path::Path,
) -> Result<Form, ApiError> {
    let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
        bad(
            "file",
            format!("the body must be multipart/form-data with a `file` and a `purpose`: {e}"),
        )
    })?;
    let mut form = Form {
        file: None,
        purpose: None,
        anchor: None,
        seconds: None,
    };
    let _ = jobs;
    for _ in 0..MAX_FIELDS {
        let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| bad("file", format!("malformed multipart body: {e}")))?
        else {
            return Ok(form);
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                if form.file.is_some() {
                    return Err(bad("file", "only one `file` per upload"));
                }
                let filename = field.file_name().unwrap_or("upload.jsonl").to_string();
                let n = save_file(field, tmp, max).await?;
                form.file = Some((filename, n));
            }
            "purpose" => form.purpose = Some(text_field(field, "purpose").await?),
            "expires_after[anchor]" => {
                form.anchor = Some(text_field(field, "expires_after.anchor").await?)
            }
            "expires_after[seconds]" => {
                form.seconds = Some(text_field(field, "expires_after.seconds").await?)
            }
            other => {
                return Err(bad(
                    other,
                    format!("Unrecognized request argument supplied: {other}"),
                ));
            }
        }
    }
    Err(bad(
        "file",
        format!("the form has more than {MAX_FIELDS} fields"),
    ))
}

/// `POST /v1/files`.
pub(crate) async fn upload(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let tmp = jobs.upload_path();
    let max = state.0.config.max_upload;
    let form = read_form(&jobs, req, max, &tmp).await;
    let result = async {
        let form = form?;
        let Some((filename, bytes)) = form.file else {
            return Err(bad("file", "missing required parameter `file`"));
        };
        let Some(purpose) = form.purpose else {
            return Err(bad("purpose", "missing required parameter `purpose`"));
        };
        let expires = match (form.anchor.as_deref(), form.seconds.as_deref()) {
            (None, None) => None,
            (Some("created_at"), Some(s)) => match s.parse::<i64>() {
                Ok(n) if (3600..=2_592_000).contains(&n) => Some(n),
                _ => {
                    return Err(bad(
                        "expires_after.seconds",
                        "expires_after.seconds must be an integer from 3600 to 2592000",
                    ))
                }
            },
            (Some(a), _) if a != "created_at" => {
                return Err(bad(
                    "expires_after.anchor",
                    "the only expires_after.anchor is \"created_at\"",
                ))
            }
            _ => {
                return Err(bad(
                    "expires_after",
                    "expires_after needs both anchor and seconds",
                ))
            }
        };
        let tmp2 = tmp.clone();
        let row =
            call(move || jobs.commit_upload(&project, &tmp2, &filename, &purpose, bytes, expires))
                .await?;
        ok(&wire::file(&row))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

/// `GET /v1/files`.
pub(crate) async fn list(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (jobs, project) = ctx(&state, &req)?;
    let q = query(&req)?;
    let (after, limit) = paging(&q, 10_000, 10_000)?;
    let order = order(&q, ["asc", "desc"])?;
    let purpose = param(&q, "purpose").map(str::to_string);
    let page =
        call(move || jobs.list_files(&project, after.as_deref(), limit, order, purpose.as_deref()))
            .await?;
    ok(&wire::page(&page, wire::Cursor::FirstLast, wire::file))
}

/// `GET /v1/files/{file_id}`.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    ok(&wire::file(
        &on_id(ctx(&state, &req)?, id, "file_id", Jobs::file).await?,
    ))
}

/// `DELETE /v1/files/{file_id}`.
pub(crate) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let i2 = id.clone();
    on_id(ctx(&state, &req)?, i2, "file_id", Jobs::delete_file).await?;
    deleted(&id, "file")
}

/// `GET /v1/files/{file_id}/content`: the bytes, streamed from disk.
pub(crate) async fn content(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (_, path) = on_id(ctx(&state, &req)?, id, "file_id", Jobs::file_content).await?;
    let f = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read the file: {e}")))?;
    let len = f.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f));
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(n) = len {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    Ok(r)
}
