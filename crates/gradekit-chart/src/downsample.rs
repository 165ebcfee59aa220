//! Min/max downsampling of a curve for drawing.
//!
//! A training curve of 100 000 steps drawn as 100 000 vertices makes a page of megabytes that
//! a browser redraws slowly, and a chart 800 pixels wide cannot show them anyway. Averaging
//! would hide exactly what people look for in a loss curve (spikes, divergence), so each bucket
//! of consecutive points keeps its lowest and its highest point, in step order (the "min/max
//! per bucket" rule of time-series plotting; M4 adds first/last per pixel column, which a
//! polyline between buckets already approximates). The first and last points are always kept,
//! so the curve spans the same steps, and so are points at chosen steps (checkpoints), so a
//! checkpoint marker always sits on a drawn vertex.
//!
//! The result is a subsequence of the input: every drawn vertex is a real (step, value) pair.

/// Keeps at most `cap` points of `points` (sorted by x, finite values) plus the points whose x
/// is in `keep` (sorted ascending). Below the cap every point is kept. A `cap` below 4 is
/// treated as 4 (first, last and one bucket's min and max).
pub fn downsample(points: &[(f64, f64)], cap: usize, keep: &[f64]) -> Vec<(f64, f64)> {
    let n = points.len();
    if n <= cap {
        return points.to_vec();
    }
    let cap = cap.max(4);
    let mut chosen = vec![false; n];
    chosen[0] = true;
    chosen[n - 1] = true;
    let interior = n - 2;
    let buckets = (cap - 2) / 2;
    for b in 0..buckets {
        let lo = 1 + b * interior / buckets;
        let hi = 1 + (b + 1) * interior / buckets;
        if lo >= hi {
            continue;
        }
        let (mut imin, mut imax) = (lo, lo);
        for i in lo..hi {
            if points[i].1 < points[imin].1 {
                imin = i;
            }
            if points[i].1 > points[imax].1 {
                imax = i;
            }
        }
        chosen[imin] = true;
        chosen[imax] = true;
    }
    for k in keep {
        if let Ok(i) = points.binary_search_by(|p| p.0.total_cmp(k)) {
            chosen[i] = true;
        }
    }
    points
        .iter()
        .zip(chosen)
        .filter_map(|(p, c)| c.then_some(*p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(n: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| (i as f64, ((i * 7919) % 1000) as f64))
            .collect()
    }

    #[test]
    fn below_the_cap_every_point_is_kept() {
        let c = curve(500);
        assert_eq!(downsample(&c, 500, &[]), c);
        assert_eq!(downsample(&c, 1000, &[]), c);
        assert!(downsample(&[], 10, &[]).is_empty());
    }

    #[test]
    fn above_the_cap_at_most_cap_points_in_order_from_the_input() {
        let c = curve(100_000);
        let d = downsample(&c, 1000, &[]);
        assert!(d.len() <= 1000 && d.len() > 900, "{}", d.len());
        assert_eq!(d.first(), c.first());
        assert_eq!(d.last(), c.last());
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(d.iter().all(|p| c[p.0 as usize] == *p));
    }

    #[test]
    fn spikes_survive() {
        let mut c: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, 1.0)).collect();
        c[4321].1 = 50.0;
        c[777].1 = -3.0;
        let d = downsample(&c, 100, &[]);
        assert!(d.contains(&(4321.0, 50.0)));
        assert!(d.contains(&(777.0, -3.0)));
    }

    #[test]
    fn kept_steps_are_drawn() {
        let c = curve(50_000);
        let keep = [1234.0, 40_000.0, 99_999_999.0];
        let d = downsample(&c, 200, &keep);
        assert!(d.iter().any(|p| p.0 == 1234.0));
        assert!(d.iter().any(|p| p.0 == 40_000.0));
        assert!(d.len() <= 200 + 2);
    }

    #[test]
    fn tiny_caps_are_raised() {
        let c = curve(100);
        let d = downsample(&c, 0, &[]);
        assert!(d.len() <= 4 && d.len() >= 2);
    }
}
