//! A python grader stuck in `grade()` past the request's deadline (issue 12 item 2): the 504 is
//! sent at the deadline, and the worker running the call is stopped with it, not left burning
//! a core (and holding a slot of the live-worker budget) until its own time limit. Its own
//! test binary: it counts the process's live workers.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use gradekit_engine::python::{live_workers, PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use gradekit_server::{app, ConfiguredGraders, ServerConfig};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_call_past_the_deadline_is_stopped_with_its_request() {
    let mut engine = EngineOptions::default();
    engine.python = PythonRuntime::new(PythonOptions {
        timeout: Duration::from_secs(60),
        memory_mib: 256,
        ..PythonOptions::default()
    });
    let app = app(state_with(
        ServerConfig {
            timeout: Duration::from_secs(3),
            ..ServerConfig::default()
        },
        engine,
        ConfiguredGraders::default(),
    ));
    let spin = json!({"type": "python", "name": "spin",
        "source": "def grade(sample, item):\n    while True:\n        pass\n"});
    // Alone, and as a sub-grader of a multi grader.
    let multi = json!({"type": "multi", "name": "m", "calculate_output": "s",
        "graders": {"s": {"type": "python", "name": "spin2",
            "source": "def grade(sample, item):\n    while True:\n        pass\n# 2\n"}}});
    for grader in [spin, multi] {
        let a = post(&app, RUN, &json!({"grader": grader, "model_sample": "x"})).await;
        assert_eq!(a.status, StatusCode::GATEWAY_TIMEOUT, "{}", a.json);
        // The call's worker is killed within about a second of the deadline (it used to spin
        // on for the whole 60 s python time limit).
        let t = Instant::now();
        while live_workers() > 0 && t.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            live_workers(),
            0,
            "the stuck worker of {grader} outlived its request"
        );
    }
    // And python grading goes on.
    let cheap = json!({"type": "python", "name": "cheap",
        "source": "def grade(sample, item):\n    return 0.5\n"});
    let b = post(&app, RUN, &json!({"grader": cheap, "model_sample": "x"})).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.json);
    assert_eq!(b.json["reward"], json!(0.5), "{}", b.json);
}
