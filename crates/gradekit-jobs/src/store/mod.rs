//! The SQLite store: files, jobs, events, checkpoints, permissions and deleted models.
//!
//! One database file in the data directory, WAL mode, `synchronous = NORMAL`: a committed
//! transaction survives the process being killed at any instant (only a power loss can take
//! back the last commits). Every state change is written together with its event in one
//! transaction ([`Store::save_job`]), so after a crash the job and its history agree.
//!
//! Ordering: every table has an `INTEGER PRIMARY KEY` sequence; lists are ordered by it (the
//! creation order; `created_at` has one-second resolution and would tie), and a cursor `after`
//! is the id of the last object of the previous page. A deleted object leaves a tombstone (its
//! table, id, scope and sequence) so that its id stays a valid cursor: the official SDK pages
//! with `after = <last id of the page>`, and the common clean-up loop `for f in
//! client.files.list(): client.files.delete(f.id)` asks for the page after an object it has just
//! deleted.
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
CREATE TABLE IF NOT EXISTS tombstones(
  tbl TEXT NOT NULL,
  id TEXT NOT NULL,
  scope TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(tbl, id)
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

impl Order {
    /// (cursor comparison, `ORDER BY` direction, the cursor when there is none) of a list
    /// ordered by `seq` in this direction.
    pub(crate) fn sql(self) -> (&'static str, &'static str, i64) {
        match self {
            Order::NewestFirst => ("<", "DESC", i64::MAX),
            Order::OldestFirst => (">", "ASC", i64::MIN),
        }
    }
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

    /// The sequence of object `id` of `table` within `scope` (`(column, value)`), also when the
    /// object was deleted (its tombstone).
    fn seq_of(&self, table: &str, id: &str, scope: (&str, &str)) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT seq FROM {table} WHERE id = ?1 AND {} = ?2
             UNION ALL SELECT seq FROM tombstones WHERE tbl = ?3 AND id = ?1 AND scope = ?2",
            scope.0
        );
        Ok(self
            .conn
            .query_row(&sql, params![id, scope.1, table], |r| r.get(0))
            .optional()?)
    }

    /// Records tombstones of the rows of `table` that `filter` (a `WHERE` clause over `params`)
    /// selects, scoped by column `scope`; called in the transaction that deletes them.
    fn bury(
        tx: &Connection,
        table: &str,
        scope: &str,
        filter: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<()> {
        let sql = format!(
            "INSERT OR IGNORE INTO tombstones(tbl, id, scope, seq)
             SELECT '{table}', id, {scope}, seq FROM {table} WHERE {filter}"
        );
        tx.execute(&sql, args)?;
        Ok(())
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

    /// Pages of `list(after, limit)` followed until `has_more` is false, as the SDK does.
    fn walk<T>(
        limit: usize,
        id: impl Fn(&T) -> String,
        list: impl Fn(Option<&str>, usize) -> Result<Page<T>>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let p = list(after.as_deref(), limit)?;
            out.extend(p.data.iter().map(&id));
            if !p.has_more {
                return Ok(out);
            }
            after = out.last().cloned();
        }
    }

    #[test]
    fn a_deleted_file_stays_a_cursor_so_deleting_while_paging_sees_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let rows: Vec<FileRow> = (0..7).map(|n| file("a", n)).collect();
        for r in &rows {
            s.insert_file(r).unwrap();
        }
        s.insert_file(&file("b", 9)).unwrap();
        for order in [Order::NewestFirst, Order::OldestFirst] {
            let mut s2 = Store::open(&dir.path().join("db")).unwrap();
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                // The clean-up loop: each page's files are deleted before the next is asked for.
                let p = s2
                    .list_files("a", after.as_deref(), 2, order, None)
                    .unwrap();
                for f in &p.data {
                    assert!(s2.delete_file("a", &f.id).unwrap());
                    seen.push(f.bytes);
                }
                if !p.has_more {
                    break;
                }
                after = p.data.last().map(|f| f.id.clone());
            }
            let mut want: Vec<i64> = (0..7).collect();
            if order == Order::NewestFirst {
                want.reverse();
            }
            assert_eq!(seen, want, "{order:?}");
            for r in &rows {
                s2.insert_file(&FileRow {
                    id: new_id("file-"),
                    ..r.clone()
                })
                .unwrap();
            }
        }
        // A tombstone is a cursor of its own list only: not of another project's.
        let e = s.list_files("b", Some(&rows[0].id), 10, Order::NewestFirst, None);
        assert_eq!(e.unwrap_err().param.as_deref(), Some("after"));
        let e = s.list_files("a", Some("file-never"), 10, Order::NewestFirst, None);
        assert_eq!(e.unwrap_err().param.as_deref(), Some("after"));
    }

    #[test]
    fn a_revoked_permission_and_a_replaced_checkpoint_stay_cursors() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let ids: Vec<String> = (0..5).map(|n| format!("proj_{n}")).collect();
        let granted = s.grant("ck", &ids).unwrap();
        s.grant("other", &ids[..1]).unwrap();
        let list =
            |s: &Store, after: Option<&str>, order| s.list_permissions("ck", None, after, 2, order);
        let first = list(&s, None, Order::OldestFirst).unwrap();
        for p in &first.data {
            assert!(s.delete_permission("ck", &p.id).unwrap());
        }
        let rest = walk(
            2,
            |p: &PermissionRow| p.id.clone(),
            |a, _| list(&s, a.or(Some(&first.data[1].id)), Order::OldestFirst),
        )
        .unwrap();
        let want: Vec<String> = granted[2..].iter().map(|p| p.id.clone()).collect();
        assert_eq!(rest, want);
        let e = s.list_permissions("other", None, Some(&granted[0].id), 2, Order::NewestFirst);
        assert_eq!(e.unwrap_err().param.as_deref(), Some("after"));

        let ck = |id: &str, step| CheckpointRow {
            id: id.into(),
            job_id: "ftjob-1".into(),
            project: "a".into(),
            created_at: now(),
            step_number: step,
            name: format!("ft:m:o::x:ckpt-step-{step}"),
            metrics: serde_json::json!({}),
            dir: "d".into(),
        };
        for (id, step) in [("ftckpt_1", 1), ("ftckpt_2", 2), ("ftckpt_3", 3)] {
            s.insert_checkpoint(&ck(id, step), &[]).unwrap();
        }
        // A resumed run saves step 2 again: the old ftckpt_2 goes, its id still pages on.
        s.insert_checkpoint(&ck("ftckpt_2b", 2), &[]).unwrap();
        let after_old = s
            .list_checkpoints("ftjob-1", Some("ftckpt_2"), 10, Order::NewestFirst)
            .unwrap();
        assert_eq!(
            after_old
                .data
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["ftckpt_1"]
        );
        let all = walk(
            1,
            |c: &CheckpointRow| c.id.clone(),
            |a, l| s.list_checkpoints("ftjob-1", a, l, Order::NewestFirst),
        )
        .unwrap();
        assert_eq!(all, ["ftckpt_2b", "ftckpt_3", "ftckpt_1"]);
    }

    #[test]
    fn an_expired_file_is_gone_but_its_id_still_pages_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let rows: Vec<FileRow> = (0..4)
            .map(|n| FileRow {
                // File 1 expired a second ago; file 2 expires in an hour.
                expires_at: [None, Some(now() - 1), Some(now() + 3600), None][n as usize],
                ..file("a", n)
            })
            .collect();
        for r in &rows {
            s.insert_file(r).unwrap();
        }
        let bytes = |p: Page<FileRow>| p.data.iter().map(|f| f.bytes).collect::<Vec<_>>();
        let listed = s.list_files("a", None, 10, Order::OldestFirst, None);
        assert_eq!(bytes(listed.unwrap()), [0, 2, 3]);
        assert!(s.file("a", &rows[1].id).unwrap().is_none());
        assert!(s.file("a", &rows[2].id).unwrap().is_some());
        assert!(!s.delete_file("a", &rows[1].id).unwrap());
        assert_eq!(s.purge_expired_files().unwrap(), [rows[1].id.clone()]);
        assert!(s.purge_expired_files().unwrap().is_empty());
        let next = s.list_files("a", Some(&rows[1].id), 10, Order::OldestFirst, None);
        assert_eq!(bytes(next.unwrap()), [2, 3]);
    }
}
