//! The jobs service: what the API routes call. Files, jobs and their state changes,
//! events, checkpoints, permissions and models, each scoped to the caller's project.
//!
//! Every method is synchronous and quick (a few SQLite statements under one mutex); the
//! long-running work — validating files, running trainers — happens on the service's own
//! threads ([`crate::lifecycle`]). The HTTP layer calls these from a blocking pool.
//!
//! **State machine** (DESIGN §8): `validating_files → queued → running → succeeded | failed |
//! cancelled`, plus `paused`. Allowed requests: cancel from any non-final status; pause from
//! `queued` or `running` (a running trainer gets SIGTERM, saves a checkpoint and exits; the
//! job shows `paused` at once); resume from `paused` (back of the queue, restarted from its
//! last checkpoint). Anything else is [`Kind::Invalid`](crate::Kind) naming the status.

use crate::backend::Backend;
use crate::config::{is_project_id, ModelRegistry};
use crate::error::{Error, Result};
use crate::ids::{is_id, new_id, now, random_alnum};
use crate::lifecycle::Shared;
use crate::request::{self, MethodType};
use crate::store::{
    CheckpointRow, EventRow, FileRow, JobRow, NewEvent, Order, Page, PermissionRow, Status,
};
use gradekit_engine::EngineOptions;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default largest upload: 512 MiB (OpenAI's per-file limit).
pub const DEFAULT_MAX_UPLOAD: u64 = 512 * 1024 * 1024;
/// Longest file name kept.
pub const MAX_FILENAME: usize = 255;
/// Most project ids in one permission request.
pub const MAX_PROJECT_IDS: usize = 100;
/// The file purposes accepted at upload.
pub const PURPOSES: [&str; 8] = [
    "fine-tune",
    "fine-tune-results",
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "vision",
    "user_data",
];

/// Settings of the service.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub data_dir: PathBuf,
    /// Trainers running at once.
    pub max_jobs: usize,
    /// `organization_id` of jobs; its part after `org-` names fine-tuned models.
    pub organization_id: String,
    pub models: ModelRegistry,
    /// Compiles reinforcement graders at create time.
    pub engine: EngineOptions,
    /// Time a cancelled trainer gets between SIGTERM and SIGKILL.
    pub cancel_grace: Duration,
}

impl JobsConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        JobsConfig {
            data_dir: data_dir.into(),
            max_jobs: 1,
            organization_id: "org-gradekit".into(),
            models: ModelRegistry::default(),
            engine: EngineOptions::default(),
            cancel_grace: Duration::from_secs(5),
        }
    }
}

/// The service handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub(crate) sh: Arc<Shared>,
}

/// A metadata filter of the job list.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataFilter {
    /// `metadata[k]=v` pairs, all must match.
    Pairs(Vec<(String, String)>),
    /// `metadata=null`: jobs without metadata.
    Null,
}

fn not_found(param: &str, what: &str, id: &str) -> Error {
    Error::not_found(param, format!("No {what} found with id {id:?}"))
}

fn job_dir_of(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("jobs").join(id)
}

impl Jobs {
    /// Opens the data directory (creating it), recovers from an earlier run (see
    /// [`crate::lifecycle`]) and starts the service's threads.
    pub fn open(cfg: JobsConfig, backend: Arc<dyn Backend>) -> Result<Jobs> {
        if cfg.max_jobs == 0 {
            return Err(Error::invalid(
                "invalid_config",
                "max_jobs",
                "--max-jobs must be at least 1",
            ));
        }
        crate::lifecycle::start(cfg, backend).map(|sh| Jobs { sh })
    }

    pub fn config(&self) -> &JobsConfig {
        &self.sh.cfg
    }

    /// Stops the service: running trainers get SIGTERM (they checkpoint), then SIGKILL after
    /// `grace`; their jobs stay `running` in the store and resume on the next start.
    pub fn shutdown(&self, grace: Duration) {
        crate::lifecycle::shutdown(&self.sh, grace);
    }

    // ---- files ----

    /// A fresh path under the data directory's `tmp/` for an upload in progress (removed on
    /// the next start if the upload never completes).
    pub fn upload_path(&self) -> PathBuf {
        self.sh.cfg.data_dir.join("tmp").join(random_alnum(24))
    }

    /// Checks a purpose and a file name before an upload is stored.
    pub fn check_upload(purpose: &str, filename: &str) -> Result<()> {
        if !PURPOSES.contains(&purpose) {
            return Err(Error::invalid(
                "invalid_value",
                "purpose",
                format!("'{purpose}' is not one of {}", PURPOSES.join(", ")),
            ));
        }
        if filename.is_empty()
            || filename.len() > MAX_FILENAME
            || filename.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "invalid_value",
                "file",
                format!(
                    "the file name must be 1 to {MAX_FILENAME} bytes without control characters"
                ),
            ));
        }
        Ok(())
    }

    /// Stores a completed upload: the temporary file is renamed into `files/` and then
    /// recorded, so a crash leaves either no file or a complete one.
    pub fn commit_upload(
        &self,
        project: &str,
        tmp: &Path,
        filename: &str,
        purpose: &str,
        bytes: u64,
        expires_after: Option<i64>,
    ) -> Result<FileRow> {
        Self::check_upload(purpose, filename)?;
        let id = new_id("file-");
        let created_at = now();
        let row = FileRow {
            id: id.clone(),
            project: project.to_string(),
            bytes: bytes as i64,
            created_at,
            filename: filename.to_string(),
            purpose: purpose.to_string(),
            expires_at: expires_after.map(|s| created_at + s),
        };
        let dest = self.sh.cfg.data_dir.join("files").join(&id);
        std::fs::rename(tmp, &dest)?;
        let r = self.sh.store()?.insert_file(&row);
        if let Err(e) = r {
            let _ = std::fs::remove_file(&dest);
            return Err(e);
        }
        Ok(row)
    }

    pub fn file(&self, project: &str, id: &str) -> Result<FileRow> {
        self.sh
            .store()?
            .file(project, id)?
            .ok_or_else(|| not_found("file_id", "file", id))
    }

    /// The file's content on disk.
    pub fn file_content(&self, project: &str, id: &str) -> Result<(FileRow, PathBuf)> {
        let f = self.file(project, id)?;
        let p = self.sh.cfg.data_dir.join("files").join(&f.id);
        Ok((f, p))
    }

    pub fn list_files(
        &self,
        project: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        purpose: Option<&str>,
    ) -> Result<Page<FileRow>> {
        self.sh
            .store()?
            .list_files(project, after, limit, order, purpose)
    }

    pub fn delete_file(&self, project: &str, id: &str) -> Result<()> {
        if !self.sh.store()?.delete_file(project, id)? {
            return Err(not_found("file_id", "file", id));
        }
        // Jobs keep their own links to their files; this removes only the upload's name.
        let _ = std::fs::remove_file(self.sh.cfg.data_dir.join("files").join(id));
        Ok(())
    }

    // ---- jobs ----

    /// Creates a job from a job-create body (validated, see [`crate::request`]).
    pub fn create_job(&self, project: &str, body: &Value) -> Result<JobRow> {
        let req = request::parse(body, &self.sh.cfg.engine).map_err(|errs| {
            let message = errs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            let param = errs.first().map(|e| e.path.clone()).unwrap_or_default();
            Error::invalid("invalid_request", param, message)
        })?;
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
        self.sh.store()?.list_jobs(project, after, limit, keep)
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
        store.save_job(&job, &[NewEvent::info("Fine-tuning job resumed")], true)?;
        drop(store);
        self.sh.wake();
        Ok(job)
    }

    pub fn events(
        &self,
        project: &str,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<EventRow>> {
        let job = self.job(project, id)?;
        self.sh.store()?.list_events(&job.id, after, limit)
    }

    pub fn checkpoints(
        &self,
        project: &str,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<CheckpointRow>> {
        let job = self.job(project, id)?;
        self.sh.store()?.list_checkpoints(&job.id, after, limit)
    }

    // ---- permissions ----

    fn own_checkpoint(&self, project: &str, name: &str) -> Result<CheckpointRow> {
        let c = self.sh.store()?.checkpoint(name)?;
        c.filter(|c| c.project == project)
            .ok_or_else(|| not_found("fine_tuned_model_checkpoint", "checkpoint", name))
    }

    /// Grants `project_ids` use of one of the caller's checkpoints.
    pub fn grant(
        &self,
        project: &str,
        checkpoint: &str,
        body: &Value,
    ) -> Result<Vec<PermissionRow>> {
        let c = self.own_checkpoint(project, checkpoint)?;
        let ids = match body.get("project_ids") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_PROJECT_IDS => a,
            Some(Value::Array(_)) => {
                return Err(Error::invalid(
                    "invalid_value",
                    "project_ids",
                    format!("project_ids must list 1 to {MAX_PROJECT_IDS} project ids"),
                ))
            }
            _ => {
                return Err(Error::invalid(
                    "invalid_value",
                    "project_ids",
                    "missing required parameter project_ids (an array of project ids)",
                ))
            }
        };
        if let Some(k) = body
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "project_ids"))
        {
            return Err(Error::invalid(
                "invalid_value",
                k.clone(),
                format!("Unrecognized request argument supplied: {k}"),
            ));
        }
        let mut out = Vec::new();
        for (i, p) in ids.iter().enumerate() {
            match p.as_str() {
                Some(s) if is_project_id(s) => out.push(s.to_string()),
                _ => {
                    return Err(Error::invalid(
                        "invalid_value",
                        format!("project_ids[{i}]"),
                        "a project id is 1 to 64 ASCII letters, digits, '_' or '-'",
                    ))
                }
            }
        }
        self.sh.store()?.grant(&c.name, &out)
    }

    pub fn permissions(
        &self,
        project: &str,
        checkpoint: &str,
        project_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
        order: Order,
    ) -> Result<Page<PermissionRow>> {
        let c = self.own_checkpoint(project, checkpoint)?;
        self.sh
            .store()?
            .list_permissions(&c.name, project_id, after, limit, order)
    }

    pub fn revoke(&self, project: &str, checkpoint: &str, permission_id: &str) -> Result<()> {
        let c = self.own_checkpoint(project, checkpoint)?;
        if !self.sh.store()?.delete_permission(&c.name, permission_id)? {
            return Err(not_found(
                "permission_id",
                "checkpoint permission",
                permission_id,
            ));
        }
        Ok(())
    }

    // ---- models ----

    /// `/v1/models`: the registry's base models, the project's fine-tuned models and every
    /// checkpoint it may use (its own and those granted to it).
    pub fn models(&self, project: &str) -> Result<Vec<Value>> {
        let mut out: Vec<Value> = self
            .sh
            .cfg
            .models
            .models
            .keys()
            .map(|n| crate::wire::model(n, self.sh.started_at, "system"))
            .collect();
        let store = self.sh.store()?;
        for j in store.models_of(project)? {
            if let Some(m) = &j.fine_tuned_model {
                out.push(crate::wire::model(
                    m,
                    j.finished_at.unwrap_or(j.created_at),
                    &j.organization_id,
                ));
            }
        }
        for c in store.usable_checkpoints(project)? {
            out.push(crate::wire::model(
                &c.name,
                c.created_at,
                &self.sh.cfg.organization_id,
            ));
        }
        Ok(out)
    }

    pub fn model(&self, project: &str, id: &str) -> Result<Value> {
        self.models(project)?
            .into_iter()
            .find(|m| m["id"] == id)
            .ok_or_else(|| {
                Error::not_found(
                    "model",
                    format!("The model '{id}' does not exist or you do not have access to it."),
                )
            })
    }

    /// Deletes one of the project's fine-tuned models or checkpoints.
    pub fn delete_model(&self, project: &str, id: &str) -> Result<()> {
        let mut store = self.sh.store()?;
        if let Some(j) = store.job_by_model(id)? {
            if j.project == project {
                return store.delete_model_of(&j.id);
            }
        }
        if let Some(c) = store.checkpoint(id)? {
            if c.project == project && c.name == id {
                return store.delete_checkpoint(&c.id);
            }
        }
        drop(store);
        // Visible but not ours (a base model or a granted checkpoint): forbidden; else 404.
        self.model(project, id)?;
        Err(Error::forbidden("model", format!("You cannot delete the model '{id}': only fine-tuned models of your own project can be deleted")))
    }
}

/// The method type of a stored job.
pub(crate) fn method_type(job: &JobRow) -> MethodType {
    match job.method.get("type").and_then(Value::as_str) {
        Some("dpo") => MethodType::Dpo,
        Some("reinforcement") => MethodType::Reinforcement,
        _ => MethodType::Supervised,
    }
}

/// `gradekit jobs export`: copies the directory of a fine-tuned model (`ft:…`) or a checkpoint
/// (`ft:…:ckpt-step-N` or `ftckpt_…`) out of `data_dir` to `dest` (created; must not exist or
/// be empty). Returns the source directory.
pub fn export(data_dir: &Path, id: &str, dest: &Path) -> Result<PathBuf> {
    let store = crate::store::Store::open(&data_dir.join(crate::lifecycle::DB_NAME))?;
    let src = if let Some(c) = store.checkpoint(id)? {
        PathBuf::from(c.dir)
    } else if let Some(j) = store.job_by_model(id)? {
        j.model_dir
            .map(PathBuf::from)
            .ok_or_else(|| Error::not_found("model", format!("model {id:?} has no directory")))?
    } else {
        return Err(Error::not_found(
            "model",
            format!(
                "no fine-tuned model or checkpoint {id:?} in {}",
                data_dir.display()
            ),
        ));
    };
    if !src.is_dir() {
        return Err(Error::not_found(
            "model",
            format!("the directory of {id:?} ({}) is gone", src.display()),
        ));
    }
    if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
        return Err(Error::invalid(
            "invalid_value",
            "dest",
            format!("{} exists and is not empty", dest.display()),
        ));
    }
    copy_dir(&src, dest)?;
    Ok(src)
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let t = e.file_type()?;
        let to = dest.join(e.file_name());
        if t.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else if t.is_file() {
            std::fs::copy(e.path(), to)?;
        }
    }
    Ok(())
}

/// Parses `metadata[k]=v` pairs and `metadata=null` from decoded query pairs.
pub fn metadata_filter(pairs: &[(String, String)]) -> Result<Option<MetadataFilter>> {
    let mut out = Vec::new();
    let mut null = false;
    for (k, v) in pairs {
        if k == "metadata" {
            if v == "null" {
                null = true;
                continue;
            }
            return Err(Error::invalid(
                "invalid_value",
                "metadata",
                "use metadata[KEY]=VALUE or metadata=null",
            ));
        }
        if let Some(key) = k
            .strip_prefix("metadata[")
            .and_then(|r| r.strip_suffix(']'))
        {
            if key.is_empty() || key.chars().count() > request::MAX_METADATA_KEY {
                return Err(Error::invalid(
                    "invalid_value",
                    "metadata",
                    "metadata keys are 1 to 64 characters",
                ));
            }
            out.push((key.to_string(), v.clone()));
        }
    }
    if out.len() > request::MAX_METADATA_PAIRS {
        return Err(Error::invalid(
            "invalid_value",
            "metadata",
            "at most 16 metadata filters",
        ));
    }
    match (null, out.is_empty()) {
        (true, true) => Ok(Some(MetadataFilter::Null)),
        (true, false) => Err(Error::invalid(
            "invalid_value",
            "metadata",
            "metadata=null cannot be combined with metadata[k]=v",
        )),
        (false, true) => Ok(None),
        (false, false) => Ok(Some(MetadataFilter::Pairs(out))),
    }
}

/// A job's `error` object.
pub(crate) fn job_error(code: &str, message: &str, param: Option<&str>) -> Value {
    json!({"code": code, "message": message, "param": param})
}

/// True when `id` is shaped like an id of `prefix` (used by routes to answer 404 early).
pub fn looks_like(id: &str, prefix: &str) -> bool {
    is_id(id, prefix)
}
