//! The list endpoints of the jobs API (DESIGN §8): cursor pages `{object, data, has_more,
//! first_id?, last_id?}` with `after`/`limit`, newest first unless `order` says
//! otherwise (files `asc|desc`, checkpoint permissions `ascending|descending`, as OpenAI's SDK
//! types spell them; jobs, events and checkpoints, to which the SDK sends none, take either
//! spelling). Every page walk here follows the cursor the official SDK follows (the last item's
//! id; `last_id` for permissions) and must see every object exactly once, in order, also when
//! each page's objects are deleted before the next page is asked for.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn get(app: &Router, path: &str, key: &str) -> Answer {
    send(app, authed(Method::GET, path, key, None)).await
}

async fn upload(app: &Router, key: &str, purpose: &str, content: &str) -> String {
    let body = format!(
        "--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{content}\r\n--XX--\r\n"
    );
    let r = Request::post("/v1/files")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XX")
        .body(Body::from(body))
        .unwrap();
    let a = send(app, r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    a.json["id"].as_str().unwrap().to_string()
}

fn refused(a: &Answer, param: &str, what: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.json);
    let e = a.envelope();
    assert_eq!(e["type"], "invalid_request_error", "{what}: {}", a.json);
    assert_eq!(e["param"], param, "{what}: {}", a.json);
}

/// What one project owns: a training file, three finished jobs (events and checkpoints), a
/// checkpoint name; and project b's own file.
struct World {
    app: Router,
    _dir: tempfile::TempDir,
    /// Jobs, oldest first.
    jobs: Vec<String>,
    checkpoint: String,
    file_b: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let app = jobs_app(dir.path(), None);
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).to_string();
    let text: String = (0..10).map(|_| format!("{chat}\n")).collect();
    let fid = upload(&app, "key-a", "fine-tune", &text).await;
    let mut jobs = Vec::new();
    for n in 0..3 {
        let body = json!({"model": "tiny", "training_file": fid, "metadata": {"n": n.to_string()}});
        let j = send(
            &app,
            authed(Method::POST, "/v1/fine_tuning/jobs", "key-a", Some(body)),
        )
        .await;
        assert_eq!(j.status, StatusCode::OK, "{}", j.json);
        jobs.push(j.json["id"].as_str().unwrap().to_string());
    }
    let until = Instant::now() + Duration::from_secs(60);
    for id in &jobs {
        loop {
            let j = get(&app, &format!("/v1/fine_tuning/jobs/{id}"), "key-a").await;
            if j.json["status"] == "succeeded" {
                break;
            }
            assert!(Instant::now() < until, "{}", j.json);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let ck = get(
        &app,
        &format!("/v1/fine_tuning/jobs/{}/checkpoints", jobs[0]),
        "key-a",
    )
    .await;
    let checkpoint = ck.json["data"][0]["fine_tuned_model_checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let file_b = upload(&app, "key-b", "fine-tune", &text).await;
    World {
        app,
        _dir: dir,
        jobs,
        checkpoint,
        file_b,
    }
}

fn permissions_path(ckpt: &str) -> String {
    format!(
        "/v1/fine_tuning/checkpoints/{}/permissions",
        ckpt.replace(':', "%3A")
    )
}

/// How a list is paged: its path, the largest `limit`, whether it carries `first_id`/`last_id`,
/// and whether the SDK's next cursor is `last_id` (permissions) rather than the last item's id.
struct List {
    path: String,
    max: usize,
    first_last: bool,
    by_last_id: bool,
}

impl World {
    fn lists(&self) -> Vec<List> {
        let l = |path: String, max, first_last, by_last_id| List {
            path,
            max,
            first_last,
            by_last_id,
        };
        vec![
            l("/v1/files".into(), 10_000, true, false),
            l("/v1/fine_tuning/jobs".into(), 1000, false, false),
            l(
                format!("/v1/fine_tuning/jobs/{}/events", self.jobs[0]),
                1000,
                false,
                false,
            ),
            l(
                format!("/v1/fine_tuning/jobs/{}/checkpoints", self.jobs[0]),
                1000,
                true,
                false,
            ),
            l(permissions_path(&self.checkpoint), 1000, true, true),
        ]
    }
}

/// Follows `list` page by page (`limit`, `extra` query) as the SDK does; checks every page's
/// shape; returns the ids in the order seen. `each_page` runs on every page's ids before the
/// next page is asked for.
async fn walk(
    app: &Router,
    list: &List,
    limit: usize,
    extra: &str,
    mut each_page: impl FnMut(Vec<String>) -> Vec<Request<Body>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..1000 {
        let mut path = format!("{}?limit={limit}{extra}", list.path);
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let p = get(app, &path, "key-a").await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.json);
        let keys: Vec<&str> = p
            .json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut want = vec!["object", "data", "has_more"];
        if list.first_last {
            want.extend(["first_id", "last_id"]);
        }
        assert_eq!(
            keys.iter().collect::<std::collections::BTreeSet<_>>(),
            want.iter().collect::<std::collections::BTreeSet<_>>(),
            "{path}"
        );
        assert_eq!(p.json["object"], "list");
        let ids: Vec<String> = p.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= limit, "{path}");
        if list.first_last {
            assert_eq!(p.json["first_id"], json!(ids.first()), "{path}");
            assert_eq!(p.json["last_id"], json!(ids.last()), "{path}");
        }
        let has_more = p.json["has_more"].as_bool().unwrap();
        assert!(
            !has_more || ids.len() == limit,
            "{path}: a short page says has_more"
        );
        out.extend(ids.iter().cloned());
        after = if list.by_last_id {
            p.json["last_id"].as_str().map(str::to_string)
        } else {
            ids.last().cloned()
        };
        for r in each_page(ids) {
            let a = send(app, r).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        }
        if !has_more {
            return out;
        }
    }
    panic!("{}: more than 1000 pages", list.path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_refuses_a_bad_limit_or_after_naming_it() {
    let w = world().await;
    let own_job = &w.jobs[1];
    for list in w.lists() {
        for bad in [
            "0",
            "-1",
            &(list.max + 1).to_string(),
            "abc",
            "1.5",
            "",
            "1e3",
        ] {
            let path = format!("{}?limit={bad}", list.path);
            refused(&get(&w.app, &path, "key-a").await, "limit", &path);
        }
        let ok = get(
            &w.app,
            &format!("{}?limit={}", list.path, list.max),
            "key-a",
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}: {}", list.path, ok.json);
        // An id that names nothing, another project's file, an object of another list.
        for after in ["file-nope", w.file_b.as_str(), own_job.as_str(), ""] {
            if list.path == "/v1/fine_tuning/jobs" && after == own_job {
                continue;
            }
            let path = format!("{}?after={after}", list.path);
            refused(&get(&w.app, &path, "key-a").await, "after", &path);
        }
    }
    // Another project's objects are not a cursor of one's own lists, nor its jobs of b's.
    let path = format!("/v1/fine_tuning/jobs?after={own_job}");
    refused(&get(&w.app, &path, "key-b").await, "after", &path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_is_taken_by_every_list() {
    let w = world().await;
    let lists = w.lists();
    let grant = json!({"project_ids": ["proj_c", "proj_d", "proj_e"]});
    let g = send(
        &w.app,
        authed(Method::POST, &lists[4].path, "key-a", Some(grant)),
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.json);
    let ids = |a: &Answer| -> Vec<Value> {
        a.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].clone())
            .collect()
    };
    // Files and permissions: both directions, in OpenAI's own words for each.
    for (list, asc, desc, wrong) in [
        (&lists[0], "asc", "desc", "ascending"),
        (&lists[4], "ascending", "descending", "asc"),
    ] {
        let newest = ids(&get(&w.app, &list.path, "key-a").await);
        let d = ids(&get(&w.app, &format!("{}?order={desc}", list.path), "key-a").await);
        let mut a = ids(&get(&w.app, &format!("{}?order={asc}", list.path), "key-a").await);
        assert!(newest.len() > 1);
        assert_eq!(d, newest);
        a.reverse();
        assert_eq!(a, newest, "{}?order={asc}", list.path);
        let path = format!("{}?order={wrong}", list.path);
        refused(&get(&w.app, &path, "key-a").await, "order", &path);
    }
    // Jobs, events, checkpoints: OpenAI's SDK sends them no `order`; DESIGN's rule for every
    // list holds (newest first unless `order`), in either spelling.
    for list in &lists[1..4] {
        let newest = ids(&get(&w.app, &list.path, "key-a").await);
        assert!(newest.len() > 1, "{}", list.path);
        for o in ["desc", "descending"] {
            let d = ids(&get(&w.app, &format!("{}?order={o}", list.path), "key-a").await);
            assert_eq!(d, newest, "{}?order={o}", list.path);
        }
        for o in ["asc", "ascending"] {
            let mut a = ids(&get(&w.app, &format!("{}?order={o}", list.path), "key-a").await);
            a.reverse();
            assert_eq!(a, newest, "{}?order={o}", list.path);
        }
        let path = format!("{}?order=sideways", list.path);
        refused(&get(&w.app, &path, "key-a").await, "order", &path);
    }
    let jobs = ids(&get(&w.app, &lists[1].path, "key-a").await);
    let mut oldest: Vec<Value> = w.jobs.iter().map(|j| json!(j)).collect();
    oldest.reverse();
    assert_eq!(jobs, oldest, "jobs newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_see_every_object_once_in_both_orders() {
    let w = world().await;
    for n in 0..6 {
        upload(
            &w.app,
            "key-a",
            if n % 2 == 0 { "batch" } else { "fine-tune" },
            "{}",
        )
        .await;
    }
    let projects: Vec<String> = (0..7).map(|n| format!("proj_p{n}")).collect();
    let lists = w.lists();
    let g = send(
        &w.app,
        authed(
            Method::POST,
            &lists[4].path,
            "key-a",
            Some(json!({ "project_ids": projects })),
        ),
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.json);
    let orders = |i: usize| -> Vec<&'static str> {
        match i {
            0 => vec!["", "&order=asc", "&order=desc", "&purpose=batch"],
            1 => vec!["", "&metadata%5Bn%5D=1", "&order=asc"],
            2 | 3 => vec!["", "&order=ascending"],
            4 => vec!["", "&order=ascending", "&project_id=proj_p3"],
            _ => vec![""],
        }
    };
    for (i, list) in lists.iter().enumerate() {
        for extra in orders(i) {
            let all = walk(&w.app, list, list.max, extra, |_| vec![]).await;
            assert!(!all.is_empty(), "{}{extra}", list.path);
            let unique: std::collections::HashSet<_> = all.iter().collect();
            assert_eq!(unique.len(), all.len(), "{}{extra}: duplicates", list.path);
            for limit in 1..=4 {
                let paged = walk(&w.app, list, limit, extra, |_| vec![]).await;
                assert_eq!(paged, all, "{}{extra} limit={limit}", list.path);
            }
        }
    }
    // The two orders are each other's reverse.
    let newest = walk(&w.app, &lists[0], 3, "", |_| vec![]).await;
    let mut oldest = walk(&w.app, &lists[0], 3, "&order=asc", |_| vec![]).await;
    oldest.reverse();
    assert_eq!(newest, oldest);
    assert_eq!(newest.len(), 7 + 3, "7 uploads and 3 results files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_each_page_before_the_next_still_visits_everything() {
    let w = world().await;
    for _ in 0..5 {
        upload(&w.app, "key-a", "batch", "{}").await;
    }
    let lists = w.lists();
    let projects: Vec<String> = (0..5).map(|n| format!("proj_p{n}")).collect();
    let g = send(
        &w.app,
        authed(
            Method::POST,
            &lists[4].path,
            "key-a",
            Some(json!({ "project_ids": projects })),
        ),
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.json);
    let mut gone = Vec::new();
    for (list, extra) in [(&lists[0], "&order=asc"), (&lists[4], ""), (&lists[0], "")] {
        let all = walk(&w.app, list, 100, extra, |_| vec![]).await;
        gone.extend(all.iter().cloned());
        let path = list.path.clone();
        let deleted = walk(&w.app, list, 2, extra, |ids| {
            ids.iter()
                .map(|id| authed(Method::DELETE, &format!("{path}/{id}"), "key-a", None))
                .collect()
        })
        .await;
        assert_eq!(deleted, all, "{path}{extra}");
        assert_eq!(
            walk(&w.app, list, 100, "", |_| vec![]).await,
            Vec::<String>::new()
        );
        if list.path == "/v1/files" {
            for _ in 0..5 {
                upload(&w.app, "key-a", "batch", "{}").await;
            }
        }
    }
    // A deleted object's id is a cursor of its own list only.
    let path = format!("/v1/files?after={}", gone[0]);
    refused(&get(&w.app, &path, "key-b").await, "after", &path);
    let path = format!("{}?after={}", lists[4].path, gone[0]);
    refused(&get(&w.app, &path, "key-a").await, "after", &path);
}
