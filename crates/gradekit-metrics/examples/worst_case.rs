//! Worst-case cost of every metric on adversarial inputs of a given size: the evidence behind
//! the input limits of `crate::limits` (issue 12 item 2).
//!
//! `cargo run --release -p gradekit-metrics --example worst_case -- [BYTES] [FILTER]`
//! (default 1 MiB per side; FILTER is a substring of "metric/shape"). Prints the thread CPU time (and wall time) of
//! each metric on each input shape (both sides that size, and one side that size against a
//! 200-byte text), with the checked entry point, so refused pairs show as `refused` and cost
//! only the check. FILTER `boundary` times pairs just under each limit instead.
//! `WORST_CASE_RAW=1` runs fuzzy_match and rouge_l without their limits.

use std::time::Instant;

use gradekit_metrics::{fuzzy, rouge, score as checked_score, Metric};

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`; the machine is
/// shared, so wall time would measure the neighbours).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

/// Random words over `letters` letters, `len` bytes.
fn words(len: usize, letters: u64, seed: u64, sep: &str) -> String {
    let mut s = seed;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let w = 1 + lcg(&mut s) % 8;
        for _ in 0..w {
            out.push((b'a' + (lcg(&mut s) % letters) as u8) as char);
        }
        out.push_str(sep);
    }
    out.truncate(len);
    out
}

fn repeat(unit: &str, len: usize) -> String {
    let mut s = unit.repeat(len / unit.len().max(1) + 1);
    let mut cut = len.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn shapes(len: usize) -> Vec<(&'static str, String, String)> {
    vec![
        ("prose", words(len, 26, 1, " "), words(len, 26, 2, " ")),
        (
            "prose_sentences",
            words(len, 26, 3, ". "),
            words(len, 26, 4, ". "),
        ),
        ("binary_words", words(len, 2, 5, " "), words(len, 2, 6, " ")),
        ("one_token_repeated", repeat("a ", len), repeat("a ", len)),
        ("one_word", repeat("a", len), repeat("b", len)),
        ("same_letter_word", repeat("a", len), repeat("a", len)),
        ("dots", repeat(".", len), repeat(". ", len)),
        ("quotes", repeat("'", len), repeat("\"", len)),
        (
            "clitics",
            repeat("can't 'tis ", len),
            repeat("''a `` -- ", len),
        ),
        (
            "abbrev",
            repeat("Dr. e.g. U.S. ", len),
            repeat("p.m. A. B. ", len),
        ),
        ("brackets", repeat("([{<", len), repeat(">}])", len)),
        ("non_ascii", repeat("é", len), repeat("café naïve ", len)),
        (
            "cjk",
            repeat("東京は日本の首都です。", len),
            repeat("大阪、", len),
        ),
        ("symbols", repeat("$+<=>^`|~☃", len), repeat("1.2,3", len)),
        ("whitespace", repeat(" \t\n", len), repeat("\u{1c} ", len)),
        (
            "synonyms",
            repeat("sat cat dog ", len),
            repeat("sitting feline canine ", len),
        ),
        (
            "mixed_lengths",
            words(len, 26, 7, " "),
            words(len * 2 / 3, 26, 8, " "),
        ),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let len: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let filter = args.get(2).cloned().unwrap_or_default();
    // WORST_CASE_RAW=1: fuzzy_match and rouge_l without their limits (to calibrate them).
    let raw = std::env::var_os("WORST_CASE_RAW").is_some();
    if filter == "boundary" {
        boundary();
        return;
    }
    let small = words(200, 26, 99, " ");
    for (shape, a, b) in shapes(len) {
        for metric in Metric::ALL {
            for (side, x, y) in [
                ("both", a.as_str(), b.as_str()),
                ("input", a.as_str(), small.as_str()),
                ("reference", small.as_str(), b.as_str()),
            ] {
                let name = format!("{}/{shape}/{side}", metric.name());
                if !name.contains(&filter) {
                    continue;
                }
                let (t, cpu) = (Instant::now(), cpu_seconds());
                let r = match metric {
                    Metric::FuzzyMatch if raw => Ok(fuzzy::fuzzy_match(x, y)),
                    Metric::RougeL if raw => Ok(rouge::rouge_l(x, y)),
                    _ => checked_score(metric, x, y),
                };
                let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
                let what = match r {
                    Ok(v) => format!("{v:.6}"),
                    Err(e) => format!("refused ({e})"),
                };
                println!("{name:45} {cpu:8.3} s cpu {secs:8.3} s wall  {what}");
            }
        }
    }
}

/// Pairs just under each limit (the slowest inputs the checked entry point accepts).
fn boundary() {
    let rouge_a = words(770_000, 2, 1, " ");
    let rouge_b = words(770_000, 2, 2, " ");
    let fuzzy_a = words(110_000, 26, 3, " ");
    let fuzzy_b = words(110_000, 26, 4, " ");
    let needle = words(5_000, 26, 5, " ");
    let hay = words(50_000, 26, 6, " ");
    let tiny = words(64, 26, 7, "x");
    let long = words(3_900_000, 26, 8, " ");
    let cases = [
        (
            "rouge_l/140k_tokens_a_side",
            Metric::RougeL,
            &rouge_a,
            &rouge_b,
        ),
        (
            "fuzzy_match/110k_chars_a_side",
            Metric::FuzzyMatch,
            &fuzzy_a,
            &fuzzy_b,
        ),
        (
            "fuzzy_match/5k_against_50k",
            Metric::FuzzyMatch,
            &needle,
            &hay,
        ),
        (
            "fuzzy_match/64_against_3.9M",
            Metric::FuzzyMatch,
            &tiny,
            &long,
        ),
    ];
    for (name, metric, x, y) in cases {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let r = checked_score(metric, x, y);
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!("{name:45} {cpu:8.3} s cpu {secs:8.3} s wall  {r:?}");
    }
}
