//! Uploaded files: insert, read, list (cursor pages per project), delete (with a tombstone).

use super::*;

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

    /// Deletes a file of `project`, leaving a tombstone so its id stays a cursor.
    pub fn delete_file(&mut self, project: &str, id: &str) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let filter = "id = ?1 AND project = ?2";
        Self::bury(&tx, "files", "project", filter, &[&id, &project])?;
        let n = tx.execute(
            &format!("DELETE FROM files WHERE {filter}"),
            params![id, project],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }
}
