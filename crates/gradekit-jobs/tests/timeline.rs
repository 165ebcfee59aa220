//! The dashboard's read-only views (`gradekit_jobs::timeline`) on a job run by the
//! protocol-speaking test trainer: event pages by position, what is new since a position,
//! metrics in order, checkpoint steps, and project isolation.
#![allow(clippy::unwrap_used)]

use gradekit_jobs::store::{NewEvent, Status, Store};
use gradekit_jobs::{Jobs, JobsConfig, Kind, LocalBackend, ModelRegistry};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn open(dir: &Path) -> Jobs {
    let trainer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/trainer/fake_trainer.py");
    let mut cfg = JobsConfig::new(dir);
    cfg.models =
        ModelRegistry::from_toml(&format!("[models.tiny]\npath = \"{}\"\n", dir.display()))
            .unwrap();
    let backend = LocalBackend::new(&format!("python3 {}", trainer.display())).unwrap();
    Jobs::open(cfg, Arc::new(backend)).unwrap()
}

fn finished_job(jobs: &Jobs) -> String {
    let chat = json!({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]});
    let text: String = (0..20).map(|_| format!("{chat}\n")).collect();
    let tmp = jobs.upload_path();
    std::fs::write(&tmp, &text).unwrap();
    let f = jobs
        .commit_upload("p", &tmp, "t.jsonl", "fine-tune", text.len() as u64, None)
        .unwrap();
    let j = jobs
        .create_job("p", &json!({"model": "tiny", "training_file": f.id}))
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while jobs.job("p", &j.id).unwrap().status != Status::Succeeded {
        assert!(Instant::now() < until, "the job did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    j.id
}

#[test]
fn pages_news_metrics_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path());
    let id = finished_job(&jobs);

    // Pages by position agree with the API's own list, newest first.
    let api = jobs
        .events("p", &id, None, 1000, gradekit_jobs::Order::NewestFirst)
        .unwrap()
        .data;
    let all = jobs.events_before("p", &id, None, 1000).unwrap();
    assert!(!all.has_more);
    let ids: Vec<&str> = all.data.iter().map(|e| e.event.id.as_str()).collect();
    let api_ids: Vec<&str> = api.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, api_ids);
    assert!(all.data.windows(2).all(|w| w[0].seq > w[1].seq));
    let first = jobs.events_before("p", &id, None, 3).unwrap();
    assert!(first.has_more && first.data.len() == 3);
    let next = jobs
        .events_before("p", &id, Some(first.data[2].seq), 3)
        .unwrap();
    assert_eq!(next.data[0].event.id, all.data[3].event.id);

    // What is new since a position.
    let newest = all.data[0].seq;
    assert!(jobs
        .events_after("p", &id, newest, 10)
        .unwrap()
        .data
        .is_empty());
    let since = jobs.events_after("p", &id, all.data[2].seq, 10).unwrap();
    assert_eq!(since.data.len(), 2);
    assert!(!since.has_more);
    assert!(jobs.events_after("p", &id, 0, 2).unwrap().has_more);

    // Metrics in step order, with the newest position.
    let mut steps = Vec::new();
    let last = jobs
        .each_metrics_event("p", &id, 0, |_, m| steps.push(m["step"].as_i64().unwrap()))
        .unwrap();
    assert_eq!(steps, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(last, newest);
    let mut none = 0;
    assert_eq!(
        jobs.each_metrics_event("p", &id, last, |_, _| none += 1)
            .unwrap(),
        last
    );
    assert_eq!(none, 0);

    let ck = jobs.checkpoint_steps("p", &id).unwrap();
    let ck_steps: Vec<i64> = ck.iter().map(|c| c.0).collect();
    assert_eq!(ck_steps, vec![2, 4, 6]);
    assert!(ck[0].1.ends_with(":ckpt-step-2"));

    // Another project sees nothing.
    for e in [
        jobs.events_before("q", &id, None, 10).err(),
        jobs.events_after("q", &id, 0, 10).err(),
        jobs.each_metrics_event("q", &id, 0, |_, _| {}).err(),
        jobs.checkpoint_steps("q", &id).err(),
    ] {
        assert_eq!(e.unwrap().kind, Kind::NotFound);
    }
}

#[test]
fn many_metrics_events_stream_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path());
    let id = finished_job(&jobs);
    // A second writer connection (WAL) appends what a long run would have written.
    let mut store = Store::open(&dir.path().join("gradekit.sqlite3")).unwrap();
    let batch: Vec<NewEvent> = (7..=20_006)
        .map(|s| NewEvent {
            kind: "metrics",
            data: Some(json!({"step": s, "train_loss": 1.0 / f64::from(s)})),
            ..NewEvent::info(format!("Step {s}"))
        })
        .collect();
    store.add_events(&id, &batch).unwrap();
    let mut prev = 0;
    let mut n = 0;
    let t = Instant::now();
    jobs.each_metrics_event("p", &id, 0, |_, m| {
        let s = m["step"].as_i64().unwrap();
        assert!(s > prev);
        prev = s;
        n += 1;
    })
    .unwrap();
    assert_eq!(n, 20_006);
    eprintln!("visited {n} metrics events in {:?}", t.elapsed());
}
