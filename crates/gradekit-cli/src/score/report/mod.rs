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
//!
//! Layout: [`collect`] keeps the bounded state while the run streams, [`svg`] draws the plots,
//! [`html`] assembles the page; this module holds what they share.

mod collect;
mod html;
mod svg;

pub use collect::Collector;
pub use html::PageInfo;

/// HTML-escapes text (element content and attribute values): the chart crate's, shared with
/// the dashboard.
pub use gradekit_chart::esc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
