//! The fuzz targets on the stable toolchain: a bounded random-input driver over the same
//! bodies `cargo fuzz` runs (`fuzz/bodies.rs`). Not coverage guided: inputs are the
//! `fixtures/` graders and requests, mutated (byte flips, token insertions, splices, cuts),
//! plus random token soup and random bytes.
//!
//! Each target runs for `GRADEKIT_FUZZ_SECONDS` (default 0.5 s, so `cargo test` stays quick;
//! `scripts/test.d/fuzz.sh` gives each several seconds) from seed `GRADEKIT_FUZZ_SEED`
//! (default: the clock, printed). A finding prints the target, the seed and the input, and is
//! saved under `target/fuzz-findings/`.
#![allow(clippy::unwrap_used)]

#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// splitmix64: small, fast, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Pieces that matter to the parsers: JSON syntax, template delimiters, grader keywords,
/// formula operators, odd numbers and Unicode.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e308",
    "-1e-320",
    "1e999",
    "NaN",
    "123456789012345678901234567890",
    "{{",
    "}}",
    "<<",
    ">>",
    "{{ item }}",
    "{{ sample }}",
    "{{ item.a[0] }}",
    "{{ sample.output_text }}",
    "{{ item[\"x y\"] }}",
    "{{ sample.output_json.a }}",
    "{{ item.x + 1 }}",
    "\"type\"",
    "\"string_check\"",
    "\"text_similarity\"",
    "\"multi\"",
    "\"score_model\"",
    "\"label_model\"",
    "\"operation\"",
    "\"eq\"",
    "\"ilike\"",
    "\"input\"",
    "\"reference\"",
    "\"grader\"",
    "\"graders\"",
    "\"calculate_output\"",
    "\"model_sample\"",
    "\"sample\"",
    "\"item\"",
    "\"samples\"",
    "\"query\"",
    "\"prompts\"",
    "\"labels\"",
    "\"evaluation_metric\"",
    "\"rouge_l\"",
    "\"fuzzy_match\"",
    "\"bleu\"",
    "\"meteor\"",
    "\"cosine\"",
    "\"range\"",
    "\"labels\"",
    "\"passing_labels\"",
    "\"choices\"",
    "\"output_tools\"",
    "\"reference_answer\"",
    "a + b",
    "a ^ -b",
    "log(a, 0)",
    "min()",
    "sqrt(-1)",
    "(((",
    ")))",
    "é",
    "ß",
    "İ",
    "東京",
    "\u{202e}",
    "\u{feff}",
    "\n",
    "\r\n",
    " ",
    "\t",
];

fn seeds() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["fixtures/suite", "fixtures/examples"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let Ok(text) = std::fs::read(&p) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) else {
                // JSONL files: every line is a seed.
                out.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
                continue;
            };
            let cases = match &v {
                serde_json::Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for c in cases {
                if let Some(g) = c.get("grader") {
                    out.push(g.to_string().into_bytes());
                    let mut req = serde_json::json!({"grader": g, "model_sample": "Paris"});
                    for k in ["model_sample", "item", "sample"] {
                        if let Some(x) = c.get(k) {
                            req[k] = x.clone();
                        }
                    }
                    out.push(req.to_string().into_bytes());
                    out.push(
                        serde_json::json!({"grader": g, "samples": [req.clone(), {"model_sample": "x"}]})
                            .to_string()
                            .into_bytes(),
                    );
                }
                out.push(c.to_string().into_bytes());
            }
        }
    }
    out.push(
        br#"{"query": ["Q: 2+2? A: 4", "x"], "prompts": ["Q: 2+2? A: ", "y"], "labels": ["4", 5]}"#
            .to_vec(),
    );
    out.push(
        br#"{"sample": {"output_text": "a"}, "item": {"answer": "A"}, "trace_id": "t"}"#.to_vec(),
    );
    out
}

/// One input: a mutated seed, token soup, or random bytes.
fn input(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(10) {
        0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
        1 | 2 => {
            let mut s = Vec::new();
            for _ in 0..rng.below(40) {
                s.extend_from_slice(rng.pick(TOKENS).as_bytes());
            }
            s
        }
        _ => {
            let mut s = rng.pick(seeds).clone();
            for _ in 0..1 + rng.below(4) {
                mutate(rng, &mut s, seeds);
            }
            s
        }
    }
}

fn mutate(rng: &mut Rng, s: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let at = rng.below(s.len() + 1);
    match rng.below(7) {
        0 if !s.is_empty() => {
            let i = rng.below(s.len());
            s[i] ^= 1 << rng.below(8);
        }
        1 | 2 => {
            let t = rng.pick(TOKENS).as_bytes().to_vec();
            s.splice(at..at, t);
        }
        3 => {
            let end = (at + rng.below(16)).min(s.len());
            s.drain(at..end);
        }
        4 => {
            // Duplicate a range many times: amplification, deep nesting.
            let end = (at + rng.below(32)).min(s.len());
            let piece = s[at..end].to_vec();
            for _ in 0..rng.below(200) {
                s.splice(at..at, piece.iter().copied());
            }
        }
        5 => s.truncate(at),
        _ => {
            let other = rng.pick(seeds);
            let from = rng.below(other.len() + 1);
            s.splice(at..at, other[from..].iter().copied().take(rng.below(64)));
        }
    }
    s.truncate(1 << 16);
}

fn budget() -> Duration {
    let secs = std::env::var("GRADEKIT_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(0.5);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("GRADEKIT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// Runs `body` on inputs for the time budget; fails with the input on a panic.
fn drive(name: &str, body: impl Fn(&[u8])) {
    let seeds = seeds();
    let s = seed();
    let mut rng = Rng(s);
    let start = Instant::now();
    let mut n = 0u64;
    // Seeds in a random order, then random inputs, until the budget is spent.
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    for i in (1..queue.len()).rev() {
        queue.swap(i, rng.below(i + 1));
    }
    while n == 0 || start.elapsed() < budget() {
        let data = queue.pop().unwrap_or_else(|| input(&mut rng, &seeds));
        n += 1;
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-findings");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{s}-{n}"));
            let _ = std::fs::write(&file, &data);
            panic!(
                "fuzz target {name} failed on input {n} (GRADEKIT_FUZZ_SEED={s}), saved to {}: {:?}",
                file.display(),
                String::from_utf8_lossy(&data[..data.len().min(2000)])
            );
        }
    }
    eprintln!(
        "fuzz {name}: {n} inputs in {:.1} s (seed {s})",
        start.elapsed().as_secs_f64()
    );
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

#[test]
fn fuzz_template() {
    drive("template", |d| bodies::template(&text(d)));
}

#[test]
fn fuzz_formula() {
    drive("formula", |d| {
        let s = text(d);
        let values: Vec<f64> = d
            .chunks(8)
            .map(|c| c.len() as f64 * f64::from(c[0]) - 100.0)
            .collect();
        bodies::formula(&s, &values);
        bodies::formula(&s, &[f64::NAN, f64::INFINITY, -0.0]);
    });
}

#[test]
fn fuzz_grader() {
    drive("grader", bodies::grader);
}

#[test]
fn fuzz_metrics() {
    drive("metrics", |d| {
        let s = text(d);
        let (a, b) = s.split_at(
            s.char_indices()
                .nth(s.chars().count() / 2)
                .map_or(0, |(i, _)| i),
        );
        bodies::metrics(a, b);
    });
}

#[test]
fn fuzz_score_line() {
    drive("score_line", bodies::score_line);
}

#[test]
fn fuzz_server_body() {
    drive("server_body", |d| {
        // The route is picked by the first byte; seeds start with `{`, so try each route.
        for r in 0..5u8 {
            let mut x = Vec::with_capacity(d.len() + 1);
            x.push(r);
            x.extend_from_slice(d);
            bodies::server_body(&x);
        }
    });
}
