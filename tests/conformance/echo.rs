//! DESIGN §4 **name** on every graded case: the validate echo (engine, `gradekit validate
//! --json`, the server's `/validate`) is the same everywhere, its `name` is the one the run
//! answers carry (a given name as is, else `grader-` + 12 alphanumerics), and it is the case's
//! `expected.echo` when the case pins one (the grader as given, `neq` written `ne`, a generated
//! name added, no defaults filled in).

use crate::case::{text, Case};
use crate::cli;
use crate::server::{self, Server};
use axum::Router;
use gradekit::EngineOptions;
use serde_json::{json, Value};

/// True for `grader-` followed by exactly 12 ASCII letters or digits.
fn is_generated_name(name: &str) -> bool {
    name.strip_prefix("grader-")
        .is_some_and(|h| h.len() == 12 && h.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Mismatches of the echoes of `case`'s grader (which compiles) against each other, the run
/// answer `reference` and the case's `expected.echo`.
pub fn check(
    case: &Case,
    opts: &EngineOptions,
    reference: &Value,
    srv: &Server,
    app: &Router,
) -> Vec<String> {
    let mut bad = Vec::new();
    let engine = match gradekit::validate(&case.grader, opts) {
        Ok(e) => e,
        Err(e) => {
            return vec![format!(
                "validate (engine): rejected a grader run accepts: {e}"
            )]
        }
    };
    let name = engine["name"].as_str().unwrap_or("");
    match case.grader.get("name").and_then(Value::as_str) {
        Some(given) if name != given => bad.push(format!(
            "validate: the given name {given:?} echoed as {name:?}"
        )),
        Some(_) => {}
        None if !is_generated_name(name) => bad.push(format!(
            "validate: generated name {name:?} is not grader- + 12 alphanumerics"
        )),
        None => {}
    }
    if reference["metadata"]["name"] != json!(name) {
        bad.push(format!(
            "metadata.name {} differs from the validate echo's name {name:?}",
            reference["metadata"]["name"]
        ));
    }
    if let Some(want) = case.expected.get("echo") {
        if text(want) != text(&engine) {
            bad.push(format!(
                "validate echo:\n    want {}\n    got  {}",
                text(want),
                text(&engine)
            ));
        }
    }
    let (code, out, err) = cli::validate(&case.grader);
    if code != 0 || text(&out) != text(&json!({"grader": engine})) {
        bad.push(format!(
            "gradekit validate --json: exit {code}, {} {err}, want the engine's echo",
            text(&out)
        ));
    }
    let (s, resp) = srv.post(app, server::VALIDATE, &json!({"grader": case.grader}));
    if s != 200 || text(&resp) != text(&json!({"grader": engine})) {
        bad.push(format!(
            "/validate: {s} {}, want the engine's echo",
            text(&resp)
        ));
    }
    bad
}
