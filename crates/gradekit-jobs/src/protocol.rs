//! The trainer protocol (DESIGN §8): the server runs `TRAINER SPEC_PATH`; the trainer writes
//! one JSON object per line to stdout, each with a `"type"`:
//!
//! ```text
//! {"type": "event", "level": "info|warn|error", "message": "…"}
//! {"type": "metrics", "step": N, "total_steps": N?, …numbers or objects}
//! {"type": "checkpoint", "step": N, "dir": DIR, "metrics": {…}?}
//! {"type": "result", "model_dir": DIR, "trained_tokens": N}
//! ```
//!
//! then exits 0. A line that is not such an object is a [`TrainerLine::Garbage`] (the service
//! records a `warn` event), never a failure. Bounds: a line is at most [`MAX_LINE`] bytes (the
//! rest of a longer line is skipped), a message at most [`MAX_MESSAGE`] bytes, a directory path
//! at most [`MAX_PATH`] bytes.
//!
//! The spec file the trainer reads is [`TrainerSpec`].

use serde::Serialize;
use serde_json::{Map, Value};

/// Longest protocol line, in bytes.
pub const MAX_LINE: usize = 1024 * 1024;
/// Longest event message kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_MESSAGE: usize = 8 * 1024;
/// Longest directory path.
pub const MAX_PATH: usize = 4096;

/// `SPEC_PATH`'s content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainerSpec {
    pub job_id: String,
    /// The job's method as given, `"auto"` resolved.
    pub method: Value,
    /// `{"name", "path"}` plus the registry's training defaults when set (`lora`,
    /// `learning_rate`, `max_seq_length`).
    pub model: Value,
    pub training_file: String,
    pub validation_file: Option<String>,
    pub output_dir: String,
    pub seed: i64,
    /// The last checkpoint's directory when resuming.
    pub resume_from: Option<String>,
    pub suffix: Option<String>,
    pub integrations: Option<Value>,
}

/// One understood stdout line.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainerLine {
    Event {
        level: &'static str,
        message: String,
    },
    /// `data` is the whole object minus `type` (it becomes the event's `data`).
    Metrics {
        step: i64,
        total_steps: Option<i64>,
        data: Map<String, Value>,
    },
    Checkpoint {
        step: i64,
        dir: String,
        metrics: Option<Map<String, Value>>,
    },
    Result {
        model_dir: String,
        trained_tokens: i64,
    },
    /// Not a protocol object; `why` says what was wrong.
    Garbage { why: String },
}

/// Cuts `s` to at most `max` bytes at a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn step_of(o: &Map<String, Value>, key: &str) -> Option<i64> {
    o.get(key).and_then(|v| {
        v.as_i64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        })
    })
}

fn garbage(line: &str, why: &str) -> TrainerLine {
    TrainerLine::Garbage {
        why: format!(
            "trainer output not understood ({why}): {}",
            truncate(line, 200)
        ),
    }
}

/// Parses one stdout line (without its newline).
pub fn parse_line(bytes: &[u8]) -> TrainerLine {
    let line = String::from_utf8_lossy(bytes);
    let line = line.trim();
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return garbage(line, "not JSON");
    };
    let Value::Object(mut o) = v else {
        return garbage(line, "not an object");
    };
    let Some(Value::String(ty)) = o.shift_remove("type") else {
        return garbage(line, "no \"type\"");
    };
    match ty.as_str() {
        "event" => {
            let level = match o.get("level").and_then(Value::as_str) {
                Some("info") | None => "info",
                Some("warn") | Some("warning") => "warn",
                Some("error") => "error",
                Some(_) => return garbage(line, "unknown level"),
            };
            match o.get("message").and_then(Value::as_str) {
                Some(m) => TrainerLine::Event {
                    level,
                    message: truncate(m, MAX_MESSAGE),
                },
                None => garbage(line, "event without a message"),
            }
        }
        "metrics" => match step_of(&o, "step").filter(|s| *s >= 0) {
            Some(step) => TrainerLine::Metrics {
                step,
                total_steps: step_of(&o, "total_steps").filter(|t| *t > 0),
                data: o,
            },
            None => garbage(line, "metrics without a non-negative integer step"),
        },
        "checkpoint" => {
            let step = step_of(&o, "step").filter(|s| *s >= 0);
            let dir = o
                .get("dir")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty() && d.len() <= MAX_PATH);
            match (step, dir) {
                (Some(step), Some(dir)) => TrainerLine::Checkpoint {
                    step,
                    dir: dir.to_string(),
                    metrics: o.get("metrics").and_then(Value::as_object).cloned(),
                },
                _ => garbage(line, "checkpoint needs an integer step and a dir"),
            }
        }
        "result" => {
            let dir = o
                .get("model_dir")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty() && d.len() <= MAX_PATH);
            match dir {
                Some(d) => TrainerLine::Result {
                    model_dir: d.to_string(),
                    trained_tokens: step_of(&o, "trained_tokens").unwrap_or(0).max(0),
                },
                None => garbage(line, "result needs a model_dir"),
            }
        }
        _ => garbage(line, "unknown type"),
    }
}

/// The message of a metrics event: `Step 3/10: train_loss=0.52, valid_loss=0.61`.
pub fn metrics_message(step: i64, total: Option<i64>, data: &Map<String, Value>) -> String {
    let mut s = match total {
        Some(t) => format!("Step {step}/{t}"),
        None => format!("Step {step}"),
    };
    let mut first = true;
    for (k, v) in data {
        if k == "step" || k == "total_steps" {
            continue;
        }
        if let Some(x) = v.as_f64() {
            s.push_str(if first { ": " } else { ", " });
            first = false;
            s.push_str(&format!("{k}={}", short(x)));
        }
        if s.len() > 512 {
            break;
        }
    }
    s
}

fn short(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let t = format!("{x:.5}");
        t.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_kind() {
        assert_eq!(
            parse_line(br#"{"type":"event","level":"warn","message":"hi"}"#),
            TrainerLine::Event {
                level: "warn",
                message: "hi".into()
            }
        );
        match parse_line(br#"{"type":"metrics","step":3,"total_steps":10,"train_loss":0.5}"#) {
            TrainerLine::Metrics {
                step: 3,
                total_steps: Some(10),
                data,
            } => {
                assert_eq!(
                    metrics_message(3, Some(10), &data),
                    "Step 3/10: train_loss=0.5"
                );
                assert!(!data.contains_key("type"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_line(br#"{"type":"checkpoint","step":2,"dir":"/x"}"#),
            TrainerLine::Checkpoint { step: 2, .. }
        ));
        assert_eq!(
            parse_line(br#"{"type":"result","model_dir":"/m","trained_tokens":7}"#),
            TrainerLine::Result {
                model_dir: "/m".into(),
                trained_tokens: 7
            }
        );
        for g in [
            &b"Loading weights..."[..],
            b"[1,2]",
            br#"{"type":"metrics","step":-1}"#,
            b"{\"type\":\"x\"}",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse_line(g), TrainerLine::Garbage { .. }),
                "{g:?}"
            );
        }
    }

    #[test]
    fn truncation_respects_characters() {
        let s = "é".repeat(10);
        assert_eq!(truncate(&s, 5), "éé…");
    }
}
