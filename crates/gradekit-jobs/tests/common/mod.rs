//! Helpers of the jobs crate's integration tests: a service over a temporary directory with the
//! protocol test trainer (`tests/trainer/fake_trainer.py`), uploads, jobs and waiting.
#![allow(clippy::unwrap_used, dead_code)]

use gradekit_jobs::store::{JobRow, Status};
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend, ModelRegistry};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn trainer() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/trainer/fake_trainer.py");
    format!("python3 {}", p.display())
}

pub fn open(dir: &Path, max_jobs: usize) -> Jobs {
    let mut cfg = JobsConfig::new(dir);
    cfg.max_jobs = max_jobs;
    cfg.cancel_grace = Duration::from_millis(500);
    cfg.models =
        ModelRegistry::from_toml(&format!("[models.tiny]\npath = \"{}\"\n", dir.display()))
            .unwrap();
    Jobs::open(cfg, Arc::new(LocalBackend::new(&trainer()).unwrap())).unwrap()
}

/// A service whose trainer is `sh SCRIPT` (written to `dir/trainer.sh`), with the `tiny` model
/// and a 300 ms cancel grace.
pub fn open_with_sh(dir: &Path, script: &str) -> Jobs {
    let mut cfg = JobsConfig::new(dir);
    cfg.cancel_grace = Duration::from_millis(300);
    cfg.models =
        ModelRegistry::from_toml(&format!("[models.tiny]\npath = \"{}\"\n", dir.display()))
            .unwrap();
    let path = dir.join("trainer.sh");
    std::fs::write(&path, script).unwrap();
    let backend = LocalBackend::new(&format!("sh {}", path.display())).unwrap();
    Jobs::open(cfg, Arc::new(backend)).unwrap()
}

pub fn chat() -> Value {
    json!({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})
}

pub fn upload(jobs: &Jobs, project: &str, lines: &[Value]) -> String {
    let tmp = jobs.upload_path();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&tmp, &text).unwrap();
    jobs.commit_upload(
        project,
        &tmp,
        "train.jsonl",
        "fine-tune",
        text.len() as u64,
        None,
    )
    .unwrap()
    .id
}

pub fn create(jobs: &Jobs, project: &str, file: &str, suffix: &str) -> JobRow {
    jobs.create_job(
        project,
        &json!({"model": "tiny", "training_file": file, "suffix": suffix}),
    )
    .unwrap()
}

pub fn wait(jobs: &Jobs, id: &str, what: &str, cond: impl Fn(&JobRow) -> bool) -> JobRow {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let j = jobs.job("p", id).unwrap();
        if cond(&j) {
            return j;
        }
        assert!(
            Instant::now() < until,
            "timed out waiting for {what}: {:?} {:?}",
            j.status,
            j.error
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn status(s: Status) -> impl Fn(&JobRow) -> bool {
    move |j| j.status == s
}

pub fn messages(jobs: &Jobs, id: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = jobs
        .events("p", id, None, 1000, gradekit_jobs::Order::NewestFirst)
        .unwrap()
        .data
        .into_iter()
        .map(|e| (e.level, e.kind, e.message))
        .collect();
    v.reverse();
    v
}
