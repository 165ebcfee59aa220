//! The SQLite store: files, jobs, events, checkpoints, permissions and deleted models.
//!
//! One database file in the data directory, WAL mode, `synchronous = NORMAL`: a committed
//! transaction survives the process being killed at any instant (only a power loss can take
//! back the last commits). Every state change is written together with its event in one
//! transaction ([`Store::save_job`]), so after a crash the job and its history agree.
//!
//! Ordering: every table has an `INTEGER PRIMARY KEY` sequence; lists are ordered by it (the
//! creation order; `created_at` has one-second resolution and would tie), and a cursor `after`
//! is the id of the last object of the previous page.
//!
//! JSON fields (method, metadata, error, metrics, event data) are stored as text and decoded
//! on read; they were validated before they were written.

use crate::error::{Error, Result};
use crate::ids::{new_id, now};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  project TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  filename TEXT NOT NULL,
  purpose TEXT NOT NULL,
  expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS jobs(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  project TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  queue_seq INTEGER NOT NULL DEFAULT 0,
  pid INTEGER,
  model_deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, queue_seq);
CREATE TABLE IF NOT EXISTS events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  job_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events(job_id, seq);
CREATE TABLE IF NOT EXISTS checkpoints(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  job_id TEXT NOT NULL,
  project TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  step_number INTEGER NOT NULL,
  name TEXT NOT NULL UNIQUE,
  metrics TEXT NOT NULL,
  dir TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS checkpoints_job ON checkpoints(job_id, seq);
CREATE TABLE IF NOT EXISTS permissions(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  checkpoint TEXT NOT NULL,
  project_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE(checkpoint, project_id)
);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

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

/// The database connection. Not `Sync`: the service keeps it behind a mutex.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let body: String = r.get("body")?;
    let status: String = r.get("status")?;
    let mut job: JobRow = serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    job.status = Status::parse(&status).unwrap_or(Status::Failed);
    Ok(job)
}

fn json_col(r: &Row<'_>, col: &str) -> rusqlite::Result<Option<Value>> {
    let s: Option<String> = r.get(col)?;
    Ok(s.and_then(|s| serde_json::from_str(&s).ok()))
}

fn file_from_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
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

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
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

fn checkpoint_from_row(r: &Row<'_>) -> rusqlite::Result<CheckpointRow> {
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

fn permission_from_row(r: &Row<'_>) -> rusqlite::Result<PermissionRow> {
    Ok(PermissionRow {
        id: r.get("id")?,
        checkpoint: r.get("checkpoint")?,
        project_id: r.get("project_id")?,
        created_at: r.get("created_at")?,
    })
}

fn enc(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// Reads a page of `sql` rows (which must select `seq` and be ordered) after the cursor:
/// `limit + 1` rows are fetched to know whether more follow; `keep` filters rows in Rust.
fn page<T>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    limit: usize,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut data = Vec::new();
    let mut has_more = false;
    while let Some(r) = rows.next()? {
        let t = map(r)?;
        if !keep(&t) {
            continue;
        }
        if data.len() == limit {
            has_more = true;
            break;
        }
        data.push(t);
    }
    Ok(Page { data, has_more })
}

impl Store {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// The next value of a persistent counter (queue positions).
    fn next_counter(tx: &Connection, name: &str) -> Result<i64> {
        tx.execute(
            "INSERT INTO counters(name, value) VALUES (?1, 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1",
            params![name],
        )?;
        Ok(tx.query_row(
            "SELECT value FROM counters WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?)
    }

    // ---- files ----

    pub fn insert_file(&mut self, f: &FileRow) -> Result<()> {
        self.conn.execute(
            "INSERT INTO files(id, project, bytes, created_at, filename, purpose, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                f.id,
                f.project,
                f.bytes,
                f.created_at,
                f.filename,
                f.purpose,
                f.expires_at
            ],
        )?;
        Ok(())
    }

    pub fn file(&self, project: &str, id: &str) -> Result<Option<FileRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM files WHERE id = ?1 AND project = ?2",
                params![id, project],
                file_from_row,
            )
            .optional()?)
    }

    /// Every file id (for removing blobs whose row was never committed).
    pub fn all_file_ids(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT id FROM files")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    fn seq_of(&self, table: &str, id: &str, scope: (&str, &str)) -> Result<Option<i64>> {
        let sql = format!("SELECT seq FROM {table} WHERE id = ?1 AND {} = ?2", scope.0);
        Ok(self
            .conn
            .query_row(&sql, params![id, scope.1], |r| r.get(0))
            .optional()?)
    }

    fn cursor(&self, table: &str, after: Option<&str>, scope: (&str, &str)) -> Result<Option<i64>> {
        match after {
            None => Ok(None),
            Some(a) => match self.seq_of(table, a, scope)? {
                Some(s) => Ok(Some(s)),
                None => Err(Error::invalid(
                    "invalid_cursor",
                    "after",
                    format!("`after` names no object of this list: {a:?}"),
                )),
            },
        }
    }

    pub fn list_files(
        &self,
        project: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        purpose: Option<&str>,
    ) -> Result<Page<FileRow>> {
        let cur = self.cursor("files", after, ("project", project))?;
        let (cmp, dir, start) = match order {
            Order::NewestFirst => ("<", "DESC", i64::MAX),
            Order::OldestFirst => (">", "ASC", i64::MIN),
        };
        let sql = format!(
            "SELECT * FROM files WHERE project = ?1 AND seq {cmp} ?2
             AND (?3 IS NULL OR purpose = ?3) ORDER BY seq {dir}"
        );
        page(
            &self.conn,
            &sql,
            &[&project, &cur.unwrap_or(start), &purpose],
            limit,
            file_from_row,
            |_| true,
        )
    }

    pub fn delete_file(&mut self, project: &str, id: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM files WHERE id = ?1 AND project = ?2",
            params![id, project],
        )? > 0)
    }

    // ---- jobs ----

    fn write_events(tx: &Connection, job_id: &str, events: &[NewEvent]) -> Result<()> {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events(id, job_id, created_at, level, message, type, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let t = now();
        for e in events {
            stmt.execute(params![
                new_id("ftevent-"),
                job_id,
                t,
                e.level,
                e.message,
                e.kind,
                e.data.as_ref().map(enc)
            ])?;
        }
        Ok(())
    }

    /// Inserts a new job with its first events, in one transaction.
    pub fn insert_job(&mut self, job: &JobRow, events: &[NewEvent]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let body = serde_json::to_string(job).map_err(|e| Error::internal(e.to_string()))?;
        tx.execute(
            "INSERT INTO jobs(id, project, created_at, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                job.id,
                job.project,
                job.created_at,
                job.status.as_str(),
                body
            ],
        )?;
        Self::write_events(&tx, &job.id, events)?;
        tx.commit()?;
        Ok(())
    }

    /// Writes a job's new state and its events in one transaction. `requeue` puts it at the
    /// back of the queue (a new queue position).
    pub fn save_job(&mut self, job: &JobRow, events: &[NewEvent], requeue: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let body = serde_json::to_string(job).map_err(|e| Error::internal(e.to_string()))?;
        tx.execute(
            "UPDATE jobs SET status = ?2, body = ?3 WHERE id = ?1",
            params![job.id, job.status.as_str(), body],
        )?;
        if requeue {
            let q = Self::next_counter(&tx, "queue")?;
            tx.execute(
                "UPDATE jobs SET queue_seq = ?2 WHERE id = ?1",
                params![job.id, q],
            )?;
        }
        Self::write_events(&tx, &job.id, events)?;
        tx.commit()?;
        Ok(())
    }

    /// Appends events to a job without changing it.
    pub fn add_events(&mut self, job_id: &str, events: &[NewEvent]) -> Result<()> {
        let tx = self.conn.transaction()?;
        Self::write_events(&tx, job_id, events)?;
        tx.commit()?;
        Ok(())
    }

    /// A job of `project` (any project when `None`).
    pub fn job(&self, project: Option<&str>, id: &str) -> Result<Option<JobRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM jobs WHERE id = ?1 AND (?2 IS NULL OR project = ?2)",
                params![id, project],
                job_from_row,
            )
            .optional()?)
    }

    /// Jobs newest first, filtered in Rust by `keep` (metadata filters).
    pub fn list_jobs(
        &self,
        project: &str,
        after: Option<&str>,
        limit: usize,
        keep: impl Fn(&JobRow) -> bool,
    ) -> Result<Page<JobRow>> {
        let cur = self.cursor("jobs", after, ("project", project))?;
        page(
            &self.conn,
            "SELECT * FROM jobs WHERE project = ?1 AND seq < ?2 ORDER BY seq DESC",
            &[&project, &cur.unwrap_or(i64::MAX)],
            limit,
            job_from_row,
            keep,
        )
    }

    /// Jobs in `status`, in queue order (oldest queue position first).
    pub fn jobs_in(&self, status: Status) -> Result<Vec<JobRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM jobs WHERE status = ?1 ORDER BY queue_seq, seq")?;
        let rows = stmt
            .query_map(params![status.as_str()], job_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The first queued job, if any.
    pub fn next_queued(&self) -> Result<Option<JobRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM jobs WHERE status = 'queued' ORDER BY queue_seq, seq LIMIT 1",
                [],
                job_from_row,
            )
            .optional()?)
    }

    /// Records the trainer's process id (a process group leader) of a running job.
    pub fn set_pid(&mut self, job_id: &str, pid: Option<i64>) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET pid = ?2 WHERE id = ?1",
            params![job_id, pid],
        )?;
        Ok(())
    }

    /// Jobs with a recorded trainer process id.
    pub fn recorded_pids(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid FROM jobs WHERE pid IS NOT NULL")?;
        let v = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    /// Marks a fine-tuned model deleted (it leaves `/v1/models`; the job keeps its name).
    pub fn delete_model_of(&mut self, job_id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET model_deleted = 1 WHERE id = ?1",
            params![job_id],
        )?;
        Ok(())
    }

    /// Succeeded jobs of `project` whose model was not deleted, oldest first.
    pub fn models_of(&self, project: &str) -> Result<Vec<JobRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM jobs WHERE project = ?1 AND status = 'succeeded' AND model_deleted = 0
             ORDER BY seq",
        )?;
        let v = stmt
            .query_map(params![project], job_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    /// The job whose fine-tuned model is `name` (deleted ones excluded).
    pub fn job_by_model(&self, name: &str) -> Result<Option<JobRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM jobs WHERE status = 'succeeded' AND model_deleted = 0
             AND json_extract(body, '$.fine_tuned_model') = ?1",
        )?;
        Ok(stmt.query_row(params![name], job_from_row).optional()?)
    }

    // ---- events ----

    pub fn list_events(
        &self,
        job_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<EventRow>> {
        let cur = self.cursor("events", after, ("job_id", job_id))?;
        page(
            &self.conn,
            "SELECT * FROM events WHERE job_id = ?1 AND seq < ?2 ORDER BY seq DESC",
            &[&job_id, &cur.unwrap_or(i64::MAX)],
            limit,
            event_from_row,
            |_| true,
        )
    }

    /// Every metrics event of a job, oldest first (for the results file).
    pub fn metrics_events(&self, job_id: &str) -> Result<Vec<EventRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM events WHERE job_id = ?1 AND type = 'metrics' ORDER BY seq",
        )?;
        let v = stmt
            .query_map(params![job_id], event_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    // ---- checkpoints ----

    /// Inserts a checkpoint, replacing an earlier one of the same step (a resumed run that
    /// saves the step again), with its event, in one transaction.
    pub fn insert_checkpoint(&mut self, c: &CheckpointRow, events: &[NewEvent]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM checkpoints WHERE name = ?1", params![c.name])?;
        tx.execute(
            "INSERT INTO checkpoints(id, job_id, project, created_at, step_number, name, metrics, dir)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![c.id, c.job_id, c.project, c.created_at, c.step_number, c.name, enc(&c.metrics), c.dir],
        )?;
        Self::write_events(&tx, &c.job_id, events)?;
        tx.commit()?;
        Ok(())
    }

    pub fn list_checkpoints(
        &self,
        job_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<CheckpointRow>> {
        let cur = self.cursor("checkpoints", after, ("job_id", job_id))?;
        page(
            &self.conn,
            "SELECT * FROM checkpoints WHERE job_id = ?1 AND seq < ?2 AND deleted = 0
             ORDER BY seq DESC",
            &[&job_id, &cur.unwrap_or(i64::MAX)],
            limit,
            checkpoint_from_row,
            |_| true,
        )
    }

    /// The newest checkpoint of a job (the one a resumed run starts from).
    pub fn last_checkpoint(&self, job_id: &str) -> Result<Option<CheckpointRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM checkpoints WHERE job_id = ?1 ORDER BY step_number DESC, seq DESC LIMIT 1",
                params![job_id],
                checkpoint_from_row,
            )
            .optional()?)
    }

    /// A checkpoint by its model name (`ft:…:ckpt-step-N`) or its `ftckpt_` id.
    pub fn checkpoint(&self, name_or_id: &str) -> Result<Option<CheckpointRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM checkpoints WHERE (name = ?1 OR id = ?1) AND deleted = 0",
                params![name_or_id],
                checkpoint_from_row,
            )
            .optional()?)
    }

    pub fn delete_checkpoint(&mut self, id: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE checkpoints SET deleted = 1 WHERE id = ?1",
            params![id],
        )?;
        tx.execute(
            "DELETE FROM permissions WHERE checkpoint = (SELECT name FROM checkpoints WHERE id = ?1)",
            params![id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Checkpoints a project may use: its own and those granted to it, oldest first.
    pub fn usable_checkpoints(&self, project: &str) -> Result<Vec<CheckpointRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM checkpoints WHERE deleted = 0 AND (project = ?1 OR name IN
               (SELECT checkpoint FROM permissions WHERE project_id = ?1)) ORDER BY seq",
        )?;
        let v = stmt
            .query_map(params![project], checkpoint_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    // ---- permissions ----

    /// Grants `project_ids` use of a checkpoint; an existing grant is returned as it is.
    pub fn grant(
        &mut self,
        checkpoint: &str,
        project_ids: &[String],
    ) -> Result<Vec<PermissionRow>> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::new();
        for p in project_ids {
            tx.execute(
                "INSERT OR IGNORE INTO permissions(id, checkpoint, project_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![new_id("cp_"), checkpoint, p, now()],
            )?;
            out.push(tx.query_row(
                "SELECT * FROM permissions WHERE checkpoint = ?1 AND project_id = ?2",
                params![checkpoint, p],
                permission_from_row,
            )?);
        }
        tx.commit()?;
        Ok(out)
    }

    pub fn list_permissions(
        &self,
        checkpoint: &str,
        project_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
        order: Order,
    ) -> Result<Page<PermissionRow>> {
        let cur = self.cursor("permissions", after, ("checkpoint", checkpoint))?;
        let (cmp, dir, start) = match order {
            Order::NewestFirst => ("<", "DESC", i64::MAX),
            Order::OldestFirst => (">", "ASC", i64::MIN),
        };
        let sql = format!(
            "SELECT * FROM permissions WHERE checkpoint = ?1 AND seq {cmp} ?2
             AND (?3 IS NULL OR project_id = ?3) ORDER BY seq {dir}"
        );
        page(
            &self.conn,
            &sql,
            &[&checkpoint, &cur.unwrap_or(start), &project_id],
            limit,
            permission_from_row,
            |_| true,
        )
    }

    pub fn delete_permission(&mut self, checkpoint: &str, id: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "DELETE FROM permissions WHERE id = ?1 AND checkpoint = ?2",
            params![id, checkpoint],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn file(project: &str, n: i64) -> FileRow {
        FileRow {
            id: new_id("file-"),
            project: project.into(),
            bytes: n,
            created_at: now(),
            filename: format!("f{n}.jsonl"),
            purpose: if n % 2 == 0 { "fine-tune" } else { "batch" }.into(),
            expires_at: None,
        }
    }

    #[test]
    fn file_pages_follow_the_cursor_and_stay_in_their_project() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let rows: Vec<FileRow> = (0..5).map(|n| file("a", n)).collect();
        for r in &rows {
            s.insert_file(r).unwrap();
        }
        s.insert_file(&file("b", 9)).unwrap();
        let p1 = s
            .list_files("a", None, 2, Order::NewestFirst, None)
            .unwrap();
        assert_eq!(p1.data.iter().map(|f| f.bytes).collect::<Vec<_>>(), [4, 3]);
        assert!(p1.has_more);
        let p2 = s
            .list_files("a", Some(&p1.data[1].id), 10, Order::NewestFirst, None)
            .unwrap();
        assert_eq!(
            p2.data.iter().map(|f| f.bytes).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        assert!(!p2.has_more);
        let asc = s
            .list_files("a", None, 10, Order::OldestFirst, Some("fine-tune"))
            .unwrap();
        assert_eq!(
            asc.data.iter().map(|f| f.bytes).collect::<Vec<_>>(),
            [0, 2, 4]
        );
        assert!(s.file("b", &rows[0].id).unwrap().is_none());
        let e = s.list_files("b", Some(&rows[0].id), 10, Order::NewestFirst, None);
        assert_eq!(e.unwrap_err().param.as_deref(), Some("after"));
    }
}
