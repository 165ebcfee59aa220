//! Control-plane overhead of the trainer protocol: what one stdout line of a trainer costs the
//! server until it is an event row (BENCHMARKS.md, "Jobs: control plane").
//!
//! 1. **store**: the statements the reader thread runs per metrics line — parse the line, read
//!    the job, write the job and its metrics event in one transaction (WAL, synchronous=NORMAL)
//!    — on one thread, `LINES` times; median of `REPEATS` runs.
//! 2. **end to end**: a job whose trainer prints `LINES` metrics lines as fast as it can
//!    (python), through the local backend, pipe, reader thread and store; wall time from the
//!    job's `running` to `succeeded` per line (an upper bound: it includes the trainer's own
//!    printing and the process start).
//!
//! `cargo run --release -p gradekit-jobs --example protocol_overhead [LINES]`

use gradekit_jobs::protocol::{metrics_message, parse_line, TrainerLine};
use gradekit_jobs::store::{NewEvent, Status, Store};
use gradekit_jobs::{Jobs, JobsConfig, LocalBackend, ModelRegistry};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPEATS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir()?;

    // 1. store
    let cfg_models = ModelRegistry::from_toml(&format!(
        "[models.tiny]\npath = \"{}\"\n",
        dir.path().display()
    ))?;
    let jobs = Jobs::open(
        {
            let mut c = JobsConfig::new(dir.path().join("data"));
            c.models = cfg_models;
            c
        },
        Arc::new(LocalBackend::new(&format!(
            "python3 -c 'import json,sys\nfor i in range(1,{lines}+1): sys.stdout.write(json.dumps({{\"type\":\"metrics\",\"step\":i,\"total_steps\":{lines},\"train_loss\":1.0/i,\"train_mean_token_accuracy\":0.5}})+\"\\n\")\nprint(json.dumps({{\"type\":\"result\",\"model_dir\":\"/x\",\"trained_tokens\":1}}))'"
        ))?),
    )?;
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]});
    let text: String = (0..10).map(|_| format!("{chat}\n")).collect();
    let tmp = jobs.upload_path();
    std::fs::write(&tmp, &text)?;
    let f = jobs.commit_upload("p", &tmp, "t.jsonl", "fine-tune", text.len() as u64, None)?;

    let mut store = Store::open(&dir.path().join("bench.sqlite3"))?;
    let template = jobs.create_job("p", &json!({"model": "tiny", "training_file": f.id}))?;
    let mut per_line = Vec::new();
    for r in 0..REPEATS {
        let mut job = template.clone();
        job.id = format!("ftjob-bench{r}");
        job.status = Status::Running;
        store.insert_job(&job, &[])?;
        let raw: Vec<String> = (1..=lines)
            .map(|i| json!({"type": "metrics", "step": i, "total_steps": lines, "train_loss": 1.0 / i as f64, "train_mean_token_accuracy": 0.5}).to_string())
            .collect();
        let t = Instant::now();
        for l in &raw {
            let TrainerLine::Metrics {
                step,
                total_steps,
                data,
            } = parse_line(l.as_bytes())
            else {
                return Err("not a metrics line".into());
            };
            let mut j = store.job(None, &job.id)?.ok_or("job")?;
            j.total_steps = total_steps;
            let ev = NewEvent {
                kind: "metrics",
                data: Some(serde_json::Value::Object(data.clone())),
                ..NewEvent::info(metrics_message(step, total_steps, &data))
            };
            store.save_job(&j, &[ev], false)?;
        }
        per_line.push(t.elapsed().as_secs_f64() / lines as f64);
    }
    println!(
        "store: {lines} metrics lines x {REPEATS}: median {:.1} us per line (min {:.1})",
        median(per_line.clone()) * 1e6,
        per_line.iter().copied().fold(f64::INFINITY, f64::min) * 1e6
    );

    // 2. end to end
    let mut e2e = Vec::new();
    for _ in 0..REPEATS {
        let j = jobs.create_job("p", &json!({"model": "tiny", "training_file": f.id}))?;
        let mut started = None;
        let until = Instant::now() + Duration::from_secs(600);
        loop {
            let now = jobs.job("p", &j.id)?;
            if now.status == Status::Running && started.is_none() {
                started = Some(Instant::now());
            }
            if now.status == Status::Succeeded {
                break;
            }
            if now.status.is_final() || Instant::now() > until {
                return Err(format!("job ended {:?} {:?}", now.status, now.error).into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let n = jobs
            .events(
                "p",
                &j.id,
                None,
                lines + 100,
                gradekit_jobs::Order::NewestFirst,
            )?
            .data
            .iter()
            .filter(|e| e.kind == "metrics")
            .count();
        if n != lines {
            return Err(format!("{n} metrics events, expected {lines}").into());
        }
        e2e.push(started.map_or(0.0, |s| s.elapsed().as_secs_f64()) / lines as f64);
    }
    println!("end to end: {lines} lines through the local backend x {REPEATS}: median {:.1} us per line (min {:.1})",
        median(e2e.clone()) * 1e6, e2e.iter().copied().fold(f64::INFINITY, f64::min) * 1e6);
    jobs.shutdown(Duration::from_secs(1));
    Ok(())
}
