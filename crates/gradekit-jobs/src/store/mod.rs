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
//!
//! Layout: this module opens the database and holds the list/page helpers; [`rows`] the row
//! types; `files`, `jobs` (with events) and `checkpoints` (with permissions) the queries of
//! each table group, as `impl Store` blocks.

mod checkpoints;
mod files;
mod jobs;
mod rows;

pub use rows::*;

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

/// The database connection. Not `Sync`: the service keeps it behind a mutex.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
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
