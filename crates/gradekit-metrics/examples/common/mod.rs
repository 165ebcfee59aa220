//! What the speed examples share: where the benchmark pairs are, reading them, and the
//! thread CPU clock they time with. (A directory without `main.rs`, so Cargo does not take it
//! for an example; each example includes it with `mod common;`.)

#![allow(dead_code)] // each example uses only part of it

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`).
pub fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// The pairs file: the first command-line argument, else the repository's benchmark pairs.
pub fn pairs_path(args: &[String]) -> String {
    args.get(1).cloned().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/bench/pairs-10k.jsonl"
        )
        .to_owned()
    })
}

/// The first `n` (model_sample, item.reference) pairs of a benchmark JSONL file.
pub fn read_pairs(
    path: &str,
    n: usize,
) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut pairs = Vec::new();
    for line in text.lines().take(n) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let input = v["model_sample"].as_str().ok_or("model_sample")?.to_owned();
        let reference = v["item"]["reference"]
            .as_str()
            .ok_or("reference")?
            .to_owned();
        pairs.push((input, reference));
    }
    Ok(pairs)
}
