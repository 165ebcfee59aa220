//! `score --report FILE.html`: one self-contained HTML page about a run.
//!
//! Design: the page must open anywhere without a network, so everything is inline — CSS in a
//! `<style>` element, plots as inline `<svg>` drawn by the `plotters` crate's SVG backend (text
//! as SVG `<text>`, no font files), no script at all, and a Content-Security-Policy that forbids
//! loading anything. Memory stays bounded during the streaming run: the [`Collector`] keeps only
//! the K slowest rows (a min-heap on execution time), the first K failed rows, fixed-bin
//! histograms of each sub-grader's rewards and counters; the reward histogram is drawn from the
//! rewards that the run's `Summary` keeps anyway. Row previews (sample text, item) are rendered
//! only for rows that enter one of the two tables, so the cost per ordinary row is a comparison.

use super::summary::Summary;
use super::Slot;
use anyhow::{Context, Result};
use gradekit_engine::{EvalContext, GradeResult};
use indexmap::IndexMap;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::path::Path;

/// Rows kept in each table.
pub const TOP_K: usize = 50;
/// Characters of the sample / item / raw line shown per row.
const PREVIEW_CHARS: usize = 240;
/// Bins of each sub-grader histogram (over [0, 1]).
const SUB_BINS: usize = 20;

/// One row of a table, rendered when it entered the table.
#[derive(Debug, Clone)]
pub struct Row {
    line: u64,
    id: Option<String>,
    reward: Option<f64>,
    seconds: f64,
    /// Set error flags, or for an invalid line its error code.
    flags: Vec<String>,
    /// Error details (flag details, or the invalid line's message).
    details: Vec<String>,
    sub_rewards: Vec<(String, f64)>,
    sample: String,
    item: String,
}

/// Heap entry: ordered by execution time, then by line (earlier line wins ties).
#[derive(Debug)]
struct Slow(Row);

impl PartialEq for Slow {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Slow {}
impl PartialOrd for Slow {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Slow {
    // Reversed so that BinaryHeap (a max-heap) pops the fastest kept row first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.seconds
            .total_cmp(&self.0.seconds)
            .then(self.0.line.cmp(&o.0.line))
    }
}

/// Distribution of one sub-grader's rewards in fixed bins.
#[derive(Debug, Clone, Default)]
pub struct SubDist {
    bins: [u64; SUB_BINS],
    below: u64,
    above: u64,
    non_finite: u64,
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl SubDist {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            self.non_finite += 1;
            return;
        }
        if self.n == 0 {
            (self.min, self.max) = (v, v);
        }
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v < 0.0 {
            self.below += 1;
        } else if v > 1.0 {
            self.above += 1;
        } else {
            let b = ((v * SUB_BINS as f64) as usize).min(SUB_BINS - 1);
            self.bins[b] += 1;
        }
    }
}

/// What the report keeps while the run streams.
#[derive(Debug, Default)]
pub struct Collector {
    slow: BinaryHeap<Slow>,
    failed: Vec<Row>,
    failed_total: u64,
    seen: u64,
    flags: IndexMap<String, u64>,
    invalid: IndexMap<String, u64>,
    subs: IndexMap<String, SubDist>,
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

fn preview_sample(ctx: &EvalContext) -> String {
    match ctx.sample.get("output_text") {
        Some(Value::String(s)) if !s.is_empty() => truncate(s, PREVIEW_CHARS),
        _ => truncate(&ctx.sample.to_string(), PREVIEW_CHARS),
    }
}

fn id_text(id: &Option<Value>) -> Option<String> {
    id.as_ref().map(|v| match v {
        Value::String(s) => truncate(s, 80),
        other => truncate(&other.to_string(), 80),
    })
}

/// Error detail strings of a result (`*_details`, `python_grader_server_error_type`).
fn details_of(r: &GradeResult) -> Vec<String> {
    let Ok(Value::Object(m)) = serde_json::to_value(&r.errors) else {
        return Vec::new();
    };
    m.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) if !s.is_empty() => Some(format!("{k}: {}", truncate(&s, 400))),
            _ => None,
        })
        .collect()
}

impl Collector {
    pub fn new() -> Self {
        Collector::default()
    }

    fn graded_row(
        line: u64,
        id: &Option<Value>,
        ctx: &EvalContext,
        r: &GradeResult,
        with_details: bool,
    ) -> Row {
        Row {
            line,
            id: id_text(id),
            reward: Some(r.reward),
            seconds: r.execution_time,
            flags: r.errors.set_flags().map(str::to_string).collect(),
            details: if with_details {
                details_of(r)
            } else {
                Vec::new()
            },
            sub_rewards: r.sub_rewards.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            sample: preview_sample(ctx),
            item: truncate(&ctx.item.to_string(), PREVIEW_CHARS),
        }
    }

    /// Takes in one processed chunk: `lines` as read, `slots` as parsed, the contexts and the
    /// results of the graded ones (indexed by the slots).
    pub(super) fn observe(
        &mut self,
        lines: &[(u64, &[u8])],
        slots: &[Slot],
        ctxs: &[EvalContext],
        results: &[GradeResult],
    ) {
        for ((line, raw), slot) in lines.iter().zip(slots) {
            self.seen += 1;
            match slot {
                Slot::Graded(id, i) => {
                    let (Some(ctx), Some(r)) = (ctxs.get(*i), results.get(*i)) else {
                        continue;
                    };
                    for (k, v) in &r.sub_rewards {
                        match self.subs.get_mut(k) {
                            Some(d) => d.add(*v),
                            None => {
                                let mut d = SubDist::default();
                                d.add(*v);
                                self.subs.insert(k.clone(), d);
                            }
                        }
                    }
                    let mut failed = false;
                    for f in r.errors.set_flags() {
                        failed = true;
                        *self.flags.entry(f.to_string()).or_insert(0) += 1;
                    }
                    if failed {
                        self.failed_total += 1;
                        if self.failed.len() < TOP_K {
                            self.failed.push(Self::graded_row(*line, id, ctx, r, true));
                        }
                    }
                    let enters = self.slow.len() < TOP_K
                        || self
                            .slow
                            .peek()
                            .is_some_and(|s| r.execution_time > s.0.seconds);
                    if enters {
                        self.slow
                            .push(Slow(Self::graded_row(*line, id, ctx, r, false)));
                        if self.slow.len() > TOP_K {
                            self.slow.pop();
                        }
                    }
                }
                Slot::Invalid(id, code, message) => {
                    *self.invalid.entry((*code).to_string()).or_insert(0) += 1;
                    self.failed_total += 1;
                    if self.failed.len() < TOP_K {
                        self.failed.push(Row {
                            line: *line,
                            id: id_text(id),
                            reward: None,
                            seconds: 0.0,
                            flags: vec![(*code).to_string()],
                            details: vec![truncate(message, 400)],
                            sub_rewards: Vec::new(),
                            sample: truncate(&String::from_utf8_lossy(raw), PREVIEW_CHARS),
                            item: String::new(),
                        });
                    }
                }
            }
        }
    }

    /// Writes the page.
    pub fn write(&self, path: &Path, info: &PageInfo<'_>, summary: &Summary) -> Result<()> {
        let html = self.render(info, summary)?;
        std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The whole page.
    pub fn render(&self, info: &PageInfo<'_>, summary: &Summary) -> Result<String> {
        let stats = summary.to_json(info.threshold, info.elapsed);
        let mut h = String::with_capacity(64 << 10);
        h.push_str(HEAD);
        let _ = write!(
            h,
            "<h1>gradekit score report</h1>\n<p class=\"meta\">grader <b>{}</b> ({}) · input <code>{}</code></p>\n",
            esc(info.grader_name),
            esc(info.grader_kind),
            esc(info.input)
        );
        stats_table(&mut h, &stats);
        if (summary.count() as u64 + summary.invalid_lines) > self.seen {
            let _ = writeln!(
                h,
                "<p class=\"note\">This run resumed: the statistics and the reward histogram cover all {} rows; the tables, the sub-grader plots and the error breakdown cover the {} rows graded by this invocation.</p>",
                summary.count() as u64 + summary.invalid_lines,
                self.seen
            );
        }
        h.push_str("<h2>Reward distribution</h2>\n<div class=\"plots\">");
        h.push_str(&super::report_svg::reward_histogram(summary.rewards())?);
        h.push_str("</div>\n");
        if !self.subs.is_empty() {
            h.push_str("<h2>Sub-grader distributions</h2>\n<div class=\"plots\">");
            for (i, (k, d)) in self.subs.iter().enumerate() {
                h.push_str(&super::report_svg::sub_histogram(i, k, d)?);
            }
            h.push_str("</div>\n");
        }
        h.push_str("<h2>Errors</h2>\n<div class=\"plots\">");
        let mut bars: Vec<(String, u64)> =
            self.flags.iter().map(|(k, v)| (k.clone(), *v)).collect();
        bars.extend(
            self.invalid
                .iter()
                .map(|(k, v)| (format!("invalid line: {k}"), *v)),
        );
        h.push_str(&super::report_svg::error_breakdown(&bars)?);
        h.push_str("</div>\n");

        let mut slow: Vec<&Row> = self.slow.iter().map(|s| &s.0).collect();
        slow.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.line.cmp(&b.line)));
        let _ = write!(
            h,
            "<h2>Slowest rows</h2>\n<p class=\"meta\">the {} slowest graded rows by execution time</p>\n",
            slow.len()
        );
        rows_table(&mut h, "slowest-rows", &slow, false);
        let failed: Vec<&Row> = self.failed.iter().collect();
        let _ = write!(
            h,
            "<h2>Failed rows</h2>\n<p class=\"meta\">{} rows had an error flag set or were invalid lines; the first {} are shown</p>\n",
            self.failed_total,
            failed.len()
        );
        rows_table(&mut h, "failed-rows", &failed, true);
        h.push_str("</body>\n</html>\n");
        Ok(h)
    }
}

/// What the page says about the run besides the rows.
#[derive(Debug)]
pub struct PageInfo<'a> {
    pub grader_name: &'a str,
    pub grader_kind: &'a str,
    pub input: &'a str,
    pub threshold: Option<f64>,
    pub elapsed: f64,
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gradekit score report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.meta{color:#57606a;margin:2px 0 8px}.note{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{border:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.stats{width:auto}table.stats td{min-width:90px}
td.text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-word;max-width:420px}
.flag{display:inline-block;background:#ffebe9;color:#82071e;border-radius:3px;padding:0 4px;margin:1px;font-size:12px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #d0d7de;border-radius:4px;background:#fff}
</style>
</head>
<body>
"#;

/// HTML-escapes text (element content and attribute values).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.4}"),
        None => "–".into(),
    }
}

fn stats_table(h: &mut String, s: &Value) {
    let r = &s["reward"];
    h.push_str("<table class=\"stats\" id=\"stats\"><tr><th>rows graded</th><th>invalid lines</th><th>mean</th><th>stddev</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>pass rate</th><th>rows/s</th></tr><tr>");
    let _ = write!(
        h,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
        s["count"], s["invalid_lines"]
    );
    for k in ["mean", "stddev", "min", "p50", "p90", "p99", "max"] {
        let _ = write!(h, "<td class=\"num\">{}</td>", num(&r[k]));
    }
    let pass = s["pass_rate"]
        .as_f64()
        .map_or("–".to_string(), |p| format!("{:.2}%", p * 100.0));
    let _ = writeln!(
        h,
        "<td class=\"num\">{pass}</td><td class=\"num\">{:.0}</td></tr></table>",
        s["rows_per_second"].as_f64().unwrap_or(0.0)
    );
    if let Some(Value::Object(subs)) = s.get("sub_rewards") {
        h.push_str(
            "<table class=\"stats\" id=\"sub-stats\"><tr><th>sub-grader</th><th>mean</th></tr>",
        );
        for (k, v) in subs {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(k),
                num(&v["mean"])
            );
        }
        h.push_str("</table>\n");
    }
}

fn rows_table(h: &mut String, id: &str, rows: &[&Row], failed: bool) {
    if rows.is_empty() {
        let _ = writeln!(h, "<p class=\"meta\" id=\"{id}\">none</p>");
        return;
    }
    let _ = writeln!(
        h,
        "<table id=\"{id}\"><tr><th>line</th><th>id</th><th>reward</th><th>ms</th><th>{}</th><th>sub-rewards</th><th>sample</th><th>item</th></tr>",
        if failed { "errors" } else { "flags" }
    );
    for r in rows {
        let reward = r.reward.map_or("–".to_string(), |x| format!("{x:.4}"));
        let mut errs = String::new();
        for f in &r.flags {
            let _ = write!(errs, "<span class=\"flag\">{}</span>", esc(f));
        }
        for d in &r.details {
            let _ = write!(errs, "<div>{}</div>", esc(d));
        }
        let subs = r
            .sub_rewards
            .iter()
            .map(|(k, v)| format!("{}={v:.3}", esc(k)))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{reward}</td><td class=\"num\">{:.3}</td><td>{errs}</td><td>{subs}</td><td class=\"text\">{}</td><td class=\"text\">{}</td></tr>",
            r.line,
            esc(r.id.as_deref().unwrap_or("")),
            r.seconds * 1000.0,
            esc(&r.sample),
            esc(&r.item)
        );
    }
    h.push_str("</table>\n");
}

impl SubDist {
    pub(super) fn bins(&self) -> &[u64; SUB_BINS] {
        &self.bins
    }
    /// (below 0, above 1, non-finite) counts.
    pub(super) fn outside(&self) -> (u64, u64, u64) {
        (self.below, self.above, self.non_finite)
    }
    pub(super) fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
    pub(super) fn range(&self) -> Option<(f64, f64)> {
        (self.n > 0).then_some((self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn truncate_counts_chars_not_bytes() {
        assert_eq!(truncate("héllo", 3), "hél…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn sub_dist_bins_and_outside() {
        let mut d = SubDist::default();
        for v in [0.0, 1.0, 0.5, -1.0, 2.0, f64::NAN] {
            d.add(v);
        }
        assert_eq!(d.bins()[0], 1);
        assert_eq!(d.bins()[SUB_BINS - 1], 1);
        assert_eq!(d.bins()[SUB_BINS / 2], 1);
        assert_eq!(d.outside(), (1, 1, 1));
        assert_eq!(d.range(), Some((-1.0, 2.0)));
    }

    #[test]
    fn slowest_keeps_top_k() {
        let mut c = Collector::new();
        for i in 0..(TOP_K as u64 * 3) {
            let row = Row {
                line: i,
                id: None,
                reward: Some(0.0),
                seconds: i as f64,
                flags: vec![],
                details: vec![],
                sub_rewards: vec![],
                sample: String::new(),
                item: String::new(),
            };
            c.slow.push(Slow(row));
            if c.slow.len() > TOP_K {
                c.slow.pop();
            }
        }
        let min = c.slow.iter().map(|s| s.0.line).min().unwrap();
        assert_eq!(min, TOP_K as u64 * 2);
    }
}
