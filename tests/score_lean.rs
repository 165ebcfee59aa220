//! `score` reads common lines lean (on the reader thread, observed fields only) and everything
//! else the established way: whole runs must give the same rows either way, in order, across
//! chunks, whatever the thread count. `--report` takes the established path for every line, so
//! it is the reference here.
#![allow(clippy::unwrap_used)]

use serde_json::json;
mod common;
use common::gradekit;

/// A mixed input of more than two chunks (2,048 lines each): common lines (escapes, ids of
/// every kind, legacy reference answers, numbers, missing keys) among blank lines, invalid
/// JSON, duplicate keys, sample objects, too-long lines and non-object items.
fn input() -> Vec<u8> {
    let odd = [
        r#"{"item": {"reference": "a"}, "model_sample": "a", "item": {}}"#.to_string(),
        r#"{"item": {"reference": "a", "x": {"k": 1, "k": 2}}, "model_sample": "a"}"#.into(),
        r#"{"item": {"reference": 1e3}, "model_sample": "1000.0"}"#.into(),
        r#"{"model_sample": "\ud800", "id": 5}"#.into(),
        r#"{"sample": {"output_text": "s"}, "item": {"reference": "s"}, "id": "obj"}"#.into(),
        r#"{"model_sample": "a", "sample": "a"}"#.into(),
        r#"{"model_sample": null, "id": [1]}"#.into(),
        r#"{"model_sample": "x", "item": "not an object"}"#.into(),
        r#"{"model_sample": "x", "item": {"reference": NaN}}"#.into(),
        r#"[1, 2]"#.into(),
        "   ".into(),
        format!(r#"{{"model_sample": "{}"}}"#, "y".repeat(300)),
        "{\"model_sample\": \"tab\there\"}".into(),
        "{\"model_sample\":\t\"x\", \"item\": {\"reference\": \"x\"}}".into(),
    ];
    let mut out = String::new();
    for i in 0..5000 {
        let line = match i % 10 {
            0..=4 => json!({"item": {"reference": format!("r{}", i % 3), "other": [i, null]},
                            "model_sample": format!("r{}", i % 2), "id": i})
            .to_string(),
            5 => format!(
                r#"{{"id": "l\u00e9{i}", "model_sample": "caf\u00e9 \"{i}\"\n", "item": {{"reference": "caf\u00e9 \"{i}\"\n"}}}}"#
            ),
            6 => json!({"sample": format!("r{}", i % 2), "reference_answer": "r1", "id": -0.5})
                .to_string(),
            7 => json!({"model_sample": "r1", "item": {"reference": i}, "id": null}).to_string(),
            8 => json!({"model_sample": "r1", "id": {"nested": [i]}}).to_string(),
            _ => odd[(i / 10) % odd.len()].clone(),
        };
        out.push_str(&line);
        out.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
    }
    out.into_bytes()
}

/// The rows without their timing.
fn rows(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.pointer_mut("/metadata").and_then(|m| m.as_object_mut()) {
                m.remove("execution_time");
            }
            v.to_string()
        })
        .collect()
}

#[test]
fn lean_and_established_readings_give_the_same_rows() {
    let dir = std::env::temp_dir().join(format!("gk-score-lean-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let grader = dir.join("g.json");
    std::fs::write(
        &grader,
        json!({"type": "string_check", "name": "eq", "operation": "eq", "pass_threshold": 1,
               "input": "{{ sample.output_text }}", "reference": "{{ item.reference }}"})
        .to_string(),
    )
    .unwrap();
    let report = dir.join("r.html");
    let g = grader.to_str().unwrap();
    let data = input();
    let base = ["score", "-q", "--max-line-bytes", "200", "-g", g, "-"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, out, err) = gradekit(&args, &data);
        assert_eq!(code, 0, "{err}");
        out
    };
    let reference = run(&["--report", report.to_str().unwrap()]);
    let want = rows(&reference);
    let lines = String::from_utf8_lossy(&data)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(want.len(), lines, "one row per non-blank line");
    for threads in ["1", "2", "3"] {
        let out = run(&["--threads", threads]);
        assert_eq!(rows(&out), want, "--threads {threads}");
    }
    // Error rows (no timing) are byte-identical, ids included.
    let errors = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("\"error\":{"))
            .map(str::to_string)
            .collect()
    };
    let e = errors(&reference);
    assert!(e.len() > 300, "{}", e.len());
    assert_eq!(errors(&run(&["--threads", "1"])), e);
    let _ = std::fs::remove_dir_all(&dir);
}
