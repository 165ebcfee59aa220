//! Live workers are bounded process-wide (issue 12 item 4): many graders kept alive at once
//! (a server's compiled-grader cache, a trainer's list of graders) share the budget; idle
//! workers of the least recently used pools are evicted to make room. Its own test binary:
//! the budget is process-wide.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gradekit_python::{
    live_workers, set_max_workers, PyOutcome, PythonMode, PythonOptions, PythonRuntime,
};
use serde_json::json;

fn alive(pid: u32) -> bool {
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

#[test]
fn many_live_graders_never_exceed_the_budget() {
    set_max_workers(Some(3));
    let mut programs = Vec::new();
    let mut pids = Vec::new();
    for n in 0..10 {
        // Distinct sources and distinct options: ten pools.
        let rt = PythonRuntime::new(PythonOptions {
            mode: PythonMode::Sandboxed,
            timeout: Duration::from_secs(5 + n),
            memory_mib: 256,
            ..PythonOptions::default()
        });
        let src = format!("import os\nN = {n}\ndef grade(s, i):\n    return float(os.getpid())\n");
        let p = rt.compile(&src, None).unwrap();
        let samples: Vec<_> = (0..8).map(|i| json!({ "i": i })).collect();
        let pairs: Vec<_> = samples.iter().map(|s| (s, s)).collect();
        for o in p.grade_batch(&pairs) {
            match o {
                PyOutcome::Reward(r) => pids.push(r as u32),
                other => panic!("{other:?}"),
            }
        }
        assert!(live_workers() <= 3, "{} live workers", live_workers());
        programs.push(p);
    }
    pids.sort_unstable();
    pids.dedup();
    let running = pids.iter().filter(|p| alive(**p)).count();
    assert!(
        running <= 3,
        "{running} of {} workers still running",
        pids.len()
    );
    // Every program still grades (evicted pools start a worker again).
    for p in &programs {
        assert!(matches!(
            p.grade(&json!({}), &json!({})),
            PyOutcome::Reward(_)
        ));
    }
    assert!(live_workers() <= 3);
    drop(programs);
    assert_eq!(live_workers(), 0);
}
