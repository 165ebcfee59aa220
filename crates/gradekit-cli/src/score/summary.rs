//! Running statistics of a `score` run and the end-of-run summary.

use super::row::Outcome;
use gradekit_engine::{GradeResult, TokenUsage};
use indexmap::IndexMap;
use serde_json::{json, Value};

/// Statistics of graded lines. Rewards are kept (8 bytes a row) for exact quantiles.
#[derive(Debug, Default)]
pub struct Summary {
    rewards: Vec<f64>,
    sum: f64,
    passed: u64,
    pub invalid_lines: u64,
    /// Rows with at least one error flag.
    pub rows_with_errors: u64,
    errors: IndexMap<String, u64>,
    sub_sums: IndexMap<String, (f64, u64)>,
    /// Graded rows reloaded from the output of an earlier run (`--resume`); the rate counts
    /// only the rows graded in this run.
    pub resumed_rows: usize,
    /// Judge token usage summed per model (rows of model graders; a resumed row counts when
    /// its one answering model is known from `sampled_model_name`).
    usage: IndexMap<String, TokenUsage>,
}

impl Summary {
    pub fn add(&mut self, r: &GradeResult, threshold: Option<f64>) {
        // A clean row (nearly all of them) sets no flag: skip walking the flags.
        let flags = (!r.errors.is_clean()).then(|| r.errors.set_flags());
        self.add_parts(
            r.reward,
            flags.into_iter().flatten(),
            r.sub_rewards.iter().map(|(k, v)| (k.as_str(), *v)),
            threshold,
        );
        for (model, u) in &r.usage_per_model {
            self.add_usage(model, u);
        }
    }

    /// [`Self::add`] of a compact result.
    pub fn add_outcome(&mut self, o: &Outcome, threshold: Option<f64>) {
        match o {
            Outcome::Clean { reward, .. } => {
                self.add_parts(*reward, std::iter::empty(), std::iter::empty(), threshold)
            }
            Outcome::Full(r) => self.add(r, threshold),
        }
    }

    /// Adds one judge model's token usage of a row.
    pub fn add_usage(&mut self, model: &str, u: &TokenUsage) {
        match self.usage.get_mut(model) {
            Some(t) => t.add(u),
            None => {
                self.usage.insert(model.to_string(), *u);
            }
        }
    }

    /// Adds one graded row given by parts (also used to rebuild the summary from an output
    /// file when resuming).
    pub fn add_parts<'a, 'b>(
        &mut self,
        reward: f64,
        flags: impl Iterator<Item = &'a str>,
        subs: impl Iterator<Item = (&'b str, f64)>,
        threshold: Option<f64>,
    ) {
        self.rewards.push(reward);
        self.sum += reward;
        if threshold.is_some_and(|t| reward >= t) {
            self.passed += 1;
        }
        let mut any = false;
        for flag in flags {
            any = true;
            match self.errors.get_mut(flag) {
                Some(c) => *c += 1,
                None => {
                    self.errors.insert(flag.to_string(), 1);
                }
            }
        }
        if any {
            self.rows_with_errors += 1;
        }
        for (k, v) in subs {
            match self.sub_sums.get_mut(k) {
                Some(e) => {
                    e.0 += v;
                    e.1 += 1;
                }
                None => {
                    self.sub_sums.insert(k.to_string(), (v, 1));
                }
            }
        }
    }

    /// Every graded row's reward, in input order (the `--report` histogram).
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    pub fn count(&self) -> usize {
        self.rewards.len()
    }

    pub fn running_mean(&self) -> Option<f64> {
        (!self.rewards.is_empty()).then(|| self.sum / self.rewards.len() as f64)
    }

    /// A terminal histogram of the rewards: 10 bins over [0, 1] when every reward is in it,
    /// else over [min, max].
    pub fn histogram(&self) -> String {
        let n = self.rewards.len();
        if n == 0 {
            return String::new();
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in &self.rewards {
            lo = lo.min(*r);
            hi = hi.max(*r);
        }
        if lo >= 0.0 && hi <= 1.0 {
            (lo, hi) = (0.0, 1.0);
        }
        const BINS: usize = 10;
        let width = if hi > lo {
            (hi - lo) / BINS as f64
        } else {
            1.0
        };
        let mut counts = [0u64; BINS];
        for r in &self.rewards {
            let b = if hi > lo {
                ((r - lo) * BINS as f64 / (hi - lo)) as usize
            } else {
                0
            };
            let b = b.min(BINS - 1);
            counts[b] += 1;
        }
        let max = counts.iter().copied().max().unwrap_or(1).max(1);
        let mut s = String::from("reward histogram:");
        for (i, c) in counts.iter().enumerate() {
            let a = lo + width * i as f64;
            let bar = "█".repeat(((*c as f64 / max as f64) * 40.0).round() as usize);
            let close = if i == BINS - 1 { ']' } else { ')' };
            s.push_str(&format!(
                "\n  [{a:>7.3}, {:>7.3}{close} {bar} {c}",
                a + width
            ));
        }
        s
    }

    /// The `--summary-json` document.
    pub fn to_json(&self, threshold: Option<f64>, elapsed: f64) -> Value {
        let n = self.rewards.len();
        let reward = if n == 0 {
            json!({"mean": null, "stddev": null, "min": null, "max": null,
                   "p50": null, "p90": null, "p99": null})
        } else {
            let mean = self.rewards.iter().sum::<f64>() / n as f64;
            let var = self
                .rewards
                .iter()
                .map(|r| (r - mean) * (r - mean))
                .sum::<f64>()
                / n as f64;
            let mut sorted = self.rewards.clone();
            sorted.sort_by(f64::total_cmp);
            json!({
                "mean": mean,
                "stddev": var.sqrt(),
                "min": sorted[0],
                "max": sorted[n - 1],
                "p50": quantile(&sorted, 0.5),
                "p90": quantile(&sorted, 0.9),
                "p99": quantile(&sorted, 0.99),
            })
        };
        let pass_rate = match threshold {
            Some(_) if n > 0 => json!(self.passed as f64 / n as f64),
            _ => Value::Null,
        };
        let sub: serde_json::Map<String, Value> = self
            .sub_sums
            .iter()
            .map(|(k, (s, c))| (k.clone(), json!({"mean": s / *c as f64})))
            .collect();
        let mut out = json!({
            "count": n,
            "invalid_lines": self.invalid_lines,
            "reward": reward,
            "pass_rate": pass_rate,
            "errors": self.errors,
            "elapsed_seconds": elapsed,
            "rows_per_second": if elapsed > 0.0 {
                n.saturating_sub(self.resumed_rows) as f64 / elapsed
            } else {
                0.0
            },
        });
        if !sub.is_empty() {
            out["sub_rewards"] = Value::Object(sub);
        }
        if !self.usage.is_empty() {
            let mut total = TokenUsage::default();
            for u in self.usage.values() {
                total.add(u);
            }
            out["token_usage"] = json!({"total": total, "per_model": self.usage});
        }
        out
    }

    /// A short human summary for stderr.
    pub fn human(&self, threshold: Option<f64>, elapsed: f64) -> String {
        let j = self.to_json(threshold, elapsed);
        let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.4}"));
        let r = &j["reward"];
        let mut s = format!(
            "graded {} lines ({} invalid) in {:.2}s, {:.0} rows/s\nreward mean {}  stddev {}  min {}  p50 {}  p90 {}  p99 {}  max {}",
            j["count"], self.invalid_lines, elapsed, j["rows_per_second"].as_f64().unwrap_or(0.0),
            f(&r["mean"]), f(&r["stddev"]), f(&r["min"]), f(&r["p50"]), f(&r["p90"]), f(&r["p99"]), f(&r["max"])
        );
        if let Some(p) = j["pass_rate"].as_f64() {
            s.push_str(&format!("\npass rate {:.2}%", p * 100.0));
        }
        for (flag, c) in &self.errors {
            s.push_str(&format!("\n{flag}: {c}"));
        }
        for (k, (sum, c)) in &self.sub_sums {
            s.push_str(&format!("\nsub-grader {k}: mean {:.4}", sum / *c as f64));
        }
        for (model, u) in &self.usage {
            s.push_str(&format!(
                "\njudge {model}: {} tokens ({} prompt, {} completion)",
                u.total_tokens, u.prompt_tokens, u.completion_tokens
            ));
        }
        let h = self.histogram();
        if !h.is_empty() {
            s.push('\n');
            s.push_str(&h);
        }
        s
    }
}

/// Linear interpolation between closest ranks (numpy's default, `np.percentile(r, 100 * q)`),
/// computed as numpy computes it so that the figures are numpy's to the bit: the position is
/// `(n - 1) * q`, and past half-way between two ranks it is interpolated down from the upper
/// one (`numpy.lib._function_base_impl._lerp`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = (sorted.len() - 1) as f64 * q;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = pos - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    match t >= 0.5 {
        true => b - diff * (1.0 - t),
        false => a + diff * t,
    }
}

#[cfg(test)]
mod tests {
    use super::{quantile, Summary};
    use gradekit_engine::{GradeResult, TokenUsage};
    use serde_json::json;

    fn usage(p: u64, c: u64) -> TokenUsage {
        TokenUsage {
            prompt_tokens: p,
            completion_tokens: c,
            total_tokens: p + c,
            cached_tokens: 0,
        }
    }

    #[test]
    fn token_usage_is_totalled_per_model() {
        let mut s = Summary::default();
        let mut r = GradeResult {
            reward: 1.0,
            sub_rewards: Default::default(),
            errors: Default::default(),
            execution_time: 0.0,
            token_usage: None,
            sampled_model_name: None,
            usage_per_model: Default::default(),
        };
        s.add(&r, None);
        assert!(s.to_json(None, 1.0).get("token_usage").is_none());
        r.usage_per_model.insert("judge-a".into(), usage(10, 5));
        r.usage_per_model.insert("judge-b".into(), usage(1, 1));
        s.add(&r, None);
        r.usage_per_model.clear();
        r.usage_per_model.insert("judge-a".into(), usage(2, 3));
        s.add(&r, None);
        let j = s.to_json(None, 1.0);
        assert_eq!(
            j["token_usage"]["per_model"]["judge-a"],
            json!({"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20, "cached_tokens": 0})
        );
        assert_eq!(j["token_usage"]["per_model"]["judge-b"]["total_tokens"], 2);
        assert_eq!(j["token_usage"]["total"]["total_tokens"], 22);
        assert_eq!(j["token_usage"]["total"]["prompt_tokens"], 13);
        assert!(s
            .human(None, 1.0)
            .contains("judge judge-a: 20 tokens (12 prompt, 8 completion)"));
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.0);
        assert!((quantile(&v, 0.9) - 3.6).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.99), 7.0);
        // numpy 2.4: np.percentile([0.17, 0.17, 0.2, 0.31, 0.96], 90) = 0.7000000000000001
        // (0.31 + 0.65 * 0.6 would be 0.7); p50/p99 of 0.1..1.0 likewise.
        let v = [0.17, 0.17, 0.2, 0.31, 0.96];
        assert_eq!(quantile(&v, 0.9), 0.7000000000000001);
        let tenths: Vec<f64> = (1..=10).map(|i| i as f64 / 10.0).collect();
        assert_eq!(quantile(&tenths, 0.5), 0.55);
        assert_eq!(quantile(&tenths, 0.99), 0.991);
    }
}
