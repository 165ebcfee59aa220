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

/// The numeric command-line argument at `index`, or `default` when it is absent.
pub fn count_arg(
    args: &[String],
    index: usize,
    default: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(args
        .get(index)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(default))
}

/// The median of `v` (the upper one of an even count; NaN when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
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

/// Best and median thread CPU µs per pair of `run` (one pass over `pairs` pairs, returning a
/// score sum kept so the work is not optimised away), over `repeat` samples, and the last sum.
/// A warm-up pass runs first (buffer growth, first-use work). The kernel may account thread CPU
/// time in scheduler ticks (4 ms), so each sample runs enough passes to span ≥ 0.25 s unless
/// the environment variable `passes_var` fixes the count (1 for callgrind instruction counts).
pub fn time_passes(
    pairs: usize,
    repeat: usize,
    passes_var: &str,
    run: &mut dyn FnMut() -> f64,
) -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    let mut sum = run();
    let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
    run();
    let once = cpu_seconds().ok_or("no thread CPU clock")? - c0;
    let passes = match std::env::var(passes_var) {
        Ok(p) => p.parse()?,
        Err(_) => (0.25 / once.max(1e-3)).ceil().max(1.0) as usize,
    };
    let mut times = Vec::with_capacity(repeat.max(1));
    for _ in 0..repeat.max(1) {
        let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
        for _ in 0..passes {
            sum = run();
        }
        let c1 = cpu_seconds().ok_or("no thread CPU clock")?;
        times.push((c1 - c0) / (passes * pairs.max(1)) as f64 * 1e6);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[0], times[times.len() / 2], sum))
}

/// Thread CPU µs a pair of two loops (`a`, `b`: one pass over `pairs` pairs each, returning
/// a score sum) timed in alternating samples — `a b`, then `b a`, … over `repeat` rounds — so
/// both are measured in the same minutes: on a shared host whose speed drifts or switches
/// modes, timing all of `a`'s samples before all of `b`'s lets the drift decide their ratio.
/// Each side warms up first and gets its own pass count (each sample spans ≥ 0.25 s, unless
/// `passes_var` fixes it, as in [`time_passes`]).
pub fn time_interleaved(
    pairs: usize,
    repeat: usize,
    passes_var: &str,
    a: &mut dyn FnMut() -> f64,
    b: &mut dyn FnMut() -> f64,
) -> Result<Interleaved, Box<dyn std::error::Error>> {
    let fixed: Option<usize> = match std::env::var(passes_var) {
        Ok(p) => Some(p.parse()?),
        Err(_) => None,
    };
    let mut sums = [0.0; 2];
    let mut passes = [1usize; 2];
    let mut sides: [&mut dyn FnMut() -> f64; 2] = [a, b];
    for (k, run) in sides.iter_mut().enumerate() {
        sums[k] = run();
        let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
        run();
        let once = cpu_seconds().ok_or("no thread CPU clock")? - c0;
        passes[k] = fixed.unwrap_or_else(|| (0.25 / once.max(1e-3)).ceil().max(1.0) as usize);
    }
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..repeat.max(1) {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let c0 = cpu_seconds().ok_or("no thread CPU clock")?;
            for _ in 0..passes[k] {
                sums[k] = sides[k]();
            }
            let c1 = cpu_seconds().ok_or("no thread CPU clock")?;
            times[k].push((c1 - c0) / (passes[k] * pairs.max(1)) as f64 * 1e6);
        }
    }
    let ratios: Vec<f64> = times[0].iter().zip(&times[1]).map(|(x, y)| x / y).collect();
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Interleaved {
        a: (best(&times[0]), median(times[0].clone())),
        b: (best(&times[1]), median(times[1].clone())),
        ratio_median: median(ratios.clone()),
        ratio_range: (best(&ratios), ratios.iter().copied().fold(0.0, f64::max)),
        sums,
    })
}

/// What [`time_interleaved`] measured: best and median µs a pair of each side, the median
/// and range of the rounds' `a / b` ratios, and the last score sums.
pub struct Interleaved {
    pub a: (f64, f64),
    pub b: (f64, f64),
    pub ratio_median: f64,
    pub ratio_range: (f64, f64),
    pub sums: [f64; 2],
}

/// Wall-clock nanoseconds per pair of one pass of `metric` over `pairs`, and the score sum.
pub fn metric_pass(metric: gradekit_metrics::Metric, pairs: &[(String, String)]) -> (f64, f64) {
    use std::hint::black_box;
    let t = std::time::Instant::now();
    let sum: f64 = pairs
        .iter()
        .map(|(i, r)| {
            gradekit_metrics::score(metric, black_box(i), black_box(r)).unwrap_or(f64::NAN)
        })
        .sum();
    (
        t.elapsed().as_nanos() as f64 / pairs.len().max(1) as f64,
        sum,
    )
}

/// The cold-vs-warm rounds of the `*_cold` examples: each round scores `pairs` once on a fresh
/// thread (cold), then again on that thread (warm); prints the medians of both, their
/// difference and the last round's score sums, the line headed by `name`.
pub fn cold_warm_rounds(
    metric: gradekit_metrics::Metric,
    name: &str,
    pairs: &[(String, String)],
    rounds: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let mut sums = (0.0, 0.0);
    for _ in 0..rounds.max(1) {
        let (c, w) = std::thread::scope(|s| {
            s.spawn(|| (metric_pass(metric, pairs), metric_pass(metric, pairs)))
                .join()
                .map_err(|_| "scoring thread panicked")
        })?;
        cold.push(c.0);
        warm.push(w.0);
        sums = (c.1, w.1);
    }
    println!(
        "{name} {} pairs, {} rounds (wall ns/pair, medians): cold {:.1}, warm {:.1}, cold - warm {:.1}; score sums {:.9} / {:.9}",
        pairs.len(),
        rounds.max(1),
        median(cold.clone()),
        median(warm.clone()),
        median(cold) - median(warm),
        sums.0,
        sums.1
    );
    Ok(())
}
