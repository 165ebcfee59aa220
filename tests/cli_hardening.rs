//! Issue #12 against the CLI: hostile inputs are contained, files are never lost, stdio
//! errors are errors. Each test fails on the code before its fix.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gradekit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn gradekit(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || pipe.write_all(&data));
    let out = child.wait_with_output().unwrap();
    let _ = feeder.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn amplifier() -> Value {
    json!({"type": "string_check", "name": "amp", "operation": "like",
           "input": "{{ item.a }}".repeat(10_000), "reference": "{{ sample.output_text }}"})
}

/// Item 1: a 10,000 × 1 MB rendering used to abort the process on allocation.
#[test]
fn run_survives_an_amplifying_template() {
    let req =
        json!({"grader": amplifier(), "model_sample": "q", "item": {"a": "b".repeat(1 << 20)}});
    let (code, out, err) = gradekit(&["run", "-"], req.to_string().as_bytes());
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reward"], json!(0.0));
    assert_eq!(v["metadata"]["errors"]["other_error"], json!(true));
    let d = v["metadata"]["errors"]["other_error_details"]
        .as_str()
        .unwrap();
    assert!(d.contains("input") && d.contains("16777216"), "{d}");
}

#[test]
fn score_grades_the_neighbours_of_an_amplified_line() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("g.json");
    std::fs::write(&g, amplifier().to_string()).unwrap();
    let big = "b".repeat(1 << 20);
    let input = format!(
        "{}\n{}\n{}\n",
        json!({"model_sample": "b", "item": {"a": "abc"}}),
        json!({"model_sample": "b", "item": {"a": big}}),
        json!({"model_sample": "b", "item": {"a": "xbx"}}),
    );
    let (code, out, err) = gradekit(
        &[
            "score",
            "-q",
            "--max-field-bytes",
            "4000000",
            "-g",
            g.to_str().unwrap(),
            "-",
        ],
        input.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["reward"], json!(1.0));
    assert_eq!(rows[2]["reward"], json!(1.0));
    let e = &rows[1]["metadata"]["errors"];
    assert_eq!(e["other_error"], json!(true));
    assert!(e["other_error_details"]
        .as_str()
        .unwrap()
        .contains("limit of 4000000 bytes"));
}
