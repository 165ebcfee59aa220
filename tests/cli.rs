//! The CLI contract of DESIGN.md §5: exit codes, run request rules, score streaming.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
mod common;
use common::gradekit;

fn run(req: &Value) -> (i32, Value, String) {
    let (code, out, err) = gradekit(&["run", "-"], req.to_string().as_bytes());
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

fn eq_grader() -> Value {
    json!({"type": "string_check", "input": "{{ sample.output_text }}",
           "reference": "{{ item.reference_answer }}", "operation": "eq"})
}

#[test]
fn legacy_reference_answer_becomes_item_reference_answer() {
    let (code, resp, _) =
        run(&json!({"grader": eq_grader(), "model_sample": "x", "reference_answer": "x"}));
    assert_eq!(code, 0);
    assert_eq!(resp["reward"], json!(1.0));
}

#[test]
fn item_wins_over_reference_answer() {
    let (_, resp, _) = run(&json!({"grader": eq_grader(), "model_sample": "x",
        "reference_answer": "x", "item": {"reference_answer": "y"}}));
    assert_eq!(resp["reward"], json!(0.0));
}

#[test]
fn unknown_request_field_is_rejected_with_its_path() {
    let (code, _, err) = run(&json!({"grader": eq_grader(), "model_sample": "x", "itme": {}}));
    assert_eq!(code, 2);
    assert!(err.contains("itme: unknown field"), "{err}");
}

#[test]
fn invalid_grader_in_run_exits_2_naming_the_path() {
    let mut g = eq_grader();
    g["operation"] = json!("equals");
    let (code, _, err) = run(&json!({"grader": g, "model_sample": "x"}));
    assert_eq!(code, 2);
    assert!(
        err.contains("operation: unknown operation \"equals\"; expected eq, ne, like, ilike"),
        "{err}"
    );
}

#[test]
fn missing_model_sample_exits_2() {
    let (code, _, err) = run(&json!({"grader": eq_grader()}));
    assert_eq!(code, 2);
    assert!(
        err.contains("model_sample: missing required field"),
        "{err}"
    );
    let (code, _, err) = run(&json!({"grader": eq_grader(), "model_sample": 3}));
    assert_eq!(code, 2);
    assert!(err.contains("model_sample"), "{err}");
}

#[test]
fn formula_only_fault_runs_with_formula_parse_error_but_validate_rejects() {
    let g = json!({"type": "multi", "graders": {"a": eq_grader()}, "calculate_output": "a +"});
    let (code, resp, _) =
        run(&json!({"grader": g, "model_sample": "x", "item": {"reference_answer": "x"}}));
    assert_eq!(code, 0);
    assert_eq!(resp["reward"], json!(0.0));
    assert_eq!(
        resp["metadata"]["errors"]["formula_parse_error"],
        json!(true)
    );
    let (code, _, err) = gradekit(&["validate", "-"], g.to_string().as_bytes());
    assert_eq!(code, 2);
    assert!(err.contains("calculate_output"), "{err}");
}

#[test]
fn generated_name_is_stable_across_validate_and_run() {
    let g = eq_grader();
    let (code, out, _) = gradekit(&["validate", "-"], g.to_string().as_bytes());
    assert_eq!(code, 0);
    let echo: Value = serde_json::from_str(&out).unwrap();
    let name = echo["grader"]["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("grader-") && name.len() == 19, "{name}");
    assert!(name[7..].chars().all(|c| c.is_ascii_alphanumeric()));
    let (_, resp, _) = run(&json!({"grader": g, "model_sample": "x"}));
    assert_eq!(resp["metadata"]["name"], json!(name));
    // Key order and whitespace do not change it.
    let reordered = r#"{"operation":"eq","reference":"{{ item.reference_answer }}","input":"{{ sample.output_text }}","type":"string_check"}"#;
    let (_, out, _) = gradekit(&["validate", "-"], reordered.as_bytes());
    let echo2: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(echo2["grader"]["name"], json!(name));
}

#[test]
fn validate_echo_is_the_grader_as_given_with_neq_normalised() {
    let g = json!({"type": "string_check", "name": "n", "input": "a", "reference": "b",
                   "operation": "neq", "pass_threshold": 0.5});
    let (code, out, _) = gradekit(&["validate", "-"], g.to_string().as_bytes());
    assert_eq!(code, 0);
    let echo: Value = serde_json::from_str(&out).unwrap();
    let mut want = g.clone();
    want["operation"] = json!("ne");
    assert_eq!(echo, json!({"grader": want}));
}

#[test]
fn validate_reports_every_error() {
    let g = json!({"type": "multi", "graders": {
        "a": {"type": "string_check", "input": 1, "reference": "b", "operation": "equals"},
        "b": {"type": "string_check", "input": "a", "reference": "b", "operation": "eq", "typo": 1}},
        "calculate_output": "a + b"});
    let (code, _, err) = gradekit(&["validate", "-"], g.to_string().as_bytes());
    assert_eq!(code, 2);
    for want in ["graders.a.input", "graders.a.operation", "graders.b.typo"] {
        assert!(err.contains(want), "{want} missing from {err}");
    }
}

#[test]
fn validate_json_lists_every_error_with_code_and_path() {
    let g = json!({"type": "multi", "calculate_output": "a +", "graders": {
        "a": {"type": "string_check", "input": "x", "reference": "y", "operation": "equals"},
        "b": {"type": "string_check", "input": "x", "reference": "y", "operation": "eq",
              "inptu": 1}}});
    let (code, out, _) = gradekit(&["validate", "--json", "-"], g.to_string().as_bytes());
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    let got: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                e["code"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("unknown_value", "graders.a.operation"),
        ("unknown_field", "graders.b.inptu"),
        ("unexpected_end", "calculate_output"),
    ];
    for (c, p) in want {
        assert!(got.contains(&(c.into(), p.into())), "{c} {p}: {got:?}");
    }
    let (code, out, _) = gradekit(&["validate", "--json", "-"], b"{not json");
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"][0]["code"], "invalid_json");
    let (code, out, _) = gradekit(
        &["validate", "--json", "-"],
        eq_grader().to_string().as_bytes(),
    );
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<Value>(&out).unwrap()["grader"].is_object());
}

#[test]
fn fatal_inputs_exit_2_with_a_message() {
    let (code, _, err) = gradekit(&["validate", "does/not/exist.json"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("does/not/exist.json"), "{err}");
    let (code, _, err) = gradekit(&["validate", "-"], b"{\"type\": ");
    assert_eq!(code, 2);
    assert!(
        err.contains("not valid JSON") && err.contains("line 1"),
        "{err}"
    );
    let (code, _, err) = gradekit(
        &[
            "score",
            "--grader",
            "fixtures/examples/multi.json",
            "no/such/input.jsonl",
        ],
        b"",
    );
    assert_eq!(code, 2);
    assert!(err.contains("no/such/input.jsonl"), "{err}");
}

fn score(args: &[&str], input: &[u8]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["score", "--grader"];
    all.extend_from_slice(args);
    all.push("-");
    let (code, out, err) = gradekit(&all, input);
    let lines = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, lines, err)
}

#[test]
fn score_keeps_order_and_line_numbers_and_drops_nothing() {
    let g = std::env::temp_dir().join(format!("gk-cli-{}.json", std::process::id()));
    std::fs::write(
        &g,
        json!({"type": "string_check", "input": "{{ sample.output_text }}",
        "reference": "{{ item.r }}", "operation": "eq", "pass_threshold": 1})
        .to_string(),
    )
    .unwrap();
    let g = g.to_str().unwrap().to_string();
    let mut input = Vec::new();
    for i in 0..5000 {
        if i % 1000 == 7 {
            input.extend_from_slice(b"   \n");
        } else if i % 1000 == 8 {
            input.extend_from_slice(b"[1, 2]\n");
        } else if i % 1000 == 9 {
            input.extend_from_slice(b"{\"id\": 9, \"model_sample\": null}\n");
        } else if i % 1000 == 10 {
            input.extend_from_slice(b"{\"id\": \xff\xfe}\n");
        } else {
            let s = if i % 2 == 0 { "a" } else { "b" };
            input.extend_from_slice(
                json!({"id": i, "item": {"r": "a"}, "model_sample": s})
                    .to_string()
                    .as_bytes(),
            );
            input.push(b'\n');
        }
    }
    input.extend_from_slice(
        b"{\"id\": \"last\", \"item\": {\"r\": \"a\"}, \"model_sample\": \"a\"}",
    );
    let summary = std::env::temp_dir().join(format!("gk-sum-{}.json", std::process::id()));
    let (code, lines, _) = score(
        &[
            &g,
            "--threads",
            "2",
            "-q",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
        &input,
    );
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 5000 - 5 + 1, "one output per non-blank line");
    let mut prev = 0;
    for l in &lines {
        let n = l["line"].as_u64().unwrap();
        assert!(n > prev, "in order");
        prev = n;
        let i = n - 1;
        if i % 1000 == 8 {
            assert_eq!(l["error"]["code"], json!("not_an_object"));
            assert_eq!(l["reward"], Value::Null);
        } else if i % 1000 == 9 {
            assert_eq!(l["error"]["code"], json!("missing_sample"));
            assert_eq!(l["id"], json!(9));
        } else if i % 1000 == 10 {
            assert_eq!(l["error"]["code"], json!("invalid_utf8"));
        } else if i < 5000 {
            assert_eq!(l["id"], json!(i));
            let want = if i % 2 == 0 { 1.0 } else { 0.0 };
            assert_eq!(l["reward"], json!(want));
            assert_eq!(l["passed"], json!(want >= 1.0));
        }
    }
    assert_eq!(lines.last().unwrap()["id"], json!("last"));
    assert_eq!(lines.last().unwrap()["line"], json!(5001));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["invalid_lines"], json!(15));
    assert_eq!(s["count"], json!(5000 - 20 + 1));
    let mean = s["reward"]["mean"].as_f64().unwrap();
    assert!(mean > 0.49 && mean < 0.51, "{mean}");
    assert!(s["pass_rate"].as_f64().is_some());
}

#[test]
fn score_sample_key_uses_the_whole_line_as_item() {
    let g = std::env::temp_dir().join(format!("gk-sk-{}.json", std::process::id()));
    std::fs::write(
        &g,
        json!({"type": "string_check", "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}", "operation": "eq"})
        .to_string(),
    )
    .unwrap();
    let input = b"{\"completion\": \"42\", \"answer\": \"42\"}\n{\"completion\": \"41\", \"answer\": \"42\"}\n{\"answer\": \"1\"}\n";
    let (code, lines, _) = score(
        &[g.to_str().unwrap(), "--sample-key", "completion", "-q"],
        input,
    );
    assert_eq!(code, 0);
    assert_eq!(lines[0]["reward"], json!(1.0));
    assert_eq!(lines[1]["reward"], json!(0.0));
    assert_eq!(lines[2]["error"]["code"], json!("missing_sample"));
    assert!(lines[0].get("passed").is_none(), "no threshold, no passed");
}

/// Regression (issue 13): `"item": null` is an absent item (`{}`) in `run` and in `score`
/// lines alike (the server's routes are checked in gradekit-server's tests).
#[test]
fn a_null_item_reads_the_same_in_run_and_score() {
    let grader = json!({"type": "string_check", "input": "{{ item }}", "reference": "{}",
                        "operation": "eq"});
    let (code, resp, err) = run(&json!({"grader": grader, "model_sample": "x", "item": null}));
    assert_eq!(code, 0, "{err}");
    assert_eq!(resp["reward"], json!(1.0));
    let g = write_temp("null-item.json", &grader.to_string().into_bytes());
    let input = b"{\"model_sample\": \"x\", \"item\": null}\n{\"sample\": {\"output_text\": \"x\"}, \"item\": null, \"reference_answer\": null}\n";
    let (code, lines, _) = score(&[g.to_str().unwrap(), "-q"], input);
    assert_eq!(code, 0);
    for l in &lines {
        assert_eq!(l["reward"], resp["reward"], "{l}");
        assert_eq!(l["metadata"]["errors"], resp["metadata"]["errors"]);
    }
    // The legacy reference_answer reads as on /run.
    let g = write_temp("ref-answer.json", &eq_grader().to_string().into_bytes());
    let (_, lines, _) = score(
        &[g.to_str().unwrap(), "-q"],
        b"{\"model_sample\": \"x\", \"reference_answer\": \"x\"}\n",
    );
    assert_eq!(lines[0]["reward"], json!(1.0), "{}", lines[0]);
}

#[test]
fn score_bad_grader_exits_2() {
    let (code, out, err) = gradekit(
        &[
            "score",
            "--grader",
            "fixtures/examples/outputs.jsonl",
            "fixtures/examples/outputs.jsonl",
        ],
        b"",
    );
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("not valid JSON"), "{err}");
}

fn write_temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gk-cli-res-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn rows_without_timing(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("execution_time");
            }
            v
        })
        .collect()
}

#[test]
fn score_resume_continues_from_the_checkpoint_and_refuses_another_grader() {
    let grader = json!({"type": "string_check", "input": "{{ sample.output_text }}",
        "reference": "{{ item.r }}", "operation": "eq"});
    let g = write_temp("g.json", grader.to_string().as_bytes());
    let mut input = String::new();
    for i in 0..5000 {
        input.push_str(
            &json!({"id": i, "item": {"r": "a"}, "model_sample": if i % 3 == 0 {"a"} else {"b"}})
                .to_string(),
        );
        input.push('\n');
    }
    let inp = write_temp("in.jsonl", input.as_bytes());
    let full = write_temp("full.jsonl", b"");
    // A plain run that completes leaves no checkpoint behind ...
    let (code, _, _) = gradekit(
        &[
            "score",
            "-q",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0);
    let ckpt_path = std::path::PathBuf::from(format!("{}.gkresume", full.display()));
    assert!(!ckpt_path.exists(), "a complete run removes its checkpoint");
    // ... a --resume run keeps it (resuming a finished output again is a no-op).
    std::fs::write(&full, b"").unwrap();
    let (code, _, _) = gradekit(
        &[
            "score",
            "-q",
            "--resume",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0);
    let want = rows_without_timing(&std::fs::read_to_string(&full).unwrap());
    assert_eq!(want.len(), 5000);
    // Simulate a crash: the checkpoint covers the first chunk, and half a line follows it.
    let mut ckpt: Value =
        serde_json::from_str(&std::fs::read_to_string(&ckpt_path).unwrap()).unwrap();
    let text = std::fs::read_to_string(&full).unwrap();
    let first: Vec<&str> = text.lines().take(2048).collect();
    let kept = first.iter().map(|l| l.len() + 1).sum::<usize>();
    let in_lines: Vec<&str> = input.lines().take(2048).collect();
    let in_bytes: Vec<u8> = in_lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    // The checkpoint's input hash is XXH3-64 of the input bytes it covers.
    let h = xxhash_rust::xxh3::xxh3_64(&in_bytes);
    ckpt["input_offset"] = json!(in_bytes.len());
    ckpt["input_hash"] = json!(format!("{h:016x}"));
    ckpt["line"] = json!(2048);
    ckpt["output_bytes"] = json!(kept);
    let out_h = xxhash_rust::xxh3::xxh3_64(&text.as_bytes()[..kept]);
    ckpt["output_hash"] = json!(format!("{out_h:016x}"));
    ckpt["last_row_line"] = json!(2048);
    ckpt["complete"] = json!(false);
    std::fs::write(&ckpt_path, ckpt.to_string()).unwrap();
    let mut partial = text.as_bytes()[..kept].to_vec();
    partial.extend_from_slice(b"{\"line\": 2049, \"rew");
    std::fs::write(&full, &partial).unwrap();
    let (code, _, err) = gradekit(
        &[
            "score",
            "-q",
            "--resume",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        rows_without_timing(&std::fs::read_to_string(&full).unwrap()),
        want
    );
    // Resuming a finished run grades nothing new: the summary covers every row, and the rate
    // counts only this run's rows (none), not the reloaded ones over a tiny elapsed time.
    let sum = write_temp("resume-summary.json", b"");
    let (code, _, err) = gradekit(
        &[
            "score",
            "-q",
            "--resume",
            "--summary-json",
            sum.to_str().unwrap(),
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&sum).unwrap()).unwrap();
    assert_eq!(s["count"], json!(5000));
    assert_eq!(s["rows_per_second"], json!(0.0));
    assert_eq!(
        rows_without_timing(&std::fs::read_to_string(&full).unwrap()),
        want
    );
    // Another grader must not continue this output.
    let other = write_temp(
        "g2.json",
        json!({"type": "string_check", "input": "x", "reference": "x", "operation": "ne"})
            .to_string()
            .as_bytes(),
    );
    let (code, _, err) = gradekit(
        &[
            "score",
            "-q",
            "--resume",
            "-g",
            other.to_str().unwrap(),
            inp.to_str().unwrap(),
            "-o",
            full.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 2);
    assert!(err.contains("different grader"), "{err}");
}

#[test]
fn score_reads_and_writes_gzip_and_zstd() {
    use std::io::{Read, Write as _};
    let grader = json!({"type": "string_check", "input": "{{ sample.output_text }}",
        "reference": "{{ item.r }}", "operation": "like"});
    let g = write_temp("gz.json", grader.to_string().as_bytes());
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&json!({"id": i, "item": {"r": "b"}, "model_sample": format!("a{}c", if i % 2 == 0 {"b"} else {"x"})}).to_string());
        input.push('\n');
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(input.as_bytes()).unwrap();
    let gz = write_temp("gz-in.jsonl.gz", &enc.finish().unwrap());
    let plain = write_temp("gz-in.jsonl", input.as_bytes());
    let out_zst = write_temp("gz-out.jsonl.zst", b"");
    let out_plain = write_temp("gz-out.jsonl", b"");
    let (code, _, err) = gradekit(
        &[
            "score",
            "-q",
            "-g",
            g.to_str().unwrap(),
            gz.to_str().unwrap(),
            "-o",
            out_zst.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = gradekit(
        &[
            "score",
            "-q",
            "-g",
            g.to_str().unwrap(),
            plain.to_str().unwrap(),
            "-o",
            out_plain.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code, 0);
    let mut dec = String::new();
    zstd::stream::read::Decoder::new(std::fs::File::open(&out_zst).unwrap())
        .unwrap()
        .read_to_string(&mut dec)
        .unwrap();
    let a = rows_without_timing(&dec);
    assert_eq!(a.len(), 300);
    assert_eq!(
        a,
        rows_without_timing(&std::fs::read_to_string(&out_plain).unwrap())
    );
    assert_eq!(a[0]["reward"], json!(1.0));
    assert_eq!(a[1]["reward"], json!(0.0));
}

#[test]
fn python_read_path_opens_one_more_path_to_sandboxed_workers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("answers.txt");
    std::fs::write(&data, "42").unwrap();
    let req = json!({
        "grader": {"type": "python", "source": format!(
            "def grade(sample, item):\n    return float(open({:?}).read() == sample['output_text'])\n",
            data.display().to_string())},
        "model_sample": "42"
    });
    let body = req.to_string();
    let (code, out, err) = gradekit(&["run", "--python-timeout", "20", "-"], body.as_bytes());
    assert_eq!(code, 0, "{err}");
    let denied: Value = serde_json::from_str(&out).unwrap();
    let errors = &denied["metadata"]["errors"];
    if errors["python_grader_server_error_type"] == json!("sandbox_unavailable") {
        eprintln!("SKIP: the sandbox is unavailable on this kernel; --python-read-path not tested");
        return;
    }
    assert_eq!(denied["reward"], json!(0.0), "{denied}");
    assert_eq!(
        errors["python_grader_runtime_error"],
        json!(true),
        "{denied}"
    );
    let path = dir.path().to_str().unwrap();
    let (code, out, err) = gradekit(
        &[
            "run",
            "--python-timeout",
            "20",
            "--python-read-path",
            path,
            "-",
        ],
        body.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let allowed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(allowed["reward"], json!(1.0), "{allowed}");
    // A path that does not exist is a usage error naming the flag.
    let (code, _, err) = gradekit(
        &["run", "--python-read-path", "/no/such/dir", "-"],
        body.as_bytes(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--python-read-path /no/such/dir"), "{err}");
}
