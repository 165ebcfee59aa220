//! Jobs and their events: one transaction per state change and its events.

use super::*;

impl Store {
    pub(super) fn write_events(tx: &Connection, job_id: &str, events: &[NewEvent]) -> Result<()> {
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

    /// Jobs in `order`, filtered in Rust by `keep` (metadata filters).
    pub fn list_jobs(
        &self,
        project: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        keep: impl Fn(&JobRow) -> bool,
    ) -> Result<Page<JobRow>> {
        let cur = self.cursor("jobs", after, ("project", project))?;
        let (cmp, dir, start) = order.sql();
        page(
            &self.conn,
            &format!("SELECT * FROM jobs WHERE project = ?1 AND seq {cmp} ?2 ORDER BY seq {dir}"),
            &[&project, &cur.unwrap_or(start)],
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
        order: Order,
    ) -> Result<Page<EventRow>> {
        let cur = self.cursor("events", after, ("job_id", job_id))?;
        let (cmp, dir, start) = order.sql();
        page(
            &self.conn,
            &format!("SELECT * FROM events WHERE job_id = ?1 AND seq {cmp} ?2 ORDER BY seq {dir}"),
            &[&job_id, &cur.unwrap_or(start)],
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
}
