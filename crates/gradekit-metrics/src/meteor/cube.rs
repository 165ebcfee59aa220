//! The fragmentation penalty's `frag ** 3` without a call to `pow` on nearly every pair.
//!
//! NLTK computes `gamma * frag ** beta` with `beta = 3.0`, which Python hands to the C
//! library's `pow`; the crate called `f64::powf`, the same function. A `pow` call is ~100
//! instructions (and, in a fresh process, the first touch of its code and tables) for one
//! value a pair. Here the cube is computed in double-double arithmetic: `x·x` and then
//! `(x·x)·x` split into their rounded values and exact errors (Dekker's product, with
//! Veltkamp's split: no FMA instruction is needed), and the parts summed once, so the result
//! is the exact cube rounded once, up to an error of ~2^-100 relative.
//!
//! `pow` itself is not correctly rounded: its error bound is a little over half an ULP, so
//! where the exact cube lies very near the midpoint of two doubles it may round the other way
//! (for 463 of the 525,000 fractions with `m <= 1024`, all within 0.008 ULP of a midpoint).
//! So a cube within [`NEAR`] of a midpoint is left to `powf`, and the rest can only round one
//! way. That this gives `powf`'s value is checked on every `frag = chunks / m` with
//! `1 <= chunks <= m <= MAX_MATCHES` (`cube_is_pow_on_every_fraction`, ~8.4M of them); a
//! call with more matches keeps `powf`.

/// Largest match count whose fractions take [`cube`] (every one is checked against `powf`).
pub(super) const MAX_MATCHES: usize = 1 << 12;

/// `2^27 + 1`: Veltkamp's splitter for 53-bit doubles.
const SPLIT: f64 = 134_217_729.0;

/// `a` as `hi + lo`, each with at most 26 significant bits (so their products are exact).
#[inline(always)]
fn split(a: f64) -> (f64, f64) {
    let c = SPLIT * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// `a · b` as the rounded product and its exact error (Dekker): `a·b = p + e` exactly, for
/// operands far from overflow and underflow.
#[inline(always)]
fn two_product(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    (p, e)
}

/// A cube this close to the midpoint of two doubles (as a fraction of their distance) is left
/// to `powf` (~3 % of values; `pow`'s own misroundings seen are within 0.008 of it).
const NEAR: f64 = 1.0 / 64.0;

/// `x³` for `x` in `[2^-12, 1]` (a fragmentation `chunks / m` with `m <=` [`MAX_MATCHES`]):
/// equal to `x.powf(3.0)` on every such fraction (see the module docs).
#[inline]
pub(super) fn cube(x: f64) -> f64 {
    let (s, se) = two_product(x, x);
    // x³ = s·x + se·x; s·x exactly as q + qe, se·x (~2^-53 of the result) rounded.
    let (q, qe) = two_product(s, x);
    let rest = qe + se * x;
    let r = q + rest;
    // How far the exact cube is from `r` (`q - r` is exact: `r` is `q` or a neighbour), and
    // the gap to the neighbour on that side.
    let off = (q - r) + rest;
    let gap = if off >= 0.0 {
        r.next_up() - r
    } else {
        r - r.next_down()
    };
    if (gap * 0.5 - off.abs()).abs() < gap * NEAR {
        return x.powf(3.0);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast cube is `powf(3.0)` on every fraction the score gives it.
    #[test]
    fn cube_is_pow_on_every_fraction() {
        let mut differ = Vec::new();
        for m in 1..=MAX_MATCHES {
            for chunks in 1..=m {
                let x = chunks as f64 / m as f64;
                if cube(x).to_bits() != x.powf(3.0).to_bits() {
                    differ.push((chunks, m));
                }
            }
        }
        assert!(
            differ.is_empty(),
            "{} differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(10)]
        );
    }

    /// The double-double parts are exact where the test above cannot tell (values that `pow`
    /// rounds the same either way): a few cubes known exactly.
    #[test]
    fn exact_cubes() {
        for (x, want) in [(1.0, 1.0), (0.5, 0.125), (0.25, 0.015625), (0.75, 0.421875)] {
            assert_eq!(cube(x), want);
        }
        let (p, e) = two_product(1.0 + f64::EPSILON, 1.0 + f64::EPSILON);
        assert_eq!(
            (p, e),
            (1.0 + 2.0 * f64::EPSILON, f64::EPSILON * f64::EPSILON)
        );
    }
}
