//! Reading JSON documents from files or stdin with messages that name the file and position.

use anyhow::{Context, Result};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// Reads a whole file (`-` = stdin).
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Reads and parses one JSON document.
pub fn read_json(path: &Path) -> Result<Value> {
    let bytes = read_input(path)?;
    let name = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name} is not valid JSON: {} at line {}, column {}",
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        )
    })
}

/// serde_json appends " at line L column C"; we print our own position.
pub fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Prints every config error on stderr, one per line.
pub fn report(errs: &gradekit_engine::ConfigErrors, what: &str) {
    eprintln!("error: invalid {what}:");
    for e in errs.iter() {
        eprintln!("  {e}");
    }
}

/// Reads a grader file: the grader object itself, or a validate request body
/// `{"grader": {...}}` (a grader has no `grader` field, so the two cannot be confused).
pub fn read_grader(path: &Path) -> Result<Value> {
    let v = read_json(path)?;
    match v {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("grader") => {
            Ok(m.remove("grader").unwrap_or(Value::Null))
        }
        other => Ok(other),
    }
}
