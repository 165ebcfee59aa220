//! `fixtures/lines/blank.json` through the CLI's JSONL readers: `score` (lines in the common
//! shape, read by the fast scanner, and lines read the established way) and `lint`. A blank
//! line (Python's `str.isspace()`) keeps its number and gives no row; any other line of the
//! fixture is an error row with the fixture's code.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

/// The fixture's cases: (description, line bytes, the error code of a line that is not blank).
fn cases() -> Vec<(String, Vec<u8>, Option<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/lines/blank.json");
    let f: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let line = match c["line_hex"].as_str() {
                Some(h) => (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect(),
                None => c["line"].as_str().unwrap().as_bytes().to_vec(),
            };
            let error = c["error"].as_str().map(str::to_string);
            assert_eq!(error.is_none(), c["blank"] == true);
            (c["description"].to_string(), line, error)
        })
        .collect()
}

/// A row `score` must write: its line number, and `None` for a graded line or the case's
/// description and error code.
type Want = Vec<(u64, Option<(String, String)>)>;

/// A file alternating a gradable line and a case's line, and the rows `score` must write.
fn input() -> (Vec<u8>, Want) {
    let mut data = Vec::new();
    let mut want = Vec::new();
    let mut n = 0u64;
    for (description, line, error) in cases() {
        n += 1;
        data.extend_from_slice(b"{\"model_sample\": \"a\", \"item\": {\"answer\": \"a\"}}\n");
        want.push((n, None));
        n += 1;
        data.extend_from_slice(&line);
        data.push(b'\n');
        if let Some(code) = error {
            want.push((n, Some((description, code))));
        }
    }
    (data, want)
}

fn check_rows(out: &str, want: &Want, what: &str) {
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), want.len(), "{what}: one row per non-blank line");
    for (row, (n, case)) in rows.iter().zip(want) {
        assert_eq!(row["line"], *n, "{what}: {row}");
        match case {
            None => assert_eq!(row["reward"], 1.0, "{what}: {row}"),
            Some((d, code)) => assert_eq!(row["error"]["code"], **code, "{what}: {d}: {row}"),
        }
    }
}

#[test]
fn score_skips_exactly_the_blank_lines_of_the_fixture() {
    let (data, want) = input();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "in.jsonl", &data);
    // A text-only grader reads common lines with the fast scanner; one that observes the
    // sample's choices reads every line the established way.
    let lean = json!({"type": "string_check", "name": "s", "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}", "operation": "eq"});
    let built = json!({"type": "string_check", "name": "s",
        "input": "{{ sample.choices[0].message.content }}",
        "reference": "{{ item.answer }}", "operation": "eq"});
    for (name, grader) in [("lean", lean), ("built", built)] {
        let g = write(
            dir.path(),
            &format!("{name}.json"),
            grader.to_string().as_bytes(),
        );
        let (g, f) = (g.to_str().unwrap(), file.to_str().unwrap());
        for threads in ["1", "2"] {
            let (code, out, err) =
                gradekit(&["score", "--grader", g, f, "--threads", threads], b"");
            assert_eq!(code, 0, "{err}");
            check_rows(&out, &want, &format!("{name}, --threads {threads}"));
        }
        let (code, out, err) = gradekit(&["score", "--grader", g, "-"], &data);
        assert_eq!(code, 0, "{err}");
        check_rows(&out, &want, &format!("{name}, stdin"));
    }
}

#[test]
fn lint_counts_the_same_lines() {
    let (data, want) = input();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "in.jsonl", &data);
    let g = json!({"type": "string_check", "name": "s", "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}", "operation": "eq"});
    let g = write(dir.path(), "g.json", g.to_string().as_bytes());
    let (_, out, err) = gradekit(
        &[
            "lint",
            "--json",
            "--grader",
            g.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        b"",
    );
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    assert_eq!(doc["rows_checked"], want.len(), "{doc}");
    let invalid: Vec<u64> = want
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(n, _)| *n)
        .collect();
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "invalid_lines")
        .unwrap();
    assert_eq!(f["data"]["count"], invalid.len(), "{f}");
    let first: Vec<u64> = f["data"]["first_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        !first.is_empty() && invalid.starts_with(&first),
        "{first:?} {invalid:?}"
    );
}
