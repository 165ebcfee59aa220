//! What the first pairs a PROCESS sees cost bleu / gleu / their tokenizer (issue #17: the
//! issue's own run is one `gradekit score` pass over 2,000 pairs, where first-use costs —
//! page faults of fresh buffers and of the compiled-in tables, cold caches — count).
//!
//! Each round runs this program again as a fresh child process, which scores consecutive
//! blocks of distinct pairs once each (first 2,000 pairs in blocks of 250, then pairs
//! 2,000..4,000 as one block, by then past the first-use costs) and reports, per block, wall
//! ns per pair and minor page faults (`/proc/self/stat`). The parent prints the medians over
//! the rounds and "first 2,000 − later", the extra a short run pays per pair. Wall time, not
//! the thread CPU clock (which ticks in 4 ms here); on a loaded machine compare binaries
//! side by side in the same minutes.
//!
//! `cargo run --release -p gradekit-metrics --example nltk_cold -- [PAIRS.jsonl] [ROUNDS] [WHAT]`
//! (defaults: fixtures/bench/pairs-10k.jsonl, 21 rounds, `bleu`; WHAT is a metric name or
//! `tokenize` for `tokenize_pair` of bleu alone).

mod common;

use std::process::Command;
use std::time::Instant;

use common::{count_arg, median, pairs_path, read_pairs};
use gradekit_metrics::{score, tokenize_pair, Metric};

/// Pairs per block over the first 2,000, and the later block's range.
const BLOCK: usize = 250;
const FIRST: usize = 2_000;
const LATER: usize = 4_000;

/// Minor page faults of this process so far (field 10 of `/proc/self/stat`).
fn minor_faults() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// One child: per block, "ns_per_pair faults" on one line each.
fn child(path: &str, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pairs = read_pairs(path, LATER)?;
    if pairs.len() < LATER {
        return Err(format!("{path}: fewer than {LATER} pairs").into());
    }
    let metric = Metric::ALL
        .into_iter()
        .find(|m| m.name() == what.trim_start_matches("tokenize:"))
        .or((what == "tokenize").then_some(Metric::Bleu))
        .ok_or_else(|| format!("unknown metric {what:?}"))?;
    let tok_only = what == "tokenize";
    let mut blocks: Vec<(usize, usize)> = (0..FIRST / BLOCK)
        .map(|b| (b * BLOCK, (b + 1) * BLOCK))
        .collect();
    blocks.push((FIRST, LATER));
    let mut sum = 0.0;
    for (a, b) in blocks {
        let f0 = minor_faults();
        let t0 = Instant::now();
        for (i, r) in &pairs[a..b] {
            sum += if tok_only {
                tokenize_pair(metric, i, r) as f64
            } else {
                score(metric, i, r).unwrap_or(f64::NAN)
            };
        }
        let ns = t0.elapsed().as_nanos() as f64 / (b - a) as f64;
        println!("{ns:.1} {}", minor_faults() - f0);
    }
    println!("sum {sum:.9}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = pairs_path(&args);
    let what = args.get(3).cloned().unwrap_or_else(|| "bleu".to_owned());
    if std::env::var_os("NLTK_COLD_CHILD").is_some() {
        return child(&path, &what);
    }
    let rounds = count_arg(&args, 2, 21)?.max(1);
    let exe = std::env::current_exe()?;
    let mut ns: Vec<Vec<f64>> = Vec::new();
    let mut faults: Vec<Vec<f64>> = Vec::new();
    let mut sums = Vec::new();
    for _ in 0..rounds {
        let out = Command::new(&exe)
            .args([&path, "1", &what])
            .env("NLTK_COLD_CHILD", "1")
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let text = String::from_utf8(out.stdout)?;
        let mut k = 0;
        for line in text.lines() {
            if let Some(s) = line.strip_prefix("sum ") {
                sums.push(s.to_owned());
                continue;
            }
            let mut f = line.split_whitespace().map(str::parse::<f64>);
            let (Some(Ok(t)), Some(Ok(p))) = (f.next(), f.next()) else {
                return Err(format!("child output: {line:?}").into());
            };
            if ns.len() <= k {
                ns.push(Vec::new());
                faults.push(Vec::new());
            }
            ns[k].push(t);
            faults[k].push(p);
            k += 1;
        }
    }
    sums.dedup();
    println!(
        "{what}: fresh process per round, {rounds} rounds, medians (wall ns/pair, minor faults)"
    );
    let mut first = (0.0, 0.0);
    for (k, (t, p)) in ns.iter().zip(&faults).enumerate() {
        let (a, b) = if k < FIRST / BLOCK {
            (k * BLOCK, (k + 1) * BLOCK)
        } else {
            (FIRST, LATER)
        };
        let (t, p) = (median(t.clone()), median(p.clone()));
        println!("  pairs {a:>5}..{b:<5} {t:>8.1} ns/pair {p:>6.0} faults");
        if k < FIRST / BLOCK {
            first.0 += t / (FIRST / BLOCK) as f64;
            first.1 += p;
        } else {
            println!(
                "  first {FIRST}: {:.1} ns/pair, {:.0} faults; later: {t:.1} ns/pair; extra over the first {FIRST}: {:.1} ns/pair = {:.2} ms",
                first.0,
                first.1,
                first.0 - t,
                (first.0 - t) * FIRST as f64 / 1e6
            );
        }
    }
    println!("  score sums {}", sums.join(" / "));
    Ok(())
}
