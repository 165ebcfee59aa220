//! The `gradekit` binary: `run` (the request on stdin), `score` (the case as a one-line JSONL
//! file) and `validate --json`, each case in its own process with its judge at the stub.

use crate::case::Case;
use crate::common::gradekit;
use serde_json::Value;
use std::path::Path;

/// The engine flags every invocation gets: the case's judge, one python worker (results do
/// not depend on it; the machine running the suite may have two cores), the case's `engine`
/// options.
fn engine_flags(case: &Case, judge_url: &str) -> Vec<String> {
    let mut flags: Vec<String> = [
        "--judge-base-url",
        judge_url,
        "--judge-api-key",
        "sk-suite",
        "--judge-timeout",
        "20",
        "--python-workers",
        "1",
    ]
    .map(String::from)
    .to_vec();
    for (name, value) in &case.engine {
        flags.extend([format!("--{}", name.replace('_', "-")), value.clone()]);
    }
    flags
}

fn call(args: Vec<String>, stdin: &str) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gradekit(&args, stdin.as_bytes())
}

/// `gradekit run -`: the response, or the exit code and stderr.
pub fn run(case: &Case, request: &Value, judge_url: &str) -> Result<Value, (i32, String)> {
    let mut args = vec!["run".to_string(), "-".to_string()];
    args.extend(engine_flags(case, judge_url));
    let (code, out, err) = call(args, &request.to_string());
    if code != 0 {
        return Err((code, err));
    }
    serde_json::from_str(&out).map_err(|e| (code, format!("stdout is not JSON ({e}): {out}")))
}

/// `gradekit score -q -g GRADER -`: the one output row of the case's entry line, or the exit
/// code and stderr.
pub fn score(case: &Case, dir: &Path, judge_url: &str) -> Result<Value, (i32, String)> {
    score_entry(case, &case.entry(), dir, judge_url)
}

/// `gradekit score` of `entry` as the one line, with the case's grader.
pub fn score_entry(
    case: &Case,
    entry: &Value,
    dir: &Path,
    judge_url: &str,
) -> Result<Value, (i32, String)> {
    let grader = dir.join(format!("{}.json", case.key));
    std::fs::write(&grader, case.grader.to_string()).map_err(|e| (-1, e.to_string()))?;
    let mut args = vec![
        "score".to_string(),
        "-q".to_string(),
        "-g".to_string(),
        grader.display().to_string(),
        "-".to_string(),
    ];
    args.extend(engine_flags(case, judge_url));
    let (code, out, err) = call(args, &format!("{entry}\n"));
    if code != 0 {
        return Err((code, err));
    }
    let rows: Vec<&str> = out.lines().collect();
    match rows.as_slice() {
        [row] => serde_json::from_str(row).map_err(|e| (code, format!("row is not JSON ({e})"))),
        _ => Err((code, format!("{} rows for one line: {out}", rows.len()))),
    }
}

/// `gradekit validate --json -`: the exit code and stdout as JSON.
pub fn validate(grader: &Value) -> (i32, Value, String) {
    let (code, out, err) = call(
        vec!["validate".into(), "--json".into(), "-".into()],
        &grader.to_string(),
    );
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}
