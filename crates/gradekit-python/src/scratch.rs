//! Scratch space on disk: one directory per process, one per worker inside it.
//!
//! Layout: `$TMPDIR/gradekit-python-<pid>-<random>/` holds `lock` (kept `flock`ed by the owning
//! process for its whole life), `harness/worker.py`, and one `w-<random>` directory (mode 0700)
//! per live worker. A worker's Landlock rules name only its own directory (plus read-only system
//! paths and the harness file), so no grader's worker can list or read another's files, and a
//! worker that goes away removes only its own directory. A recycled worker gets a new one.
//!
//! Every exit path removes the tree:
//! * a worker's directory goes when its `Worker` is dropped (recycled, evicted, timed out, killed);
//! * the process's root goes at `exit()` (an `atexit` handler kills the live workers first, so
//!   none of them can write while the tree is removed) — this covers a normal return from `main`,
//!   `std::process::exit` (e.g. the server after a drain with work in flight) and Python's
//!   interpreter exit;
//! * a process that never reaches `exit()` (SIGKILL, an unhandled signal, `os._exit` in a forked
//!   child) leaves its root behind with its lock released: the next gradekit process that starts
//!   python workers, the periodic sweep of a long-lived one, and every process's `atexit` handler
//!   remove roots whose lock is free and whose owner pid is gone. Workers themselves never outlive
//!   the engine (`PR_SET_PDEATHSIG`, `sandbox.rs`).
//!
//! The lock (not only the pid) decides: pids are reused and are meaningless across pid
//! namespaces sharing one `/tmp`, while a `flock` is released by the kernel exactly when the last
//! process holding it ends (a forked child inherits it, which keeps its parent's root while the
//! child lives — the safe direction).

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;
use std::time::{Duration, SystemTime};

const PREFIX: &str = "gradekit-python-";

/// Entries a worker's directory may hold (files and directories, at any depth); past it the
/// worker is over its quota whatever the bytes.
pub(crate) const MAX_ENTRIES: u64 = 10_000;

/// The scratch root of the current process.
#[derive(Debug)]
pub(crate) struct Root {
    pid: u32,
    pub dir: PathBuf,
    pub harness: PathBuf,
    _lock: File,
}

static ROOT: AtomicPtr<Root> = AtomicPtr::new(std::ptr::null_mut());
static AT_EXIT: Once = Once::new();

/// This process's root, created (with the harness written into it) on first use — and again in
/// a forked child, which must not share its parent's.
pub(crate) fn root(harness: &str) -> Result<&'static Root, String> {
    let pid = std::process::id();
    loop {
        let cur = ROOT.load(Ordering::Acquire);
        // SAFETY: ROOT only ever holds null or a pointer from `Box::leak`, never freed.
        if let Some(r) = unsafe { cur.as_ref() } {
            if r.pid == pid {
                return Ok(r);
            }
        }
        let new: &'static mut Root = Box::leak(Box::new(create(pid, harness)?));
        match ROOT.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                AT_EXIT.call_once(|| {
                    // SAFETY: registers a plain `extern "C"` function with no arguments.
                    unsafe {
                        libc::atexit(clean_at_exit);
                    }
                });
                sweep_stale(&std::env::temp_dir());
                return Ok(new);
            }
            Err(_) => {
                // Another thread of this process won the race: drop ours (the leaked struct
                // is a few bytes, its lock file goes with the directory).
                remove_tree(&new.dir);
            }
        }
    }
}

fn create(pid: u32, harness: &str) -> Result<Root, String> {
    let base = std::env::temp_dir();
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{pid}-"))
        .tempdir_in(&base)
        .map_err(|e| format!("cannot create a scratch dir in {}: {e}", base.display()))?
        .keep();
    let made = (|| -> io::Result<(File, PathBuf)> {
        let lock = File::options()
            .write(true)
            .create_new(true)
            .open(dir.join("lock"))?;
        // SAFETY: flock on an fd we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Its own directory, so that the interpreter's script directory (sys.path[0] before
        // Python 3.11's implied -P) is not the root the worker directories live in.
        let hdir = dir.join("harness");
        std::fs::create_dir(&hdir)?;
        let path = hdir.join("worker.py");
        std::fs::write(&path, harness)?;
        Ok((lock, path))
    })();
    match made {
        Ok((lock, harness)) => Ok(Root {
            pid,
            dir,
            harness,
            _lock: lock,
        }),
        Err(e) => {
            remove_tree(&dir);
            Err(format!("cannot prepare scratch dir {}: {e}", dir.display()))
        }
    }
}

/// A fresh, private (0700) directory for one worker under this process's root.
pub(crate) fn worker_dir(root: &Root) -> io::Result<PathBuf> {
    Ok(tempfile::Builder::new()
        .prefix("w-")
        .tempdir_in(&root.dir)?
        .keep())
}

extern "C" fn clean_at_exit() {
    // Never unwind across the C boundary.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: see `root`.
        let Some(r) = (unsafe { ROOT.load(Ordering::Acquire).as_ref() }) else {
            return;
        };
        if r.pid != std::process::id() {
            return;
        }
        crate::registry::kill_all_workers();
        for _ in 0..20 {
            remove_tree(&r.dir);
            if !r.dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        sweep_stale(&std::env::temp_dir());
    });
}

/// Removes the roots under `base` whose owner is gone (lock free and pid not alive).
pub(crate) fn sweep_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let me = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = e.path();
        if owner_gone(&dir, pid) {
            remove_tree(&dir);
        }
    }
}

fn owner_gone(dir: &Path, pid: u32) -> bool {
    if pid_alive(pid) {
        return false;
    }
    match File::options().write(true).open(dir.join("lock")) {
        // SAFETY: flock on an fd we own; released when `f` is closed.
        Ok(f) => unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 },
        // No lock file: a root being created right now, or a broken one; only old ones go.
        Err(_) => std::fs::symlink_metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(600)),
    }
}

fn pid_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks existence / permission.
    let r = unsafe { libc::kill(p, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Bytes allocated and entries under `dir`, counting stops early once `max_entries` is passed.
pub(crate) fn usage(dir: &Path, max_entries: u64) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let (mut bytes, mut entries) = (0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            entries += 1;
            if entries > max_entries {
                return (bytes, entries);
            }
            let Ok(m) = e.metadata() else { continue };
            bytes = bytes.saturating_add(m.blocks().saturating_mul(512));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    (bytes, entries)
}

/// `remove_dir_all`, with a fallback for trees too deep for it (a grader can nest directories
/// thousands of levels deep): lift the children of each subdirectory up one level per pass.
pub(crate) fn remove_tree(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_ok() || std::fs::symlink_metadata(dir).is_err() {
        return;
    }
    let mut n = 0u64;
    for _ in 0..1_000_000 {
        let Ok(rd) = std::fs::read_dir(dir) else {
            break;
        };
        let mut progress = false;
        let mut any = false;
        for e in rd.flatten() {
            any = true;
            let p = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if !is_dir {
                progress |= std::fs::remove_file(&p).is_ok();
                continue;
            }
            if std::fs::remove_dir(&p).is_ok() || std::fs::remove_dir_all(&p).is_ok() {
                progress = true;
                continue;
            }
            let Ok(inner) = std::fs::read_dir(&p) else {
                continue;
            };
            for c in inner.flatten() {
                n += 1;
                progress |= std::fs::rename(c.path(), dir.join(format!(".up-{n}"))).is_ok();
            }
        }
        if !any || !progress {
            break;
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dead_pid() -> u32 {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    }

    #[test]
    fn sweeps_only_roots_whose_owner_is_gone() {
        let base = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale = base.path().join(format!("{PREFIX}{dead}-abc"));
        std::fs::create_dir_all(stale.join("w-1/deep")).unwrap();
        std::fs::write(stale.join("lock"), "").unwrap();
        // Held lock (a forked child of the dead owner still running): kept.
        let held = base.path().join(format!("{PREFIX}{dead}-held"));
        std::fs::create_dir(&held).unwrap();
        let f = File::create(held.join("lock")).unwrap();
        assert_eq!(
            unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        // Live owner (pid 1 always exists): kept even with a free lock.
        let live = base.path().join(format!("{PREFIX}1-xyz"));
        std::fs::create_dir(&live).unwrap();
        std::fs::write(live.join("lock"), "").unwrap();
        // Fresh root without a lock yet (being created): kept.
        let young = base.path().join(format!("{PREFIX}{dead}-young"));
        std::fs::create_dir(&young).unwrap();
        // Not ours.
        let other = base.path().join("gradekit-python-notapid");
        std::fs::create_dir(&other).unwrap();
        sweep_stale(base.path());
        assert!(!stale.exists());
        assert!(held.exists() && live.exists() && young.exists() && other.exists());
        drop(f);
        sweep_stale(base.path());
        assert!(!held.exists());
    }

    #[test]
    fn removes_very_deep_trees() {
        let base = tempfile::tempdir().unwrap();
        let top = base.path().join("t");
        let mut p = top.clone();
        std::fs::create_dir(&p).unwrap();
        // Deeper than the open-file limit std's recursive removal would need.
        for _ in 0..1500 {
            p = p.join("d");
            if std::fs::create_dir(&p).is_err() {
                break;
            }
        }
        remove_tree(&top);
        assert!(!top.exists());
    }

    #[test]
    fn usage_counts_bytes_and_entries() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), vec![1u8; 100_000]).unwrap();
        let (bytes, entries) = usage(d.path(), 100);
        assert_eq!(entries, 2);
        assert!(bytes >= 100_000, "{bytes}");
        for i in 0..20 {
            std::fs::write(d.path().join(format!("x{i}")), "").unwrap();
        }
        assert!(usage(d.path(), 10).1 > 10);
    }
}
