//! Job requests: create (validated, queued for file validation), read, list, cancel, pause,
//! resume, and the job's events and checkpoints.

use super::*;

impl Jobs {
    /// Creates a job from a job-create body (validated, see [`crate::request`]).
    pub fn create_job(&self, project: &str, body: &Value) -> Result<JobRow> {
        let req = request::parse(body, &crate::engine_for(&self.sh.cfg.engine, project)).map_err(
            |errs| {
                let message = errs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                let param = errs.first().map(|e| e.path.clone()).unwrap_or_default();
                Error::invalid("invalid_request", param, message)
            },
        )?;
        if !self.sh.cfg.models.models.contains_key(&req.model) {
            let known: Vec<&str> = self
                .sh
                .cfg
                .models
                .models
                .keys()
                .map(String::as_str)
                .collect();
            return Err(Error::invalid(
                "model_not_available",
                "model",
                format!(
                    "Model {:?} is not available for fine-tuning on this server (its --models registry has: {})",
                    req.model,
                    if known.is_empty() { "nothing".to_string() } else { known.join(", ") }
                ),
            ));
        }
        let id = new_id("ftjob-");
        let dir = job_dir_of(&self.sh.cfg.data_dir, &id);
        std::fs::create_dir_all(&dir)?;
        let result = self.create_job_in(project, req, id, &dir);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    fn create_job_in(
        &self,
        project: &str,
        req: request::JobRequest,
        id: String,
        dir: &Path,
    ) -> Result<JobRow> {
        let mut store = self.sh.store()?;
        let link = |file_id: &str, param: &str, name: &str| -> Result<()> {
            let f = store.file(project, file_id)?.ok_or_else(|| {
                Error::invalid(
                    "invalid_file",
                    param,
                    format!("invalid {param}: no file {file_id:?} in this project"),
                )
            })?;
            if f.purpose != "fine-tune" {
                return Err(Error::invalid(
                    "invalid_file",
                    param,
                    format!(
                        "{param} {file_id:?} has purpose '{}'; upload it with purpose 'fine-tune'",
                        f.purpose
                    ),
                ));
            }
            let src = self.sh.cfg.data_dir.join("files").join(&f.id);
            let dst = dir.join(name);
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst)?;
            }
            Ok(())
        };
        link(&req.training_file, "training_file", "training.jsonl")?;
        if let Some(v) = &req.validation_file {
            link(v, "validation_file", "validation.jsonl")?;
        }
        let job_suffix: String = id.trim_start_matches("ftjob-").chars().take(8).collect();
        let org = &self.sh.cfg.organization_id;
        let model_name = format!(
            "ft:{}:{}:{}:{}",
            req.model,
            org.strip_prefix("org-").unwrap_or(org),
            req.suffix.as_deref().unwrap_or(""),
            job_suffix
        );
        let (method, hyperparameters) = request::resolve(&req.method, req.method_type, None);
        let seed = req.seed.unwrap_or_else(|| {
            let s = random_alnum(8);
            s.bytes()
                .fold(0i64, |a, b| (a * 31 + i64::from(b)) % 2_147_483_647)
        });
        let job = JobRow {
            id: id.clone(),
            project: project.to_string(),
            created_at: now(),
            status: Status::ValidatingFiles,
            model: req.model,
            training_file: req.training_file.clone(),
            validation_file: req.validation_file.clone(),
            suffix: req.suffix,
            seed,
            method,
            hyperparameters,
            metadata: req.metadata.map(Value::Object),
            integrations: req.integrations,
            error: None,
            fine_tuned_model: None,
            finished_at: None,
            trained_tokens: None,
            estimated_finish: None,
            result_files: vec![],
            model_name,
            organization_id: org.clone(),
            model_dir: None,
            n_examples: None,
            started_at: None,
            total_steps: None,
        };
        let mut validating = format!("Validating training file: {}", req.training_file);
        if let Some(v) = &req.validation_file {
            validating.push_str(&format!(" and validation file: {v}"));
        }
        store.insert_job(
            &job,
            &[
                NewEvent::info(format!("Created fine-tuning job: {id}")),
                NewEvent::info(validating),
            ],
        )?;
        drop(store);
        self.sh.enqueue_validation(&id);
        Ok(job)
    }

    pub fn job(&self, project: &str, id: &str) -> Result<JobRow> {
        self.sh
            .store()?
            .job(Some(project), id)?
            .ok_or_else(|| not_found("fine_tuning_job_id", "fine-tuning job", id))
    }

    pub fn list_jobs(
        &self,
        project: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        filter: Option<&MetadataFilter>,
    ) -> Result<Page<JobRow>> {
        let keep = |j: &JobRow| match filter {
            None => true,
            Some(MetadataFilter::Null) => j.metadata.is_none(),
            Some(MetadataFilter::Pairs(p)) => p.iter().all(|(k, v)| {
                j.metadata
                    .as_ref()
                    .and_then(|m| m.get(k))
                    .and_then(Value::as_str)
                    == Some(v.as_str())
            }),
        };
        self.sh
            .store()?
            .list_jobs(project, after, limit, order, keep)
    }

    fn refuse(job: &JobRow, verb: &str, done: &str, allowed: &str) -> Error {
        Error::invalid(
            "invalid_job_status",
            "fine_tuning_job_id",
            format!(
                "Cannot {verb} job {} with status {}: only {allowed} jobs can be {done}",
                job.id,
                job.status.as_str(),
            ),
        )
    }

    /// Cancels a job that has not finished.
    pub fn cancel(&self, project: &str, id: &str) -> Result<JobRow> {
        let mut store = self.sh.store()?;
        let mut job = store
            .job(Some(project), id)?
            .ok_or_else(|| not_found("fine_tuning_job_id", "fine-tuning job", id))?;
        if job.status.is_final() {
            return Err(Self::refuse(
                &job,
                "cancel",
                "cancelled",
                "validating_files, queued, running or paused",
            ));
        }
        job.status = Status::Cancelled;
        job.finished_at = Some(now());
        job.estimated_finish = None;
        store.save_job(&job, &[NewEvent::info("Fine-tuning job cancelled")], false)?;
        drop(store);
        self.sh.stop_run(id, true);
        self.sh.wake();
        Ok(job)
    }

    /// Pauses a queued or running job.
    pub fn pause(&self, project: &str, id: &str) -> Result<JobRow> {
        let mut store = self.sh.store()?;
        let mut job = store
            .job(Some(project), id)?
            .ok_or_else(|| not_found("fine_tuning_job_id", "fine-tuning job", id))?;
        let was_running = match job.status {
            Status::Running => true,
            Status::Queued => false,
            _ => return Err(Self::refuse(&job, "pause", "paused", "queued or running")),
        };
        job.status = Status::Paused;
        job.estimated_finish = None;
        let msg = if was_running {
            "Pausing fine-tuning job: the trainer saves a checkpoint and stops"
        } else {
            "Fine-tuning job paused"
        };
        store.save_job(&job, &[NewEvent::info(msg)], false)?;
        drop(store);
        if was_running {
            self.sh.stop_run(id, false);
        }
        Ok(job)
    }

    /// Resumes a paused job: it goes to the back of the queue and restarts from its last
    /// checkpoint.
    pub fn resume(&self, project: &str, id: &str) -> Result<JobRow> {
        let mut store = self.sh.store()?;
        let mut job = store
            .job(Some(project), id)?
            .ok_or_else(|| not_found("fine_tuning_job_id", "fine-tuning job", id))?;
        if job.status != Status::Paused {
            return Err(Self::refuse(&job, "resume", "resumed", "paused"));
        }
        job.status = Status::Queued;
        // The paused run's trainer may still be stopping (saving its checkpoint), or may
        // ignore SIGTERM altogether: the job restarts once it has ended, so a trainer that
        // outlives the pause gets the cancel grace and is then killed, never waited for
        // forever.
        let mut events = vec![NewEvent::info("Fine-tuning job resumed")];
        let still_running = self.sh.is_running(id);
        if still_running {
            events.push(NewEvent::warn(format!(
                "The paused run's trainer has not exited yet: it is stopped (killed after {} ms) \
                 before the job restarts",
                self.sh.cfg.cancel_grace.as_millis()
            )));
        }
        store.save_job(&job, &events, true)?;
        drop(store);
        if still_running {
            self.sh.stop_run(id, true);
        }
        self.sh.wake();
        Ok(job)
    }

    pub fn events(
        &self,
        project: &str,
        id: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
    ) -> Result<Page<EventRow>> {
        let job = self.job(project, id)?;
        self.sh.store()?.list_events(&job.id, after, limit, order)
    }

    pub fn checkpoints(
        &self,
        project: &str,
        id: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
    ) -> Result<Page<CheckpointRow>> {
        let job = self.job(project, id)?;
        self.sh
            .store()?
            .list_checkpoints(&job.id, after, limit, order)
    }
}
