//! The jobs dashboard: `gradekit serve`'s fine-tuning jobs in a browser (issue 18).
//!
//! **What.** `GET /` lists the caller's project's jobs (status, model, method, created,
//! duration); `GET /jobs/{id}` shows one job: its summary, metric curves per step (loss,
//! reward mean train/valid, per-sub-grader means, error-flag rates, accuracy) with checkpoints
//! marked, its checkpoints, its events (100 per page, newest first) and its grader, formatted.
//! A running job's page follows it live: one small same-origin script polls
//! `GET /jobs/{id}/live?after=POSITION` and swaps in the new event rows, the summary and the
//! charts — no reload.
//!
//! **Light.** Pages are rendered on the server ([`pages`]); charts are inline SVG
//! ([`gradekit_chart`], shared with `score --report`); one stylesheet and one script, both
//! served from `/assets/`; no CDN, no font, no image. Every response carries a
//! Content-Security-Policy ([`CSP`]) that allows nothing but this origin's script, stylesheet
//! and fetches, and no inline script or style at all: the page works offline and cannot be
//! made to load anything from elsewhere.
//!
//! **Fast on large jobs.** Event lists are pages (by store position, not offset). Curves keep
//! one point per step up to [`charts::MAX_POINTS`] and are downsampled beyond (min/max per
//! bucket, checkpoint steps kept). The store reads run on the blocking pool over a read-only
//! connection of their own ([`gradekit_jobs::timeline`]), so a dashboard never stalls the jobs
//! service.
//!
//! **Auth** ([`auth`]): the dashboard sits behind the same keys as the API, but a browser
//! cannot send a bearer header by itself; a sign-in form exchanges the key for an opaque
//! session cookie. The module docs of [`auth`] say why this and not `?key=` or script-held
//! keys. Without configured keys (a loopback server without `--api-key`) the dashboard, like
//! the API, is open and shows the default project.

mod auth;
mod charts;
mod html;
mod pages;

use crate::AppState;
use auth::Sessions;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use gradekit_jobs::{Jobs, Kind};
use serde_json::json;
use std::sync::Arc;

/// The policy of every dashboard response: only this origin's script, stylesheet and fetches;
/// no inline script or style, no frames, no plugins, forms post only here.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

/// True for the dashboard's paths (they authenticate with a session, not a bearer header).
pub(crate) fn owns(path: &str) -> bool {
    matches!(path, "/" | "/login" | "/logout" | "/favicon.ico")
        || path.starts_with("/jobs/")
        || path.starts_with("/assets/")
}

/// The dashboard's routes (merged into [`crate::app`]).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/jobs/{job_id}", get(job))
        .route("/jobs/{job_id}/live", get(live))
        .route("/assets/dashboard.js", get(script))
        .route("/assets/dashboard.css", get(style))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(Extension(Arc::new(Sessions::default())))
        .layer(axum::middleware::map_response(secure))
}

/// Headers of every dashboard response (see [`CSP`]).
async fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

/// Who is looking.
#[derive(Debug, Clone)]
struct Viewer {
    project: Arc<str>,
    /// Signed in with a session (false when the server has no keys).
    signed_in: bool,
}

fn viewer(state: &AppState, sessions: &Sessions, headers: &HeaderMap) -> Option<Viewer> {
    if !state.auth_enabled() {
        return Some(Viewer {
            project: Arc::from(crate::DEFAULT_PROJECT),
            signed_in: false,
        });
    }
    let id = auth::session_cookie(headers)?;
    sessions.project(&id).map(|project| Viewer {
        project,
        signed_in: true,
    })
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json_answer(status: StatusCode, v: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// The refusal of a page without a session: 401 and the sign-in form.
fn sign_in_first() -> Response {
    html(StatusCode::UNAUTHORIZED, pages::login_page(None))
}

fn message(status: StatusCode, title: &str, text: &str, v: Option<&Viewer>) -> Response {
    html(
        status,
        pages::message_page(
            title,
            text,
            v.map(|v| &*v.project),
            v.is_some_and(|v| v.signed_in),
        ),
    )
}

fn jobs_of(state: &AppState) -> Option<Jobs> {
    state.0.config.jobs.clone()
}

/// Without the jobs service there is no dashboard: its pages answer the API's 404, as any
/// unknown path of a graders-only server does.
fn no_jobs_api(uri: &Uri) -> Response {
    crate::error::ApiError::new(
        StatusCode::NOT_FOUND,
        Some("not_found"),
        format!("Invalid URL (GET {}): the fine-tuning jobs API and its dashboard are not enabled on this server", uri.path()),
    )
    .into_response()
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    match q {
        Some(q) if q.len() <= 4096 => serde_urlencoded::from_str(q).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// A store error as a page.
fn store_error(e: gradekit_jobs::Error, v: &Viewer) -> Response {
    match e.kind {
        Kind::NotFound => message(StatusCode::NOT_FOUND, "Not found", &e.message, Some(v)),
        Kind::Invalid => message(StatusCode::BAD_REQUEST, "Bad request", &e.message, Some(v)),
        _ => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Server error",
            &e.message,
            Some(v),
        ),
    }
}

/// `GET /`.
async fn list(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(v) = viewer(&state, &sessions, &headers) else {
        return sign_in_first();
    };
    let Some(jobs) = jobs_of(&state) else {
        return no_jobs_api(&uri);
    };
    let q = query_pairs(q.as_deref());
    let after = param(&q, "after")
        .filter(|a| a.len() <= 256)
        .map(str::to_string);
    let project = v.project.clone();
    let signed_in = v.signed_in;
    let r = crate::work::blocking(move || {
        jobs.list_jobs(
            &project,
            after.as_deref(),
            pages::JOBS_PER_PAGE,
            gradekit_jobs::Order::NewestFirst,
            None,
        )
        .map(|page| pages::job_list(&project, signed_in, &page, after.as_deref()))
    })
    .await;
    match r {
        Ok(Ok(body)) => html(StatusCode::OK, body),
        Ok(Err(e)) => store_error(e, &v),
        Err(e) => e.into_response(),
    }
}

/// The charts section of a job (every metrics event read, curves downsampled).
fn charts_of(jobs: &Jobs, project: &str, id: &str) -> gradekit_jobs::Result<String> {
    let mut curves = charts::Curves::default();
    jobs.each_metrics_event(project, id, 0, |_, m| curves.add(m))?;
    let ckpts = jobs.checkpoint_steps(project, id)?;
    Ok(charts::render(&curves, &ckpts))
}

/// `GET /jobs/{id}` (`?before=POSITION` for older events).
async fn job(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(v) = viewer(&state, &sessions, &headers) else {
        return sign_in_first();
    };
    let Some(jobs) = jobs_of(&state) else {
        return no_jobs_api(&uri);
    };
    if id.len() > 256 {
        return message(StatusCode::NOT_FOUND, "Not found", "no such job", Some(&v));
    }
    let q = query_pairs(q.as_deref());
    let before = match param(&q, "before").map(str::parse::<i64>) {
        None => None,
        Some(Ok(b)) if b > 0 => Some(b),
        Some(_) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "`before` must be a positive event position",
                Some(&v),
            )
        }
    };
    let vv = v.clone();
    let r = crate::work::blocking(move || -> gradekit_jobs::Result<String> {
        let project = &*vv.project;
        let job = jobs.job(project, &id)?;
        let events = jobs.events_before(project, &id, before, pages::EVENTS_PER_PAGE)?;
        let newest = events.data.first().map_or(0, |e| e.seq);
        let charts_html = charts_of(&jobs, project, &id)?;
        Ok(pages::job_page(
            project,
            vv.signed_in,
            &pages::JobView {
                job: &job,
                events: &events,
                before,
                newest,
                charts_html: &charts_html,
            },
        ))
    })
    .await;
    match r {
        Ok(Ok(body)) => html(StatusCode::OK, body),
        Ok(Err(e)) => store_error(e, &v),
        Err(e) => e.into_response(),
    }
}

/// `GET /jobs/{id}/live?after=POSITION`: what changed since the page showed POSITION — new
/// event rows (newest first; `gap` when more arrived than a page holds), the summary, and the
/// charts when anything arrived.
async fn live(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(v) = viewer(&state, &sessions, &headers) else {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            &json!({"error": {"message": "sign in at /login first", "code": "not_signed_in"}}),
        );
    };
    let Some(jobs) = jobs_of(&state) else {
        return no_jobs_api(&uri);
    };
    let q = query_pairs(q.as_deref());
    let Some(after) = param(&q, "after")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a >= 0)
    else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "`after` must be an event position (an integer ≥ 0)"}}),
        );
    };
    if id.len() > 256 {
        return json_answer(
            StatusCode::NOT_FOUND,
            &json!({"error": {"message": "no such job"}}),
        );
    }
    let project = v.project.clone();
    let r = crate::work::blocking(move || -> gradekit_jobs::Result<serde_json::Value> {
        let job = jobs.job(&project, &id)?;
        let new = jobs.events_after(&project, &id, after, pages::EVENTS_PER_PAGE)?;
        let mut out = json!({
            "status": job.status.as_str(),
            "final": job.status.is_final(),
            "after": new.data.first().map_or(after, |e| e.seq),
            "summary_html": pages::summary(&job),
            "events_html": null,
            "events": new.data.len(),
            "gap": new.has_more,
            "charts_html": null,
        });
        if !new.data.is_empty() {
            out["events_html"] = pages::event_rows(&new.data).into();
            out["charts_html"] = charts_of(&jobs, &project, &id)?.into();
        }
        Ok(out)
    })
    .await;
    match r {
        Ok(Ok(body)) => json_answer(StatusCode::OK, &body),
        Ok(Err(e)) => {
            let status = if e.kind == Kind::NotFound {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            json_answer(status, &json!({"error": {"message": e.message}}))
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /login`.
async fn login_form(State(state): State<AppState>) -> Response {
    if !state.auth_enabled() {
        return redirect("/");
    }
    html(StatusCode::OK, pages::login_page(None))
}

fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// `POST /login` (form field `key`): a session for the key's project, or 401 and the form.
async fn login(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !auth::same_origin(&headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "sign-in is accepted only from the dashboard's own page",
            None,
        );
    }
    if !state.auth_enabled() {
        return redirect("/");
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let key = param(&form, "key").unwrap_or("");
    match auth::project_of_key(&state.0.keys, key) {
        Some(project) => match sessions.start(project) {
            Some(sid) => {
                let mut r = redirect("/");
                r.headers_mut()
                    .insert(header::SET_COOKIE, auth::set_cookie(&sid));
                r
            }
            None => message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot sign in",
                "the server has no randomness for a session id",
                None,
            ),
        },
        None => {
            tokio::time::sleep(auth::FAILED_LOGIN_DELAY).await;
            html(
                StatusCode::UNAUTHORIZED,
                pages::login_page(Some("Incorrect API key.")),
            )
        }
    }
}

/// `POST /logout`: ends the session and clears the cookie.
async fn logout(Extension(sessions): Extension<Arc<Sessions>>, headers: HeaderMap) -> Response {
    if !auth::same_origin(&headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Refused",
            "sign-out is accepted only from the dashboard's own page",
            None,
        );
    }
    if let Some(id) = auth::session_cookie(&headers) {
        sessions.end(&id);
    }
    let mut r = redirect("/login");
    r.headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie());
    r
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLE,
    )
        .into_response()
}
