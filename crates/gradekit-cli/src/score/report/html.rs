//! The page itself: statistics, the plots (from [`super::svg`]) and the two row tables, as one
//! self-contained HTML string.

use super::collect::{Collector, Row};
use super::esc;
use super::svg;
use crate::score::summary::Summary;
use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

impl Collector {
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
        h.push_str(&svg::reward_histogram(summary.rewards())?);
        h.push_str("</div>\n");
        if !self.subs.is_empty() {
            h.push_str("<h2>Sub-grader distributions</h2>\n<div class=\"plots\">");
            for (i, (k, d)) in self.subs.iter().enumerate() {
                h.push_str(&svg::sub_histogram(i, k, d)?);
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
        h.push_str(&svg::error_breakdown(&bars)?);
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
