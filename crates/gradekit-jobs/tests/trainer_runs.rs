//! What the service does with trainers beyond the happy path: directories and paths relative
//! to a working directory, the FIFO queue and where a resumed job goes, and a cancel that ends
//! a trainer ignoring SIGTERM together with what it started (DESIGN §8, trainer protocol and
//! backends).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_jobs::store::{JobRow, Status};
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend, ModelRegistry};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A trainer may name its checkpoint and model directories relative to its working directory
/// (the job's directory): they are recorded absolute, so a resume, `gradekit jobs export` and
/// model deletes find them from any working directory.
#[test]
fn relative_directories_of_the_trainer_are_recorded_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 1);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "relative");
    let j = wait(&jobs, &j.id, "success", status(Status::Succeeded));
    let model_dir = PathBuf::from(j.model_dir.clone().unwrap());
    assert!(
        model_dir.is_absolute() && model_dir.is_dir(),
        "{model_dir:?}"
    );
    let cks = jobs
        .checkpoints("p", &j.id, None, 100, gradekit_jobs::Order::NewestFirst)
        .unwrap()
        .data;
    assert_eq!(cks.len(), 3);
    for c in &cks {
        let d = Path::new(&c.dir);
        assert!(d.is_absolute() && d.is_dir(), "{d:?}");
    }
    // The test runs in the crate's directory, not the job's: export still finds both.
    let out = dir.path().join("export-model");
    gradekit_jobs::service::export(dir.path(), j.fine_tuned_model.as_deref().unwrap(), &out)
        .unwrap();
    assert_eq!(std::fs::read_to_string(out.join("step")).unwrap(), "6");
    let out = dir.path().join("export-ckpt");
    gradekit_jobs::service::export(dir.path(), &cks[1].name, &out).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("step")).unwrap(), "4");
}

/// `--trainer "python3 ../../tests/trainer/fake_trainer.py"`, `--data-dir` and the registry's
/// model paths relative to the server's working directory: trainers run in their job's
/// directory, yet each of them means what it says from the server's.
#[test]
fn paths_relative_to_the_servers_working_directory_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    let up = "../".repeat(cwd.components().count() - 1);
    let rel_dir = PathBuf::from(format!("{up}{}", dir.path().display())[..].replace("//", "/"));
    assert!(rel_dir.is_relative() && rel_dir.is_dir(), "{rel_dir:?}");
    let mut cfg = JobsConfig::new(rel_dir.join("data"));
    cfg.models = ModelRegistry::from_toml("[models.tiny]\npath = \"src\"\n").unwrap();
    let jobs = Jobs::open(
        cfg,
        Arc::new(LocalBackend::new("python3 ../../tests/trainer/fake_trainer.py").unwrap()),
    )
    .unwrap();
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "demo");
    let j = wait(&jobs, &j.id, "success", |j| j.status.is_final());
    assert_eq!(j.status, Status::Succeeded, "{:?}", j.error);
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/jobs").join(&j.id).join("spec.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        spec["model"]["path"],
        cwd.join("src").to_string_lossy().as_ref()
    );
    for k in ["training_file", "output_dir"] {
        assert!(Path::new(spec[k].as_str().unwrap()).is_absolute(), "{spec}");
    }
}

/// `max_jobs` 1 is a FIFO queue: queued jobs start in the order they were queued, and a
/// resumed job goes to the back of the queue (each launch rewrites the job's spec file, so
/// their modification times give the order the jobs started in).
#[test]
fn the_queue_is_first_in_first_out_and_a_resume_goes_to_its_back() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 1);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let slow = create(&jobs, "p", &f, "slow");
    wait(&jobs, &slow.id, "running", status(Status::Running));
    let queued: Vec<JobRow> = (0..3).map(|_| create(&jobs, "p", &f, "x")).collect();
    for q in &queued {
        wait(&jobs, &q.id, "queued", status(Status::Queued));
    }
    assert_eq!(jobs.pause("p", &slow.id).unwrap().status, Status::Paused);
    assert_eq!(jobs.resume("p", &slow.id).unwrap().status, Status::Queued);
    let mut order = Vec::new();
    for j in queued.iter().chain([&slow]) {
        wait(&jobs, &j.id, "success", status(Status::Succeeded));
        let spec = dir.path().join("jobs").join(&j.id).join("spec.json");
        order.push((
            std::fs::metadata(spec).unwrap().modified().unwrap(),
            j.id.clone(),
        ));
    }
    let want: Vec<String> = order.iter().map(|o| o.1.clone()).collect();
    order.sort();
    assert_eq!(order.into_iter().map(|o| o.1).collect::<Vec<_>>(), want);
}

/// Cancel is SIGTERM, then SIGKILL of the trainer's whole process group after the grace: a
/// trainer that ignores SIGTERM ends, and so does what it started (it ignores SIGTERM too).
#[test]
fn cancel_kills_a_trainer_that_ignores_sigterm_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!(
        "trap '' TERM\nsleep 300 &\necho $$ $! > {p}.tmp && mv {p}.tmp {p}\n\
         echo '{{\"type\": \"metrics\", \"step\": 1, \"train_loss\": 0.5}}'\n\
         while :; do sleep 1; done\n",
        p = pids.display()
    );
    let jobs = open_with_sh(dir.path(), &script);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "stubborn");
    wait(&jobs, &j.id, "the first step", |_| {
        pids.exists() && messages(&jobs, &j.id).iter().any(|e| e.1 == "metrics")
    });
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    assert_eq!(jobs.cancel("p", &j.id).unwrap().status, Status::Cancelled);
    // Gone, or a zombie nobody reaps (a container's init may not).
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .as_bytes()
                    .first()
                    != Some(&b'Z')
            })
            .unwrap_or(false)
    };
    let until = Instant::now() + Duration::from_secs(60);
    while pids.iter().any(|p| alive(*p)) {
        assert!(Instant::now() < until, "still running: {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(jobs.job("p", &j.id).unwrap().status, Status::Cancelled);
    jobs.shutdown(Duration::from_secs(2));
}
