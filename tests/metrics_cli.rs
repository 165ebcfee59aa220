//! Every primary dev vector (fixtures/vectors/dev.jsonl, scored by NLTK, rouge-score and
//! rapidfuzz) through `gradekit score` with a text_similarity grader: the path a user takes,
//! templates rendered first.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn dev_vectors_through_score() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/fixtures/vectors/dev.jsonl")).unwrap();
    let mut by_metric: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["variant"] == "primary" {
            by_metric
                .entry(v["metric"].as_str().unwrap().to_string())
                .or_default()
                .push(v);
        }
    }
    assert_eq!(by_metric.len(), 10, "all ten offline metrics have vectors");
    let dir = std::env::temp_dir().join(format!("gk-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for (metric, rows) in &by_metric {
        let grader = dir.join(format!("{metric}.json"));
        std::fs::write(
            &grader,
            json!({"type": "text_similarity", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.reference }}", "evaluation_metric": metric})
            .to_string(),
        )
        .unwrap();
        let mut input = String::new();
        for r in rows {
            input.push_str(
                &json!({"id": r["id"], "model_sample": r["input"], "item": {"reference": r["reference"]}})
                    .to_string(),
            );
            input.push('\n');
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_gradekit"))
            .args(["score", "-q", "--grader", grader.to_str().unwrap(), "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stdin.take().unwrap();
        let data = input.into_bytes();
        let feeder = std::thread::spawn(move || pipe.write_all(&data));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), rows.len());
        for (r, got) in rows.iter().zip(&lines) {
            assert_eq!(got["id"], r["id"]);
            let want = r["score"].as_f64().unwrap();
            let have = got["reward"].as_f64().unwrap_or(f64::NAN);
            if (want - have).abs() > 1e-9 {
                failures.push(format!("{metric} {}: want {want}, got {have}", r["id"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
