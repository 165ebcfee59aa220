//! Many distinct python graders through the server (issue 12 item 4): the compiled-grader cache
//! keeps their pools, but live python workers stay within the process-wide budget, and workers
//! left idle exit.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use gradekit_engine::python::{live_workers, max_workers, PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_python_graders_do_not_pile_up_workers() {
    let mut engine = EngineOptions::default();
    engine.python = PythonRuntime::new(PythonOptions {
        memory_mib: 256,
        idle_timeout: Duration::from_secs(2),
        ..PythonOptions::default()
    });
    let app = app(state_with(
        ServerConfig::default(),
        engine,
        ConfiguredGraders::default(),
    ));
    let budget = max_workers();
    for n in 0..(budget * 3 + 4) {
        let grader = json!({"type": "python", "name": format!("g{n}"),
            "source": format!("N = {n}\ndef grade(sample, item):\n    return N / 1000\n")});
        let a = post(&app, RUN, &json!({"grader": grader, "model_sample": "x"})).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.json["reward"], json!(n as f64 / 1000.0), "{}", a.json);
        assert!(
            live_workers() <= budget,
            "{} live workers, budget {budget}",
            live_workers()
        );
    }
    // Idle workers exit although their graders stay cached.
    let t = Instant::now();
    while live_workers() > 0 && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(live_workers(), 0);
}

/// Two clients' python graders (issue 12 item 6): one keeps a secret in its scratch directory,
/// the other looks for it in its own directory and beside it — and finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_graders_do_not_share_scratch() {
    let s = gradekit_engine::python::sandbox_support();
    if s.landlock_abi == 0 || !s.seccomp {
        eprintln!("SKIP: no Landlock/seccomp here ({s:?})");
        return;
    }
    let app = app(state_with(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders::default(),
    ));
    let writer = json!({"type": "python", "name": "writer",
        "source": "def grade(sample, item):\n    open('secret.txt', 'w').write(sample['output_text'])\n    return 1.0\n"});
    let reader = json!({"type": "python", "name": "reader",
        "source": "import os\ndef grade(sample, item):\n    try:\n        near = ['../%s/secret.txt' % d for d in os.listdir('..')]\n    except OSError:\n        near = []\n    hits = 0\n    for p in ['secret.txt'] + near:\n        try:\n            hits += 'TOP-SECRET' in open(p).read()\n        except OSError:\n            pass\n    return float(hits)\n"});
    for _ in 0..3 {
        let a = post(
            &app,
            RUN,
            &json!({"grader": writer, "model_sample": "TOP-SECRET-42"}),
        )
        .await;
        assert_eq!(a.json["reward"], json!(1.0), "{}", a.json);
        let b = post(&app, RUN, &json!({"grader": reader, "model_sample": "x"})).await;
        assert_eq!(b.json["reward"], json!(0.0), "{}", b.json);
        let errors = &b.json["metadata"]["errors"];
        assert_eq!(
            errors["python_grader_runtime_error"],
            json!(false),
            "{}",
            b.json
        );
    }
}
