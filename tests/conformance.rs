//! The conformance suite (`fixtures/suite/*.json`) through the engine and the CLI binary.
#![allow(clippy::unwrap_used)]

use gradekit::{compile, compile_for_run, EngineOptions, EvalContext};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn suite() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/suite");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let arr: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        for (i, c) in arr.into_iter().enumerate() {
            let d = c["description"].as_str().unwrap_or("").to_string();
            cases.push((format!("{stem}#{i} {d}"), c));
        }
    }
    assert!(cases.len() >= 150, "suite has only {} cases", cases.len());
    cases
}

fn context(case: &Value) -> EvalContext {
    let item = case.get("item").cloned();
    if let Some(s) = case.get("model_sample") {
        EvalContext::from_text(s.as_str().expect("model_sample is a string"), item)
    } else {
        EvalContext::from_sample_value(&case["sample"], item).expect("valid sample")
    }
}

/// Checks a run response (wire JSON) against `expected`; returns a list of mismatches.
fn check_response(resp: &Value, expected: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let want = expected["reward"].as_f64().unwrap();
    let got = resp["reward"].as_f64().unwrap_or(f64::NAN);
    if (want - got).abs() > 1e-9 {
        bad.push(format!("reward: want {want}, got {got}"));
    }
    if let Some(subs) = expected.get("sub_rewards") {
        let got = &resp["sub_rewards"];
        let (w, g) = (subs.as_object().unwrap(), got.as_object().unwrap());
        if w.len() != g.len()
            || w.iter().any(|(k, v)| {
                (v.as_f64().unwrap() - g.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN)).abs()
                    > 1e-9
            })
        {
            bad.push(format!("sub_rewards: want {subs}, got {got}"));
        }
    }
    let errors = &resp["metadata"]["errors"];
    let keys: Vec<&String> = errors.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 24, "errors must carry 24 keys");
    let want_errs = expected.get("errors").cloned().unwrap_or(json!({}));
    for (k, v) in errors.as_object().unwrap() {
        match (want_errs.get(k), v) {
            (Some(Value::Bool(w)), Value::Bool(g)) if w == g => {}
            (Some(Value::String(w)), Value::String(g)) if g.contains(w.as_str()) => {}
            (None, Value::Bool(false) | Value::Null) => {}
            (w, g) => bad.push(format!("errors.{k}: want {w:?}, got {g}")),
        }
    }
    bad
}

/// True when one of `errs` (`[{"path", "code", "message"}]`) is the `{code, path, message?}`
/// a case expects (`message`: a substring, given where the wording is the contract).
fn has_validate_error(errs: &Value, want: &Value) -> bool {
    errs.as_array().into_iter().flatten().any(|e| {
        e["code"] == want["code"]
            && e["path"] == want["path"]
            && want["message"]
                .as_str()
                .is_none_or(|m| e["message"].as_str().unwrap_or("").contains(m))
    })
}

#[test]
fn suite_through_engine() {
    let opts = EngineOptions::default();
    let mut failures = Vec::new();
    for (name, case) in suite() {
        let expected = &case["expected"];
        if let Some(want) = expected.get("validate_error") {
            match compile(&case["grader"], &opts) {
                Ok(_) => failures.push(format!("{name}: validate accepted the grader")),
                Err(errs) => {
                    let errs = serde_json::to_value(&errs.0).unwrap();
                    if !has_validate_error(&errs, want) {
                        failures.push(format!("{name}: no error matches {want}: {errs}"));
                    }
                }
            }
            continue;
        }
        let grader = match compile_for_run(&case["grader"], &opts) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: does not compile: {e}"));
                continue;
            }
        };
        let resp = serde_json::to_value(grader.run(&context(&case))).unwrap();
        for b in check_response(&resp, expected) {
            failures.push(format!("{name}: {b}"));
        }
        // A sample (text or object) built with only the derived parts the grader can observe
        // (what `score` and the bindings do) must grade the same.
        let text = case
            .get("model_sample")
            .or_else(|| case.get("sample").filter(|s| s.is_string()))
            .and_then(Value::as_str);
        let lean_ctx = match (text, case.get("sample")) {
            (Some(text), _) => {
                Some(grader.context_from_text(text.to_string(), case.get("item").cloned()))
            }
            (None, Some(obj)) => EvalContext::from_sample_object(
                obj,
                case.get("item").cloned(),
                grader.sample_parts(),
            )
            .ok(),
            (None, None) => None,
        };
        if let Some(ctx) = lean_ctx {
            let lean = serde_json::to_value(grader.run(&ctx)).unwrap();
            for b in check_response(&lean, expected) {
                failures.push(format!(
                    "{name} (sample parts {:?}): {b}",
                    grader.sample_parts()
                ));
            }
        }
        if resp["metadata"]["errors"]["formula_parse_error"] == json!(true)
            && compile(&case["grader"], &opts).is_ok()
        {
            failures.push(format!(
                "{name}: validate accepted a grader with a bad formula"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn gradekit(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradekit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // An early exit (exit 2) may leave stdin unread; the exit code is what the case checks.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn suite_through_cli() {
    let mut failures = Vec::new();
    for (name, case) in suite() {
        let expected = &case["expected"];
        if let Some(want) = expected.get("validate_error") {
            let (code, out, err) =
                gradekit(&["validate", "--json", "-"], &case["grader"].to_string());
            let errs = serde_json::from_str::<Value>(&out).unwrap_or(Value::Null);
            if code != 2 || !has_validate_error(&errs["errors"], want) {
                failures.push(format!("{name}: validate exit {code}, {out} {err:?}"));
            }
            continue;
        }
        let mut req = json!({"grader": case["grader"]});
        if let Some(s) = case.get("model_sample") {
            req["model_sample"] = s.clone();
        } else {
            req["model_sample"] = case["sample"].clone();
        }
        if let Some(item) = case.get("item") {
            req["item"] = item.clone();
        }
        let (code, out, err) = gradekit(&["run", "-"], &req.to_string());
        if code != 0 {
            failures.push(format!("{name}: run exit {code}: {err}"));
            continue;
        }
        let resp: Value = serde_json::from_str(&out).unwrap();
        for b in check_response(&resp, expected) {
            failures.push(format!("{name}: {b}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every gradable case through `gradekit score`: one run per distinct grader, its cases as the
/// lines of the input (the path with the streaming reader, the lean text samples and the
/// pre-serialised rows).
#[test]
fn suite_through_score() {
    let mut failures = Vec::new();
    let mut by_grader: Vec<(Value, Vec<(String, Value)>)> = Vec::new();
    for (name, case) in suite() {
        if case["expected"].get("validate_error").is_some() {
            continue;
        }
        let text_sample = case.get("model_sample").is_some() || case["sample"].is_string();
        if !text_sample && !case["sample"].is_object() {
            continue;
        }
        match by_grader.iter_mut().find(|(g, _)| *g == case["grader"]) {
            Some((_, cases)) => cases.push((name, case)),
            None => by_grader.push((case["grader"].clone(), vec![(name, case)])),
        }
    }
    let graded: usize = by_grader.iter().map(|(_, c)| c.len()).sum();
    assert!(graded >= 400, "only {graded} cases reached score");
    let dir = tempfile::tempdir().unwrap();
    let gpath = dir.path().join("g.json");
    for (grader, cases) in by_grader {
        std::fs::write(&gpath, grader.to_string()).unwrap();
        let mut input = String::new();
        for (_, case) in &cases {
            let mut line = json!({});
            for k in ["item", "model_sample", "sample"] {
                if let Some(v) = case.get(k) {
                    line[k] = v.clone();
                }
            }
            input.push_str(&line.to_string());
            input.push('\n');
        }
        let (code, out, err) =
            gradekit(&["score", "-q", "-g", gpath.to_str().unwrap(), "-"], &input);
        if code != 0 {
            failures.push(format!("{}: score exit {code}: {err}", cases[0].0));
            continue;
        }
        let rows: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if rows.len() != cases.len() {
            failures.push(format!(
                "{}: {} rows for {} lines",
                cases[0].0,
                rows.len(),
                cases.len()
            ));
            continue;
        }
        for ((name, case), row) in cases.iter().zip(&rows) {
            if row.get("error").is_some() {
                failures.push(format!("{name}: error row {row}"));
                continue;
            }
            for b in check_response(row, &case["expected"]) {
                failures.push(format!("{name} (score): {b}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
