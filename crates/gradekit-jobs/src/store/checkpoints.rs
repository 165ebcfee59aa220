//! Checkpoints of jobs and the permissions that share them across projects.

use super::*;

impl Store {
    /// Inserts a checkpoint, replacing an earlier one of the same step (a resumed run that
    /// saves the step again), with its event, in one transaction.
    pub fn insert_checkpoint(&mut self, c: &CheckpointRow, events: &[NewEvent]) -> Result<()> {
        let tx = self.conn.transaction()?;
        Self::bury(&tx, "checkpoints", "job_id", "name = ?1", &[&c.name])?;
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
        order: Order,
    ) -> Result<Page<CheckpointRow>> {
        let cur = self.cursor("checkpoints", after, ("job_id", job_id))?;
        let (cmp, dir, start) = order.sql();
        page(
            &self.conn,
            &format!(
                "SELECT * FROM checkpoints WHERE job_id = ?1 AND seq {cmp} ?2 AND deleted = 0
                 ORDER BY seq {dir}"
            ),
            &[&job_id, &cur.unwrap_or(start)],
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
        let (cmp, dir, start) = order.sql();
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

    /// Revokes a permission, leaving a tombstone so its id stays a cursor.
    pub fn delete_permission(&mut self, checkpoint: &str, id: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let filter = "id = ?1 AND checkpoint = ?2";
        Self::bury(
            &tx,
            "permissions",
            "checkpoint",
            filter,
            &[&id, &checkpoint],
        )?;
        let n = tx.execute(
            &format!("DELETE FROM permissions WHERE {filter}"),
            params![id, checkpoint],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }
}
