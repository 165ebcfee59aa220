//! Scopes (tenants) never share python workers: byte-identical code compiled in two scopes
//! runs in two pools, so module globals cannot carry one tenant's samples to the other. Its
//! own test binary: the process-wide worker budget is not shared with other tests, whose
//! pools could otherwise evict the warm worker whose reuse this test checks.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use gradekit_python::{PyOutcome, PythonOptions, PythonRuntime};
use serde_json::json;

fn runtime() -> PythonRuntime {
    PythonRuntime::new(PythonOptions {
        timeout: Duration::from_secs(5),
        memory_mib: 256,
        workers: Some(1),
        ..PythonOptions::default()
    })
}

/// Remembers the last caller in a module global: 0 = first call this worker saw, 0.5 = the
/// previous call came from the same tenant, 1.0 = from another tenant (a leak).
const LAST_CALLER: &str = "last = None\ndef grade(sample, item):\n    global last\n    prev, last = last, item['who']\n    if prev is None:\n        return 0.0\n    return 0.5 if prev == item['who'] else 1.0\n";

/// Two tenants compiling byte-identical code get separate pools: module globals never carry
/// one tenant's samples to the other, while one tenant keeps reusing its warm worker.
#[test]
fn scopes_never_share_workers_even_for_identical_code() {
    let rt = runtime();
    let a = rt.scoped("proj_a");
    let b = rt.scoped("proj_b");
    assert_eq!(a.scope(), Some("proj_a"));
    let grade = |r: &PythonRuntime, who: &str| {
        let p = r.compile(LAST_CALLER, None).unwrap();
        if let Some(u) = p.unavailable() {
            return Err(format!("{u:?}"));
        }
        Ok((p.clone(), p.grade(&json!({}), &json!({"who": who}))))
    };
    let Ok((pa, first)) = grade(&a, "a") else {
        eprintln!("SKIP: python workers unavailable here");
        return;
    };
    assert_eq!(first, PyOutcome::Reward(0.0));
    // Another program of the same scope reuses the warm worker (pa keeps the pool alive).
    assert_eq!(grade(&a, "a").unwrap().1, PyOutcome::Reward(0.5));
    assert_eq!(
        grade(&rt.scoped("proj_a"), "a").unwrap().1,
        PyOutcome::Reward(0.5)
    );
    // The other tenant, and the unscoped runtime, start from a clean module.
    let (pb, b_first) = grade(&b, "b").unwrap();
    assert_eq!(
        b_first,
        PyOutcome::Reward(0.0),
        "proj_b saw proj_a's global"
    );
    assert_eq!(grade(&b, "b").unwrap().1, PyOutcome::Reward(0.5));
    let (pu, u_first) = grade(&rt, "u").unwrap();
    assert_eq!(
        u_first,
        PyOutcome::Reward(0.0),
        "the unscoped pool saw a tenant's global"
    );
    assert_eq!(
        pa.grade(&json!({}), &json!({"who": "a"})),
        PyOutcome::Reward(0.5)
    );
    drop((pa, pb, pu));
}
