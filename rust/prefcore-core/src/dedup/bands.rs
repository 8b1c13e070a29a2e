//! The LSH banding that best separates pairs above a Jaccard threshold from pairs
//! below it.
//!
//! A pair of similarity `s` shares a band of `r` rows with probability `s^r`, and at
//! least one of `b` bands with `1 - (1 - s^r)^b`. The false-positive area is
//! `∫_0^t 1 - (1 - s^r)^b ds` and the false-negative area `∫_t^1 (1 - s^r)^b ds`.
//! Both follow from `J = ∫_0^t (1 - s^r)^b ds`: with `u = s^r` it is
//! `(1/r) B(t^r; 1/r, b + 1)`, an incomplete beta function, so each `(b, r)` costs one
//! continued fraction instead of a numerical quadrature, and the values are exact to
//! rounding where a quadrature is exact to its tolerance.

use crate::error::{Error, Result};
use crate::parallel;

pub(super) fn check_threshold(threshold: f64) -> Result<()> {
    if threshold > 0.0 && threshold <= 1.0 {
        Ok(())
    } else {
        Err(Error::bad_argument(
            "threshold",
            format!("threshold must be in (0, 1], not {threshold}"),
        ))
    }
}

/// The continued fraction of the incomplete beta function `I_x(a, b)` (modified
/// Lentz), which converges quickly for `x < (a + 1) / (a + b + 2)`.
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// `(false positive, false negative)` areas of `b` bands of `r` rows at `threshold`.
pub fn band_errors(threshold: f64, b: usize, r: usize) -> (f64, f64) {
    let t = threshold;
    let (bf, rf) = (b as f64, r as f64);
    let a = 1.0 / rf; // the incomplete beta's first shape; its second is b + 1
    let b1 = bf + 1.0;
    let x = t.powf(rf);
    // ∫_0^1 (1 - s^r)^b ds = Γ(1 + 1/r) Γ(b + 1) / Γ(b + 1 + 1/r)
    let whole = (libm::lgamma(1.0 + a) + libm::lgamma(b1) - libm::lgamma(b1 + a)).exp();
    // t^(r·a) (1 - t^r)^(b+1) = t (1 - t^r)^(b+1): the prefactor of both fractions,
    // with the complete beta function cancelled against I's normalisation.
    let front = t * (b1 * (-x).ln_1p()).exp();
    let (below, above) = if x < (a + 1.0) / (a + b1 + 2.0) {
        let below = front * beta_fraction(a, b1, x);
        (below, whole - below)
    } else {
        let above = front * beta_fraction(b1, a, 1.0 - x) / (rf * b1);
        (whole - above, above)
    };
    // `below` = ∫_0^t (1 - s^r)^b, `above` = ∫_t^1 (1 - s^r)^b.
    ((t - below).max(0.0), above.max(0.0))
}

/// Bands and rows minimising the equally weighted areas of false positives (pairs
/// below `threshold` that share a band) and false negatives (pairs above it that share
/// none), over all `bands * rows <= num_perm`: the rule datasketch's `MinHashLSH` uses.
/// On equal errors the first in order of `(bands, rows)` wins, as there.
pub fn optimal_bands(threshold: f64, num_perm: usize) -> Result<(usize, usize)> {
    check_threshold(threshold)?;
    if num_perm == 0 {
        return Err(Error::bad_argument(
            "num_perm",
            "num_perm must be at least 1",
        ));
    }
    // The best rows for each band count in parallel, then the best of those in order:
    // the same strict `<` scan as a single loop, whatever the thread count.
    crate::progress::stage("choosing bands");
    let per_bands = parallel::map_interruptible(num_perm, |i| {
        let b = i + 1;
        let mut best = (f64::INFINITY, 0);
        for r in 1..=num_perm / b {
            let (fp, fn_) = band_errors(threshold, b, r);
            let error = 0.5 * fp + 0.5 * fn_;
            if error < best.0 {
                best = (error, r);
            }
        }
        best
    })?;
    let mut best = (f64::INFINITY, (1, 1));
    for (i, &(error, r)) in per_bands.iter().enumerate() {
        if error < best.0 {
            best = (error, (i + 1, r));
        }
    }
    Ok(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The areas by a fine composite Simpson rule, independent of the beta function.
    fn by_quadrature(t: f64, b: usize, r: usize) -> (f64, f64) {
        let simpson = |f: &dyn Fn(f64) -> f64, lo: f64, hi: f64| {
            let n = 200_000;
            let h = (hi - lo) / n as f64;
            let inner: f64 = (1..n)
                .map(|i| f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
                .sum();
            (f(lo) + inner + f(hi)) * h / 3.0
        };
        let miss = |s: f64| (1.0 - s.powi(r as i32)).powi(b as i32);
        (simpson(&|s| 1.0 - miss(s), 0.0, t), simpson(&miss, t, 1.0))
    }

    #[test]
    fn areas_equal_quadrature() {
        for &t in &[0.05, 0.3, 0.5, 0.8, 0.95, 1.0] {
            for &(b, r) in &[
                (1, 1),
                (1, 64),
                (20, 5),
                (64, 2),
                (9, 14),
                (500, 1),
                (2, 600),
            ] {
                let (fp, fn_) = band_errors(t, b, r);
                let (qfp, qfn) = by_quadrature(t, b, r);
                assert!(
                    (fp - qfp).abs() < 1e-10,
                    "fp t={t} b={b} r={r}: {fp} vs {qfp}"
                );
                assert!(
                    (fn_ - qfn).abs() < 1e-10,
                    "fn t={t} b={b} r={r}: {fn_} vs {qfn}"
                );
            }
        }
    }

    #[test]
    fn one_band_of_one_row_by_hand() {
        // s shares the band with probability s: fp = t²/2, fn = (1 - t)²/2.
        let (fp, fn_) = band_errors(0.5, 1, 1);
        assert!((fp - 0.125).abs() < 1e-15 && (fn_ - 0.125).abs() < 1e-15);
    }

    #[test]
    fn bad_arguments_fail() {
        assert!(optimal_bands(0.0, 128).is_err());
        assert!(optimal_bands(1.5, 128).is_err());
        assert!(optimal_bands(f64::NAN, 128).is_err());
        assert!(optimal_bands(0.5, 0).is_err());
        assert_eq!(optimal_bands(0.5, 1).unwrap(), (1, 1));
    }
}
