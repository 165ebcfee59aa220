//! Read-only views of a job's history for dashboards: events by position (pages, and what is
//! new since a position), every metrics event in step order, the checkpoints' steps.
//!
//! **Why a separate connection.** The service keeps its one read-write connection behind a
//! mutex that the trainers' event writes and every API call take. A dashboard drawing the
//! curves of a 100 000-step job reads 100 000 rows; doing that under the service's mutex would
//! stall training output and the API for as long. These reads open their own read-only
//! connection instead (SQLite in WAL mode lets readers run beside the writer, each on a
//! consistent snapshot), so a dashboard never blocks the service.
//!
//! **Positions.** Events are ordered by their store sequence number (`seq`), which only grows:
//! "events after position P" is exactly what arrived since a page showed P. The wire's cursors
//! (event ids) are kept for the API; positions are plain integers for the dashboard's URLs.
//!
//! Every read first checks that the job belongs to the caller's project (else
//! [`Kind::NotFound`](crate::Kind), as everywhere in the service).

use crate::error::{Error, Result};
use crate::lifecycle::DB_NAME;
use crate::service::Jobs;
use crate::store::{EventRow, Page};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use serde_json::{Map, Value};

/// An event and its position in its job's history.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqEvent {
    pub seq: i64,
    pub event: EventRow,
}

/// Most metrics events one call visits (a bound on the work of one dashboard request).
pub const MAX_METRICS_EVENTS: usize = 2_000_000;
/// Most checkpoints one call returns.
pub const MAX_CHECKPOINTS: usize = 10_000;

fn seq_event(r: &Row<'_>) -> rusqlite::Result<SeqEvent> {
    let data: Option<String> = r.get("data")?;
    Ok(SeqEvent {
        seq: r.get("seq")?,
        event: EventRow {
            id: r.get("id")?,
            job_id: r.get("job_id")?,
            created_at: r.get("created_at")?,
            level: r.get("level")?,
            message: r.get("message")?,
            kind: r.get("type")?,
            data: data.and_then(|s| serde_json::from_str(&s).ok()),
        },
    })
}

/// Rows of a newest-first query with `LIMIT limit + 1` as a page.
fn to_page(mut rows: Vec<SeqEvent>, limit: usize) -> Page<SeqEvent> {
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        data: rows,
        has_more,
    }
}

impl Jobs {
    /// A read-only connection, after checking that `job_id` is a job of `project`.
    fn reader(&self, project: &str, job_id: &str) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            self.config().data_dir.join(DB_NAME),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let found: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM jobs WHERE id = ?1 AND project = ?2",
                params![job_id, project],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_none() {
            return Err(Error::not_found(
                "fine_tuning_job_id",
                format!("No fine-tuning job found with id {job_id:?}"),
            ));
        }
        Ok(conn)
    }

    /// A job's events newest first, those before position `before` (all when `None`), at most
    /// `limit`; `has_more` when older ones remain.
    pub fn events_before(
        &self,
        project: &str,
        job_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Page<SeqEvent>> {
        let conn = self.reader(project, job_id)?;
        let mut stmt = conn.prepare(
            "SELECT * FROM events WHERE job_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(
                params![job_id, before.unwrap_or(i64::MAX), limit as i64 + 1],
                seq_event,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(to_page(rows, limit))
    }

    /// The events that arrived after position `after`, newest first, at most `limit`;
    /// `has_more` when more than `limit` arrived (the oldest of them are left out).
    pub fn events_after(
        &self,
        project: &str,
        job_id: &str,
        after: i64,
        limit: usize,
    ) -> Result<Page<SeqEvent>> {
        let conn = self.reader(project, job_id)?;
        let mut stmt = conn.prepare(
            "SELECT * FROM events WHERE job_id = ?1 AND seq > ?2 ORDER BY seq DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![job_id, after, limit as i64 + 1], seq_event)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(to_page(rows, limit))
    }

    /// Calls `visit(position, data)` for each metrics event of the job after position `after`,
    /// oldest first (at most [`MAX_METRICS_EVENTS`]); events whose data is not a JSON object
    /// are skipped. Returns the position of the newest event of the job (whatever its type),
    /// or `after` when there is none beyond it. Rows are streamed: nothing but the visitor's
    /// own state is kept in memory.
    pub fn each_metrics_event(
        &self,
        project: &str,
        job_id: &str,
        after: i64,
        mut visit: impl FnMut(i64, &Map<String, Value>),
    ) -> Result<i64> {
        let conn = self.reader(project, job_id)?;
        let last: Option<i64> = conn.query_row(
            "SELECT MAX(seq) FROM events WHERE job_id = ?1",
            params![job_id],
            |r| r.get(0),
        )?;
        let last = last.unwrap_or(after).max(after);
        let mut stmt = conn.prepare(
            "SELECT seq, data FROM events WHERE job_id = ?1 AND type = 'metrics' AND seq > ?2
             AND seq <= ?3 ORDER BY seq LIMIT ?4",
        )?;
        let mut rows = stmt.query(params![job_id, after, last, MAX_METRICS_EVENTS as i64])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let data: Option<String> = r.get(1)?;
            if let Some(Ok(Value::Object(m))) = data.map(|s| serde_json::from_str::<Value>(&s)) {
                visit(seq, &m);
            }
        }
        Ok(last)
    }

    /// The job's checkpoints as (step, model name), oldest first (deleted ones included: the
    /// curve still had them), at most [`MAX_CHECKPOINTS`].
    pub fn checkpoint_steps(&self, project: &str, job_id: &str) -> Result<Vec<(i64, String)>> {
        let conn = self.reader(project, job_id)?;
        let mut stmt = conn.prepare(
            "SELECT step_number, name FROM checkpoints WHERE job_id = ?1 ORDER BY seq LIMIT ?2",
        )?;
        let v = stmt
            .query_map(params![job_id, MAX_CHECKPOINTS as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }
}
