//! The job lifecycle end to end with the local backend and the protocol-speaking test trainer
//! (`tests/trainer/fake_trainer.py`): success, crash, garbage lines, pause/resume, cancel,
//! FIFO with `max_jobs`, file validation failures and recovery after a restart.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_jobs::store::{JobRow, NewEvent, Status, Store};
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_supervised_job_runs_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 1);
    // One service per data directory.
    let second = Jobs::open(
        JobsConfig::new(dir.path()),
        Arc::new(LocalBackend::new("true").unwrap()),
    );
    assert_eq!(second.unwrap_err().param.as_deref(), Some("data_dir"));
    let f = upload(&jobs, "p", &vec![chat(); 20]);
    let j = create(&jobs, "p", &f, "demo");
    assert_eq!(j.status, Status::ValidatingFiles);
    assert_eq!(j.hyperparameters["n_epochs"], "auto");
    let j = wait(&jobs, &j.id, "success", status(Status::Succeeded));
    let suffix: String = j.id["ftjob-".len()..].chars().take(8).collect();
    assert_eq!(
        j.fine_tuned_model.as_deref(),
        Some(format!("ft:tiny:gradekit:demo:{suffix}").as_str())
    );
    assert_eq!(j.trained_tokens, Some(6000));
    assert!(j.finished_at.is_some() && j.estimated_finish.is_none());
    // auto resolved for 20 examples: batch 1, 15 epochs clamped to 10.
    assert_eq!(
        j.hyperparameters,
        json!({"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": 10})
    );
    assert_eq!(j.method["supervised"]["hyperparameters"], j.hyperparameters);
    let ev = messages(&jobs, &j.id);
    let metrics: Vec<_> = ev.iter().filter(|e| e.1 == "metrics").collect();
    assert_eq!(metrics.len(), 6);
    assert!(
        metrics[0].2.starts_with("Step 1/6: train_loss=1"),
        "{:?}",
        metrics[0]
    );
    assert_eq!(ev[0].2, format!("Created fine-tuning job: {}", j.id));
    assert!(ev
        .iter()
        .any(|e| e.2 == "Files validated, moving job to queued state"));
    assert_eq!(ev.last().unwrap().2, "The job has successfully completed");
    let cks = jobs
        .checkpoints("p", &j.id, None, 10, gradekit_jobs::Order::NewestFirst)
        .unwrap();
    assert_eq!(
        cks.data.iter().map(|c| c.step_number).collect::<Vec<_>>(),
        [6, 4, 2]
    );
    assert_eq!(
        cks.data[0].name,
        format!("{}:ckpt-step-6", j.fine_tuned_model.as_deref().unwrap())
    );
    // Only the seven OpenAI keys survive (the trainer's "other" does not); one the checkpoint
    // line leaves out is the one its step's metrics line reported.
    assert_eq!(
        cks.data[2].metrics,
        json!({"step": 2.0, "train_loss": 0.5, "valid_loss": 0.55, "train_mean_token_accuracy": 0.6667})
    );
    let spec: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("jobs").join(&j.id).join("spec.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(spec["model"]["name"], "tiny");
    assert_eq!(spec["seed"], j.seed);
    assert_eq!(spec["resume_from"], Value::Null);
    assert_eq!(spec["method"], j.method);
    let results = jobs.file("p", &j.result_files[0]).unwrap();
    assert_eq!(results.purpose, "fine-tune-results");
    let (_, path) = jobs.file_content("p", &results.id).unwrap();
    let csv = std::fs::read_to_string(path).unwrap();
    assert!(
        csv.starts_with(
            "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,1,0.5,,\n"
        ),
        "{csv}"
    );
    // The model is listed, exportable, deletable.
    let ids: Vec<String> = jobs
        .models("p")
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"tiny".to_string()) && ids.contains(j.fine_tuned_model.as_ref().unwrap())
    );
    assert!(jobs.models("q").unwrap().iter().all(|m| m["id"] == "tiny"));
    let out = dir.path().join("export");
    gradekit_jobs::service::export(dir.path(), &cks.data[1].name, &out).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("step")).unwrap(), "4");
    jobs.delete_model("p", j.fine_tuned_model.as_deref().unwrap())
        .unwrap();
    assert!(jobs
        .model("p", j.fine_tuned_model.as_deref().unwrap())
        .is_err());
    assert_eq!(
        jobs.delete_model("p", "tiny").unwrap_err().kind,
        gradekit_jobs::Kind::Forbidden
    );
    // Finished jobs refuse every change, naming the status.
    let e = jobs.cancel("p", &j.id).unwrap_err();
    assert_eq!(e.kind, gradekit_jobs::Kind::Invalid);
    assert!(e.message.contains("status succeeded"), "{}", e.message);
    assert!(jobs
        .resume("p", &j.id)
        .unwrap_err()
        .message
        .contains("succeeded"));
    // Other projects see nothing.
    assert_eq!(
        jobs.job("q", &j.id).unwrap_err().kind,
        gradekit_jobs::Kind::NotFound
    );
    assert!(jobs.file("q", &f).is_err());
}

#[test]
fn the_results_file_has_one_row_per_step() {
    // Steps 2 and 3 done again (as after a resume from the checkpoint at step 1): the last
    // metrics of a step are its row.
    let dir = tempfile::tempdir().unwrap();
    let mut script: String = [1, 2, 3, 2, 3, 4]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!("echo '{{\"type\": \"metrics\", \"step\": {s}, \"train_loss\": {i}.5}}'\n")
        })
        .collect();
    script.push_str("echo '{\"type\": \"result\", \"model_dir\": \"m\", \"trained_tokens\": 1}'\n");
    let jobs = open_with_sh(dir.path(), &script);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "csv");
    let j = wait(&jobs, &j.id, "success", status(Status::Succeeded));
    let csv = std::fs::read_to_string(dir.path().join("files").join(&j.result_files[0])).unwrap();
    assert_eq!(
        csv,
        "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n\
         1,0.5,,,\n2,3.5,,,\n3,4.5,,,\n4,5.5,,,\n"
    );
}

#[test]
fn a_resume_does_not_wait_forever_for_a_trainer_that_ignores_the_pause() {
    // The first run ignores SIGTERM (so does its `sleep`: an ignored signal stays ignored
    // across exec); the second, after the resume, succeeds at once.
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let script = format!(
        "if [ -e {m} ]; then echo '{{\"type\": \"result\", \"model_dir\": \"m\", \"trained_tokens\": 1}}'; exit 0; fi\n\
         touch {m}\ntrap '' TERM\n\
         echo '{{\"type\": \"metrics\", \"step\": 1, \"train_loss\": 0.5}}'\nsleep 300\n",
        m = mark.display()
    );
    let jobs = open_with_sh(dir.path(), &script);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "stubborn");
    wait(&jobs, &j.id, "the first step", |_| {
        messages(&jobs, &j.id).iter().any(|e| e.1 == "metrics")
    });
    assert_eq!(jobs.pause("p", &j.id).unwrap().status, Status::Paused);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(jobs.resume("p", &j.id).unwrap().status, Status::Queued);
    wait(
        &jobs,
        &j.id,
        "success after resume",
        status(Status::Succeeded),
    );
    assert!(messages(&jobs, &j.id)
        .iter()
        .any(|e| e.0 == "warn" && e.2.contains("has not exited yet")));
    jobs.shutdown(Duration::from_secs(2));
}

#[test]
fn crashes_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 2);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let crash = create(&jobs, "p", &f, "crash");
    let garbage = create(&jobs, "p", &f, "garbage");
    let noresult = create(&jobs, "p", &f, "noresult");
    let c = wait(&jobs, &crash.id, "failure", status(Status::Failed));
    let err = c.error.unwrap();
    assert_eq!(err["code"], "trainer_failed");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("code 1") && msg.contains("CUDA out of memory (fake)"),
        "{msg}"
    );
    let g = wait(&jobs, &garbage.id, "success", status(Status::Succeeded));
    let warns = messages(&jobs, &g.id)
        .into_iter()
        .filter(|e| e.0 == "warn")
        .count();
    assert_eq!(warns, 18, "three garbage lines per step");
    let n = wait(&jobs, &noresult.id, "failure", status(Status::Failed));
    assert!(n.error.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("without a result"));
}

#[test]
fn pause_resume_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 1);
    let f = upload(&jobs, "p", &vec![chat(); 10]);
    let j = create(&jobs, "p", &f, "slow");
    let queued_behind = create(&jobs, "p", &f, "x");
    wait(&jobs, &j.id, "running", status(Status::Running));
    // FIFO with max_jobs 1: the second waits.
    wait(&jobs, &queued_behind.id, "queued", status(Status::Queued));
    assert!(jobs
        .resume("p", &j.id)
        .unwrap_err()
        .message
        .contains("status running"));
    wait(&jobs, &j.id, "a checkpoint", |_| {
        !jobs
            .checkpoints("p", &j.id, None, 1, gradekit_jobs::Order::NewestFirst)
            .unwrap()
            .data
            .is_empty()
    });
    let p = jobs.pause("p", &j.id).unwrap();
    assert_eq!(p.status, Status::Paused);
    assert!(jobs
        .pause("p", &j.id)
        .unwrap_err()
        .message
        .contains("status paused"));
    // The trainer checkpoints at SIGTERM; then the queue moves on.
    wait(&jobs, &queued_behind.id, "the next job", |j| {
        j.status != Status::Queued
    });
    let last = jobs
        .checkpoints("p", &j.id, None, 1, gradekit_jobs::Order::NewestFirst)
        .unwrap()
        .data[0]
        .step_number;
    assert!(last >= 2);
    jobs.resume("p", &j.id).unwrap();
    let done = wait(
        &jobs,
        &j.id,
        "success after resume",
        status(Status::Succeeded),
    );
    let spec: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("jobs").join(&j.id).join("spec.json")).unwrap(),
    )
    .unwrap();
    assert!(spec["resume_from"]
        .as_str()
        .unwrap()
        .ends_with(&format!("checkpoint-{last}")));
    assert!(messages(&jobs, &done.id)
        .iter()
        .any(|e| e.2 == format!("fake trainer: resuming after step {last}")));

    // Cancel a running job: it ends at once and its trainer is gone.
    let c = create(&jobs, "p", &f, "slow-long");
    wait(&jobs, &c.id, "running", status(Status::Running));
    let pid_file = dir.path().join("jobs").join(&c.id).join("spec.json");
    assert!(pid_file.exists());
    let cancelled = jobs.cancel("p", &c.id).unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    std::thread::sleep(Duration::from_millis(1500));
    let after = jobs.job("p", &c.id).unwrap();
    assert_eq!(after.status, Status::Cancelled);
    let n = jobs
        .events("p", &c.id, None, 1000, gradekit_jobs::Order::NewestFirst)
        .unwrap()
        .data
        .len();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        jobs.events("p", &c.id, None, 1000, gradekit_jobs::Order::NewestFirst)
            .unwrap()
            .data
            .len(),
        n,
        "no events after cancel"
    );
    assert!(jobs
        .cancel("p", &c.id)
        .unwrap_err()
        .message
        .contains("status cancelled"));
    // A queued job can be cancelled and paused too.
    let q = create(&jobs, "p", &f, "slow-long");
    let q2 = create(&jobs, "p", &f, "slow");
    wait(&jobs, &q2.id, "queued", status(Status::Queued));
    assert_eq!(jobs.pause("p", &q2.id).unwrap().status, Status::Paused);
    assert_eq!(jobs.cancel("p", &q2.id).unwrap().status, Status::Cancelled);
    jobs.cancel("p", &q.id).unwrap();
    jobs.shutdown(Duration::from_secs(2));
}

#[test]
fn bad_files_fail_in_validation() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = open(dir.path(), 1);
    let few = upload(&jobs, "p", &vec![chat(); 3]);
    let j = create(&jobs, "p", &few, "");
    let j = wait(&jobs, &j.id, "failure", status(Status::Failed));
    assert_eq!(
        j.error.unwrap(),
        json!({"code": "invalid_n_examples", "param": "training_file",
        "message": "Training file has 3 example(s), but must have at least 10 examples"})
    );
    // Reinforcement: an item path that does not resolve on line 4 of the validation file.
    let grader = json!({"type": "string_check", "name": "g", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"});
    let line = json!({"messages": [{"role": "user", "content": "q"}], "answer": "a"});
    let train = upload(&jobs, "p", &vec![line.clone(); 10]);
    let mut v = vec![line; 5];
    v[3] = json!({"messages": [{"role": "user", "content": "q"}], "answr": "a"});
    let valid = upload(&jobs, "p", &v);
    let j = jobs
        .create_job(
            "p",
            &json!({"model": "tiny", "training_file": train, "validation_file": valid,
        "method": {"type": "reinforcement", "reinforcement": {"grader": grader}}}),
        )
        .unwrap();
    let j = wait(&jobs, &j.id, "failure", status(Status::Failed));
    let e = j.error.unwrap();
    assert_eq!(
        (e["code"].as_str(), e["param"].as_str()),
        (Some("invalid_validation_file"), Some("validation_file"))
    );
    assert!(
        e["message"].as_str().unwrap().contains("Line 4")
            && e["message"].as_str().unwrap().contains("item.answer"),
        "{e}"
    );
    // Create-time refusals name their param.
    let e = jobs
        .create_job("p", &json!({"model": "nope", "training_file": train}))
        .unwrap_err();
    assert_eq!(e.param.as_deref(), Some("model"));
    let e = jobs
        .create_job("q", &json!({"model": "tiny", "training_file": train}))
        .unwrap_err();
    assert_eq!(e.param.as_deref(), Some("training_file"));
    let e = jobs.create_job("p", &json!({"model": "tiny", "training_file": train, "method": {"type": "reinforcement",
        "reinforcement": {"grader": {"type": "multi", "graders": {"a": grader}, "calculate_output": "b"}}}})).unwrap_err();
    assert_eq!(
        e.param.as_deref(),
        Some("method.reinforcement.grader.calculate_output")
    );
}

fn row(id: &str, status: Status) -> JobRow {
    JobRow {
        id: id.into(),
        project: "p".into(),
        created_at: 1,
        status,
        model: "tiny".into(),
        training_file: "file-x".into(),
        validation_file: None,
        suffix: None,
        seed: 1,
        method: json!({"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": 1}}}),
        hyperparameters: json!({}),
        metadata: None,
        integrations: None,
        error: None,
        fine_tuned_model: None,
        finished_at: None,
        trained_tokens: None,
        estimated_finish: None,
        result_files: vec![],
        model_name: format!("ft:tiny:gradekit::{id}"),
        organization_id: "org-gradekit".into(),
        model_dir: None,
        n_examples: Some(10),
        started_at: None,
        total_steps: None,
    }
}

#[test]
fn a_restart_resumes_or_fails_running_jobs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp").join("half-upload"), "x").unwrap();
    {
        let mut s = Store::open(&gradekit_jobs::lifecycle::db_path(dir.path())).unwrap();
        for (id, st) in [
            ("ftjob-withckpt", Status::Running),
            ("ftjob-without", Status::Running),
            ("ftjob-queued", Status::Paused),
        ] {
            s.insert_job(&row(id, st), &[NewEvent::info("Created")])
                .unwrap();
            let d: PathBuf = dir.path().join("jobs").join(id);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("training.jsonl"), format!("{}\n", chat()).repeat(10)).unwrap();
        }
        let ck = dir.path().join("ck");
        std::fs::create_dir_all(&ck).unwrap();
        std::fs::write(ck.join("step"), "4").unwrap();
        s.insert_checkpoint(
            &gradekit_jobs::store::CheckpointRow {
                id: "ftckpt_a".into(),
                job_id: "ftjob-withckpt".into(),
                project: "p".into(),
                created_at: 1,
                step_number: 4,
                name: "ft:tiny:gradekit::ftjob-withckpt:ckpt-step-4".into(),
                metrics: json!({"step": 4.0}),
                dir: ck.to_string_lossy().into(),
            },
            &[],
        )
        .unwrap();
    }
    let jobs = open(dir.path(), 1);
    assert!(!dir.path().join("tmp").join("half-upload").exists());
    let failed = jobs.job("p", "ftjob-without").unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.unwrap()["code"], "server_restarted");
    assert_eq!(
        jobs.job("p", "ftjob-queued").unwrap().status,
        Status::Paused
    );
    let done = wait(
        &jobs,
        "ftjob-withckpt",
        "success",
        status(Status::Succeeded),
    );
    let ev = messages(&jobs, &done.id);
    assert!(
        ev.iter()
            .any(|e| e.2.contains("resumes from its checkpoint at step 4")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.2 == "fake trainer: resuming after step 4"),
        "{ev:?}"
    );
}

#[test]
fn an_expired_file_goes_with_its_blob_at_start_and_when_files_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let blob = |id: &str| dir.path().join("files").join(id);
    std::fs::create_dir_all(dir.path().join("files")).unwrap();
    {
        // Expired while the server was down.
        let mut s = Store::open(&gradekit_jobs::lifecycle::db_path(dir.path())).unwrap();
        s.insert_file(&gradekit_jobs::store::FileRow {
            id: "file-expired".into(),
            project: "p".into(),
            bytes: 1,
            created_at: 1,
            filename: "old.jsonl".into(),
            purpose: "fine-tune".into(),
            expires_at: Some(3601),
        })
        .unwrap();
        std::fs::write(blob("file-expired"), "x").unwrap();
    }
    let jobs = open(dir.path(), 1);
    assert!(!blob("file-expired").exists());
    // Expires while the server runs (the route takes 3600 s at least; a past instant here).
    let tmp = jobs.upload_path();
    std::fs::write(&tmp, "x").unwrap();
    let f = jobs
        .commit_upload("p", &tmp, "t.jsonl", "fine-tune", 1, Some(-1))
        .unwrap();
    let kept = upload(&jobs, "p", &[chat()]);
    assert!(blob(&f.id).exists());
    assert_eq!(
        jobs.file("p", &f.id).unwrap_err().param.as_deref(),
        Some("file_id")
    );
    let page = jobs
        .list_files("p", None, 10, gradekit_jobs::Order::NewestFirst, None)
        .unwrap();
    assert_eq!(page.data.iter().map(|f| &f.id).collect::<Vec<_>>(), [&kept]);
    assert!(!blob(&f.id).exists() && blob(&kept).exists());
    let e = jobs.create_job("p", &json!({"model": "tiny", "training_file": f.id}));
    assert_eq!(e.unwrap_err().param.as_deref(), Some("training_file"));
}
