//! Every text of the shared dev vectors tokenizes exactly as NLTK 3.9.1 did
//! (`input_nltk_tokens` / `reference_nltk_tokens`, written by the reference generator).
#![allow(clippy::unwrap_used)]

use gradekit_metrics::nltk_tokenize;
use serde_json::Value;

#[test]
fn dev_pairs_match_nltk_tokens() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/vectors/dev_pairs.jsonl"
    );
    let data = std::fs::read_to_string(path).unwrap();
    let (mut checked, mut failed) = (0, Vec::new());
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        for side in ["input", "reference"] {
            let text = v[side].as_str().unwrap();
            let want: Vec<String> =
                serde_json::from_value(v[format!("{side}_nltk_tokens")].clone()).unwrap();
            let got = nltk_tokenize(text);
            checked += 1;
            if got != want {
                failed.push(format!(
                    "{} {side}: {text:?}\n  want {want:?}\n  got  {got:?}",
                    v["id"]
                ));
            }
        }
    }
    assert!(checked >= 590, "only {checked} texts read");
    assert!(
        failed.is_empty(),
        "{} of {checked} texts differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
