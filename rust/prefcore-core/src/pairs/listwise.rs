//! Listwise groups: completions ranked by score, with the LiPO-λ pair weights
//! `Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|`, `G = 2^ψ − 1`, `D(τ) = log2(1 + τ)`,
//! where ψ is the label and τ the 1-based rank by score (earlier position first on ties).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, ListArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::Field;

use crate::columns::ListColumn;
use crate::error::{Error, Result};

/// Positions of `scores` from highest to lowest; ties keep input order.
pub fn rank_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// The `n × n` weights (row-major) for one list, in input positions.
pub fn lambda_weights(scores: &[f64], labels: &[f64], out: &mut Vec<f64>) {
    let n = scores.len();
    let mut inv_discount = vec![0.0; n];
    for (rank, &i) in rank_order(scores).iter().enumerate() {
        inv_discount[i] = 1.0 / (2.0 + rank as f64).log2();
    }
    let gain: Vec<f64> = labels.iter().map(|&l| l.exp2() - 1.0).collect();
    out.clear();
    out.reserve(n * n);
    for i in 0..n {
        for j in 0..n {
            out.push((gain[i] - gain[j]).abs() * (inv_discount[i] - inv_discount[j]).abs());
        }
    }
}

/// For every list: its positions in rank order, and its flattened `n × n` weights
/// between ranked positions (labels from `labels`, ranks from `scores`).
/// 2^1024 overflows an f64: the largest label whose gain is finite.
pub const MAX_LABEL: f64 = 1023.0;

pub fn grouped_weights(scores: &ListColumn, labels: &ListColumn) -> Result<(ArrayRef, ArrayRef)> {
    if scores.len() != labels.len() {
        return Err(Error::argument(format!(
            "'{}' has {} rows but '{}' has {}",
            scores.name(),
            scores.len(),
            labels.name(),
            labels.len()
        )));
    }
    let (mut sb, mut lb, mut w) = (Vec::new(), Vec::new(), Vec::new());
    let mut order = Vec::with_capacity(scores.offsets()[scores.len()]);
    let mut weights = Vec::new();
    let (mut order_off, mut weight_off) = (vec![0i32], vec![0i32]);
    for g in 0..scores.len() {
        let (sg, lg) = (scores.group(g, &mut sb)?, labels.group(g, &mut lb)?);
        if sg.len() != lg.len() {
            return Err(Error::value(
                labels.name(),
                g,
                format!("{} labels for {} scores", lg.len(), sg.len()),
            ));
        }
        if let Some(p) = sg.iter().position(|v| v.is_nan()) {
            return Err(Error::value(
                scores.name(),
                g,
                format!("NaN score at position {p}"),
            ));
        }
        if let Some(p) = lg.iter().position(|&v| !(v.is_finite() && v <= MAX_LABEL)) {
            return Err(Error::value(
                labels.name(),
                g,
                format!(
                    "label {} at position {p}: the gain 2^label - 1 needs a finite label of \
                     at most {MAX_LABEL} (rescale scores used as labels, or pass labels=)",
                    lg[p]
                ),
            ));
        }
        // Weights in rank order: the sorted list's τ is its position + 1.
        let ranked = rank_order(sg);
        let sorted_scores: Vec<f64> = ranked.iter().map(|&i| sg[i]).collect();
        let sorted_labels: Vec<f64> = ranked.iter().map(|&i| lg[i]).collect();
        lambda_weights(&sorted_scores, &sorted_labels, &mut w);
        order.extend(ranked.into_iter().map(|i| i as i64));
        weights.extend_from_slice(&w);
        let too_long = || Error::argument("lists too long for 32-bit offsets");
        order_off.push(i32::try_from(order.len()).map_err(|_| too_long())?);
        weight_off.push(i32::try_from(weights.len()).map_err(|_| too_long())?);
    }
    let list = |off: Vec<i32>, values: ArrayRef| -> Result<ArrayRef> {
        let field = Arc::new(Field::new("item", values.data_type().clone(), false));
        Ok(Arc::new(ListArray::try_new(
            field,
            OffsetBuffer::new(off.into()),
            values,
            None,
        )?))
    };
    Ok((
        list(order_off, Arc::new(Int64Array::from(order)))?,
        list(weight_off, Arc::new(Float64Array::from(weights)))?,
    ))
}

/// LiPO-λ weights of a training batch: `scores` (which define the ranks), `labels` and
/// `valid`, each `[lists, len]` row-major; returns `[lists, len, len]`. Entries outside
/// `valid` rank last and get weight 0 (their values are not read).
pub fn batch_weights(
    scores: &[f64],
    labels: &[f64],
    valid: &[bool],
    len: usize,
) -> Result<Vec<f64>> {
    if scores.len() != labels.len() || scores.len() != valid.len() {
        return Err(Error::argument(format!(
            "scores, labels and mask must have one shape; got {}, {} and {} values",
            scores.len(),
            labels.len(),
            valid.len()
        )));
    }
    let lists = scores.len().checked_div(len).unwrap_or(0);
    let mut out = vec![0.0; crate::alloc::product(lists * len, len, "lambda weights")?];
    let (mut rank_key, mut inv, mut gain) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    for b in 0..lists {
        let at = b * len;
        let (s, y, v) = (
            &scores[at..at + len],
            &labels[at..at + len],
            &valid[at..at + len],
        );
        for p in 0..len {
            if !v[p] {
                continue;
            }
            if s[p].is_nan() {
                return Err(Error::value("scores", b, format!("NaN at position {p}")));
            }
            if !(y[p].is_finite() && y[p] <= MAX_LABEL) {
                return Err(Error::value(
                    "labels",
                    b,
                    format!(
                        "{} at position {p}: the gain 2^label - 1 needs a finite label of \
                         at most {MAX_LABEL}",
                        y[p]
                    ),
                ));
            }
        }
        // Masked entries rank after every valid one; `+ 0.0` makes -0.0 tie with 0.0.
        for p in 0..len {
            rank_key[p] = if v[p] { s[p] + 0.0 } else { f64::NEG_INFINITY };
        }
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &c| match (v[a], v[c]) {
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => rank_key[c].total_cmp(&rank_key[a]),
        });
        for (rank, &p) in order.iter().enumerate() {
            inv[p] = if v[p] {
                1.0 / (2.0 + rank as f64).log2()
            } else {
                0.0
            };
            gain[p] = if v[p] { y[p].exp2() - 1.0 } else { 0.0 };
        }
        let w = &mut out[at * len..(at + len) * len];
        for i in 0..len {
            for j in 0..len {
                if v[i] && v[j] {
                    w[i * len + j] = (gain[i] - gain[j]).abs() * (inv[i] - inv[j]).abs();
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_ranks_masked_entries_last_with_zero_weight() {
        // List 0 is list [0.5, 0.9, 0.1] of the hand case; list 1 masks its middle entry.
        let scores = [0.5, 0.9, 0.1, 0.3, 7.0, -0.0];
        let labels = [1.0, 2.0, 0.0, 2.0, 9.0, 1.0];
        let valid = [true, true, true, true, false, true];
        let w = batch_weights(&scores, &labels, &valid, 3).unwrap();
        let mut single = Vec::new();
        lambda_weights(&[0.5, 0.9, 0.1], &[1.0, 2.0, 0.0], &mut single);
        assert_eq!(&w[..9], single.as_slice());
        // List 1: τ = [1, -, 2]; G = [3, -, 1].
        let d = |t: f64| 1.0 / (1.0 + t).log2();
        let want = 2.0 * (d(1.0) - d(2.0));
        assert!((w[9 + 2] - want).abs() < 1e-15 && (w[9 + 6] - want).abs() < 1e-15);
        assert!(w[9 + 1] == 0.0 && w[9 + 3] == 0.0 && w[9 + 4] == 0.0);
        assert!(batch_weights(&[f64::NAN], &[1.0], &[true], 1).is_err());
        assert!(batch_weights(&[f64::NAN], &[1.0], &[false], 1).is_ok());
    }

    #[test]
    fn weights_follow_the_formula_by_hand() {
        // Scores rank positions as [1, 0, 2]: τ = [2, 1, 3].
        let mut w = Vec::new();
        lambda_weights(&[0.5, 0.9, 0.1], &[1.0, 2.0, 0.0], &mut w);
        let d = |t: f64| 1.0 / (1.0 + t).log2();
        let g: [f64; 3] = [1.0, 3.0, 0.0];
        let tau = [2.0, 1.0, 3.0];
        for i in 0..3 {
            for j in 0..3 {
                let want = (g[i] - g[j]).abs() * (d(tau[i]) - d(tau[j])).abs();
                assert!((w[i * 3 + j] - want).abs() < 1e-15);
            }
        }
    }
}
