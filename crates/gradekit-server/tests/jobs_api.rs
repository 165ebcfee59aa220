//! The fine-tuning jobs routes in-process: multipart upload (and its limit), projects by key,
//! cursor pages, refusals naming their `param`, a job run by the protocol test trainer, and
//! checkpoint permissions reaching another project's `/v1/models`. (The official SDK drives the
//! same routes against the binary in tests/sdk/test_jobs.py.)
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Polls job `id` of `key`'s project until its status is one of `done`; its object then.
async fn finished_job(app: &Router, key: &str, id: &str, done: &[&str]) -> Value {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let path = format!("/v1/fine_tuning/jobs/{id}");
        let j = send(app, authed(Method::GET, &path, key, None)).await.json;
        if done.iter().any(|d| j["status"] == *d) {
            return j;
        }
        assert!(Instant::now() < until, "{j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn upload(key: &str, purpose: &str, content: &str) -> Request<Body> {
    let body = format!(
        "--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{content}\r\n--XX--\r\n"
    );
    Request::post("/v1/files")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XX")
        .body(Body::from(body))
        .unwrap()
}

fn refused(a: &Answer, status: StatusCode, param: &str) {
    assert_eq!(a.status, status, "{}", a.json);
    assert_eq!(a.envelope()["param"], param, "{}", a.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_api_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let app = jobs_app(dir.path(), Some(4096));
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).to_string();
    let text: String = (0..10).map(|_| format!("{chat}\n")).collect();

    // Uploads: bounded, purposes checked, per project.
    let f = send(&app, upload("key-a", "fine-tune", &text)).await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.json);
    assert_eq!(f.json["bytes"], text.len());
    let fid = f.json["id"].as_str().unwrap().to_string();
    refused(
        &send(&app, upload("key-a", "fine-tune", &"x".repeat(5000))).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "file",
    );
    refused(
        &send(&app, upload("key-a", "nope", "{}")).await,
        StatusCode::BAD_REQUEST,
        "purpose",
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("data/tmp"))
            .unwrap()
            .count(),
        0,
        "refused uploads leave nothing"
    );
    assert_eq!(
        send(&app, authed(Method::GET, "/v1/files", "wrong", None))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    refused(
        &send(
            &app,
            authed(Method::GET, &format!("/v1/files/{fid}"), "key-b", None),
        )
        .await,
        StatusCode::NOT_FOUND,
        "file_id",
    );
    let lb = send(&app, authed(Method::GET, "/v1/files", "key-b", None)).await;
    assert_eq!(
        lb.json,
        json!({"object": "list", "data": [], "has_more": false, "first_id": null, "last_id": null})
    );

    // Create: refusals name their param.
    for (body, param) in [
        (json!({"model": "other", "training_file": fid}), "model"),
        (json!({"model": "tiny"}), "training_file"),
        (
            json!({"model": "tiny", "training_file": fid, "metadata": {"k": 3}}),
            "metadata.k",
        ),
        (
            json!({"model": "tiny", "training_file": fid, "method": {"type": "dpo", "dpo": {"hyperparameters": {"batch_size": 0}}}}),
            "method.dpo.hyperparameters.batch_size",
        ),
    ] {
        refused(
            &send(
                &app,
                authed(Method::POST, "/v1/fine_tuning/jobs", "key-a", Some(body)),
            )
            .await,
            StatusCode::BAD_REQUEST,
            param,
        );
    }
    refused(
        &send(
            &app,
            authed(Method::GET, "/v1/fine_tuning/jobs?limit=0", "key-a", None),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "limit",
    );

    let mut ids = Vec::new();
    for suffix in ["one", "two"] {
        let j = send(&app, authed(Method::POST, "/v1/fine_tuning/jobs", "key-a",
            Some(json!({"model": "tiny", "training_file": fid, "suffix": suffix, "metadata": {"s": suffix}})))).await;
        assert_eq!(j.status, StatusCode::OK, "{}", j.json);
        assert_eq!(j.json["status"], "validating_files");
        ids.push(j.json["id"].as_str().unwrap().to_string());
    }
    let page = send(
        &app,
        authed(Method::GET, "/v1/fine_tuning/jobs?limit=1", "key-a", None),
    )
    .await
    .json;
    assert_eq!(
        (page["data"][0]["id"].as_str(), page["has_more"].as_bool()),
        (Some(ids[1].as_str()), Some(true))
    );
    let next = send(
        &app,
        authed(
            Method::GET,
            &format!("/v1/fine_tuning/jobs?limit=1&after={}", ids[1]),
            "key-a",
            None,
        ),
    )
    .await
    .json;
    assert_eq!(
        (next["data"][0]["id"].as_str(), next["has_more"].as_bool()),
        (Some(ids[0].as_str()), Some(false))
    );
    let filtered = send(
        &app,
        authed(
            Method::GET,
            "/v1/fine_tuning/jobs?metadata%5Bs%5D=one",
            "key-a",
            None,
        ),
    )
    .await
    .json;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0]["id"], ids[0]);
    refused(
        &send(
            &app,
            authed(
                Method::POST,
                &format!("/v1/fine_tuning/jobs/{}/cancel", ids[0]),
                "key-b",
                None,
            ),
        )
        .await,
        StatusCode::NOT_FOUND,
        "fine_tuning_job_id",
    );

    // The first job runs to the end.
    let job = finished_job(&app, "key-a", &ids[0], &["succeeded"]).await;
    let cancel = send(
        &app,
        authed(
            Method::POST,
            &format!("/v1/fine_tuning/jobs/{}/cancel", ids[0]),
            "key-a",
            None,
        ),
    )
    .await;
    refused(&cancel, StatusCode::BAD_REQUEST, "fine_tuning_job_id");
    assert!(cancel.envelope()["message"]
        .as_str()
        .unwrap()
        .contains("succeeded"));
    let ev = send(
        &app,
        authed(
            Method::GET,
            &format!("/v1/fine_tuning/jobs/{}/events?limit=2", ids[0]),
            "key-a",
            None,
        ),
    )
    .await
    .json;
    assert_eq!(
        ev["data"][0]["message"],
        "The job has successfully completed"
    );
    assert_eq!(ev["has_more"], true);
    let ck = send(
        &app,
        authed(
            Method::GET,
            &format!("/v1/fine_tuning/jobs/{}/checkpoints", ids[0]),
            "key-a",
            None,
        ),
    )
    .await
    .json;
    let name = ck["data"][0]["fine_tuned_model_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        name,
        format!("{}:ckpt-step-6", job["fine_tuned_model"].as_str().unwrap())
    );

    // Permissions make the checkpoint usable by project b.
    let models_b = |app: Router| async move {
        send(&app, authed(Method::GET, "/v1/models", "key-b", None))
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(!models_b(app.clone()).await.contains(&name));
    let perm_path = format!(
        "/v1/fine_tuning/checkpoints/{}/permissions",
        name.replace(':', "%3A")
    );
    refused(
        &send(
            &app,
            authed(
                Method::POST,
                &perm_path,
                "key-b",
                Some(json!({"project_ids": ["proj_b"]})),
            ),
        )
        .await,
        StatusCode::NOT_FOUND,
        "fine_tuned_model_checkpoint",
    );
    let granted = send(
        &app,
        authed(
            Method::POST,
            &perm_path,
            "key-a",
            Some(json!({"project_ids": ["proj_b"]})),
        ),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.json);
    assert!(models_b(app.clone()).await.contains(&name));
    let pid = granted.json["data"][0]["id"].as_str().unwrap();
    let del = send(
        &app,
        authed(Method::DELETE, &format!("{perm_path}/{pid}"), "key-a", None),
    )
    .await;
    assert_eq!(
        del.json,
        json!({"id": pid, "object": "checkpoint.permission", "deleted": true})
    );
    assert!(!models_b(app.clone()).await.contains(&name));
    refused(
        &send(
            &app,
            authed(Method::DELETE, "/v1/models/tiny", "key-a", None),
        )
        .await,
        StatusCode::FORBIDDEN,
        "model",
    );
}

/// `fixtures/lines/blank.json` through the server: a training file whose blank lines are every
/// blank case of the fixture (Python's `str.isspace()`) validates and trains; one line that is
/// not blank (a no-break space around a letter) fails the job naming its line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_files_skip_the_blank_lines_of_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let app = jobs_app(dir.path(), Some(4096));
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/lines/blank.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let blanks: Vec<&str> = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["blank"] == true)
        .map(|c| c["line"].as_str().unwrap())
        .collect();
    assert!(blanks.len() > 20);
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).to_string();
    let mut good = String::new();
    for (i, b) in blanks.iter().enumerate() {
        if i < 10 {
            good.push_str(&chat);
            good.push('\n');
        }
        good.push_str(b);
        good.push('\n');
    }
    let bad = format!("{chat}\n\u{a0}x\u{a0}\n{good}");
    let mut status = Vec::new();
    for text in [good, bad] {
        let f = send(&app, upload("key-a", "fine-tune", &text)).await;
        assert_eq!(f.status, StatusCode::OK, "{}", f.json);
        let body = json!({"model": "tiny", "training_file": f.json["id"]});
        let j = send(
            &app,
            authed(Method::POST, "/v1/fine_tuning/jobs", "key-a", Some(body)),
        )
        .await;
        assert_eq!(j.status, StatusCode::OK, "{}", j.json);
        let id = j.json["id"].as_str().unwrap().to_string();
        status.push(finished_job(&app, "key-a", &id, &["succeeded", "failed"]).await);
    }
    assert_eq!(status[0]["status"], "succeeded", "{}", status[0]);
    assert_eq!(status[1]["status"], "failed", "{}", status[1]);
    assert_eq!(status[1]["error"]["code"], "invalid_training_file");
    let message = status[1]["error"]["message"].as_str().unwrap();
    assert!(message.contains("Line 2 is not valid JSON"), "{message}");
}

/// A Hugging Face base model name holds a '/' (`Qwen/Qwen2.5-0.5B`), and so do the names of its
/// fine-tuned models and checkpoints. Clients send it in a path as is or as `%2F` (newer SDKs
/// percent-encode path parameters, older ones and plain HTTP clients do not): every model and
/// checkpoint-permission route takes both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_names_with_a_slash_reach_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let app = jobs_app_with(dir.path(), None, &["hf-org/tiny"]);
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).to_string();
    let text: String = (0..10).map(|_| format!("{chat}\n")).collect();
    let fid = send(&app, upload("key-a", "fine-tune", &text)).await.json["id"]
        .as_str()
        .unwrap()
        .to_string();
    let j = send(
        &app,
        authed(
            Method::POST,
            "/v1/fine_tuning/jobs",
            "key-a",
            Some(json!({"model": "hf-org/tiny", "training_file": fid, "suffix": "s"})),
        ),
    )
    .await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.json);
    let id = j.json["id"].as_str().unwrap().to_string();
    let job = finished_job(&app, "key-a", &id, &["succeeded"]).await;
    let ft = job["fine_tuned_model"].as_str().unwrap().to_string();
    assert!(ft.starts_with("ft:hf-org/tiny:gradekit:s:"), "{ft}");
    for path in [
        "/v1/models/hf-org/tiny".to_string(),
        format!("/v1/models/{ft}"),
    ] {
        let m = send(&app, authed(Method::GET, &path, "key-a", None)).await;
        assert_eq!(m.status, StatusCode::OK, "{path}: {}", m.json);
    }
    let ckpt = format!("{ft}:ckpt-step-6");
    for name in [ckpt.clone(), ckpt.replace('/', "%2F")] {
        let perms = format!("/v1/fine_tuning/checkpoints/{name}/permissions");
        let granted = send(
            &app,
            authed(
                Method::POST,
                &perms,
                "key-a",
                Some(json!({"project_ids": ["proj_b"]})),
            ),
        )
        .await;
        assert_eq!(granted.status, StatusCode::OK, "{perms}: {}", granted.json);
        let pid = granted.json["data"][0]["id"].as_str().unwrap().to_string();
        let listed = send(
            &app,
            authed(
                Method::GET,
                &format!("{perms}?project_id=proj_b"),
                "key-a",
                None,
            ),
        )
        .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
        assert_eq!(listed.json["data"][0]["id"], pid.as_str());
        let b_sees = send(
            &app,
            authed(Method::GET, &format!("/v1/models/{name}"), "key-b", None),
        )
        .await;
        assert_eq!(b_sees.status, StatusCode::OK, "{}", b_sees.json);
        // The permission routes take no other shape.
        for (method, path) in [
            (Method::DELETE, perms.clone()),
            (Method::GET, format!("{perms}/{pid}")),
            (Method::POST, format!("{perms}/{pid}")),
            (
                Method::GET,
                format!("/v1/fine_tuning/checkpoints/{name}/permission"),
            ),
            (
                Method::GET,
                "/v1/fine_tuning/checkpoints//permissions".into(),
            ),
        ] {
            let a = send(&app, authed(method.clone(), &path, "key-a", None)).await;
            assert_eq!(
                a.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                a.json
            );
        }
        let del = send(
            &app,
            authed(Method::DELETE, &format!("{perms}/{pid}"), "key-a", None),
        )
        .await;
        assert_eq!(
            del.json,
            json!({"id": pid, "object": "checkpoint.permission", "deleted": true})
        );
        refused(
            &send(
                &app,
                authed(Method::DELETE, &format!("{perms}/{pid}"), "key-a", None),
            )
            .await,
            StatusCode::NOT_FOUND,
            "permission_id",
        );
    }
}
