//! Rank correlation per group: Kendall's tau (b and c, as scipy) and Spearman's rho.

use rayon::prelude::*;

use crate::columns::ListColumn;
use crate::error::{Error, Result};
use crate::parallel;

/// Which Kendall tau.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TauVariant {
    B,
    C,
}

crate::parse_option!(TauVariant, "variant", {
    "b" => TauVariant::B,
    "c" => TauVariant::C,
});

/// Which rank correlation (Kendall's takes a [`TauVariant`] as well).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Kendall,
    Spearman,
}

crate::parse_option!(Method, "method", {
    "kendall" => Method::Kendall,
    "spearman" => Method::Spearman,
});

impl Correlation {
    /// The correlation a method names, with Kendall's `variant`.
    pub fn new(method: Method, variant: TauVariant) -> Self {
        match method {
            Method::Kendall => Correlation::Kendall(variant),
            Method::Spearman => Correlation::Spearman,
        }
    }
}

/// Σ t(t−1)/2 over runs of equal values in a sorted slice.
fn tied_pairs_sorted<T: PartialEq>(v: &[T]) -> u64 {
    let mut total = 0u64;
    let mut run = 1u64;
    for i in 1..=v.len() {
        if i < v.len() && v[i] == v[i - 1] {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
        }
    }
    total
}

/// Merge sort `v` ascending and return the number of inversions (swaps).
fn sort_counting_swaps(v: &mut [f64], buf: &mut Vec<f64>) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps =
        sort_counting_swaps(&mut v[..mid], buf) + sort_counting_swaps(&mut v[mid..], buf);
    buf.clear();
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if v[j] < v[i] {
            buf.push(v[j]);
            swaps += (mid - i) as u64;
            j += 1;
        } else {
            buf.push(v[i]);
            i += 1;
        }
    }
    buf.extend_from_slice(&v[i..mid]);
    buf.extend_from_slice(&v[j..n]);
    v.copy_from_slice(buf);
    swaps
}

/// Kendall's tau of one pair of equal-length samples, in O(n log n) (Knight's method).
/// NaN when it is undefined (fewer than 2 items, or a constant sample).
pub fn kendall_tau(x: &[f64], y: &[f64], variant: TauVariant) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let x_ties = tied_pairs_sorted(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let joint_ties = tied_pairs_sorted(&pairs);
    let mut ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let mut buf = Vec::with_capacity(n);
    let swaps = sort_counting_swaps(&mut ys, &mut buf);
    let y_ties = tied_pairs_sorted(&ys);
    let total = (n as u64) * (n as u64 - 1) / 2;
    // concordant − discordant
    let s = total as f64 - x_ties as f64 - y_ties as f64 + joint_ties as f64 - 2.0 * swaps as f64;
    match variant {
        TauVariant::B => {
            let denom = ((total - x_ties) as f64 * (total - y_ties) as f64).sqrt();
            if denom == 0.0 {
                f64::NAN
            } else {
                s / denom
            }
        }
        TauVariant::C => {
            let distinct = |mut v: Vec<f64>| {
                v.sort_unstable_by(|a, b| a.total_cmp(b));
                v.dedup();
                v.len()
            };
            let m = distinct(x.to_vec()).min(distinct(y.to_vec())) as f64;
            if m < 2.0 {
                return f64::NAN;
            }
            2.0 * s / ((n * n) as f64 * (m - 1.0) / m)
        }
    }
}

/// Ranks 1..n with ties given their average rank.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && v[order[j]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

/// Spearman's rho (Pearson correlation of average ranks); NaN when undefined.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let (rx, ry) = (average_ranks(x), average_ranks(y));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        let (da, db) = (a - mean, b - mean);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx == 0.0 || syy == 0.0 {
        f64::NAN
    } else {
        (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
    }
}

/// Which correlation to compute per group.
#[derive(Clone, Copy, Debug)]
pub enum Correlation {
    Kendall(TauVariant),
    Spearman,
}

/// One correlation value per group of two aligned list columns.
pub fn per_group(
    x: (&str, &ListColumn),
    y: (&str, &ListColumn),
    which: Correlation,
) -> Result<Vec<f64>> {
    if x.1.len() != y.1.len() {
        return Err(Error::argument(format!(
            "'{}' has {} groups but '{}' has {}",
            x.0,
            x.1.len(),
            y.0,
            y.1.len()
        )));
    }
    for g in 0..x.1.len() {
        let (a, b) = (x.1.group_len(g), y.1.group_len(g));
        if a != b {
            return Err(Error::value(
                y.0,
                g,
                format!("{b} values for {a} in '{}'", x.0),
            ));
        }
    }
    // Collected per group, then the first error in group order: deterministic.
    let values: Vec<Result<f64>> = parallel::install(|| {
        (0..x.1.len())
            .into_par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(bx, by), g| {
                    let (a, b) = (x.1.group(g, bx)?, y.1.group(g, by)?);
                    Ok(match which {
                        Correlation::Kendall(v) => kendall_tau(a, b, v),
                        Correlation::Spearman => spearman(a, b),
                    })
                },
            )
            .collect()
    });
    values.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The O(n²) definition, to check Knight's method against.
    fn tau_b_naive(x: &[f64], y: &[f64]) -> f64 {
        let (mut s, mut tx, mut ty, mut n0) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let dx = (x[i] - x[j]).signum() * ((x[i] != x[j]) as i32 as f64);
                let dy = (y[i] - y[j]).signum() * ((y[i] != y[j]) as i32 as f64);
                s += dx * dy;
                n0 += 1.0;
                tx += (dx == 0.0) as i32 as f64;
                ty += (dy == 0.0) as i32 as f64;
            }
        }
        s / ((n0 - tx) * (n0 - ty)).sqrt()
    }

    #[test]
    fn published_example() {
        // Perfect agreement and perfect reversal.
        assert_eq!(
            kendall_tau(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], TauVariant::B),
            1.0
        );
        assert_eq!(
            kendall_tau(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0], TauVariant::B),
            -1.0
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        assert!(kendall_tau(&[1.0, 1.0], &[1.0, 2.0], TauVariant::B).is_nan());
    }

    proptest! {
        #[test]
        fn knight_equals_the_definition(
            v in prop::collection::vec((0u8..4, 0u8..4), 2..40)
        ) {
            let x: Vec<f64> = v.iter().map(|p| p.0 as f64).collect();
            let y: Vec<f64> = v.iter().map(|p| p.1 as f64).collect();
            let fast = kendall_tau(&x, &y, TauVariant::B);
            let slow = tau_b_naive(&x, &y);
            prop_assert!((fast.is_nan() && slow.is_nan()) || (fast - slow).abs() < 1e-12,
                "{} vs {}", fast, slow);
        }
    }
}
