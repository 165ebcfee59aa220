//! `gradekit lint`: each check, the `--json` document and the exit codes (0 clean, 1 warnings,
//! 2 fatal).
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(grader: &Value, rows: &[Value]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("g.json"), grader.to_string()).unwrap();
        let data: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.path().join("d.jsonl"), data).unwrap();
        Case { dir }
    }
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    fn lint(&self, extra: &[&str]) -> (i32, String, String) {
        lint_files(&self.path("g.json"), &self.path("d.jsonl"), extra)
    }
    fn lint_json(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let (code, out, err) = self.lint(&args);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        (code, v)
    }
}

fn lint_files(g: &Path, d: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gradekit"))
        .arg("lint")
        .arg("--grader")
        .arg(g)
        .arg(d)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check<'a>(doc: &'a Value, name: &str) -> Vec<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == name)
        .collect()
}

fn eq_grader() -> Value {
    json!({"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
           "reference": "{{ item.answer }}", "operation": "eq"})
}

fn row(answer: &str, out: &str) -> Value {
    json!({"item": {"answer": answer}, "model_sample": out})
}

#[test]
fn clean_grader_and_data_exit_0() {
    let c = Case::new(&eq_grader(), &[row("a", "a"), row("b", "c"), row("d", "d")]);
    let (code, out, err) = c.lint(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 warnings on 3 rows"), "{out}");
}

#[test]
fn unresolved_template_path_counts_rows_and_first_lines() {
    let mut rows = vec![row("a", "a"), row("b", "c")];
    for i in 0..7 {
        rows.push(json!({"item": {"other": i}, "model_sample": "x"}));
    }
    let c = Case::new(&eq_grader(), &rows);
    let (code, out, _) = c.lint(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "`item.answer` (in reference) does not resolve in 7 of 9 rows (lines 3, 4, 5, 6, 7, …)"
        ),
        "{out}"
    );
    assert!(out.contains("item has no key \"answer\""), "{out}");
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 1);
    let f = check(&doc, "template_path");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["data"]["path"], "item.answer");
    assert_eq!(f[0]["data"]["rows"], 7);
    assert_eq!(f[0]["data"]["first_lines"], json!([3, 4, 5, 6, 7]));
    // `sample.output_text` always resolves: no finding for it.
    assert!(f.iter().all(|x| x["data"]["path"] != "sample.output_text"));
}

#[test]
fn template_paths_inside_model_messages_are_checked_without_grading() {
    let g = json!({"type": "score_model", "name": "judge", "model": "m", "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Q: {{ item.question }}"},
                                     {"type": "input_image", "image_url": "{{ item.image }}"}]}]});
    let rows = vec![
        json!({"item": {"question": "q", "image": "data:,"}, "model_sample": "a"}),
        json!({"item": {"question": "q"}, "model_sample": "a"}),
    ];
    let c = Case::new(&g, &rows);
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 1, "{doc}");
    let f = check(&doc, "template_path");
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["data"]["path"], "item.image");
    assert_eq!(
        f[0]["data"]["fields"],
        json!(["input[0].content[1].image_url"])
    );
    assert_eq!(f[0]["data"]["first_lines"], json!([2]));
    // A model grader is not dry-run by default.
    assert!(
        doc["notes"][0].as_str().unwrap().contains("no dry run"),
        "{doc}"
    );
}

#[test]
fn formula_unused_sub_grader_and_non_identifier_key() {
    let g = json!({"type": "multi", "graders": {
        "exact": eq_grader(),
        "unused": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "x", "operation": "like"},
        "my-key": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "y", "operation": "like"}},
        "calculate_output": "exact"});
    let c = Case::new(&g, &[row("a", "a x y"), row("b", "c")]);
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 1, "{doc}");
    let unused = check(&doc, "formula_unused");
    assert_eq!(unused.len(), 1, "{doc}");
    assert_eq!(unused[0]["data"]["key"], "unused");
    let key = check(&doc, "formula_key");
    assert_eq!(key.len(), 1, "{doc}");
    assert_eq!(key[0]["data"]["key"], "my-key");
}

#[test]
fn constant_sub_grader_on_dry_run() {
    let g = json!({"type": "multi", "graders": {
        "exact": eq_grader(),
        "has_x": {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "x", "operation": "like"}},
        "calculate_output": "exact + has_x"});
    // `exact` never matches; `has_x` varies.
    let rows: Vec<Value> = (0..250)
        .map(|i| row("nope", if i % 2 == 0 { "x" } else { "y" }))
        .collect();
    let c = Case::new(&g, &rows);
    let (code, out, _) = c.lint(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("sub-grader `exact` is 0.0 on all 200 rows"),
        "{out}"
    );
    assert!(!out.contains("`has_x` is"), "{out}");
    assert!(!out.contains("the reward is"), "{out}");
    // --rows 0 reads every row.
    let (_, out, _) = c.lint(&["--rows", "0"]);
    assert!(out.contains("on all 250 rows"), "{out}");
}

#[test]
fn constant_top_level_reward_with_its_error_flag() {
    // `item.answer` is missing everywhere: every row is 0 with invalid_variable_error.
    let rows: Vec<Value> = (0..5)
        .map(|i| json!({"item": {"q": i}, "model_sample": "a"}))
        .collect();
    let c = Case::new(&eq_grader(), &rows);
    let (code, out, _) = c.lint(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("the reward is 0.0 on all 5 rows (invalid_variable_error on 5 of them)"),
        "{out}"
    );
}

#[test]
fn costly_sub_graders_are_skipped_cheap_ones_still_dry_run() {
    let g = json!({"type": "multi", "graders": {
        "exact": eq_grader(),
        "judge": {"type": "score_model", "model": "m",
                  "input": [{"role": "user", "content": "{{ sample.output_text }}"}]}},
        "calculate_output": "exact + judge"});
    let c = Case::new(&g, &[row("z", "a"), row("z", "b"), row("z", "c")]);
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 1, "{doc}");
    let k = check(&doc, "constant_reward");
    assert_eq!(k.len(), 1, "{doc}");
    assert_eq!(k[0]["data"]["grader"], "exact");
    assert!(
        doc["notes"][0].as_str().unwrap().contains("`exact`"),
        "{doc}"
    );
}

#[test]
fn group_key_flags_zero_variance_groups() {
    let mut rows = Vec::new();
    // p1: rewards 1, 0 (signal); p2: 0, 0, 0 (flat, key in the row); p3: 1, 1 (flat, key in item).
    rows.push(json!({"prompt_id": "p1", "item": {"answer": "a"}, "model_sample": "a"}));
    rows.push(json!({"prompt_id": "p1", "item": {"answer": "a"}, "model_sample": "b"}));
    for _ in 0..3 {
        rows.push(json!({"prompt_id": "p2", "item": {"answer": "a"}, "model_sample": "b"}));
    }
    for _ in 0..2 {
        rows.push(json!({"item": {"answer": "a", "prompt_id": "p3"}, "model_sample": "a"}));
    }
    rows.push(json!({"item": {"answer": "a"}, "model_sample": "a"}));
    let c = Case::new(&eq_grader(), &rows);
    let (code, doc) = c.lint_json(&["--group-key", "prompt_id"]);
    assert_eq!(code, 1, "{doc}");
    let flat = check(&doc, "zero_variance_group");
    assert_eq!(flat.len(), 1, "{doc}");
    assert_eq!(flat[0]["data"]["groups"], 2);
    assert_eq!(flat[0]["data"]["of"], 3);
    assert_eq!(flat[0]["data"]["rows"], 5);
    assert_eq!(flat[0]["data"]["examples"][0]["group"], "p2");
    assert_eq!(flat[0]["data"]["examples"][0]["first_line"], 3);
    assert_eq!(flat[0]["data"]["examples"][1]["reward"], 1.0);
    let missing = check(&doc, "group_key");
    assert_eq!(missing[0]["data"]["first_lines"], json!([8]));
    // Without --group-key there is nothing to say about groups.
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn invalid_lines_are_a_warning() {
    let c = Case::new(&eq_grader(), &[row("a", "a"), row("b", "b")]);
    let mut data = std::fs::read_to_string(c.path("d.jsonl")).unwrap();
    data.push_str("not json\n\n[1, 2]\n");
    std::fs::write(c.path("d.jsonl"), data).unwrap();
    let (code, doc) = c.lint_json(&[]);
    assert_eq!(code, 1, "{doc}");
    let f = check(&doc, "invalid_lines");
    assert_eq!(f[0]["data"]["count"], 2);
    assert_eq!(f[0]["data"]["first_lines"], json!([3, 5]));
}

#[test]
fn bad_grader_and_unreadable_data_exit_2() {
    let c = Case::new(
        &json!({"type": "string_check", "input": "x"}),
        &[row("a", "a")],
    );
    let (code, _, err) = c.lint(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("reference"), "{err}");
    let c = Case::new(&eq_grader(), &[]);
    let (code, _, err) = lint_files(&c.path("g.json"), &c.path("missing.jsonl"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.jsonl"), "{err}");
}
