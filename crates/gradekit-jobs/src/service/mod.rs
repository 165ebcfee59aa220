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
//! last checkpoint once the paused run has ended — a trainer still running then gets the
//! cancel grace and is killed). Anything else is [`Kind::Invalid`](crate::Kind) naming the status.
//!
//! Layout: this module holds the configuration, opening and files; `jobs` the job requests
//! (create, list, cancel, pause, resume, events, checkpoints); `sharing` checkpoint permissions
//! and models; `export` copying a model or checkpoint out of the data directory.

mod export;
mod jobs;
mod sharing;

pub use export::export;

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
        let mut store = self.sh.store()?;
        for id in store.purge_expired_files()? {
            let _ = std::fs::remove_file(self.sh.cfg.data_dir.join("files").join(id));
        }
        store.list_files(project, after, limit, order, purpose)
    }

    pub fn delete_file(&self, project: &str, id: &str) -> Result<()> {
        if !self.sh.store()?.delete_file(project, id)? {
            return Err(not_found("file_id", "file", id));
        }
        // Jobs keep their own links to their files; this removes only the upload's name.
        let _ = std::fs::remove_file(self.sh.cfg.data_dir.join("files").join(id));
        Ok(())
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
