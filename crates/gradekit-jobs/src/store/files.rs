//! Uploaded files: insert, read, list (cursor pages per project), delete (with a tombstone).
//! A file whose `expires_at` has passed is gone: never read or listed, purged by the service.

use super::*;

/// The condition "not expired yet", `now` naming the SQL parameter that holds the time now.
fn live(now: &str) -> String {
    format!("(expires_at IS NULL OR expires_at > {now})")
}

impl Store {
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

    /// A file of `project`; none once its `expires_at` has passed.
    pub fn file(&self, project: &str, id: &str) -> Result<Option<FileRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT * FROM files WHERE id = ?1 AND project = ?2 AND {}",
                    live("?3")
                ),
                params![id, project, now()],
                file_from_row,
            )
            .optional()?)
    }

    /// Deletes every file whose `expires_at` has passed, with tombstones (OpenAI deletes a file
    /// once it expires); returns their ids, whose blobs the caller removes.
    pub fn purge_expired_files(&mut self) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let filter = "expires_at IS NOT NULL AND expires_at <= ?1";
        let t = now();
        let ids = {
            let mut stmt = tx.prepare(&format!("SELECT id FROM files WHERE {filter}"))?;
            let v = stmt
                .query_map(params![t], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            v
        };
        if !ids.is_empty() {
            Self::bury(&tx, "files", "project", filter, &[&t])?;
            tx.execute(&format!("DELETE FROM files WHERE {filter}"), params![t])?;
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Every file id (for removing blobs whose row was never committed).
    pub fn all_file_ids(&self) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT id FROM files")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
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
        let (cmp, dir, start) = order.sql();
        let sql = format!(
            "SELECT * FROM files WHERE project = ?1 AND seq {cmp} ?2
             AND (?3 IS NULL OR purpose = ?3) AND {} ORDER BY seq {dir}",
            live("?4")
        );
        page(
            &self.conn,
            &sql,
            &[&project, &cur.unwrap_or(start), &purpose, &now()],
            limit,
            file_from_row,
            |_| true,
        )
    }

    /// Deletes a live file of `project`, leaving a tombstone so its id stays a cursor.
    pub fn delete_file(&mut self, project: &str, id: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let filter = format!("id = ?1 AND project = ?2 AND {}", live("?3"));
        let t = now();
        Self::bury(&tx, "files", "project", &filter, &[&id, &project, &t])?;
        let n = tx.execute(
            &format!("DELETE FROM files WHERE {filter}"),
            params![id, project, t],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }
}
