//! Helpers shared by the CLI integration tests: the built binary, run with piped stdio.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// The `gradekit` binary of this build, run from the repository root.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gradekit"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs `gradekit ARGS` with `stdin`; its exit code (-1 when killed), stdout and stderr.
pub fn gradekit(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Feed stdin from another thread: a large input and output would otherwise fill both pipes.
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || pipe.write_all(&data));
    let out = child.wait_with_output().unwrap();
    // A process that fails early may not read its stdin: a broken pipe is not a test failure.
    let _ = feeder.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `bytes` to `dir/name`; the path.
pub fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `string_check` eq of the sample's output text and `item.r`.
pub fn eq_grader() -> serde_json::Value {
    serde_json::json!({"type": "string_check", "name": "eq", "input": "{{ sample.output_text }}",
           "reference": "{{ item.r }}", "operation": "eq"})
}

/// The JSON rows of a `score` run's stdout, one per line.
pub fn rows(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
