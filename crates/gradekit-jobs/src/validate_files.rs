//! Validating training and validation files before any training time is spent (status
//! `validating_files`), per method (DESIGN §8, research/jobs-api.md §1):
//!
//! - **supervised**: `{messages: [...], tools?, parallel_tool_calls?, functions?}`, at least one
//!   message, known roles, at least one assistant message (the target), assistant `weight`
//!   0 or 1;
//! - **dpo**: `{input: {messages, tools?, parallel_tool_calls?}, preferred_output: [one
//!   assistant message], non_preferred_output: [one assistant message]}`;
//! - **reinforcement**: `{messages: [...], tools?, …}` where every other key is the grader's
//!   `item`; every `item.*` reference of the compiled grader ([`template_refs`], what
//!   `gradekit lint` checks too) must resolve on every line.
//!
//! The file is read once, streaming, line by line. The first bad line fails the job with
//! `error {code, message naming the line (and the path in it), param: training_file |
//! validation_file}`. At least [`MIN_TRAINING_EXAMPLES`] training examples
//! (`invalid_n_examples`).
//!
//! [`template_refs`]: gradekit_engine::CompiledGrader::template_refs

use crate::request::MethodType;
use gradekit_template::{Context, Path as TPath, Root};
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Fewest training examples (OpenAI: 10).
pub const MIN_TRAINING_EXAMPLES: i64 = 10;
/// Longest line, in bytes.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Which file of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Training,
    Validation,
}

impl Which {
    fn param(self) -> &'static str {
        match self {
            Which::Training => "training_file",
            Which::Validation => "validation_file",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Which::Training => "invalid_training_file",
            Which::Validation => "invalid_validation_file",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Which::Training => "Training",
            Which::Validation => "Validation",
        }
    }
}

/// Why a file was refused: the job's `error` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub code: &'static str,
    pub message: String,
    pub param: &'static str,
}

/// What validation learned about a good file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    pub examples: i64,
    pub bytes: u64,
}

/// The `item.*` references of a reinforcement grader (sample references depend on the model's
/// output and cannot be checked on the data), asked of the compiled grader. A grader that no
/// longer compiles (it did when the job was created) has none to check.
pub fn item_refs(grader: &Value, engine: &gradekit_engine::EngineOptions) -> Vec<TPath> {
    gradekit_engine::compile(grader, engine)
        .map(|g| {
            g.template_refs()
                .iter()
                .map(|r| r.path.clone())
                .filter(|p| p.root == Root::Item)
                .collect()
        })
        .unwrap_or_default()
}

/// Validates one file (see the module docs).
pub fn check_file(
    path: &Path,
    method: MethodType,
    item_refs: &[TPath],
    which: Which,
) -> Result<FileStats, FileError> {
    let fail = |message: String| FileError {
        code: which.code(),
        message,
        param: which.param(),
    };
    let f = std::fs::File::open(path)
        .map_err(|e| fail(format!("{} file cannot be read: {e}", which.name())))?;
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let mut line = Vec::new();
    let mut n = 0i64;
    let mut bytes = 0u64;
    let mut line_no = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| fail(format!("{} file cannot be read: {e}", which.name())))?;
        if read == 0 {
            break;
        }
        line_no += 1;
        bytes += read as u64;
        if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
            return Err(fail(format!(
                "Invalid file format. Line {line_no} is longer than {MAX_LINE} bytes"
            )));
        }
        // Blank lines are skipped by the rule of every JSONL reader (Python's `str.isspace()`,
        // as the trainer's `line.strip()`); any other line is parsed as it is, so that what
        // passes here is what the trainer's `json.loads(line)` reads.
        let bare = line.strip_suffix(b"\n").unwrap_or(&line);
        if gradekit_engine::is_blank_line(bare) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bare) else {
            return Err(fail(format!(
                "Invalid file format. Line {line_no} is not valid UTF-8"
            )));
        };
        n += 1;
        let v: Value = serde_json::from_str(text).map_err(|e| {
            fail(format!(
                "Invalid file format. Line {line_no} is not valid JSON: {e}"
            ))
        })?;
        let Value::Object(obj) = v else {
            return Err(fail(format!(
                "Invalid file format. Line {line_no} is not a JSON object"
            )));
        };
        let r = match method {
            MethodType::Supervised => check_supervised(&obj),
            MethodType::Dpo => check_dpo(&obj),
            MethodType::Reinforcement => check_reinforcement(&obj, item_refs),
        };
        if let Err(m) = r {
            return Err(fail(format!(
                "Invalid file format. Line {line_no}, example {n}: {m}"
            )));
        }
    }
    if which == Which::Training && n < MIN_TRAINING_EXAMPLES {
        return Err(FileError {
            code: "invalid_n_examples",
            message: format!(
                "Training file has {n} example(s), but must have at least {MIN_TRAINING_EXAMPLES} examples"
            ),
            param: which.param(),
        });
    }
    if n == 0 {
        return Err(fail(format!("{} file has no examples", which.name())));
    }
    Ok(FileStats { examples: n, bytes })
}

const ROLES: [&str; 6] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// Checks a `messages` array; returns how many assistant messages it has.
fn check_messages(v: Option<&Value>, at: &str, roles: &[&str]) -> Result<usize, String> {
    let Some(v) = v else {
        return Err(format!("missing `{at}`"));
    };
    let Some(msgs) = v.as_array() else {
        return Err(format!("`{at}` must be an array"));
    };
    if msgs.is_empty() {
        return Err(format!("`{at}` must have at least one message"));
    }
    let mut assistants = 0;
    for (i, m) in msgs.iter().enumerate() {
        let Some(m) = m.as_object() else {
            return Err(format!("`{at}[{i}]` must be an object"));
        };
        let role = match m.get("role") {
            Some(Value::String(r)) => r.as_str(),
            Some(_) => return Err(format!("`{at}[{i}].role` must be a string")),
            None => return Err(format!("`{at}[{i}]`: discriminator 'role' is missing")),
        };
        if !roles.contains(&role) {
            return Err(format!(
                "`{at}[{i}].role` is {role:?}; expected one of {}",
                roles.join(", ")
            ));
        }
        match m.get("content") {
            None | Some(Value::Null) => {
                let calls = m.get("tool_calls").or_else(|| m.get("function_call"));
                if role != "assistant" || calls.is_none() {
                    return Err(format!("`{at}[{i}].content` is missing"));
                }
            }
            Some(Value::String(_)) | Some(Value::Array(_)) => {}
            Some(_) => return Err(format!("`{at}[{i}].content` must be a string or an array")),
        }
        if let Some(w) = m.get("weight") {
            if role != "assistant" || !(w == &Value::from(0) || w == &Value::from(1)) {
                return Err(format!(
                    "`{at}[{i}].weight` must be 0 or 1, on assistant messages only"
                ));
            }
        }
        if role == "assistant" {
            assistants += 1;
        }
    }
    Ok(assistants)
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("contains an extra {k:?}")),
        None => Ok(()),
    }
}

fn check_supervised(obj: &Map<String, Value>) -> Result<(), String> {
    only_keys(
        obj,
        &["messages", "tools", "parallel_tool_calls", "functions"],
    )?;
    if check_messages(obj.get("messages"), "messages", &ROLES)? == 0 {
        return Err("`messages` has no assistant message to train on".into());
    }
    Ok(())
}

fn check_dpo(obj: &Map<String, Value>) -> Result<(), String> {
    only_keys(obj, &["input", "preferred_output", "non_preferred_output"])?;
    let Some(input) = obj.get("input").and_then(Value::as_object) else {
        return Err("missing object `input`".into());
    };
    only_keys(input, &["messages", "tools", "parallel_tool_calls"])
        .map_err(|e| format!("`input` {e}"))?;
    check_messages(input.get("messages"), "input.messages", &ROLES)?;
    for k in ["preferred_output", "non_preferred_output"] {
        let a = check_messages(obj.get(k), k, &["assistant"])?;
        if a != 1 || obj.get(k).and_then(Value::as_array).map_or(0, Vec::len) != 1 {
            return Err(format!("`{k}` must hold exactly one assistant message"));
        }
    }
    Ok(())
}

fn check_reinforcement(obj: &Map<String, Value>, refs: &[TPath]) -> Result<(), String> {
    check_messages(obj.get("messages"), "messages", &ROLES)?;
    if refs.is_empty() {
        return Ok(());
    }
    let item: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "messages")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let item = Value::Object(item);
    let ctx = Context {
        item: &item,
        sample: &Value::Null,
    };
    for p in refs {
        if let Err(m) = p.resolve(&ctx) {
            return Err(format!(
                "the grader's `{p}` does not resolve: {}",
                m.details
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn file(lines: &[Value]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    fn chat() -> Value {
        json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
    }

    #[test]
    fn supervised_counts_and_minimum() {
        let f = file(&vec![chat(); 12]);
        let s = check_file(f.path(), MethodType::Supervised, &[], Which::Training).unwrap();
        assert_eq!(s.examples, 12);
        let f = file(&vec![chat(); 7]);
        let e = check_file(f.path(), MethodType::Supervised, &[], Which::Training).unwrap_err();
        assert_eq!(e.code, "invalid_n_examples");
        assert!(e.message.contains("7 example(s)"), "{}", e.message);
        let s = check_file(f.path(), MethodType::Supervised, &[], Which::Validation).unwrap();
        assert_eq!(s.examples, 7);
    }

    #[test]
    fn a_bad_line_is_named() {
        let mut lines = vec![chat(); 11];
        lines[4] = json!({"messages": [{"content": "no role"}]});
        let f = file(&lines);
        let e = check_file(f.path(), MethodType::Supervised, &[], Which::Training).unwrap_err();
        assert_eq!(
            (e.code, e.param),
            ("invalid_training_file", "training_file")
        );
        assert!(
            e.message.contains("Line 5") && e.message.contains("role"),
            "{}",
            e.message
        );
    }

    #[test]
    fn dpo_needs_both_outputs() {
        let good = json!({"input": {"messages": [{"role": "user", "content": "q"}]},
            "preferred_output": [{"role": "assistant", "content": "a"}],
            "non_preferred_output": [{"role": "assistant", "content": "b"}]});
        let mut bad = good.clone();
        bad["non_preferred_output"] = json!([]);
        let mut lines = vec![good; 10];
        assert!(check_file(file(&lines).path(), MethodType::Dpo, &[], Which::Training).is_ok());
        lines.push(bad);
        let e = check_file(file(&lines).path(), MethodType::Dpo, &[], Which::Training).unwrap_err();
        assert!(
            e.message.contains("Line 11") && e.message.contains("non_preferred_output"),
            "{}",
            e.message
        );
    }

    #[test]
    fn reinforcement_item_paths_resolve_on_every_line() {
        let grader = json!({"type": "string_check", "name": "g", "input": "{{ sample.output_text }}",
            "reference": "{{ item.answer.text }}", "operation": "eq"});
        let refs = item_refs(&grader, &gradekit_engine::EngineOptions::default());
        let line = |a: Value| json!({"messages": [{"role": "user", "content": "q"}], "answer": a});
        let mut lines = vec![line(json!({"text": "x"})); 10];
        assert!(check_file(
            file(&lines).path(),
            MethodType::Reinforcement,
            &refs,
            Which::Training
        )
        .is_ok());
        lines[2] = line(json!({"txt": "x"}));
        let e = check_file(
            file(&lines).path(),
            MethodType::Reinforcement,
            &refs,
            Which::Validation,
        )
        .unwrap_err();
        assert_eq!(
            (e.code, e.param),
            ("invalid_validation_file", "validation_file")
        );
        assert!(
            e.message.contains("Line 3") && e.message.contains("item.answer.text"),
            "{}",
            e.message
        );
    }

    /// `fixtures/lines/blank.json`: a blank line (Python's `str.isspace()`, the trainer's
    /// `line.strip()`) is skipped and keeps its number; any other is named as not valid.
    #[test]
    fn blank_lines_follow_the_shared_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lines/blank.json"
        );
        let f: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let example = chat().to_string();
        for c in f["cases"].as_array().unwrap() {
            let line = match c["line_hex"].as_str() {
                Some(h) => (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect(),
                None => c["line"].as_str().unwrap().as_bytes().to_vec(),
            };
            let mut tmp = tempfile::NamedTempFile::new().unwrap();
            for i in 0..10 {
                if i == 2 {
                    tmp.write_all(&line).unwrap();
                    tmp.write_all(b"\n").unwrap();
                }
                writeln!(tmp, "{example}").unwrap();
            }
            let r = check_file(tmp.path(), MethodType::Supervised, &[], Which::Training);
            if c["blank"] == Value::Bool(true) {
                assert_eq!(r.unwrap().examples, 10, "{}", c["description"]);
            } else {
                let e = r.unwrap_err();
                assert!(
                    e.message.contains("Line 3 is not valid"),
                    "{}: {}",
                    c["description"],
                    e.message
                );
            }
        }
    }
}
