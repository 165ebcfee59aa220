//! `gradekit validate --job` and `gradekit jobs list|show|events|cancel|export` against a live
//! `gradekit serve` running the protocol test trainer.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn gradekit(args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gradekit"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn validate_job_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        json!({"model": "m", "training_file": "file-a",
        "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 4}}}})
        .to_string(),
    )
    .unwrap();
    let (code, out, _) = gradekit(&["validate", "--job", good.to_str().unwrap()], &[]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["job"]["method"]["dpo"]["hyperparameters"],
        json!({"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": 4, "beta": 0.2})
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, json!({"model": "m", "training_file": "file-a", "method": {"type": "reinforcement",
        "reinforcement": {"grader": {"type": "multi", "calculate_output": "a *", "graders": {
            "a": {"type": "string_check", "name": "a", "input": "x", "reference": "y", "operation": "eq"}}}}}}).to_string()).unwrap();
    let (code, _, err) = gradekit(&["validate", "--job", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("method.reinforcement.grader.calculate_output"),
        "{err}"
    );
    let (code, out, _) = gradekit(&["validate", "--json", "--job", bad.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["errors"][0]["path"],
        "method.reinforcement.grader.calculate_output"
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn post(port: u16, path: &str, content_type: &str, body: &[u8]) -> Value {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

#[test]
fn the_jobs_commands_talk_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models.toml");
    std::fs::write(
        &models,
        format!("[models.tiny]\npath = \"{}\"\n", dir.path().display()),
    )
    .unwrap();
    let trainer = format!(
        "python3 {}/tests/trainer/fake_trainer.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradekit"))
        .args([
            "serve",
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--models",
            models.to_str().unwrap(),
            "--trainer",
            &trainer,
        ])
        .env("FAKE_TRAINER_DELAY", "0.1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let port = port_of(&[line]);
    let chat = json!({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]});
    let file: String = (0..10).map(|_| format!("{chat}\n")).collect();
    let body = format!("--B\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\n\r\n{file}\r\n--B--\r\n");
    let f = post(
        port,
        "/v1/files",
        "multipart/form-data; boundary=B",
        body.as_bytes(),
    );
    let job = post(
        port,
        "/v1/fine_tuning/jobs",
        "application/json",
        json!({"model": "tiny", "training_file": f["id"], "suffix": "cli"})
            .to_string()
            .as_bytes(),
    );
    let id = job["id"].as_str().unwrap().to_string();
    let env = [("GRADEKIT_BASE_URL", format!("http://127.0.0.1:{port}/v1"))];
    let start = Instant::now();
    let (code, out, err) = gradekit(
        &["jobs", "events", &id, "--follow", "--interval", "0.2"],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    assert!(start.elapsed() < Duration::from_secs(60));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("info  Created fine-tuning job: {id}"));
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("step") && l.contains("train_loss")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.trim_start().starts_with("6/6")),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), format!("job {id}: succeeded"));
    let (code, out, _) = gradekit(&["jobs", "list"], &env);
    assert_eq!(code, 0);
    assert!(
        out.lines().nth(1).unwrap().starts_with(&id) && out.contains("succeeded"),
        "{out}"
    );
    let (code, out, _) = gradekit(&["jobs", "show", &id], &env);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    let model = shown["fine_tuned_model"].as_str().unwrap().to_string();
    let (code, _, err) = gradekit(&["jobs", "cancel", &id], &env);
    assert_eq!(code, 2);
    assert!(
        err.contains("status succeeded") && err.contains("param fine_tuning_job_id"),
        "{err}"
    );
    let dest = dir.path().join("export");
    let (code, _, err) = gradekit(
        &[
            "jobs",
            "export",
            &model,
            dest.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(dest.join("step")).unwrap(), "6");
    let (code, _, err) = gradekit(
        &[
            "jobs",
            "export",
            "ft:nope",
            dir.path().join("x").to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("ft:nope"), "{err}");
}

/// Starts `gradekit serve --port 0 EXTRA…` with HOME at `home` (so the default data directory
/// is under it); the child and the first stderr lines up to the "listening" one.
fn serve_in(home: &std::path::Path, extra: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradekit"))
        .args(["serve", "--port", "0"])
        .args(extra)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("GRADEKIT_DATA_DIR")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.contains("listening on");
        lines.push(line);
        if done {
            break;
        }
    }
    (child, lines)
}

fn port_of(lines: &[String]) -> u16 {
    let l = lines.iter().find(|l| l.contains("listening on")).unwrap();
    l.split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn get(port: u16, path: &str) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap(),
    )
}

#[test]
fn a_second_server_on_the_default_data_dir_still_serves_the_graders() {
    let home = tempfile::tempdir().unwrap();
    let (first, lines) = serve_in(home.path(), &[]);
    let _first = Server(first);
    let one = port_of(&lines);
    // Without --data-dir the second server starts; its jobs routes say why they are off.
    let (second, lines) = serve_in(home.path(), &[]);
    let _second = Server(second);
    let two = port_of(&lines);
    assert!(
        lines[0].contains("warning") && lines[0].contains("in use by another gradekit server"),
        "{lines:?}"
    );
    let (status, v) = get(two, "/v1/fine_tuning/jobs");
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "jobs_unavailable");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--data-dir"));
    let v = post(
        two,
        "/v1/fine_tuning/alpha/graders/validate",
        "application/json",
        json!({"grader": {"type": "string_check", "name": "s", "input": "a", "reference": "a", "operation": "eq"}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(v["grader"]["name"], "s", "{v}");
    // The first server keeps the jobs API.
    let (status, v) = get(one, "/v1/fine_tuning/jobs");
    assert_eq!(status, 200, "{v}");
    // A data directory named on the command line that another server holds is an error.
    let data = home.path().join(".local/share/gradekit");
    let (code, _, err) = gradekit(
        &["serve", "--port", "0", "--data-dir", data.to_str().unwrap()],
        &[("HOME", home.path().display().to_string())],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("in use by another gradekit server"), "{err}");
}
