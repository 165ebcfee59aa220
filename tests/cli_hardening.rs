//! Issue #12 against the CLI: hostile inputs are contained, files are never lost, stdio
//! errors are errors. Each test fails on the code before its fix.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

mod common;
use common::{bin, eq_grader, gradekit, write};

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
    let rows = common::rows(&out);
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

/// Runs `gradekit ARGS` through `sh` with a shell redirection `redir` (`>&-`, `<&-`,
/// `>/dev/full`): exit code and stderr.
fn with_redirection(args: &[&str], redir: &str) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" \"$@\" {redir}"))
        .arg(env!("CARGO_BIN_EXE_gradekit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Item 11: closed or failing standard streams are errors (exit 2), never silent success.
#[test]
fn closed_or_failing_stdio_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let inp = write(
        dir.path(),
        "in.jsonl",
        format!("{}\n", json!({"item": {"r": "a"}, "model_sample": "a"})).as_bytes(),
    );
    let req = write(
        dir.path(),
        "req.json",
        json!({"grader": eq_grader(), "model_sample": "a", "item": {"r": "a"}})
            .to_string()
            .as_bytes(),
    );
    let (g, inp, req) = (
        g.to_str().unwrap(),
        inp.to_str().unwrap(),
        req.to_str().unwrap(),
    );
    for (args, redir, says) in [
        (
            vec!["score", "-q", "-g", g, inp],
            ">&-",
            "standard output is closed",
        ),
        (
            vec!["score", "-q", "-g", g, "-"],
            "<&-",
            "standard input is closed",
        ),
        (vec!["run", req], ">&-", "standard output is closed"),
        (vec!["run", "-"], "<&-", "standard input is closed"),
        (vec!["validate", g], ">&-", "standard output is closed"),
        (
            vec!["score", "-q", "-g", g, inp],
            ">/dev/full",
            "No space left",
        ),
        (vec!["run", req], ">/dev/full", "No space left"),
    ] {
        let (code, err) = with_redirection(&args, redir);
        assert_eq!(code, 2, "{args:?} {redir}: {err}");
        assert!(err.contains(says), "{args:?} {redir}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A redirection to /dev/null is a choice, not a closed stream.
    assert_eq!(with_redirection(&["run", req], ">/dev/null").0, 0);
}

/// Item 11: a reader that goes away (`| head -c 10`) ends the run quietly with 0.
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let mut big = String::new();
    for _ in 0..100_000 {
        big.push_str(&json!({"item": {"r": "a"}, "model_sample": "a"}).to_string());
        big.push('\n');
    }
    let inp = write(dir.path(), "in.jsonl", big.as_bytes());
    let req = write(
        dir.path(),
        "req.json",
        json!({"grader": eq_grader(), "model_sample": "a", "item": {"r": "a"}})
            .to_string()
            .as_bytes(),
    );
    let cases = [
        format!(
            "\"$0\" score -q -g {} {} | head -c 10",
            g.display(),
            inp.display()
        ),
        format!("\"$0\" run {} | head -c 10", req.display()),
        // The reader is gone before anything is written.
        format!("\"$0\" run {} | true", req.display()),
        format!("\"$0\" validate {} | true", g.display()),
    ];
    for script in cases {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{script}; exit ${{PIPESTATUS:-0}}"))
            .arg(env!("CARGO_BIN_EXE_gradekit"))
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("error"),
            "{script}: {err}"
        );
    }
    // The exit code of the writer itself: spawn it with a pipe whose read end is closed.
    for args in [
        vec!["run", req.to_str().unwrap()],
        vec![
            "score",
            "-q",
            "-g",
            g.to_str().unwrap(),
            inp.to_str().unwrap(),
        ],
    ] {
        let mut child = bin()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Starts `gradekit serve --port 0 EXTRA…`; the child and its address (callers wait for it).
#[allow(clippy::zombie_processes)]
fn start_server(
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    start_server_with(extra, &[])
}

/// [`start_server`] with environment variables set for the child.
#[allow(clippy::zombie_processes)]
fn start_server_with(
    extra: &[&str],
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut child = bin()
        .args(["serve", "--port", "0"])
        .args(extra)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "server ended early");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_string();
            return (child, addr, err);
        }
    }
}

fn sigterm(child: &std::process::Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Item 12: requests cut by the drain deadline make the exit status non-zero, and the log
/// says how many; a clean drain still exits 0.
#[test]
fn serve_exit_status_reports_requests_cut_by_the_drain() {
    use std::io::Read;
    // A data dir of its own: the default one is locked by any other `gradekit serve` running
    // on the machine, which made this test fail with "server ended early".
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    // Clean: nothing in flight.
    let (mut child, _addr, mut err) = start_server(&["--drain-timeout", "1", "--data-dir", data]);
    sigterm(&child);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");

    // Two requests whose bodies never finish arriving are in flight at SIGTERM.
    let (mut child, addr, mut err) = start_server(&[
        "--drain-timeout",
        "1",
        "--timeout",
        "60",
        "--data-dir",
        data,
    ]);
    let mut conns = Vec::new();
    for _ in 0..2 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(
            b"POST /v1/fine_tuning/alpha/graders/run HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"grader\":",
        )
        .unwrap();
        conns.push(s);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    sigterm(&child);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_ne!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("2 request(s) cut"), "{rest}");
    drop(conns);
}

/// Item 5: an absurd --threads is clamped with a warning; 0 is a usage error.
#[test]
fn threads_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let line = format!("{}\n", json!({"item": {"r": "a"}, "model_sample": "a"}));
    let t = std::time::Instant::now();
    let (code, out, err) = gradekit(
        &[
            "score",
            "--threads",
            "10000",
            "-g",
            g.to_str().unwrap(),
            "-",
        ],
        line.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        t.elapsed()
    );
    assert!(err.contains("warning: --threads 10000"), "{err}");
    assert_eq!(out.lines().count(), 1);
    let (code, _, err) = gradekit(
        &["score", "--threads", "0", "-g", g.to_str().unwrap(), "-"],
        line.as_bytes(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("--threads must be at least 1"), "{err}");
}

/// Item 8: credentials in OPENAI_BASE_URL never reach the run response, nor stderr.
#[test]
fn judge_url_credentials_never_reach_the_output() {
    let grader = json!({"type": "score_model", "name": "j", "model": "m",
        "input": [{"role": "user", "content": "grade {{ sample.output_text }}"}]});
    let req = json!({"grader": grader, "model_sample": "a"}).to_string();
    let out = bin()
        .args(["run", "-", "--judge-timeout", "2"])
        .env(
            "OPENAI_BASE_URL",
            "http://alice:hunter2pass@127.0.0.1:9/v1?api_key=qsecret123",
        )
        .env("OPENAI_API_KEY", "sk-topsecret-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(req.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["metadata"]["errors"]["model_grader_server_error"],
        json!(true)
    );
    for s in ["alice", "hunter2pass", "qsecret123", "sk-topsecret-key"] {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
    assert!(text.contains("127.0.0.1:9"), "{text}");
}

/// A line longer than --max-line-bytes is one error row; it is never held in memory whole.
#[test]
fn an_overlong_line_is_an_error_row_and_its_neighbours_are_graded() {
    let dir = tempfile::tempdir().unwrap();
    let g = write(dir.path(), "g.json", eq_grader().to_string().as_bytes());
    let ok = json!({"item": {"r": "a"}, "model_sample": "a"}).to_string();
    let long = json!({"item": {"r": "a"}, "model_sample": "a".repeat(300_000)}).to_string();
    for (input, rows_expected) in [
        (
            format!("{ok}\n{long}\n\n{ok}\n"),
            vec![(1, true), (2, false), (4, true)],
        ),
        (format!("{ok}\n{long}"), vec![(1, true), (2, false)]),
    ] {
        let (code, out, err) = gradekit(
            &[
                "score",
                "-q",
                "--max-line-bytes",
                "100000",
                "-g",
                g.to_str().unwrap(),
                "-",
            ],
            input.as_bytes(),
        );
        assert_eq!(code, 0, "{err}");
        let rows = common::rows(&out);
        assert_eq!(rows.len(), rows_expected.len(), "{out}");
        for (row, (line, graded)) in rows.iter().zip(rows_expected) {
            assert_eq!(row["line"], json!(line));
            if graded {
                assert_eq!(row["reward"], json!(1.0));
            } else {
                assert_eq!(row["reward"], Value::Null);
                assert_eq!(row["error"]["code"], json!("line_too_long"));
                let m = row["error"]["message"].as_str().unwrap();
                assert!(
                    m.contains("100000") && m.contains("--max-line-bytes"),
                    "{m}"
                );
            }
        }
    }
}

/// The slow-client limits are flags (and env variables) of `serve`: a body that stalls is cut
/// with a 408 envelope at `GRADEKIT_BODY_TIMEOUT`, headers that stall at `--header-timeout`,
/// and the log names what was cut. Nonsense values are usage errors.
#[test]
fn serve_cuts_slow_clients_at_the_configured_timeouts() {
    use std::io::{BufRead, Read};
    let data = tempfile::tempdir().unwrap();
    let data = data.path().to_str().unwrap();
    for bad in [
        ["--body-timeout", "0"],
        ["--header-timeout", "nan"],
        ["--max-connections", "0"],
    ] {
        let out = bin()
            .args(["serve", "--port", "0", "--data-dir", data])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(bad[0]),
            "{bad:?}"
        );
    }
    let (mut child, addr, mut err) = start_server_with(
        &["--header-timeout", "0.5", "--data-dir", data],
        &[("GRADEKIT_BODY_TIMEOUT", "0.5")],
    );
    let answer = |head: &[u8]| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(head).unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    };
    let body = answer(
        b"POST /v1/fine_tuning/alpha/graders/run HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"grader\":",
    );
    assert!(body.starts_with("HTTP/1.1 408"), "{body}");
    assert!(
        body.contains("\"code\":\"request_timeout\"") && body.contains("0.5 s"),
        "{body}"
    );
    let head = answer(b"POST /v1/fine_tuning/alpha/graders/run HTTP/1.1\r\nHo");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("request headers"), "{head}");
    let mut log = String::new();
    for _ in 0..2 {
        err.read_line(&mut log).unwrap();
    }
    assert!(log.contains("408 to 127.0.0.1:"), "{log}");
    assert!(
        log.contains("too slowly") && log.contains("POST /v1/fine_tuning/alpha/graders/run"),
        "{log}"
    );
    assert!(
        log.contains("request headers not complete within 0.5 s"),
        "{log}"
    );
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
