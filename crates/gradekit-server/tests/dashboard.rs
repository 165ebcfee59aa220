//! The jobs dashboard (`GET /`, `/jobs/{id}`, `/jobs/{id}/live`, `/login`, `/logout`) against a
//! real jobs service running the protocol-speaking test trainer: auth refusal and sessions,
//! project isolation, escaping of hostile job fields, grader text and event messages, the
//! Content-Security-Policy, one chart point per metrics step, downsampling of a 100 000-step
//! job, event pages and live updates.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use gradekit_engine::EngineOptions;
use gradekit_jobs::store::{NewEvent, Status, Store};
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend, ModelRegistry};
use gradekit_server::{app, ApiKey, AppState, ConfiguredGraders, ServerConfig};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const KEY_A: &str = "sk-dash-a-0123456789";
const KEY_B: &str = "sk-dash-b-0123456789";
const HOSTILE: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";

struct Env {
    dir: tempfile::TempDir,
    jobs: Jobs,
    app: Router,
}

fn env(auth: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let trainer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/trainer/fake_trainer.py");
    let mut cfg = JobsConfig::new(dir.path());
    cfg.models = ModelRegistry::from_toml(&format!(
        "[models.tiny]\npath = \"{}\"\n",
        dir.path().display()
    ))
    .unwrap();
    let backend = LocalBackend::new(&format!("python3 {}", trainer.display())).unwrap();
    let jobs = Jobs::open(cfg, Arc::new(backend)).unwrap();
    let mut config = ServerConfig {
        jobs: Some(jobs.clone()),
        ..ServerConfig::default()
    };
    if auth {
        config.project_keys = vec![
            ("proj_a".into(), vec![ApiKey::new(KEY_A)]),
            ("proj_b".into(), vec![ApiKey::new(KEY_B)]),
        ];
    }
    let state = AppState::new(
        config,
        EngineOptions::default(),
        ConfiguredGraders::default(),
    )
    .unwrap();
    Env {
        dir,
        jobs,
        app: app(state),
    }
}

fn chat() -> Value {
    json!({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})
}

fn upload(jobs: &Jobs, project: &str, lines: &[Value]) -> String {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let tmp = jobs.upload_path();
    std::fs::write(&tmp, &text).unwrap();
    jobs.commit_upload(
        project,
        &tmp,
        "t.jsonl",
        "fine-tune",
        text.len() as u64,
        None,
    )
    .unwrap()
    .id
}

/// A supervised job run to success by the test trainer (6 steps, checkpoints at 2, 4, 6).
fn finished_job(jobs: &Jobs, project: &str, extra: Value) -> String {
    let f = upload(jobs, project, &vec![chat(); 20]);
    let mut body = json!({"model": "tiny", "training_file": f});
    if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
        b.extend(e);
    }
    let j = jobs.create_job(project, &body).unwrap();
    wait_final(jobs, project, &j.id);
    j.id
}

fn wait_final(jobs: &Jobs, project: &str, id: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let j = jobs.job(project, id).unwrap();
        if j.status.is_final() {
            assert_eq!(j.status, Status::Succeeded, "{:?}", j.error);
            return;
        }
        assert!(Instant::now() < until, "the job did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Page {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let b = axum::body::to_bytes(r.into_body(), 64 << 20).await.unwrap();
    Page {
        status,
        headers,
        body: String::from_utf8(b.to_vec()).unwrap(),
    }
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Page {
    let mut b = Request::builder().uri(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    send(app, b.body(Body::empty()).unwrap()).await
}

async fn login(app: &Router, key: &str) -> Page {
    let form = format!("key={}", key);
    send(
        app,
        Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .body(Body::from(form))
            .unwrap(),
    )
    .await
}

/// Signs in and returns the `name=value` of the session cookie.
async fn session(app: &Router, key: &str) -> String {
    let p = login(app, key).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let c = p.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    c.split(';').next().unwrap().to_string()
}

fn polyline_points(svg: &str, series: &str) -> usize {
    let tag = format!("data-series=\"{series}\"");
    let rest = &svg[svg.find(&tag).expect("series drawn")..];
    let p = rest.find(" points=\"").unwrap() + 9;
    let end = rest[p..].find('"').unwrap();
    rest[p..p + end]
        .split(' ')
        .filter(|s| !s.is_empty())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_nothing_is_shown_and_sign_in_makes_a_session() {
    let e = env(true);
    let id = finished_job(&e.jobs, "proj_a", json!({"suffix": "secret-run"}));

    // Refused without a key: the sign-in form, no job anywhere.
    for path in ["/", &format!("/jobs/{id}")] {
        let p = get(&e.app, path, None).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(p.body.contains("<form method=\"post\" action=\"/login\""));
        assert!(!p.body.contains(&id) && !p.body.contains("secret-run"));
    }
    let p = get(&e.app, &format!("/jobs/{id}/live?after=0"), None).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(!p.body.contains("secret-run"));
    // A bearer key is not a session: the dashboard's pages ignore it.
    let p = send(
        &e.app,
        Request::builder()
            .uri("/")
            .header(header::AUTHORIZATION, format!("Bearer {KEY_A}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    // A forged or stale cookie is no session either.
    let forged = format!("gradekit_session={}", "ab".repeat(32));
    assert_eq!(
        get(&e.app, "/", Some(&forged)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The API keeps its own auth.
    let p = get(&e.app, "/v1/fine_tuning/jobs", None).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);

    // A wrong key: 401 and the form again, the key not echoed.
    let p = login(&e.app, "sk-wrong-key-xyz").await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("Incorrect API key") && !p.body.contains("sk-wrong-key-xyz"));
    assert!(p.headers.get(header::SET_COOKIE).is_none());

    // The right key: a strict, HttpOnly cookie holding a session id, not the key.
    let p = login(&e.app, KEY_A).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.headers[header::LOCATION], "/");
    let set = p.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains(KEY_A) && !p.body.contains(KEY_A));
    let cookie = set.split(';').next().unwrap().to_string();
    let p = get(&e.app, "/", Some(&cookie)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains(&format!("data-job=\"{id}\"")));
    assert!(p.body.contains("secret-run") && p.body.contains("succeeded"));
    assert!(!p.body.contains(KEY_A), "the key is never in a page");

    // A sign-in posted from another site is refused.
    let p = send(
        &e.app,
        Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::ORIGIN, "http://evil.example")
            .body(Body::from(format!("key={KEY_A}")))
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.headers.get(header::SET_COOKIE).is_none());

    // Sign-out ends the session.
    let p = send(
        &e.app,
        Request::builder()
            .method(Method::POST)
            .uri("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        get(&e.app, "/", Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_sees_only_its_own_jobs() {
    let e = env(true);
    let id = finished_job(&e.jobs, "proj_a", json!({}));
    let b = session(&e.app, KEY_B).await;
    let p = get(&e.app, "/", Some(&b)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains(&id) && p.body.contains("id=\"no-jobs\""));
    assert_eq!(
        get(&e.app, &format!("/jobs/{id}"), Some(&b)).await.status,
        StatusCode::NOT_FOUND
    );
    let p = get(&e.app, &format!("/jobs/{id}/live?after=0"), Some(&b)).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let a = session(&e.app, KEY_A).await;
    assert_eq!(
        get(&e.app, &format!("/jobs/{id}"), Some(&a)).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_escaped_everywhere() {
    let e = env(false);
    let grader = json!({"type": "string_check", "name": HOSTILE, "input": "{{ sample.output_text }}",
                        "reference": format!("</pre>{HOSTILE}{{{{ item.answer }}}}"), "operation": "eq"});
    let line = json!({"messages": [{"role": "user", "content": "2+2?"}], "answer": "4"});
    let f = upload(&e.jobs, "proj_default", &vec![line; 20]);
    let j = e
        .jobs
        .create_job(
            "proj_default",
            &json!({"model": "tiny", "training_file": f, "suffix": "x",
                    "metadata": {HOSTILE: HOSTILE, "note": "a\"b'c<d>&e"},
                    "method": {"type": "reinforcement", "reinforcement": {"grader": grader}}}),
        )
        .unwrap();
    wait_final(&e.jobs, "proj_default", &j.id);
    let mut store = Store::open(&e.dir.path().join("gradekit.sqlite3")).unwrap();
    store
        .add_events(
            &j.id,
            &[
                NewEvent::warn(HOSTILE),
                NewEvent {
                    kind: "metrics",
                    data: Some(json!({"step": 7, HOSTILE: 1.0, format!("{HOSTILE}_loss"): 0.5})),
                    ..NewEvent::info(HOSTILE)
                },
            ],
        )
        .unwrap();
    let list = get(&e.app, "/", None).await;
    let page = get(&e.app, &format!("/jobs/{}", j.id), None).await;
    let live = get(&e.app, &format!("/jobs/{}/live?after=0", j.id), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let live: Value = serde_json::from_str(&live.body).unwrap();
    for (what, body) in [
        ("list", list.body.clone()),
        ("page", page.body.clone()),
        (
            "live events",
            live["events_html"].as_str().unwrap().to_string(),
        ),
        (
            "live charts",
            live["charts_html"].as_str().unwrap().to_string(),
        ),
        (
            "live summary",
            live["summary_html"].as_str().unwrap().to_string(),
        ),
    ] {
        assert!(
            !body.contains("<script>alert"),
            "{what}: a script tag got through"
        );
        assert!(
            !body.contains("<img src=x"),
            "{what}: an img tag got through"
        );
        assert!(!body.contains("\"'>"), "{what}: quotes broke out");
    }
    let esc =
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;";
    // The metadata, the grader (outline and JSON), the event message and the metric name.
    assert!(
        page.body.matches(esc).count() >= 5,
        "{}",
        page.body.matches(esc).count()
    );
    assert!(page.body.contains("a&quot;b&#39;c&lt;d&gt;&amp;e"));
    assert!(page.body.contains("id=\"grader-json\""));
    assert!(page.body.contains("&lt;/pre&gt;"));
    // The only script is the dashboard's own, and no URL leaves the page.
    assert_eq!(page.body.matches("<script").count(), 1);
    assert!(page
        .body
        .contains("<script src=\"/assets/dashboard.js\" defer></script>"));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_response_forbids_external_loads() {
    let e = env(true);
    let cookie = session(&e.app, KEY_A).await;
    for (path, c) in [
        ("/", Some(cookie.as_str())),
        ("/", None),
        ("/login", None),
        ("/jobs/ftjob-nope", Some(cookie.as_str())),
        ("/assets/dashboard.js", None),
        ("/assets/dashboard.css", None),
    ] {
        let p = get(&e.app, path, c).await;
        let csp = p.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{path}"
        );
        assert_eq!(p.headers["x-content-type-options"], "nosniff");
        assert!(
            !p.body.contains("http://") && !p.body.contains("https://"),
            "{path}"
        );
    }
    let p = get(&e.app, "/jobs/ftjob-nope", Some(&cookie)).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let js = get(&e.app, "/assets/dashboard.js", None).await;
    assert!(js.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(
        !js.body.contains("eval(")
            && !js.body.contains("localStorage")
            && !js.body.contains("sessionStorage")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charts_have_one_point_per_step_events_paginate_and_live_updates_arrive() {
    let e = env(false);
    let id = finished_job(&e.jobs, "proj_default", json!({}));
    let p = get(&e.app, &format!("/jobs/{id}"), None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("<svg id=\"chart-loss\""));
    assert!(p.body.contains("<svg id=\"chart-accuracy\""));
    assert_eq!(polyline_points(&p.body, "train_loss"), 6);
    assert_eq!(polyline_points(&p.body, "train_mean_token_accuracy"), 6);
    for step in [2, 4, 6] {
        assert!(
            p.body
                .contains(&format!("class=\"marker\" data-x=\"{step}\"")),
            "{step}"
        );
    }
    assert!(
        p.body.contains("data-live=\"false\""),
        "a finished job is not followed"
    );

    // 250 more events: pages of 100, newest first, with a link to older ones.
    let mut store = Store::open(&e.dir.path().join("gradekit.sqlite3")).unwrap();
    let batch: Vec<NewEvent> = (0..250)
        .map(|i| NewEvent::info(format!("bulk event {i}")))
        .collect();
    store.add_events(&id, &batch).unwrap();
    let p = get(&e.app, &format!("/jobs/{id}"), None).await;
    assert_eq!(p.body.matches("<tr class=\"event").count(), 100);
    assert!(p.body.find("bulk event 249").unwrap() < p.body.find("bulk event 150").unwrap());
    assert!(!p.body.contains("bulk event 149<"));
    let older = p.body.split("id=\"older-events\" href=\"").nth(1).unwrap();
    let older = older[..older.find('"').unwrap()].replace("&amp;", "&");
    let p2 = get(&e.app, &older, None).await;
    assert_eq!(p2.status, StatusCode::OK);
    assert!(p2.body.contains("bulk event 149<") && !p2.body.contains("bulk event 150<"));
    assert_eq!(p2.body.matches("<tr class=\"event").count(), 100);

    // Live: nothing new after the newest position; a new event and a new step arrive.
    let after: i64 = p
        .body
        .split("data-after=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let l = get(&e.app, &format!("/jobs/{id}/live?after={after}"), None).await;
    let l: Value = serde_json::from_str(&l.body).unwrap();
    assert!(l["events_html"].is_null() && l["charts_html"].is_null());
    assert_eq!(l["after"], after);
    assert_eq!(l["final"], true);
    store
        .add_events(
            &id,
            &[NewEvent {
                kind: "metrics",
                data: Some(json!({"step": 7, "train_loss": 0.1})),
                ..NewEvent::info("Step 7: train_loss=0.1")
            }],
        )
        .unwrap();
    let l = get(&e.app, &format!("/jobs/{id}/live?after={after}"), None).await;
    let l: Value = serde_json::from_str(&l.body).unwrap();
    assert_eq!(l["events"], 1);
    assert!(l["events_html"]
        .as_str()
        .unwrap()
        .contains("Step 7: train_loss=0.1"));
    assert!(l["after"].as_i64().unwrap() > after);
    assert_eq!(
        polyline_points(l["charts_html"].as_str().unwrap(), "train_loss"),
        7
    );
    assert_eq!(
        get(&e.app, &format!("/jobs/{id}/live?after=x"), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_step_job_is_downsampled_and_stays_small() {
    let e = env(false);
    let id = finished_job(&e.jobs, "proj_default", json!({}));
    let mut store = Store::open(&e.dir.path().join("gradekit.sqlite3")).unwrap();
    let batch: Vec<NewEvent> = (7..=100_000)
        .map(|s| NewEvent {
            kind: "metrics",
            data: Some(
                json!({"step": s, "train_loss": 1.0 / f64::from(s) + f64::from(s % 13) * 1e-3,
                              "train_reward_mean": f64::from(s % 101) / 100.0}),
            ),
            ..NewEvent::info(format!("Step {s}"))
        })
        .collect();
    store.add_events(&id, &batch).unwrap();
    let t = Instant::now();
    let p = get(&e.app, &format!("/jobs/{id}"), None).await;
    let took = t.elapsed();
    assert_eq!(p.status, StatusCode::OK);
    let n = polyline_points(&p.body, "train_loss");
    assert!(n <= 1000 + 3 && n > 900, "{n}");
    assert!(p
        .body
        .contains(&format!("data-points=\"{n}\" data-total=\"100000\"")));
    assert!(p.body.contains("class=\"marker\" data-x=\"4\""));
    assert_eq!(p.body.matches("<tr class=\"event").count(), 100);
    assert!(p.body.len() < 400_000, "page of {} bytes", p.body.len());
    eprintln!(
        "100k-step job page: {} bytes in {took:?} (debug build)",
        p.body.len()
    );
}
