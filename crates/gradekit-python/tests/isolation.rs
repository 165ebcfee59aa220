//! Graders never share scratch space (issue 12 item 6): each worker of each pool has its own
//! directory that no other grader's worker can read, and one grader's worker going away never
//! removes another's files.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gradekit_python::{sandbox_support, PyOutcome, PythonOptions, PythonRuntime};
use serde_json::json;

fn sandbox_or_skip() -> bool {
    let s = sandbox_support();
    if s.landlock_abi == 0 || !s.seccomp {
        eprintln!("SKIP: kernel lacks Landlock or seccomp ({s:?})");
        return false;
    }
    true
}

fn runtime() -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        timeout: Duration::from_secs(5),
        memory_mib: 256,
        workers: Some(1),
        ..PythonOptions::default()
    })
}

fn details(o: PyOutcome) -> String {
    match o {
        PyOutcome::RuntimeError { details } => details,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

/// Grader A keeps a secret in its scratch dir and tells us where it is; grader B (another
/// source, same runtime) looks for it in its own cwd, beside it, and at A's exact path.
#[test]
fn a_grader_cannot_read_another_graders_scratch() {
    if !sandbox_or_skip() {
        return;
    }
    let rt = runtime();
    let a = rt
        .compile(
            "import os\ndef grade(s, i):\n    if i.get('where'):\n        raise ValueError('CWD=' + os.getcwd() + '=')\n    open('secret.txt', 'w').write(s['t'])\n    return 1.0\n",
            None,
        )
        .unwrap();
    assert_eq!(
        a.grade(&json!({"t": "SECRET-A-1234"}), &json!({})),
        PyOutcome::Reward(1.0)
    );
    let d = details(a.grade(&json!({}), &json!({"where": true})));
    let cwd = d.split("CWD=").nth(1).unwrap().split('=').next().unwrap();
    let a_file = format!("{cwd}/secret.txt");
    assert!(std::fs::read_to_string(&a_file)
        .unwrap()
        .contains("SECRET-A"));

    let b_src = format!(
        r#"
import os
def grade(s, i):
    found = []
    def look(path):
        try:
            if 'SECRET-A' in open(path).read():
                found.append(path)
        except OSError:
            pass
    look('secret.txt')
    look({a_file:?})
    try:
        for d in os.listdir('..'):
            look(os.path.join('..', d, 'secret.txt'))
    except OSError:
        pass
    if found:
        raise ValueError('LEAK ' + repr(found))
    return 0.5
"#
    );
    let b = rt.compile(&b_src, None).unwrap();
    assert_eq!(b.grade(&json!({}), &json!({})), PyOutcome::Reward(0.5));
}

/// A worker that is recycled (here: after a MemoryError) takes only its own directory with it.
#[test]
fn a_recycled_worker_leaves_other_graders_files_alone() {
    let rt = runtime();
    let a = rt
        .compile(
            "def grade(s, i):\n    if i.get('write'):\n        open('mine.txt', 'w').write('x')\n        return 1.0\n    return float(open('mine.txt').read() == 'x')\n",
            None,
        )
        .unwrap();
    assert_eq!(
        a.grade(&json!({}), &json!({"write": true})),
        PyOutcome::Reward(1.0)
    );
    let b = rt
        .compile(
            "def grade(s, i):\n    x = bytearray(1 << 40)\n    return 1.0\n",
            None,
        )
        .unwrap();
    assert!(details(b.grade(&json!({}), &json!({}))).contains("memory"));
    // B's worker was recycled and a fresh one graded; A's file must still be there.
    assert!(details(b.grade(&json!({}), &json!({}))).contains("memory"));
    drop(b);
    assert_eq!(a.grade(&json!({}), &json!({})), PyOutcome::Reward(1.0));
}

/// Recycled workers start with an empty directory of their own.
#[test]
fn recycled_workers_get_fresh_directories() {
    let rt = runtime();
    let p = rt
        .compile(
            "import os\ndef grade(s, i):\n    n = len([f for f in os.listdir('.') if f.startswith('left-')])\n    open('left-%d' % os.getpid(), 'w').write('x')\n    if i.get('oom'):\n        x = bytearray(1 << 40)\n    return float(n)\n",
            None,
        )
        .unwrap();
    assert_eq!(p.grade(&json!({}), &json!({})), PyOutcome::Reward(0.0));
    assert_eq!(p.grade(&json!({}), &json!({})), PyOutcome::Reward(1.0));
    assert!(details(p.grade(&json!({}), &json!({"oom": true}))).contains("memory"));
    assert_eq!(p.grade(&json!({}), &json!({})), PyOutcome::Reward(0.0));
}
