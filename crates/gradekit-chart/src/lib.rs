//! Inline SVG charts for gradekit's HTML pages: the `score --report` page of the CLI and the
//! jobs dashboard of `gradekit serve`.
//!
//! **Why a crate.** Both pages draw with [`plotters`] into SVG strings that are inlined in
//! HTML, and both have the same rules: no URL anywhere in the output (the pages work offline
//! under a Content-Security-Policy that forbids every external load), every piece of text
//! escaped (grader names, metric keys and job fields are user-controlled), and an `id` on each
//! `<svg>` so tests and readers find plots. The server must not depend on the CLI, so the
//! shared part lives here and depends on nothing of gradekit.
//!
//! **Pieces.**
//! - [`finish`]: turns plotters' standalone SVG into an inline element (id, accessible name,
//!   `<title>`, no `xmlns`).
//! - [`downsample`]: min/max per bucket, so a curve of 100 000 steps draws ≤ `cap` vertices
//!   and still shows every spike; chosen steps (checkpoints) are always kept.
//! - [`line`]: line charts over steps. plotters draws the frame (caption, axes, ticks, mesh);
//!   the curves and markers are written here, one `<polyline class="series">` per curve with
//!   one vertex per point, so a reader (or a test) can count the points of a curve and find
//!   each curve by its name (`data-series`).

pub mod downsample;
pub mod line;

pub use downsample::downsample;
pub use line::{line_chart, LineChart, Marker, Series};

/// A chart that plotters could not draw.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart {id:?}: {message}")]
pub struct ChartError {
    /// The chart's id.
    pub id: String,
    /// What plotters reported.
    pub message: String,
}

/// Colors of successive series: distinguishable, readable on white, colour-blind aware
/// (Okabe–Ito's palette, darkened yellow).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000", "#8a7f00",
];

/// Escapes text for HTML/SVG text and double- or single-quoted attribute values.
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

/// Makes plotters' SVG an inline element: gives it `id` and an accessible name, drops the
/// `xmlns` attribute (inline SVG in HTML needs none, so the page holds no URL at all) and adds
/// a `<title>` child (a tooltip and the plot's name for screen readers).
pub fn finish(svg: &str, id: &str, title: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let open = format!(
        "<svg id=\"{}\" role=\"img\" aria-label=\"{}\" ",
        esc(id),
        esc(title)
    );
    let mut out = svg.replacen("<svg ", &open, 1);
    if let Some(end) = out.find('>') {
        out.insert_str(end + 1, &format!("<title>{}</title>", esc(title)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn finish_sets_id_title_and_drops_namespace() {
        let s = finish(
            "<svg width=\"1\" height=\"1\" viewBox=\"0 0 1 1\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>",
            "a\"b",
            "<t>",
        );
        assert!(s.starts_with("<svg id=\"a&quot;b\" role=\"img\" aria-label=\"&lt;t&gt;\" width"));
        assert!(s.contains("<title>&lt;t&gt;</title>"));
        assert!(!s.contains("http"));
    }
}
