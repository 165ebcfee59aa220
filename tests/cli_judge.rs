//! The `--judge-*` flags of DESIGN.md §5 through the `gradekit` binary, against the judge
//! crate's loopback stub: base URL and key, concurrency independent of `--threads`, the cache.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gradekit_judge::stub::{self, StubReply, StubServer};
use serde_json::{json, Value};

fn gradekit(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gradekit"));
    cmd.args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A process that rejects its flags exits before reading stdin: a broken pipe is expected.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn grader() -> Value {
    json!({
        "type": "score_model",
        "name": "judge",
        "model": "gpt-4o",
        "input": [{"role": "user", "content": "Grade {{ sample.output_text }} against {{ item.ref }}"}],
        "range": [0, 10],
        "pass_threshold": 5
    })
}

fn answering(result: f64, delay_ms: u64) -> StubServer {
    StubServer::start(move |_, _| {
        StubReply::json(&stub::completion(&stub::structured(json!(result))))
            .with_delay(Duration::from_millis(delay_ms))
    })
}

#[test]
fn run_uses_base_url_and_key_flags_and_never_prints_the_key() {
    let server = answering(12.0, 0);
    let req = json!({"grader": grader(), "model_sample": "x", "item": {"ref": "y"}});
    let url = server.base_url();
    let (code, out, err) = gradekit(
        &[
            "run",
            "-",
            "--judge-base-url",
            &url,
            "--judge-api-key",
            "sk-flag-secret",
        ],
        req.to_string().as_bytes(),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let resp: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(resp["reward"], 10.0, "clamped to range");
    assert_eq!(
        resp["metadata"]["sampled_model_name"],
        "stub-model-2025-01-01"
    );
    assert_eq!(resp["metadata"]["token_usage"]["total_tokens"], 15);
    let sent = &server.requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer sk-flag-secret"));
    assert_eq!(sent.json()["messages"][0]["content"], "Grade x against y");
    assert!(!out.contains("sk-flag-secret") && !err.contains("sk-flag-secret"));
}

#[test]
fn run_reads_openai_environment_variables() {
    let server = answering(3.0, 0);
    let req = json!({"grader": grader(), "model_sample": "x", "item": {"ref": "y"}});
    let url = server.base_url();
    let (code, out, err) = gradekit(
        &["run", "-"],
        req.to_string().as_bytes(),
        &[("OPENAI_BASE_URL", &url), ("OPENAI_API_KEY", "sk-env")],
    );
    assert_eq!(code, 0, "{err}");
    let resp: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(resp["reward"], 3.0);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-env")
    );
}

#[test]
fn unreachable_judge_is_a_flagged_sample_not_a_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let req = json!({"grader": grader(), "model_sample": "x", "item": {"ref": "y"}});
    let (code, out, _) = gradekit(
        &["run", "-", "--judge-base-url", &url, "--judge-timeout", "2"],
        req.to_string().as_bytes(),
        &[],
    );
    assert_eq!(code, 0);
    let resp: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(resp["reward"], 0.0);
    assert_eq!(
        resp["metadata"]["errors"]["model_grader_server_error"],
        true
    );
}

/// llama-cpp-python ignores `max_completion_tokens`: `--judge-token-cap-field` picks the field
/// that carries the grader's `sampling_params.max_completions_tokens`.
#[test]
fn token_cap_field_chooses_the_fields_sent() {
    let server = answering(7.0, 0);
    let mut g = grader();
    g["sampling_params"] = json!({"max_completions_tokens": 64});
    let req = json!({"grader": g, "model_sample": "x", "item": {"ref": "y"}});
    let url = server.base_url();
    for (field, expect) in [
        (None, &["max_completion_tokens"][..]),
        (
            Some("max_completion_tokens"),
            &["max_completion_tokens"][..],
        ),
        (Some("max_tokens"), &["max_tokens"][..]),
        (Some("both"), &["max_completion_tokens", "max_tokens"][..]),
    ] {
        let mut args = vec!["run", "-", "--judge-base-url", &url];
        args.extend(field.iter().flat_map(|f| ["--judge-token-cap-field", f]));
        let before = server.requests().len();
        let (code, out, err) = gradekit(&args, req.to_string().as_bytes(), &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["reward"], 7.0);
        let sent = server.requests()[before].json();
        for key in ["max_completion_tokens", "max_tokens"] {
            let want = expect.contains(&key).then_some(json!(64));
            assert_eq!(sent.get(key).cloned(), want, "{field:?}: {key}");
        }
    }
}

#[test]
fn bad_judge_flags_exit_2() {
    let req = json!({"grader": grader(), "model_sample": "x"});
    for flags in [
        vec!["--judge-base-url", "not a url"],
        vec!["--judge-concurrency", "0"],
        vec!["--judge-timeout", "-1"],
        vec!["--judge-token-cap-field", "max_token"],
    ] {
        let mut args = vec!["run", "-"];
        args.extend(flags.iter().copied());
        let (code, _, err) = gradekit(&args, req.to_string().as_bytes(), &[]);
        assert_eq!(code, 2, "{flags:?}: {err}");
    }
}

/// 64 lines, 100 ms per judge call, `--threads 1`: serial would be ≈ 6.4 s; with
/// `--judge-concurrency 32` ≈ 0.2 s plus process start. A generous bound: behaviour, not speed.
#[test]
fn score_concurrency_follows_judge_concurrency_not_threads() {
    let server = answering(7.0, 100);
    let dir = tempfile::tempdir().unwrap();
    let grader_path = dir.path().join("g.json");
    std::fs::write(&grader_path, grader().to_string()).unwrap();
    let lines: String = (0..64)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": i, "model_sample": format!("s{i}"), "item": {"ref": "r"}})
            )
        })
        .collect();
    let url = server.base_url();
    let start = Instant::now();
    let (code, out, err) = gradekit(
        &[
            "score",
            "--grader",
            grader_path.to_str().unwrap(),
            "-",
            "--threads",
            "1",
            "--judge-base-url",
            &url,
            "--judge-concurrency",
            "32",
            "-q",
        ],
        lines.as_bytes(),
        &[],
    );
    let took = start.elapsed();
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 64);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], i, "input order");
        assert_eq!(row["reward"], 7.0);
        assert_eq!(row["passed"], true);
    }
    assert!(server.max_in_flight() > 8, "{}", server.max_in_flight());
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn judge_cache_makes_a_rerun_call_nothing() {
    let server = answering(6.0, 0);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let req = json!({"grader": grader(), "model_sample": "x", "item": {"ref": "y"}});
    let url = server.base_url();
    let args = [
        "run",
        "-",
        "--judge-base-url",
        &url,
        "--judge-cache",
        cache.to_str().unwrap(),
    ];
    let (c1, out1, _) = gradekit(&args, req.to_string().as_bytes(), &[]);
    let (c2, out2, _) = gradekit(&args, req.to_string().as_bytes(), &[]);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(server.calls(), 1);
    let (r1, r2): (Value, Value) = (
        serde_json::from_str(&out1).unwrap(),
        serde_json::from_str(&out2).unwrap(),
    );
    assert_eq!(r1["reward"], 6.0);
    assert_eq!(r2["reward"], 6.0);
    assert_eq!(r1["metadata"]["token_usage"], r2["metadata"]["token_usage"]);
}

#[test]
fn score_summary_totals_judge_tokens_per_model() {
    // The stub answers every call with usage 10 prompt + 5 completion (stub::completion).
    let server = answering(7.0, 0);
    let dir = tempfile::tempdir().unwrap();
    let grader_path = dir.path().join("g.json");
    let summary_path = dir.path().join("s.json");
    std::fs::write(&grader_path, grader().to_string()).unwrap();
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                json!({"model_sample": format!("s{i}"), "item": {"ref": "r"}})
            )
        })
        .collect();
    let url = server.base_url();
    let (code, out, err) = gradekit(
        &[
            "score",
            "--grader",
            grader_path.to_str().unwrap(),
            "-",
            "--judge-base-url",
            &url,
            "--summary-json",
            summary_path.to_str().unwrap(),
        ],
        lines.as_bytes(),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let row: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let model = row["metadata"]["sampled_model_name"]
        .as_str()
        .unwrap()
        .to_string();
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    let per_model = s["token_usage"]["per_model"].as_object().unwrap();
    assert_eq!(per_model.len(), 1, "{s}");
    let want = json!({"prompt_tokens": 30, "completion_tokens": 15, "total_tokens": 45, "cached_tokens": 0});
    assert_eq!(per_model[&model], want, "{s}");
    assert_eq!(s["token_usage"]["total"], want);
    assert!(
        err.contains(&format!(
            "judge {model}: 45 tokens (30 prompt, 15 completion)"
        )),
        "{err}"
    );
}
