//! A job's metrics events as curves: which numbers go on which chart, one point per step.
//!
//! The trainer protocol (DESIGN §8) lets a trainer put any numbers in a `metrics` line, so
//! charts are chosen by the keys' names, the way OpenAI's dashboard groups them:
//! - **Loss**: keys ending in `_loss` (`train_loss`, `valid_loss`, `full_valid_loss`);
//! - **Reward**: `train_reward_mean`, `valid_reward_mean`, `full_valid_reward_mean`;
//! - **Sub-graders**: `train_<name>_reward_mean` / `valid_<name>_reward_mean`, or when a step
//!   has none of those, the `scores.graders[]` objects of OpenAI's RFT metrics;
//! - **Error-flag rates**: keys ending in `_error_mean` / `_error_rate` and the `…_mean`
//!   numbers of the nested `errors.graders[]` objects (counts are left out: rates compare
//!   across batch sizes, counts do not);
//! - **Accuracy**: keys ending in `accuracy`.
//!
//! Any other number is shown in the "latest metrics" table, not drawn: learning rates and
//! gradient norms on one axis with losses would flatten every curve.
//!
//! **One point per step.** A resumed run may report a step again; the later report wins, so a
//! curve never has two points at one step. Non-finite numbers are not points. The number of
//! distinct curves is capped ([`MAX_SERIES`]) since their names come from the trainer.

use super::html::esc;
use gradekit_chart::{line_chart, LineChart, Marker, Series};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Most vertices per drawn curve; beyond it curves are downsampled (min/max per bucket).
pub(crate) const MAX_POINTS: usize = 1000;
/// Most distinct curves gathered from one job.
pub(crate) const MAX_SERIES: usize = 48;
/// Longest key kept (longer keys are not charted).
const MAX_KEY: usize = 200;

/// The charts, in page order: id, title.
pub(crate) const GROUPS: [(&str, &str); 5] = [
    ("chart-loss", "Loss"),
    ("chart-reward", "Reward mean (train / valid)"),
    ("chart-subgraders", "Sub-grader reward means"),
    ("chart-errors", "Error-flag rates"),
    ("chart-accuracy", "Accuracy"),
];

/// Index into [`GROUPS`] of a flat key, or `None` for the latest-metrics table only.
fn group_of(key: &str) -> Option<usize> {
    if key.ends_with("_loss") {
        return Some(0);
    }
    if matches!(
        key,
        "train_reward_mean" | "valid_reward_mean" | "full_valid_reward_mean"
    ) {
        return Some(1);
    }
    if key.ends_with("_error_mean") || key.ends_with("_error_rate") {
        return Some(3);
    }
    if let Some(mid) = key
        .strip_prefix("train_")
        .or_else(|| key.strip_prefix("valid_"))
        .and_then(|k| k.strip_suffix("_reward_mean"))
    {
        if !mid.is_empty() && !mid.starts_with("valid") {
            return Some(2);
        }
    }
    if key.ends_with("accuracy") {
        return Some(4);
    }
    None
}

/// Curves gathered from metrics events, in arrival order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Curves {
    /// name → (group, points in arrival order).
    series: BTreeMap<String, (usize, Vec<(i64, f64)>)>,
    /// Latest value of every flat number (for the table), and its step.
    latest: BTreeMap<String, (i64, f64)>,
    /// Events seen.
    pub(crate) events: usize,
    /// Curves not gathered because of [`MAX_SERIES`].
    pub(crate) dropped: usize,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

impl Curves {
    fn push(&mut self, name: String, group: usize, step: i64, v: f64) {
        if name.len() > MAX_KEY {
            return;
        }
        if let Some(s) = self.series.get_mut(&name) {
            s.1.push((step, v));
        } else if self.series.len() < MAX_SERIES {
            self.series.insert(name, (group, vec![(step, v)]));
        } else {
            self.dropped += 1;
        }
    }

    /// Adds one metrics event's data (events without an integral `step` are skipped).
    pub(crate) fn add(&mut self, data: &Map<String, Value>) {
        let Some(step) = data.get("step").and_then(Value::as_i64) else {
            return;
        };
        self.events += 1;
        let mut has_flat_sub = false;
        for (k, v) in data {
            if k == "step" || k == "total_steps" || k.len() > MAX_KEY {
                continue;
            }
            let Some(x) = num(v) else { continue };
            if self.latest.len() < 4 * MAX_SERIES || self.latest.contains_key(k) {
                self.latest.insert(k.clone(), (step, x));
            }
            if let Some(g) = group_of(k) {
                has_flat_sub |= g == 2;
                self.push(k.clone(), g, step, x);
            }
        }
        let graders = |o: &str| {
            data.get(o)
                .and_then(|s| s.get("graders"))
                .and_then(Value::as_array)
                .map(|a| a.iter().take(MAX_SERIES).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        if !has_flat_sub {
            for g in graders("scores") {
                let name = g.get("name").and_then(Value::as_str).unwrap_or("grader");
                for split in ["train", "valid"] {
                    let key = format!("{split}_reward_mean");
                    if let Some(x) = g.get(&key).and_then(num) {
                        self.push(format!("{name}: {key}"), 2, step, x);
                    }
                }
            }
        }
        for g in graders("errors") {
            let name = g.get("name").and_then(Value::as_str).unwrap_or("grader");
            if let Some(o) = g.as_object() {
                for (k, v) in o {
                    if k.ends_with("_mean") {
                        if let Some(x) = num(v) {
                            self.push(format!("{name}: {k}"), 3, step, x);
                        }
                    }
                }
            }
        }
    }

    /// The latest value of each flat number, by key.
    pub(crate) fn latest(&self) -> &BTreeMap<String, (i64, f64)> {
        &self.latest
    }

    /// The curves of group `g`, one point per step (the later report of a step wins).
    fn group(&self, g: usize) -> Vec<Series> {
        self.series
            .iter()
            .filter(|(_, (grp, _))| *grp == g)
            .map(|(name, (_, pts))| {
                let mut pts = pts.clone();
                // Stable: among reports of one step, arrival order is kept; keep the last.
                pts.sort_by_key(|p| p.0);
                let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
                let mut last_step = None;
                for (s, v) in pts {
                    if last_step == Some(s) {
                        if let Some(l) = out.last_mut() {
                            l.1 = v;
                        }
                    } else {
                        out.push((s as f64, v));
                        last_step = Some(s);
                    }
                }
                Series {
                    name: name.clone(),
                    points: out,
                }
            })
            .collect()
    }
}

/// A number for the table: six decimals at most, scientific when tiny or huge.
fn number(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e9).contains(&a) {
        return format!("{v:.4e}");
    }
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The charts section's inner HTML: one figure per group that has data, checkpoints marked;
/// the latest-metrics table; or a note when the job has reported no metrics yet.
pub(crate) fn render(curves: &Curves, checkpoints: &[(i64, String)]) -> String {
    if curves.events == 0 {
        return format!(
            "<p class=\"empty\" id=\"no-metrics\">No metrics reported yet.</p>{}",
            checkpoint_table(checkpoints)
        );
    }
    let markers: Vec<Marker> = checkpoints
        .iter()
        .map(|(step, name)| Marker {
            x: *step as f64,
            label: format!("checkpoint at step {step}: {name}"),
        })
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "<p class=\"meta\">{} metrics events; {} checkpoints marked <span class=\"ckpt-key\">▼</span>. \
         Curves of more than {MAX_POINTS} steps are drawn with the lowest and highest value of each \
         bucket of steps.</p><div class=\"charts\">",
        curves.events,
        checkpoints.len()
    ));
    for (g, (id, title)) in GROUPS.iter().enumerate() {
        let series = curves.group(g);
        if series.is_empty() {
            continue;
        }
        let chart = LineChart {
            id,
            title,
            x_desc: "step",
            size: (550, 290),
            series: &series,
            markers: &markers,
            max_points: MAX_POINTS,
        };
        match line_chart(&chart) {
            Ok(svg) => out.push_str(&format!("<figure class=\"chart\">{svg}</figure>")),
            Err(e) => out.push_str(&format!("<p class=\"error\">{}</p>", esc(&e.to_string()))),
        }
    }
    out.push_str("</div>");
    if curves.dropped > 0 {
        out.push_str(&format!(
            "<p class=\"meta\">{} reports of curves beyond the first {MAX_SERIES} were not drawn.</p>",
            curves.dropped
        ));
    }
    out.push_str(
        "<table id=\"latest-metrics\" class=\"compact\"><thead><tr><th>metric</th><th>latest</th>\
         <th>at step</th></tr></thead><tbody>",
    );
    for (k, (step, v)) in curves.latest() {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{step}</td></tr>",
            esc(k),
            esc(&number(*v))
        ));
    }
    out.push_str("</tbody></table>");
    out.push_str(&checkpoint_table(checkpoints));
    out
}

/// The checkpoints, newest first (part of the charts section, so live updates refresh it).
fn checkpoint_table(checkpoints: &[(i64, String)]) -> String {
    if checkpoints.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "<table id=\"checkpoints\" class=\"compact\"><thead><tr><th>checkpoint step</th>\
         <th>model</th></tr></thead><tbody>",
    );
    for (step, name) in checkpoints.iter().rev() {
        t.push_str(&format!(
            "<tr data-step=\"{step}\"><td>{step}</td><td><code>{}</code></td></tr>",
            esc(name)
        ));
    }
    t.push_str("</tbody></table>");
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keys_go_to_their_charts() {
        assert_eq!(group_of("train_loss"), Some(0));
        assert_eq!(group_of("full_valid_loss"), Some(0));
        assert_eq!(group_of("train_reward_mean"), Some(1));
        assert_eq!(group_of("full_valid_reward_mean"), Some(1));
        assert_eq!(group_of("train_exact_reward_mean"), Some(2));
        assert_eq!(group_of("valid_fuzzy_reward_mean"), Some(2));
        assert_eq!(group_of("train_grader_error_mean"), Some(3));
        assert_eq!(group_of("train_mean_token_accuracy"), Some(4));
        assert_eq!(group_of("learning_rate"), None);
    }

    #[test]
    fn rft_metrics_give_every_chart() {
        let mut c = Curves::default();
        for step in 1..=5 {
            c.add(&obj(json!({
                "step": step, "total_steps": 5,
                "train_loss": 1.0 / f64::from(step),
                "train_reward_mean": 0.1 * f64::from(step),
                "valid_reward_mean": 0.08 * f64::from(step),
                "train_exact_reward_mean": 0.5,
                "train_grader_error_mean": 0.0,
                "learning_rate": 1e-5,
                "errors": {"graders": [{"name": "g", "train_sample_parse_error_mean": 0.25,
                                          "train_sample_parse_error_count": 2}]},
                "scores": {"graders": [{"name": "exact", "train_reward_mean": 0.5}]},
            })));
        }
        let html = render(&c, &[(2, "ft:m:o::x:ckpt-step-2".into())]);
        for id in [
            "chart-loss",
            "chart-reward",
            "chart-subgraders",
            "chart-errors",
        ] {
            assert!(html.contains(&format!("<svg id=\"{id}\"")), "{id}");
        }
        assert!(!html.contains("chart-accuracy"));
        assert!(html.contains("data-series=\"g: train_sample_parse_error_mean\""));
        assert!(!html.contains("_count\""), "counts are not charted");
        // scores.graders is not drawn when the flat sub-grader keys exist.
        assert!(!html.contains("exact: train_reward_mean"));
        assert!(html.contains("data-series=\"train_loss\" data-points=\"5\" data-total=\"5\""));
        assert!(html.contains("class=\"marker\" data-x=\"2\""));
        assert!(html.contains("<td>learning_rate</td><td>1.0000e-5</td><td>5</td>"));
        assert_eq!(number(1e-9), "1.0000e-9");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(3.0), "3");
    }

    #[test]
    fn one_point_per_step_the_later_report_wins() {
        let mut c = Curves::default();
        for (step, loss) in [(1, 1.0), (2, 0.9), (3, 0.8), (2, 0.5), (3, 0.4), (4, 0.3)] {
            c.add(&obj(json!({"step": step, "train_loss": loss})));
        }
        c.add(&obj(json!({"train_loss": 7.0})));
        c.add(&obj(json!({"step": 5, "train_loss": null})));
        let s = c.group(0);
        assert_eq!(
            s[0].points,
            vec![(1.0, 1.0), (2.0, 0.5), (3.0, 0.4), (4.0, 0.3)]
        );
    }

    #[test]
    fn curve_count_is_capped_and_names_escaped() {
        let mut c = Curves::default();
        let mut m = Map::new();
        m.insert("step".into(), json!(1));
        for i in 0..(MAX_SERIES + 10) {
            m.insert(format!("k{i}_loss"), json!(1.0));
        }
        m.insert("<script>alert(1)</script>_loss".into(), json!(2.0));
        c.add(&m);
        assert_eq!(c.series.len(), MAX_SERIES);
        assert!(c.dropped > 0);
        let html = render(&c, &[]);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn no_metrics_no_charts() {
        assert!(render(&Curves::default(), &[]).contains("id=\"no-metrics\""));
    }
}
