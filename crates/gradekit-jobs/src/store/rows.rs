//! The rows of each table, as the service sees them, and their decoding from SQLite.

use rusqlite::Row;
use serde_json::Value;

/// An uploaded file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub id: String,
    pub project: String,
    pub bytes: i64,
    pub created_at: i64,
    pub filename: String,
    pub purpose: String,
    pub expires_at: Option<i64>,
}

/// Status of a job (OpenAI's six plus `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    ValidatingFiles,
    Queued,
    Running,
    Paused,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::ValidatingFiles => "validating_files",
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "validating_files" => Status::ValidatingFiles,
            "queued" => Status::Queued,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    /// Succeeded, failed and cancelled never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

/// A job: the wire fields plus what the lifecycle needs. Stored as one JSON `body` beside the
/// indexed columns (`status`, `queue_seq`), so adding a field needs no migration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JobRow {
    pub id: String,
    pub project: String,
    pub created_at: i64,
    #[serde(skip, default = "default_status")]
    pub status: Status,
    /// Base model name (a registry key).
    pub model: String,
    pub training_file: String,
    pub validation_file: Option<String>,
    pub suffix: Option<String>,
    pub seed: i64,
    /// The `method` as given, hyperparameters resolved once the files are validated.
    pub method: Value,
    /// The top-level `hyperparameters` (batch_size, learning_rate_multiplier, n_epochs).
    pub hyperparameters: Value,
    pub metadata: Option<Value>,
    pub integrations: Option<Value>,
    pub error: Option<Value>,
    pub fine_tuned_model: Option<String>,
    pub finished_at: Option<i64>,
    pub trained_tokens: Option<i64>,
    pub estimated_finish: Option<i64>,
    pub result_files: Vec<String>,
    /// `ft:BASE:ORG:SUFFIX:JOBSUFFIX`, fixed at creation (checkpoint names derive from it).
    pub model_name: String,
    pub organization_id: String,
    /// Where the final model is (the trainer's `result.model_dir`).
    pub model_dir: Option<String>,
    /// Examples counted while validating the training file.
    pub n_examples: Option<i64>,
    /// When the current run started, for `estimated_finish`.
    pub started_at: Option<i64>,
    /// Training steps the trainer announced.
    pub total_steps: Option<i64>,
}

fn default_status() -> Status {
    Status::ValidatingFiles
}

/// A new event to write with a state change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub level: &'static str,
    pub message: String,
    /// `message` or `metrics`.
    pub kind: &'static str,
    pub data: Option<Value>,
}

impl NewEvent {
    pub fn info(message: impl Into<String>) -> Self {
        NewEvent {
            level: "info",
            message: message.into(),
            kind: "message",
            data: None,
        }
    }
    pub fn warn(message: impl Into<String>) -> Self {
        NewEvent {
            level: "warn",
            ..NewEvent::info(message)
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        NewEvent {
            level: "error",
            ..NewEvent::info(message)
        }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub job_id: String,
    pub created_at: i64,
    pub level: String,
    pub message: String,
    pub kind: String,
    pub data: Option<Value>,
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointRow {
    pub id: String,
    pub job_id: String,
    pub project: String,
    pub created_at: i64,
    pub step_number: i64,
    /// `ft:…:ckpt-step-N`.
    pub name: String,
    pub metrics: Value,
    pub dir: String,
}

/// A checkpoint permission.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionRow {
    pub id: String,
    pub checkpoint: String,
    pub project_id: String,
    pub created_at: i64,
}

/// A page of a list: the rows and whether more follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
}

pub(super) fn job_from_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let body: String = r.get("body")?;
    let status: String = r.get("status")?;
    let mut job: JobRow = serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    job.status = Status::parse(&status).unwrap_or(Status::Failed);
    Ok(job)
}

pub(super) fn json_col(r: &Row<'_>, col: &str) -> rusqlite::Result<Option<Value>> {
    let s: Option<String> = r.get(col)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
}

pub(super) fn file_from_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get("id")?,
        project: r.get("project")?,
        bytes: r.get("bytes")?,
        created_at: r.get("created_at")?,
        filename: r.get("filename")?,
        purpose: r.get("purpose")?,
        expires_at: r.get("expires_at")?,
    })
}

pub(super) fn event_from_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: r.get("id")?,
        job_id: r.get("job_id")?,
        created_at: r.get("created_at")?,
        level: r.get("level")?,
        message: r.get("message")?,
        kind: r.get("type")?,
        data: json_col(r, "data")?,
    })
}

pub(super) fn checkpoint_from_row(r: &Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        id: r.get("id")?,
        job_id: r.get("job_id")?,
        project: r.get("project")?,
        created_at: r.get("created_at")?,
        step_number: r.get("step_number")?,
        name: r.get("name")?,
        metrics: json_col(r, "metrics")?.unwrap_or(Value::Null),
        dir: r.get("dir")?,
    })
}

pub(super) fn permission_from_row(r: &Row<'_>) -> rusqlite::Result<PermissionRow> {
    Ok(PermissionRow {
        id: r.get("id")?,
        checkpoint: r.get("checkpoint")?,
        project_id: r.get("project_id")?,
        created_at: r.get("created_at")?,
    })
}
