//! Line charts over training steps (x: step, y: a metric), drawn as inline SVG.
//!
//! plotters draws the frame: caption, axes, tick labels, light mesh. The curves, the step
//! markers and the legend are written by this module into the same `<svg>`, in the plotting
//! area's pixel coordinates, because the page and its tests need to address them:
//! - a curve is `<polyline class="series" data-series="NAME" data-points="K" data-total="N">`
//!   with exactly K vertices — one per point when N ≤ the cap, else the [`downsample`]d K;
//! - a marker (a checkpoint) is `<line class="marker" data-x="STEP">` with a `<title>`.
//!
//! Coordinates are written with one decimal (plotters rounds to whole pixels, which would make
//! dense curves jagged). Non-finite values are not points: they are skipped.

use crate::{downsample, esc, finish, ChartError, PALETTE};
use plotters::prelude::*;
use std::fmt::Write as _;

/// One curve: a name and its (x, y) points, in any order (sorted here).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A vertical marker at `x` (a checkpoint's step), with a label shown on hover.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct LineChart<'a> {
    /// The `<svg>`'s id.
    pub id: &'a str,
    pub title: &'a str,
    /// Label of the x axis.
    pub x_desc: &'a str,
    /// Width, and height of the plot without the legend (which adds rows below it).
    pub size: (u32, u32),
    pub series: &'a [Series],
    pub markers: &'a [Marker],
    /// Most vertices per curve (see [`downsample`]); markers' steps are kept beyond it.
    pub max_points: usize,
}

/// Colour of the markers (a purple distinct from every series colour).
const MARKER: &str = "#8250df";
/// Longest series name shown in the legend, in characters (the `<title>` has all of it).
const LEGEND_NAME: usize = 44;
/// Curves drawn with a dot per vertex when they have at most this many (a one-point curve is
/// otherwise invisible).
const DOTS_UP_TO: usize = 60;

fn err(id: &str) -> impl Fn(DrawingAreaErrorKind<std::io::Error>) -> ChartError + '_ {
    move |e| ChartError {
        id: id.to_string(),
        message: e.to_string(),
    }
}

/// A tick label of a value axis: short, no float noise.
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A tick label of the step axis: whole steps only.
fn fmt_step(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut r: Option<(f64, f64)> = None;
    for v in values {
        r = Some(match r {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }
    r
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A curve as drawn: its series, its count of finite points, the points kept.
struct Drawn<'a> {
    series: &'a Series,
    total: usize,
    points: Vec<(f64, f64)>,
}

/// The plotting area in pixels and the data ranges it maps.
struct Frame {
    area: (std::ops::Range<i32>, std::ops::Range<i32>),
    x: (f64, f64),
    y: (f64, f64),
}

/// Draws caption, axes, ticks and mesh with plotters; `None` when there is no data (the
/// chart then says so).
fn draw_frame(
    buf: &mut String,
    c: &LineChart<'_>,
    xr: Option<(f64, f64)>,
    yr: Option<(f64, f64)>,
    legend_h: u32,
) -> Result<Option<Frame>, ChartError> {
    let (w, h) = c.size;
    let root = SVGBackend::with_string(buf, (w, h + legend_h)).into_drawing_area();
    root.fill(&WHITE).map_err(err(c.id))?;
    let (upper, _legend) = root.split_vertically(h);
    let (Some(xr), Some(yr)) = (xr, yr) else {
        upper
            .titled(c.title, ("sans-serif", 16))
            .map_err(err(c.id))?
            .draw(&Text::new(
                "no data yet",
                (16, 16),
                ("sans-serif", 14).into_font().color(&RGBColor(87, 96, 106)),
            ))
            .map_err(err(c.id))?;
        root.present().map_err(err(c.id))?;
        return Ok(None);
    };
    let x = if xr.1 > xr.0 {
        xr
    } else {
        (xr.0 - 1.0, xr.1 + 1.0)
    };
    let pad = if yr.1 > yr.0 {
        (yr.1 - yr.0) * 0.05
    } else {
        yr.0.abs().max(1.0) * 0.05
    };
    let y = (yr.0 - pad, yr.1 + pad);
    let mut chart = ChartBuilder::on(&upper)
        .caption(c.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(err(c.id))?;
    chart
        .configure_mesh()
        .bold_line_style(RGBColor(234, 238, 242))
        .light_line_style(WHITE)
        .x_desc(c.x_desc)
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|x| fmt_step(*x))
        .y_label_formatter(&|y| fmt_value(*y))
        .draw()
        .map_err(err(c.id))?;
    let area = chart.plotting_area().get_pixel_range();
    root.present().map_err(err(c.id))?;
    Ok(Some(Frame { area, x, y }))
}

/// Draws the chart: one `<svg id=…>` element to inline in HTML (see the module docs).
pub fn line_chart(c: &LineChart<'_>) -> Result<String, ChartError> {
    let mut keep: Vec<f64> = c
        .markers
        .iter()
        .map(|m| m.x)
        .filter(|x| x.is_finite())
        .collect();
    keep.sort_by(f64::total_cmp);
    let drawn: Vec<Drawn<'_>> = c
        .series
        .iter()
        .map(|s| {
            let mut pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total = pts.len();
            Drawn {
                series: s,
                total,
                points: downsample(&pts, c.max_points, &keep),
            }
        })
        .collect();
    let xr = range(
        drawn
            .iter()
            .flat_map(|d| d.points.iter().map(|p| p.0))
            .chain(keep.iter().copied()),
    );
    let yr = range(drawn.iter().flat_map(|d| d.points.iter().map(|p| p.1)));
    let (w, h) = c.size;
    let rows = c.series.len().div_ceil(2) as u32;
    let legend_h = if rows == 0 { 0 } else { 10 + 18 * rows };
    let mut buf = String::new();
    let frame = draw_frame(&mut buf, c, xr, yr, legend_h)?;
    let Some(Frame {
        area,
        x: (x0, x1),
        y: (y0, y1),
    }) = frame
    else {
        return Ok(finish(&buf, c.id, c.title));
    };
    let (px0, px1) = (f64::from(area.0.start), f64::from(area.0.end - 1));
    let (py0, py1) = (f64::from(area.1.start), f64::from(area.1.end - 1));
    let px = |x: f64| px0 + (x - x0) / (x1 - x0) * (px1 - px0);
    let py = |y: f64| py1 - (y - y0) / (y1 - y0) * (py1 - py0);
    let mut out = String::new();
    out.push_str("<g class=\"markers\">");
    for m in c.markers.iter().filter(|m| m.x.is_finite()) {
        let x = px(m.x);
        let _ = write!(
            out,
            "<line class=\"marker\" data-x=\"{}\" x1=\"{x:.1}\" y1=\"{py0:.1}\" x2=\"{x:.1}\" y2=\"{py1:.1}\" \
             stroke=\"{MARKER}\" stroke-width=\"1\" stroke-dasharray=\"4 3\"><title>{}</title></line>\
             <path class=\"marker-head\" d=\"M{:.1} {py0:.1}L{:.1} {py0:.1}L{x:.1} {:.1}Z\" fill=\"{MARKER}\"><title>{}</title></path>",
            esc(&fmt_step(m.x)),
            esc(&m.label),
            x - 4.0,
            x + 4.0,
            py0 + 6.0,
            esc(&m.label),
        );
    }
    out.push_str("</g>");
    for (
        i,
        Drawn {
            series: s,
            total,
            points: pts,
        },
    ) in drawn.iter().enumerate()
    {
        let color = PALETTE[i % PALETTE.len()];
        let dash = if i >= PALETTE.len() {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<polyline class=\"series\" data-series=\"{}\" data-points=\"{}\" data-total=\"{total}\" \
             fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{dash} points=\"",
            esc(&s.name),
            pts.len(),
        );
        for (j, (x, y)) in pts.iter().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{:.1},{:.1}", px(*x), py(*y));
        }
        let _ = write!(out, "\"><title>{}</title></polyline>", esc(&s.name));
        if pts.len() <= DOTS_UP_TO {
            out.push_str("<g class=\"dots\">");
            for (x, y) in pts {
                let _ = write!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{color}\"/>",
                    px(*x),
                    py(*y)
                );
            }
            out.push_str("</g>");
        }
    }
    out.push_str("<g class=\"legend\">");
    for (
        i,
        Drawn {
            series: s,
            total,
            points: pts,
        },
    ) in drawn.iter().enumerate()
    {
        let color = PALETTE[i % PALETTE.len()];
        let lx = 16.0 + f64::from(w / 2) * (i % 2) as f64;
        let ly = f64::from(h) + 14.0 + 18.0 * (i / 2) as f64;
        let shown = if pts.len() < *total {
            format!(
                "{} ({} steps, {} drawn)",
                truncate(&s.name, LEGEND_NAME),
                total,
                pts.len()
            )
        } else {
            format!("{} ({} steps)", truncate(&s.name, LEGEND_NAME), total)
        };
        let _ = write!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#24292f\">{}<title>{}</title></text>",
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&shown),
            esc(&s.name),
        );
    }
    out.push_str("</g>");
    let at = buf.rfind("</svg>").unwrap_or(buf.len());
    buf.insert_str(at, &out);
    Ok(finish(&buf, c.id, c.title))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polyline_points(svg: &str, series: &str) -> usize {
        let tag = format!("data-series=\"{series}\"");
        let start = svg.find(&tag).expect("series drawn");
        let rest = &svg[start..];
        let p = rest.find(" points=\"").expect("points") + 9;
        let end = rest[p..].find('"').expect("end");
        rest[p..p + end]
            .split(' ')
            .filter(|s| !s.is_empty())
            .count()
    }

    fn chart(series: &[Series], markers: &[Marker], cap: usize) -> String {
        line_chart(&LineChart {
            id: "chart-loss",
            title: "Loss",
            x_desc: "step",
            size: (760, 300),
            series,
            markers,
            max_points: cap,
        })
        .expect("drawn")
    }

    #[test]
    fn one_vertex_per_point_below_the_cap() {
        let s = Series {
            name: "train_loss".into(),
            points: (1..=250)
                .map(|i| (f64::from(i), 1.0 / f64::from(i)))
                .collect(),
        };
        let svg = chart(&[s], &[], 1000);
        assert!(svg.starts_with("<svg id=\"chart-loss\""));
        assert_eq!(polyline_points(&svg, "train_loss"), 250);
        assert!(svg.contains("data-points=\"250\" data-total=\"250\""));
        assert!(!svg.contains("http"), "no URL in an inline chart");
    }

    #[test]
    fn downsampled_above_the_cap_keeping_markers() {
        let s = Series {
            name: "train_loss".into(),
            points: (1..=100_000)
                .map(|i| (f64::from(i), f64::from(i % 97)))
                .collect(),
        };
        let m = [Marker {
            x: 33_333.0,
            label: "ckpt 33333".into(),
        }];
        let svg = chart(&[s], &m, 500);
        let n = polyline_points(&svg, "train_loss");
        assert!(n <= 501 && n > 400, "{n}");
        assert!(svg.contains(&format!("data-points=\"{n}\" data-total=\"100000\"")));
        assert!(svg.contains("class=\"marker\" data-x=\"33333\""));
        assert!(svg.len() < 60_000, "{}", svg.len());
    }

    #[test]
    fn hostile_names_are_escaped() {
        let s = Series {
            name: "<script>alert(1)</script>\"'".into(),
            points: vec![(1.0, 1.0), (2.0, f64::NAN), (3.0, 2.0)],
        };
        let m = [Marker {
            x: 2.0,
            label: "<img src=x onerror=alert(1)>".into(),
        }];
        let svg = line_chart(&LineChart {
            id: "x",
            title: "<b>t</b>",
            x_desc: "step",
            size: (400, 200),
            series: &[s],
            markers: &m,
            max_points: 10,
        })
        .expect("drawn");
        assert!(!svg.contains("<script>") && !svg.contains("<img") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"));
        // The NaN is not a point.
        assert!(svg.contains("data-points=\"2\" data-total=\"2\""));
    }

    #[test]
    fn empty_and_single_point_charts_draw() {
        let svg = chart(&[], &[], 100);
        assert!(svg.contains("no data yet"));
        let one = Series {
            name: "r".into(),
            points: vec![(5.0, 0.5)],
        };
        let svg = chart(&[one], &[], 100);
        assert_eq!(polyline_points(&svg, "r"), 1);
        assert!(svg.contains("<circle"));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(fmt_value(0.5), "0.5");
        assert_eq!(fmt_value(0.123456), "0.1235");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(1e-6), "1.0e-6");
        assert_eq!(fmt_step(3.0), "3");
        assert_eq!(fmt_step(2.5), "");
    }
}
