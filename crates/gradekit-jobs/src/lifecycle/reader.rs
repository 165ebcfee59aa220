//! One reader per running trainer: each stdout line of the protocol is one transaction (event,
//! metrics event and `estimated_finish`, checkpoint and event); at EOF the exit and the
//! `result` line decide how the job ends (DESIGN §8, [`crate::protocol`]).

use super::*;

/// Reads the protocol until EOF, then ends the job according to the exit.
pub(super) fn read_run(sh: &Arc<Shared>, id: &str, run: &dyn Run) {
    let mut result = None;
    let mut last_metrics = None;
    if let Some(out) = run.stdout() {
        let mut r = BufReader::with_capacity(64 * 1024, out);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match (&mut r)
                .take(protocol::MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = if buf.len() > protocol::MAX_LINE && buf.last() != Some(&b'\n') {
                // Skip the rest of the oversized line.
                let mut sink = Vec::new();
                loop {
                    sink.clear();
                    match (&mut r).take(1 << 20).read_until(b'\n', &mut sink) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if sink.last() == Some(&b'\n') => break,
                        Ok(_) => {}
                    }
                }
                TrainerLine::Garbage {
                    why: format!(
                        "trainer output line longer than {} bytes ignored",
                        protocol::MAX_LINE
                    ),
                }
            } else {
                let trimmed = buf.strip_suffix(b"\n").unwrap_or(&buf);
                if gradekit_engine::is_blank_line(trimmed) {
                    continue;
                }
                protocol::parse_line(trimmed)
            };
            if let Err(e) = apply_line(sh, id, line, &mut result, &mut last_metrics) {
                eprintln!("gradekit jobs: {id}: {e}");
            }
        }
    }
    let exit = run.wait();
    if let Err(e) = finish(sh, id, &exit, result) {
        eprintln!("gradekit jobs: {id}: {e}");
    }
}

/// Records one protocol line (one transaction).
fn apply_line(
    sh: &Shared,
    id: &str,
    line: TrainerLine,
    result: &mut Option<(String, i64)>,
    last_metrics: &mut Option<(i64, serde_json::Map<String, serde_json::Value>)>,
) -> Result<()> {
    let mut store = sh.store()?;
    let Some(mut job) = store.job(None, id)? else {
        return Ok(());
    };
    if job.status.is_final() {
        return Ok(()); // a cancelled trainer's last words
    }
    match line {
        TrainerLine::Event { level, message } => {
            let e = NewEvent {
                level,
                ..NewEvent::info(message)
            };
            store.add_events(id, &[e])
        }
        TrainerLine::Metrics {
            step,
            total_steps,
            data,
        } => {
            if let Some(t) = total_steps {
                job.total_steps = Some(t);
            }
            let total = job.total_steps;
            if let (Status::Running, Some(t), Some(start)) = (job.status, total, job.started_at) {
                if step > 0 && step <= t {
                    let elapsed = (now() - start).max(0) as f64;
                    job.estimated_finish =
                        Some(now() + (elapsed * (t - step) as f64 / step as f64) as i64);
                }
            }
            let message = protocol::metrics_message(step, total, &data);
            *last_metrics = Some((step, data.clone()));
            let mut data = data;
            data.insert("step".into(), step.into());
            if let Some(t) = total {
                data.entry("total_steps").or_insert(t.into());
            }
            let ev = NewEvent {
                kind: "metrics",
                data: Some(serde_json::Value::Object(data)),
                ..NewEvent::info(message)
            };
            store.save_job(&job, &[ev], false)
        }
        TrainerLine::Checkpoint { step, dir, metrics } => {
            let dir = in_job_dir(sh, id, dir);
            // A metric the checkpoint line leaves out is the one its step reported, if any.
            let mut metrics = metrics.unwrap_or_default();
            if let Some((_, data)) = last_metrics.as_ref().filter(|(s, _)| *s == step) {
                for (k, v) in data {
                    metrics.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            let c = CheckpointRow {
                id: new_id("ftckpt_"),
                job_id: id.to_string(),
                project: job.project.clone(),
                created_at: now(),
                step_number: step,
                name: format!("{}:ckpt-step-{step}", job.model_name),
                metrics: crate::wire::checkpoint_metrics(step, Some(&metrics)),
                dir,
            };
            store.insert_checkpoint(
                &c,
                &[NewEvent::info(format!("Checkpoint created at step {step}"))],
            )
        }
        TrainerLine::Result {
            model_dir,
            trained_tokens,
        } => {
            *result = Some((in_job_dir(sh, id, model_dir), trained_tokens));
            Ok(())
        }
        TrainerLine::Garbage { why } => store.add_events(id, &[NewEvent::warn(why)]),
    }
}

/// A directory the trainer named, absolute: a relative one is relative to the trainer's
/// working directory, the job's directory (both backends start it there), so that
/// `resume_from`, `gradekit jobs export` and deletes find it from anywhere.
fn in_job_dir(sh: &Shared, id: &str, dir: String) -> String {
    if Path::new(&dir).is_absolute() {
        return dir;
    }
    sh.job_dir(id).join(dir).to_string_lossy().into_owned()
}

/// Ends a run (see the module docs of [`crate::service`] for the states).
fn finish(sh: &Arc<Shared>, id: &str, exit: &Exit, result: Option<(String, i64)>) -> Result<()> {
    let mut store = sh.store()?;
    let Some(mut job) = store.job(None, id)? else {
        return Ok(());
    };
    if !matches!(job.status, Status::Running | Status::Paused) {
        return Ok(());
    }
    let ok = exit.code == Some(0);
    if let (Some((model_dir, tokens)), true) = (&result, ok) {
        let results = results_file(sh, &mut store, &job)?;
        job.status = Status::Succeeded;
        job.fine_tuned_model = Some(job.model_name.clone());
        job.model_dir = Some(model_dir.clone());
        job.trained_tokens = Some(*tokens);
        job.finished_at = Some(now());
        job.estimated_finish = None;
        job.result_files = vec![results];
        let name = job.model_name.clone();
        return store.save_job(
            &job,
            &[
                NewEvent::info(format!("New fine-tuned model created: {name}")),
                NewEvent::info("The job has successfully completed"),
            ],
            false,
        );
    }
    let tail = exit.stderr_tail.join("\n");
    let why = match exit.code {
        Some(0) => "the trainer exited without a result".to_string(),
        Some(c) => format!("the trainer exited with code {c}"),
        None => "the trainer was killed by a signal".to_string(),
    };
    let message = if tail.is_empty() {
        why.clone()
    } else {
        format!("{why}; last stderr lines:\n{tail}")
    };
    if job.status == Status::Paused {
        if !ok {
            store.add_events(id, &[NewEvent::warn(format!("While pausing, {message}"))])?;
        } else {
            store.add_events(id, &[NewEvent::info("Fine-tuning job paused")])?;
        }
        return Ok(());
    }
    if sh.stopping.load(Ordering::SeqCst) {
        return Ok(()); // stays running: resumed on the next start
    }
    fail(&mut store, &mut job, "trainer_failed", &message)
}

/// Writes the results CSV (OpenAI's columns) from the job's metrics events as a
/// `fine-tune-results` file of the job's project; returns its id. One row per step, in step
/// order: a step done again after a resume from an earlier checkpoint keeps its last metrics.
fn results_file(sh: &Shared, store: &mut Store, job: &JobRow) -> Result<String> {
    let mut rows = std::collections::BTreeMap::new();
    for e in store.metrics_events(&job.id)? {
        let d = e.data.unwrap_or_default();
        let col = |k: &str| {
            d.get(k)
                .and_then(|v| v.as_f64())
                .map(|x| x.to_string())
                .unwrap_or_default()
        };
        let acc = d
            .get("train_accuracy")
            .or_else(|| d.get("train_mean_token_accuracy"));
        let step = d
            .get("step")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default();
        rows.insert(
            step,
            format!(
                "{},{},{},{},{}\n",
                col("step"),
                col("train_loss"),
                acc.and_then(|v| v.as_f64())
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                col("valid_loss"),
                col("valid_mean_token_accuracy"),
            ),
        );
    }
    let mut csv =
        String::from("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n");
    csv.extend(rows.into_values());
    let id = new_id("file-");
    let path = sh.cfg.data_dir.join("files").join(&id);
    let tmp = sh.cfg.data_dir.join("tmp").join(&id);
    std::fs::write(&tmp, csv.as_bytes())?;
    std::fs::rename(&tmp, &path)?;
    store.insert_file(&FileRow {
        id: id.clone(),
        project: job.project.clone(),
        bytes: csv.len() as i64,
        created_at: now(),
        filename: "step_metrics.csv".into(),
        purpose: "fine-tune-results".into(),
        expires_at: None,
    })?;
    Ok(id)
}
