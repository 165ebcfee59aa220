//! Workers do not outlive their use (issue 12 item 4): a dropped program ends its workers, idle
//! workers time out, a worker that burns CPU after its reply is killed, scratch space is capped,
//! and scratch directories go away on every exit path.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use gradekit_python::{PyOutcome, PythonMode, PythonOptions, PythonRuntime};
use serde_json::json;

fn opts() -> PythonOptions {
    PythonOptions {
        mode: PythonMode::Sandboxed,
        timeout: Duration::from_secs(5),
        memory_mib: 256,
        workers: Some(1),
        ..PythonOptions::default()
    }
}

const PID: &str = "import os\ndef grade(s, i):\n    return float(os.getpid())\n";

fn pid_of(o: PyOutcome) -> u32 {
    match o {
        PyOutcome::Reward(r) => r as u32,
        other => panic!("expected a pid, got {other:?}"),
    }
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: it has stopped running and only waits to be reaped.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

fn gone_within(pid: u32, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

#[test]
fn dropping_the_last_program_ends_its_workers() {
    let rt = PythonRuntime::new(opts());
    let p = rt.compile(&format!("{PID}# drop\n"), None).unwrap();
    let q = p.clone();
    let pid = pid_of(p.grade(&json!({}), &json!({})));
    assert!(alive(pid));
    drop(p);
    // Another holder keeps it.
    assert_eq!(pid_of(q.grade(&json!({}), &json!({}))), pid);
    drop(q);
    assert!(
        gone_within(pid, Duration::from_secs(2)),
        "worker {pid} still alive"
    );
    // The same source again: a fresh pool, working.
    let p = rt.compile(&format!("{PID}# drop\n"), None).unwrap();
    assert_ne!(pid_of(p.grade(&json!({}), &json!({}))), pid);
}

#[test]
fn equal_options_share_one_pool_across_runtimes() {
    let a = PythonRuntime::new(opts())
        .compile(&format!("{PID}# shared\n"), None)
        .unwrap();
    let b = PythonRuntime::new(opts())
        .compile(&format!("{PID}# shared\n"), None)
        .unwrap();
    assert_eq!(
        pid_of(a.grade(&json!({}), &json!({}))),
        pid_of(b.grade(&json!({}), &json!({})))
    );
}

#[test]
fn idle_workers_exit_after_the_idle_timeout() {
    let rt = PythonRuntime::new(PythonOptions {
        idle_timeout: Duration::from_millis(700),
        ..opts()
    });
    let p = rt.compile(&format!("{PID}# idle\n"), None).unwrap();
    let pid = pid_of(p.grade(&json!({}), &json!({})));
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "idle worker {pid} still alive"
    );
    // The program still works: a new worker starts on demand.
    let again = pid_of(p.grade(&json!({}), &json!({})));
    assert_ne!(again, pid);
}

#[test]
fn a_worker_spinning_after_its_reply_is_killed() {
    let rt = PythonRuntime::new(opts());
    let src = "import os, threading\ndef spin():\n    while True:\n        pass\ndef grade(s, i):\n    if i.get('spin'):\n        threading.Thread(target=spin, daemon=True).start()\n    return float(os.getpid())\n";
    let p = rt.compile(src, None).unwrap();
    let pid = pid_of(p.grade(&json!({}), &json!({"spin": true})));
    assert!(
        gone_within(pid, Duration::from_secs(6)),
        "worker {pid} kept spinning after its reply"
    );
    let again = pid_of(p.grade(&json!({}), &json!({})));
    assert_ne!(again, pid);
    // A quiet idle worker is left alone.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(alive(again));
}

#[test]
fn scratch_space_is_capped_per_worker() {
    let rt = PythonRuntime::new(PythonOptions {
        scratch_mib: 4,
        ..opts()
    });
    // One file past the cap: the write itself fails (RLIMIT_FSIZE follows the quota).
    let big = "def grade(s, i):\n    if i['k'] == 'attack':\n        open('big', 'wb').write(b'x' * (8 << 20))\n    return 0.75\n";
    let p = rt.compile(big, None).unwrap();
    let out = p.grade(&json!({}), &json!({"k": "attack"}));
    match out {
        PyOutcome::RuntimeError { details } => {
            assert!(details.contains("File too large"), "{details}")
        }
        other => panic!("expected a runtime error, got {other:?}"),
    }
    // Many files under the per-file cap: the worker is stopped once the directory passes its
    // quota; its neighbours are graded.
    let many = "import time\ndef grade(s, i):\n    if i['k'] == 'attack':\n        for n in range(12):\n            open('f%d' % n, 'wb').write(b'x' * (1 << 20))\n        time.sleep(4)\n    return 0.75\n";
    let p = rt.compile(many, None).unwrap();
    let items: Vec<_> = ["ok", "attack", "ok"]
        .iter()
        .map(|k| json!({"k": k}))
        .collect();
    let s = json!({});
    let pairs: Vec<_> = items.iter().map(|i| (&s, i)).collect();
    let out = p.grade_batch(&pairs);
    assert_eq!(out[0], PyOutcome::Reward(0.75));
    assert_eq!(out[2], PyOutcome::Reward(0.75));
    match &out[1] {
        PyOutcome::RuntimeError { details } => {
            assert!(details.contains("scratch space limit"), "{details}")
        }
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

fn roots(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("gradekit-python-"))
        .collect()
}

/// Run as a child process by `scratch_roots_go_on_exit_and_after_a_kill`.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var("GRADEKIT_LIFECYCLE_CHILD") else {
        return;
    };
    let rt = PythonRuntime::new(opts());
    let p = rt
        .compile(
            "def grade(s, i):\n    open('x', 'w').write('x')\n    return 1.0\n",
            None,
        )
        .unwrap();
    assert_eq!(p.grade(&json!({}), &json!({})), PyOutcome::Reward(1.0));
    if mode == "kill" {
        // SAFETY: ends this process the hard way, as `kill -9` would.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    // "exit": keep the program alive up to exit(), as a static or a leaked grader would.
    std::mem::forget(p);
}

#[test]
fn scratch_roots_go_on_exit_and_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |mode: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_process", "--test-threads", "1"])
            .env("GRADEKIT_LIFECYCLE_CHILD", mode)
            .env("TMPDIR", tmp.path())
            .output()
            .unwrap()
    };
    let killed = run("kill");
    assert!(!killed.status.success());
    assert_eq!(roots(tmp.path()).len(), 1, "the killed child's root stays");
    let ok = run("exit");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        roots(tmp.path()).is_empty(),
        "left behind: {:?}",
        roots(tmp.path())
    );
}
