//! The `ray` backend against a fake Ray Jobs REST API (a thread speaking HTTP/1.1), and —
//! when `GRADEKIT_RAY_ADDRESS` names a real dashboard (`ray start --head`) — against Ray.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gradekit_jobs::ray::RayBackend;
use gradekit_jobs::{Backend, Launch};
use serde_json::{json, Value};

#[derive(Default)]
struct Fake {
    submissions: Vec<Value>,
    logs: String,
    status: String,
    stops: usize,
    polls: usize,
    /// Log lines released one per status poll.
    script: Vec<String>,
    /// Written when a stop arrives (then the job is STOPPED).
    on_stop: Vec<String>,
    exit_code: Option<i64>,
}

fn respond(s: &mut TcpStream, status: u16, body: &Value, chunked: bool) {
    let text = body.to_string();
    if chunked {
        let (a, b) = text.split_at(text.len() / 2);
        let _ = write!(
            s,
            "HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
    } else {
        let _ = write!(
            s,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
    }
}

fn serve(fake: Arc<Mutex<Fake>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut parts = first.split_whitespace();
            let (method, path) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            );
            let mut f = fake.lock().unwrap();
            match (method.as_str(), path.as_str()) {
                ("POST", "/api/jobs/") => {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    f.status = "RUNNING".into();
                    let id = v["submission_id"].clone();
                    f.submissions.push(v);
                    respond(
                        &mut s,
                        200,
                        &json!({"job_id": "raysubmit_1", "submission_id": id}),
                        false,
                    );
                }
                ("POST", p) if p.ends_with("/stop") => {
                    f.stops += 1;
                    let lines = std::mem::take(&mut f.on_stop);
                    for line in lines {
                        f.logs.push_str(&line);
                        f.logs.push('\n');
                    }
                    f.script.clear();
                    f.status = "STOPPED".into();
                    respond(&mut s, 200, &json!({"stopped": true}), false);
                }
                ("GET", p) if p.ends_with("/logs") => {
                    let logs = f.logs.clone();
                    respond(&mut s, 200, &json!({"logs": logs}), true);
                }
                ("GET", _) => {
                    f.polls += 1;
                    if !f.script.is_empty() {
                        let line = f.script.remove(0);
                        f.logs.push_str(&line);
                    } else if f.status == "RUNNING" && f.on_stop.is_empty() {
                        f.status = if f.exit_code == Some(0) {
                            "SUCCEEDED"
                        } else {
                            "FAILED"
                        }
                        .into();
                    }
                    let mut info = json!({"status": f.status, "message": "Job entrypoint command failed with exit code 1, last available logs:\nboom"});
                    if f.status != "RUNNING" && f.status != "STOPPED" {
                        info["driver_exit_code"] = json!(f.exit_code);
                    }
                    respond(&mut s, 200, &info, false);
                }
                _ => respond(&mut s, 404, &json!("not found"), false),
            }
        }
    });
    addr
}

fn launch(dir: &std::path::Path) -> Launch {
    Launch {
        job_id: "ftjob-abc".into(),
        spec_path: dir.join("spec.json"),
        job_dir: dir.to_path_buf(),
    }
}

fn read_all(run: &dyn gradekit_jobs::Run) -> Vec<Value> {
    let mut text = String::new();
    run.stdout().unwrap().read_to_string(&mut text).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn submits_streams_protocol_lines_and_keeps_stderr() {
    let fake = Arc::new(Mutex::new(Fake {
        script: vec![
            "loading the model...\n".into(),
            "{\"type\":\"metrics\",\"step\":1,\"train_loss\":0.5}\n{\"type\":\"event\",".into(),
            "\"level\":\"info\",\"message\":\"m\"}\nWarning: something\n".into(),
            "{\"type\":\"result\",\"model_dir\":\"/m\",\"trained_tokens\":3}".into(),
        ],
        exit_code: Some(0),
        ..Fake::default()
    }));
    let addr = serve(fake.clone());
    let dir = tempfile::tempdir().unwrap();
    let b = RayBackend::new(&addr, "python3 -m gradekit.train")
        .unwrap()
        .with_poll(Duration::from_millis(5));
    assert_eq!(b.name(), "ray");
    let run = b.start(&launch(dir.path())).unwrap();
    let lines = read_all(run.as_ref());
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "metrics");
    assert_eq!(lines[1]["message"], "m"); // a line split across polls comes out whole
    assert_eq!(lines[2]["type"], "result"); // the last line, without a newline
    let exit = run.wait();
    assert_eq!(exit.code, Some(0));
    assert_eq!(
        exit.stderr_tail,
        ["loading the model...", "Warning: something"]
    );
    let f = fake.lock().unwrap();
    let sub = &f.submissions[0];
    let entry = sub["entrypoint"].as_str().unwrap();
    assert!(entry.starts_with(&format!(
        "cd '{}' && exec 'python3' '-m' 'gradekit.train' '",
        dir.path().display()
    )));
    assert!(entry.ends_with("spec.json'"));
    assert_eq!(
        sub["runtime_env"]["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"],
        "120"
    );
    assert!(sub["submission_id"]
        .as_str()
        .unwrap()
        .starts_with("gradekit-ftjob-abc-"));
    assert_eq!(
        run.handle()
            .map(|h| format!("gradekit-ftjob-abc-{h}"))
            .as_deref(),
        sub["submission_id"].as_str()
    );
}

#[test]
fn failure_keeps_the_exit_code_and_rays_message() {
    let fake = Arc::new(Mutex::new(Fake {
        script: vec!["Traceback: oops\n".into()],
        exit_code: Some(1),
        ..Fake::default()
    }));
    let addr = serve(fake);
    let dir = tempfile::tempdir().unwrap();
    let b = RayBackend::new(&addr, "t")
        .unwrap()
        .with_poll(Duration::from_millis(5));
    let run = b.start(&launch(dir.path())).unwrap();
    assert!(read_all(run.as_ref()).is_empty());
    let exit = run.wait();
    assert_eq!(exit.code, Some(1));
    assert_eq!(
        exit.stderr_tail,
        [
            "Traceback: oops",
            "ray: Job entrypoint command failed with exit code 1, last available logs:"
        ]
    );
}

#[test]
fn stop_with_a_checkpoint_is_a_clean_pause_and_reap_stops_by_handle() {
    let fake = Arc::new(Mutex::new(Fake {
        script: vec!["{\"type\":\"metrics\",\"step\":1}\n".into(); 1000],
        on_stop: vec!["{\"type\":\"checkpoint\",\"step\":2,\"dir\":\"/c\"}".into()],
        ..Fake::default()
    }));
    let addr = serve(fake.clone());
    let dir = tempfile::tempdir().unwrap();
    let b = RayBackend::new(&addr, "t")
        .unwrap()
        .with_poll(Duration::from_millis(5));
    let run = b.start(&launch(dir.path())).unwrap();
    let mut out = BufReader::new(run.stdout().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("metrics"));
    run.stop();
    let rest: Vec<String> = out.lines().map(|l| l.unwrap()).collect();
    assert!(rest.last().unwrap().contains("checkpoint"));
    assert_eq!(run.wait().code, Some(0));
    b.reap_orphan(run.handle().unwrap(), &launch(dir.path()));
    assert_eq!(fake.lock().unwrap().stops, 2);
}

#[test]
fn unreachable_cluster_is_an_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let b = RayBackend::new("http://127.0.0.1:1", "t").unwrap();
    assert!(b.start(&launch(dir.path())).is_err());
    assert!(RayBackend::new("https://x:1", "t").is_err());
}

/// Against a real head: `ray start --head` then GRADEKIT_RAY_ADDRESS=http://127.0.0.1:8265.
#[test]
fn real_ray_head_runs_the_fake_trainer() {
    let Ok(addr) = std::env::var("GRADEKIT_RAY_ADDRESS") else {
        eprintln!("GRADEKIT_RAY_ADDRESS not set: skipped");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let trainer = root
        .join("tests/trainer/fake_trainer.py")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    let spec = json!({"job_id": "ftjob-abc", "method": {"type": "supervised"}, "model": {"name": "m", "path": "/m"},
        "training_file": "/t", "validation_file": null, "output_dir": out, "seed": 1,
        "resume_from": null, "suffix": "garbage", "integrations": null});
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    let b = RayBackend::new(&addr, &format!("python3 {}", trainer.display())).unwrap();
    let run = b.start(&launch(dir.path())).unwrap();
    let lines = read_all(run.as_ref());
    assert!(lines.iter().any(|l| l["type"] == "metrics"), "{lines:?}");
    assert_eq!(lines.last().unwrap()["type"], "result", "{lines:?}");
    assert_eq!(run.wait().code, Some(0));
}

/// Pause through Ray's stop on a real head: SIGTERM → checkpoint → exit 0 → a clean pause.
#[test]
fn real_ray_head_pauses_the_fake_trainer() {
    let Ok(addr) = std::env::var("GRADEKIT_RAY_ADDRESS") else {
        eprintln!("GRADEKIT_RAY_ADDRESS not set: skipped");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let trainer = root
        .join("tests/trainer/fake_trainer.py")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    let spec = json!({"job_id": "ftjob-abc", "method": {"type": "supervised"}, "model": {"name": "m", "path": "/m"},
        "training_file": "/t", "validation_file": null, "output_dir": out, "seed": 1,
        "resume_from": null, "suffix": "slow-long", "integrations": null});
    std::fs::write(dir.path().join("spec.json"), spec.to_string()).unwrap();
    let b = RayBackend::new(&addr, &format!("python3 {}", trainer.display())).unwrap();
    let run = b.start(&launch(dir.path())).unwrap();
    let mut out = BufReader::new(run.stdout().unwrap());
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "ended before any metrics"
        );
        if line.contains("\"metrics\"") {
            break;
        }
    }
    run.stop();
    let rest: Vec<String> = out.lines().map(|l| l.unwrap()).collect();
    assert!(
        rest.iter().any(|l| l.contains("\"checkpoint\"")),
        "{rest:?}"
    );
    assert!(!rest.iter().any(|l| l.contains("\"result\"")), "{rest:?}");
    assert_eq!(run.wait().code, Some(0));
}

/// The whole job lifecycle on the `ray` backend (real head, fake trainer): success, pause →
/// checkpoint → resume from it → success, cancel.
#[test]
fn real_ray_head_runs_the_job_lifecycle() {
    use gradekit_jobs::{Jobs, JobsConfig, ModelRegistry, Status};
    let Ok(addr) = std::env::var("GRADEKIT_RAY_ADDRESS") else {
        eprintln!("GRADEKIT_RAY_ADDRESS not set: skipped");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let trainer = root
        .join("tests/trainer/fake_trainer.py")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = JobsConfig::new(dir.path());
    cfg.cancel_grace = Duration::from_millis(500);
    cfg.models = ModelRegistry::from_toml(&format!(
        "[models.tiny]\npath = \"{}\"\n",
        dir.path().display()
    ))
    .unwrap();
    let backend = RayBackend::new(&addr, &format!("python3 {}", trainer.display()))
        .unwrap()
        .with_poll(Duration::from_millis(100));
    let jobs = Jobs::open(cfg, Arc::new(backend)).unwrap();
    let line = json!({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]});
    let text: String = (0..10).map(|_| format!("{line}\n")).collect();
    let tmp = jobs.upload_path();
    std::fs::write(&tmp, &text).unwrap();
    let file = jobs
        .commit_upload("p", &tmp, "t.jsonl", "fine-tune", text.len() as u64, None)
        .unwrap()
        .id;
    let create = |suffix: &str| {
        jobs.create_job(
            "p",
            &json!({"model": "tiny", "training_file": file, "suffix": suffix}),
        )
        .unwrap()
        .id
    };
    let wait = |id: &str, what: &str, cond: &dyn Fn(&gradekit_jobs::store::JobRow) -> bool| {
        let until = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let j = jobs.job("p", id).unwrap();
            if cond(&j) {
                return j;
            }
            assert!(
                std::time::Instant::now() < until,
                "waiting for {what}: {:?} {:?}",
                j.status,
                j.error
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let ok = create("garbage");
    let j = wait(&ok, "success", &|j| j.status == Status::Succeeded);
    assert!(j.trained_tokens.is_some());

    let id = create("slow");
    wait(&id, "a checkpoint", &|_| {
        !jobs
            .checkpoints("p", &id, None, 1, gradekit_jobs::Order::NewestFirst)
            .unwrap()
            .data
            .is_empty()
    });
    assert_eq!(jobs.pause("p", &id).unwrap().status, Status::Paused);
    let has = |m: &str| {
        jobs.events("p", &id, None, 1000, gradekit_jobs::Order::NewestFirst)
            .unwrap()
            .data
            .iter()
            .any(|e| e.message.contains(m))
    };
    wait(&id, "the paused trainer's exit", &|_| {
        has("Fine-tuning job paused")
    });
    jobs.resume("p", &id).unwrap();
    wait(&id, "success after resume", &|j| {
        j.status == Status::Succeeded
    });

    let id = create("slow-long");
    wait(&id, "running", &|j| j.status == Status::Running);
    assert_eq!(jobs.cancel("p", &id).unwrap().status, Status::Cancelled);
}
