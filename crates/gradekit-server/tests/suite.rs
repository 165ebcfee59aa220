//! The conformance suite (`fixtures/suite/*.json`) through the server's routes: `/run`,
//! `/run_batch` and the endpoint-grader route give the case's expected answer, and each other's
//! (`execution_time` aside). One named test per case (jsonschema's suite-from-every-binding
//! habit): the runner prints `test suite::<file>#<i> <description> ... ok|FAILED` and a failing
//! case names itself and what differed. `harness = false`, run by `cargo test`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use gradekit_engine::EngineOptions;
use gradekit_server::{app, AppState, ConfiguredGraders, ServerConfig};
use serde_json::{json, Value};
use std::path::PathBuf;

fn cases() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/suite");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let arr: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        for (i, c) in arr.into_iter().enumerate() {
            let d = c["description"].as_str().unwrap_or("").to_string();
            out.push((format!("{stem}#{i} {d}"), c));
        }
    }
    out
}

/// Mismatches of a run response against the case's `expected`.
fn check(resp: &Value, expected: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let want = expected["reward"].as_f64().unwrap_or(f64::NAN);
    let got = resp["reward"].as_f64().unwrap_or(f64::NAN);
    if (want - got).abs() > 1e-9 {
        bad.push(format!("reward: want {want}, got {got}"));
    }
    if let Some(subs) = expected.get("sub_rewards").and_then(Value::as_object) {
        for (k, v) in subs {
            let g = resp["sub_rewards"][k].as_f64().unwrap_or(f64::NAN);
            if (v.as_f64().unwrap_or(f64::NAN) - g).abs() > 1e-9 {
                bad.push(format!("sub_rewards.{k}: want {v}, got {g}"));
            }
        }
    }
    let want_errs = expected.get("errors").cloned().unwrap_or(json!({}));
    let errors = resp["metadata"]["errors"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if errors.len() != 24 {
        bad.push(format!("errors has {} keys, not 24", errors.len()));
    }
    for (k, v) in &errors {
        match (want_errs.get(k), v) {
            (Some(Value::Bool(w)), Value::Bool(g)) if w == g => {}
            (Some(Value::String(w)), Value::String(g)) if g.contains(w.as_str()) => {}
            (None, Value::Bool(false) | Value::Null) => {}
            (w, g) => bad.push(format!("errors.{k}: want {w:?}, got {g}")),
        }
    }
    bad
}

fn without_time(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("execution_time");
    }
    v
}

async fn run_case(case: &Value) -> Vec<String> {
    let expected = &case["expected"];
    let grader = &case["grader"];
    let mut bad = Vec::new();
    let plain = app(AppState::new(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders::default(),
    )
    .unwrap());
    if expected.get("validate_error").is_some() {
        let a = post(&plain, VALIDATE, &json!({"grader": grader})).await;
        if a.status != 400 || a.json["error"]["code"] != "invalid_grader" {
            bad.push(format!("/validate: {} {}", a.status, a.json));
        }
        return bad;
    }
    let sample = case
        .get("model_sample")
        .or_else(|| case.get("sample"))
        .unwrap();
    let mut run = json!({"grader": grader, "model_sample": sample});
    let mut entry = json!({"sample": sample});
    if let Some(item) = case.get("item") {
        run["item"] = item.clone();
        entry["item"] = item.clone();
    }
    let r = post(&plain, RUN, &run).await;
    if r.status != 200 {
        bad.push(format!("/run: {} {}", r.status, r.json));
        return bad;
    }
    bad.extend(
        check(&r.json, expected)
            .into_iter()
            .map(|b| format!("/run {b}")),
    );
    let b = post(
        &plain,
        "/v1/graders/run_batch",
        &json!({"grader": grader, "samples": [entry.clone(), entry.clone()]}),
    )
    .await;
    for (i, res) in b.json["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if without_time(res.clone()) != without_time(r.json.clone()) {
            bad.push(format!("/run_batch[{i}] differs from /run: {res}"));
        }
    }
    if b.status != 200 {
        bad.push(format!("/run_batch: {} {}", b.status, b.json));
    }
    // The endpoint-grader route serves graders that compile (not a formula-only fault).
    if let Ok(state) = AppState::new(
        ServerConfig::default(),
        EngineOptions::default(),
        ConfiguredGraders {
            endpoint: vec![("case".into(), grader.clone())],
            openrlhf: None,
        },
    ) {
        let e = post(&app(state), "/v1/endpoint_graders/case", &entry).await;
        if e.json != json!({"score": r.json["reward"]}) {
            bad.push(format!(
                "endpoint route: {} {} (run: {})",
                e.status, e.json, r.json["reward"]
            ));
        }
    }
    bad
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut failed = Vec::new();
    let mut n = 0;
    for (name, case) in cases() {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        n += 1;
        let bad = rt.block_on(run_case(&case));
        if bad.is_empty() {
            println!("test suite::{name} ... ok");
        } else {
            println!("test suite::{name} ... FAILED");
            failed.push(format!("suite::{name}:\n    {}", bad.join("\n    ")));
        }
    }
    println!();
    if failed.is_empty() {
        println!("test result: ok. {n} passed; 0 failed");
    } else {
        println!("failures:\n{}\n", failed.join("\n"));
        println!(
            "test result: FAILED. {} passed; {} failed",
            n - failed.len(),
            failed.len()
        );
        std::process::exit(101);
    }
}
