//! The plots of the `--report` page, drawn with `plotters` into SVG strings.
//!
//! Each function returns one `<svg>` element ready to inline in HTML: it gets an `id` (the
//! page's tests and readers find plots by it) and loses its `xmlns` attribute, which inline SVG
//! in HTML does not need, so the page holds no URL at all.

use super::collect::SubDist;
use anyhow::Result;
use plotters::prelude::*;

const BAR: RGBColor = RGBColor(9, 105, 218);
const ERR: RGBColor = RGBColor(207, 34, 46);

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the report plot: {e}")
}

/// Gives the SVG its id and drops the namespace attribute (see the module docs).
fn finish(svg: String, id: &str, title: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let open = format!(
        "<svg id=\"{}\" role=\"img\" aria-label=\"{}\" ",
        super::esc(id),
        super::esc(title)
    );
    let mut out = svg.replacen("<svg ", &open, 1);
    // A <title> child gives the plot a tooltip and an accessible name.
    if let Some(end) = out.find('>') {
        out.insert_str(end + 1, &format!("<title>{}</title>", super::esc(title)));
    }
    out
}

/// Bins `values` into `n` bins over [0, 1] when every value is in it, else over [min, max].
fn bin(values: &[f64], n: usize) -> (f64, f64, Vec<u64>) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.iter().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0, vec![0; n]);
    }
    if lo >= 0.0 && hi <= 1.0 {
        (lo, hi) = (0.0, 1.0);
    }
    if hi <= lo {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let mut counts = vec![0u64; n];
    for v in values.iter().filter(|v| v.is_finite()) {
        let b = (((v - lo) / (hi - lo)) * n as f64) as usize;
        counts[b.min(n - 1)] += 1;
    }
    (lo, hi, counts)
}

fn histogram_svg(
    id: &str,
    title: &str,
    size: (u32, u32),
    lo: f64,
    hi: f64,
    counts: &[u64],
    x_desc: &str,
) -> Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        let top = max + max / 10 + 1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0u64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc("rows")
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:.2}"))
            .draw()
            .map_err(err)?;
        let width = (hi - lo) / counts.len() as f64;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, c)| {
                let x0 = lo + width * i as f64;
                Rectangle::new([(x0, 0), (x0 + width, *c)], BAR.mix(0.8).filled())
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(finish(buf, id, title))
}

/// The reward histogram (id `reward-histogram`).
pub fn reward_histogram(rewards: &[f64]) -> Result<String> {
    let (lo, hi, counts) = bin(rewards, 20);
    histogram_svg(
        "reward-histogram",
        &format!("Reward histogram ({} rows)", rewards.len()),
        (760, 320),
        lo,
        hi,
        &counts,
        "reward",
    )
}

/// One sub-grader's distribution (id `sub-grader-<i>`), over [0, 1].
pub fn sub_histogram(i: usize, key: &str, d: &SubDist) -> Result<String> {
    let (below, above, nan) = d.outside();
    let mut title = format!("sub-grader {key}");
    if let Some(m) = d.mean() {
        title.push_str(&format!(" (mean {m:.3})"));
    }
    let mut svg = histogram_svg(
        &format!("sub-grader-{i}"),
        &title,
        (372, 240),
        0.0,
        1.0,
        d.bins(),
        "sub-reward",
    )?;
    if below + above + nan > 0 {
        let range = d
            .range()
            .map_or(String::new(), |(a, b)| format!(", range [{a:.3}, {b:.3}]"));
        let note = format!(
            "<p class=\"meta\">outside [0, 1]: {below} below, {above} above, {nan} not finite{range}</p>"
        );
        svg = format!("<figure style=\"margin:0\">{svg}{note}</figure>");
    }
    Ok(svg)
}

/// Horizontal bars of error-flag and invalid-line counts (id `error-breakdown`), largest on
/// top; each bar's name and count are written above it (long flag names do not fit an axis).
pub fn error_breakdown(bars: &[(String, u64)]) -> Result<String> {
    let title = if bars.is_empty() {
        "Errors: none".to_string()
    } else {
        format!(
            "Errors by flag ({} flags set)",
            bars.iter().map(|b| b.1).sum::<u64>()
        )
    };
    if bars.is_empty() {
        let mut buf = String::new();
        {
            let root = SVGBackend::with_string(&mut buf, (760, 70)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            root.draw(&Text::new(
                "Errors: none (no error flag set, no invalid line)",
                (16, 26),
                ("sans-serif", 16).into_font().color(&BLACK),
            ))
            .map_err(err)?;
            root.present().map_err(err)?;
        }
        return Ok(finish(buf, "error-breakdown", &title));
    }
    let mut sorted: Vec<&(String, u64)> = bars.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let n = sorted.len().max(1);
    let height = 80 + 40 * n as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let max = sorted.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(&title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(12)
            .build_cartesian_2d(0f64..max * 1.05, 0f64..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .light_line_style(WHITE)
            .x_desc("rows")
            .x_labels(6)
            .x_label_formatter(&|x| {
                if x.fract() == 0.0 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(err)?;
        let top = |rank: usize| (n - rank) as f64;
        chart
            .draw_series(sorted.iter().enumerate().map(|(rank, (_, c))| {
                Rectangle::new(
                    [(0.0, top(rank) - 0.92), (*c as f64, top(rank) - 0.55)],
                    ERR.mix(0.8).filled(),
                )
            }))
            .map_err(err)?;
        chart
            .draw_series(sorted.iter().enumerate().map(|(rank, (name, c))| {
                Text::new(
                    format!("{name}: {c}"),
                    (0.0, top(rank) - 0.1),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(finish(buf, "error-breakdown", &title))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bins_over_unit_interval_or_range() {
        let (lo, hi, c) = bin(&[0.0, 0.5, 1.0], 4);
        assert_eq!((lo, hi), (0.0, 1.0));
        assert_eq!(c, vec![1, 0, 1, 1]);
        let (lo, hi, c) = bin(&[2.0, 4.0], 2);
        assert_eq!((lo, hi), (2.0, 4.0));
        assert_eq!(c, vec![1, 1]);
        let (lo, hi, _) = bin(&[3.0, 3.0], 2);
        assert!(lo < 3.0 && hi > 3.0);
    }

    #[test]
    fn svgs_have_ids_and_no_urls() {
        let s = reward_histogram(&[0.0, 0.2, 1.0]).unwrap();
        assert!(
            s.starts_with("<svg id=\"reward-histogram\""),
            "{}",
            &s[..80]
        );
        assert!(!s.contains("http"));
        let e = error_breakdown(&[("other_error".into(), 3)]).unwrap();
        assert!(e.contains("id=\"error-breakdown\"") && e.contains("other_error"));
        let none = error_breakdown(&[]).unwrap();
        assert!(none.contains("Errors: none"));
    }
}
