//! L1-penalised logistic regression with soft labels, solved to machine precision,
//! and the cross-validated choice of its penalty (AlpacaEval's length-controlled win
//! rate is this model).
//!
//! For a penalty `c` the objective is `‖w‖₁ + c · Σᵢ sᵢ · CE(pᵢ, σ(xᵢ·w))` with soft
//! labels `p ∈ [0, 1]` and row weights `s ≥ 0`. The models at hand have a few
//! features, so each proximal Newton step solves its quadratic model exactly by
//! coordinate descent, and the line search keeps every step a descent.
//!
//! ```
//! use prefcore_core::glm::{fit_l1_logistic, SoftLabelRows};
//! // One feature, labels 0.8 everywhere: without a penalty w = logit(0.8).
//! let x = [1.0; 4];
//! let rows = SoftLabelRows::new(&x, 1, &[0.8; 4], &[1.0; 4]).unwrap();
//! let w = fit_l1_logistic(&rows, 1e9, &[0.0]);
//! assert!((w[0] - (0.8f64 / 0.2).ln()).abs() < 1e-6);
//! // A strong penalty (small c) keeps it at zero.
//! assert_eq!(fit_l1_logistic(&rows, 1e-3, &[0.0]), vec![0.0]);
//! ```

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::numeric::sigmoid;

/// Rows of a soft-label logistic model: `x` row-major `n × d`.
pub struct SoftLabelRows<'a> {
    x: &'a [f64],
    d: usize,
    label: &'a [f64],
    weight: &'a [f64],
}

impl<'a> SoftLabelRows<'a> {
    /// The rows, checked: finite features, labels in [0, 1], finite weights ≥ 0.
    pub fn new(x: &'a [f64], d: usize, label: &'a [f64], weight: &'a [f64]) -> Result<Self> {
        let n = label.len();
        if d == 0 || x.len() != n * d || weight.len() != n {
            return Err(Error::argument(format!(
                "{} features for {n} labels and {} weights do not form {n} rows of {d}",
                x.len(),
                weight.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::value("x", i / d, "a feature is not finite"));
        }
        if let Some(i) = label.iter().position(|p| !(0.0..=1.0).contains(p)) {
            return Err(Error::value(
                "label",
                i,
                format!("{} is not in [0, 1]", label[i]),
            ));
        }
        if let Some(i) = weight.iter().position(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(Error::value(
                "weight",
                i,
                format!("{} is not a weight", weight[i]),
            ));
        }
        Ok(SoftLabelRows {
            x,
            d,
            label,
            weight,
        })
    }

    /// The rows `keep` accepts, copied.
    fn subset(&self, keep: impl Fn(usize) -> bool) -> OwnedRows {
        let mut out = OwnedRows {
            x: Vec::new(),
            d: self.d,
            label: Vec::new(),
            weight: Vec::new(),
        };
        for i in (0..self.label.len()).filter(|&i| keep(i)) {
            out.x.extend_from_slice(self.row(i));
            out.label.push(self.label[i]);
            out.weight.push(self.weight[i]);
        }
        out
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    fn dot(&self, i: usize, w: &[f64]) -> f64 {
        self.row(i).iter().zip(w).map(|(a, b)| a * b).sum()
    }
}

/// Rows copied out of [`SoftLabelRows`] (already checked).
struct OwnedRows {
    x: Vec<f64>,
    d: usize,
    label: Vec<f64>,
    weight: Vec<f64>,
}

impl OwnedRows {
    fn view(&self) -> SoftLabelRows<'_> {
        SoftLabelRows {
            x: &self.x,
            d: self.d,
            label: &self.label,
            weight: &self.weight,
        }
    }
}

fn l1(w: &[f64]) -> f64 {
    w.iter().map(|v| v.abs()).sum()
}

const MAX_NEWTON: usize = 200;
const MAX_SWEEPS: usize = 1_000;

/// The unpenalised loss (when asked for: its logarithms are most of a pass's cost), its
/// gradient and its Hessian at one point, from one pass over the rows. They scale with
/// the penalty `c`, so a path of penalties reuses the last pass of the previous fit.
#[derive(Clone)]
struct Raw {
    loss: Option<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

/// The objective's value (when known), gradient and Hessian for penalty `c`.
struct Local {
    value: Option<f64>,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

impl Raw {
    fn at(data: &SoftLabelRows, w: &[f64], with_value: bool) -> Raw {
        // The pass is the whole cost of a fit: a fixed feature count lets the compiler
        // keep w, the gradient and the Hessian in registers.
        let (loss, grad, mut hess) = match data.d {
            1 => pass::<1>(data, w, with_value),
            2 => pass::<2>(data, w, with_value),
            3 => pass::<3>(data, w, with_value),
            4 => pass::<4>(data, w, with_value),
            _ => pass_any(data, w, with_value),
        };
        let d = data.d;
        for j in 0..d {
            for k in 0..j {
                hess[k * d + j] = hess[j * d + k];
            }
        }
        Raw {
            loss: with_value.then_some(loss),
            grad,
            hess,
        }
    }

    fn scaled(&self, c: f64, w: &[f64]) -> Local {
        Local {
            value: self.loss.map(|loss| c * loss + l1(w)),
            grad: self.grad.iter().map(|g| c * g).collect(),
            hess: self.hess.iter().map(|h| c * h).collect(),
        }
    }
}

/// One row's part: σ(z) and log(1 + e^z) from one exponential.
#[inline(always)]
fn row_terms(z: f64, label: f64, weight: f64, with_value: bool) -> (f64, f64, f64) {
    let e = (-z.abs()).exp();
    let q = if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    let loss = if with_value {
        weight * (z.max(0.0) + e.ln_1p() - label * z)
    } else {
        0.0
    };
    (loss, weight * (q - label), weight * q * (1.0 - q))
}

fn pass<const D: usize>(
    data: &SoftLabelRows,
    w: &[f64],
    with_value: bool,
) -> (f64, Vec<f64>, Vec<f64>) {
    let w: [f64; D] = w.try_into().expect("one coefficient per feature");
    let (mut loss, mut grad, mut hess) = (0.0, [0.0; D], [[0.0; D]; D]);
    for i in 0..data.label.len() {
        let x: &[f64; D] = data.x[i * D..(i + 1) * D]
            .try_into()
            .expect("a row of D features");
        let z: f64 = (0..D).map(|j| x[j] * w[j]).sum();
        let (l, g, h) = row_terms(z, data.label[i], data.weight[i], with_value);
        loss += l;
        for j in 0..D {
            grad[j] += g * x[j];
            for k in 0..=j {
                hess[j][k] += h * x[j] * x[k];
            }
        }
    }
    (
        loss,
        grad.to_vec(),
        hess.iter().flatten().copied().collect(),
    )
}

fn pass_any(data: &SoftLabelRows, w: &[f64], with_value: bool) -> (f64, Vec<f64>, Vec<f64>) {
    let d = data.d;
    let (mut loss, mut grad, mut hess) = (0.0, vec![0.0; d], vec![0.0; d * d]);
    for i in 0..data.label.len() {
        let x = data.row(i);
        let (l, g, h) = row_terms(data.dot(i, w), data.label[i], data.weight[i], with_value);
        loss += l;
        for j in 0..d {
            grad[j] += g * x[j];
            for k in 0..=j {
                hess[j * d + k] += h * x[j] * x[k];
            }
        }
    }
    (loss, grad, hess)
}

/// The minimiser of the objective for penalty `c`, started from `start`.
pub fn fit_l1_logistic(data: &SoftLabelRows, c: f64, start: &[f64]) -> Vec<f64> {
    fit_from(data, c, start.to_vec(), None).0
}

/// [`fit_l1_logistic`] from `w`, with the pass already made there if there is one;
/// returns the minimiser and the pass made at it, if the last step made one.
fn fit_from(
    data: &SoftLabelRows,
    c: f64,
    mut w: Vec<f64>,
    known: Option<Raw>,
) -> (Vec<f64>, Option<Raw>) {
    let mut raw = match known {
        Some(raw) if raw.loss.is_some() => raw,
        _ => Raw::at(data, &w, true),
    };
    for _ in 0..MAX_NEWTON {
        let at = raw.scaled(c, &w);
        let target = quadratic_l1(&at.grad, &at.hess, &w);
        let step: Vec<f64> = target.iter().zip(&w).map(|(v, w)| v - w).collect();
        let size = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
        let scale = w.iter().map(|v| v.abs()).fold(1.0, f64::max);
        if size <= 1e-13 * scale {
            break;
        }
        if size <= 1e-6 * scale {
            // Within rounding of the optimum the objective cannot tell a better point
            // from a worse one; a Newton step this short is taken whole. Newton
            // converges quadratically here: after a step under 1e-7 the distance left
            // is of the order of its square, below 1e-13.
            let trial: Vec<f64> = w.iter().zip(&step).map(|(w, s)| w + s).collect();
            if trial == w {
                break;
            }
            if size <= 1e-7 * scale {
                return (trial, None);
            }
            raw = Raw::at(data, &trial, false);
            w = trial;
            continue;
        }
        let decrease: f64 =
            at.grad.iter().zip(&step).map(|(g, s)| g * s).sum::<f64>() + l1(&target) - l1(&w);
        if decrease >= 0.0 {
            break; // the model predicts no decrease: optimal to rounding
        }
        let value = match at.value {
            Some(v) => v,
            None => {
                raw = Raw::at(data, &w, true);
                raw.scaled(c, &w).value.unwrap_or(f64::INFINITY)
            }
        };
        let mut t = 1.0;
        let accepted = loop {
            let trial: Vec<f64> = w.iter().zip(&step).map(|(w, s)| w + t * s).collect();
            let next = Raw::at(data, &trial, true);
            if next
                .scaled(c, &trial)
                .value
                .is_some_and(|v| v <= value + 1e-4 * t * decrease)
            {
                break Some((trial, next));
            }
            t *= 0.5;
            if t < 1e-10 {
                break None; // no descent left above rounding
            }
        };
        let Some((trial, next)) = accepted else { break };
        if trial == w {
            break; // the step is below rounding
        }
        w = trial;
        raw = next;
    }
    (w, Some(raw))
}

/// The point `v` minimising `g·(v − w) + (v − w)ᵀH(v − w)/2 + ‖v‖₁`: coordinate descent
/// finds which coordinates are zero and the signs of the others, then the linear system
/// on the nonzero ones gives `v` exactly (checked against the optimality conditions;
/// more sweeps where it fails them).
fn quadratic_l1(g: &[f64], h: &[f64], w: &[f64]) -> Vec<f64> {
    let d = g.len();
    // In v: b·v + vᵀHv/2 + ‖v‖₁ with b = g − Hw.
    let b: Vec<f64> = (0..d)
        .map(|j| g[j] - (0..d).map(|k| h[j * d + k] * w[k]).sum::<f64>())
        .collect();
    let mut v = w.to_vec();
    for round in 0..MAX_SWEEPS {
        for j in 0..d {
            let hjj = h[j * d + j];
            if hjj <= 0.0 {
                continue;
            }
            let rest = b[j]
                + (0..d)
                    .filter(|&k| k != j)
                    .map(|k| h[j * d + k] * v[k])
                    .sum::<f64>();
            v[j] = -rest.signum() * (rest.abs() - 1.0).max(0.0) / hjj;
        }
        if round % 4 == 3 {
            if let Some(exact) = solve_on_support(&b, h, &v) {
                return exact;
            }
        }
    }
    v
}

/// The minimiser with the zeros and signs of `v`, if it keeps them and satisfies the
/// optimality conditions of the zero coordinates.
fn solve_on_support(b: &[f64], h: &[f64], v: &[f64]) -> Option<Vec<f64>> {
    let d = b.len();
    let support: Vec<usize> = (0..d).filter(|&j| v[j] != 0.0).collect();
    let m = support.len();
    let mut out = vec![0.0; d];
    if m > 0 {
        // H_SS x = −(b_S + sign(v_S)), by Gaussian elimination with partial pivoting.
        let mut a: Vec<f64> = Vec::with_capacity(m * (m + 1));
        for &j in &support {
            a.extend(support.iter().map(|&k| h[j * d + k]));
            a.push(-(b[j] + v[j].signum()));
        }
        let x = solve(&mut a, m)?;
        for (i, &j) in support.iter().enumerate() {
            if x[i] == 0.0 || x[i].signum() != v[j].signum() {
                return None;
            }
            out[j] = x[i];
        }
    }
    for j in (0..d).filter(|&j| v[j] == 0.0) {
        let slope = b[j] + support.iter().map(|&k| h[j * d + k] * out[k]).sum::<f64>();
        if slope.abs() > 1.0 {
            return None;
        }
    }
    Some(out)
}

/// The solution of the `m × m` system in the augmented row-major matrix `a`.
fn solve(a: &mut [f64], m: usize) -> Option<Vec<f64>> {
    let w = m + 1;
    for col in 0..m {
        let pivot =
            (col..m).max_by(|&i, &j| a[i * w + col].abs().total_cmp(&a[j * w + col].abs()))?;
        if a[pivot * w + col] == 0.0 {
            return None;
        }
        for k in 0..w {
            a.swap(col * w + k, pivot * w + k);
        }
        for row in col + 1..m {
            let f = a[row * w + col] / a[col * w + col];
            for k in col..w {
                a[row * w + k] -= f * a[col * w + k];
            }
        }
    }
    let mut x = vec![0.0; m];
    for row in (0..m).rev() {
        let tail: f64 = (row + 1..m).map(|k| a[row * w + k] * x[k]).sum();
        x[row] = (a[row * w + m] - tail) / a[row * w + row];
    }
    Some(x)
}

/// A cross-validated fit: the coefficients refitted on every row at the chosen
/// penalty, that penalty, and each penalty's held-out score summed over folds.
#[derive(Debug, Clone)]
pub struct CrossValidated {
    pub coefficients: Vec<f64>,
    pub penalty: f64,
    pub scores: Vec<f64>,
}

/// Minus the mean log-loss of `rows` (weighted when `weighted`), predictions clipped
/// to [1e-15, 1 − 1e-15] as scikit-learn's scorer clips them.
fn held_out_score(data: &SoftLabelRows, w: &[f64], weighted: bool) -> f64 {
    let n = data.label.len();
    let total: f64 = (0..n)
        .map(|i| {
            let q = sigmoid(data.dot(i, w)).clamp(1e-15, 1.0 - 1e-15);
            let p = data.label[i];
            let ll = p * q.ln() + (1.0 - p) * (1.0 - q).ln();
            if weighted {
                ll * data.weight[i]
            } else {
                ll
            }
        })
        .sum();
    total / n as f64
}

/// The fold of each of `n` rows when every row is its own group, as scikit-learn's
/// `GroupKFold` assigns equal groups: last to first, each to the lightest fold.
pub fn group_folds(n: usize, n_splits: usize) -> Vec<usize> {
    (0..n).map(|i| (n - 1 - i) % n_splits).collect()
}

/// Choose the penalty among `penalties` (in order; the first of equal scores wins)
/// by the summed held-out score, minus the log-loss with predictions clipped to
/// [1e-15, 1 − 1e-15] (rows weighted when `weighted_score`), then refit on all rows.
pub fn cross_validate_l1_logistic(
    data: &SoftLabelRows,
    penalties: &[f64],
    n_splits: usize,
    weighted_score: bool,
) -> Result<CrossValidated> {
    let n = data.label.len();
    if n_splits < 2 || n_splits > n {
        return Err(Error::argument(format!(
            "{n_splits} folds need at least 2 and at most as many as the {n} rows"
        )));
    }
    if penalties.is_empty() || penalties.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
        return Err(Error::bad_argument(
            "penalties",
            "penalties must be finite and positive",
        ));
    }
    let fold = group_folds(n, n_splits);
    // The folds are independent: one task each, their held-out scores summed.
    // Each fold's rows copied together: the passes then read memory in order.
    let one_fold = |k: usize| -> Vec<f64> {
        let train = data.subset(|i| fold[i] != k);
        let test = data.subset(|i| fold[i] == k);
        let (train, test) = (train.view(), test.view());
        let (mut w, mut raw) = (vec![0.0; data.d], None);
        penalties
            .iter()
            .map(|&c| {
                (w, raw) = fit_from(&train, c, std::mem::take(&mut w), raw.take());
                held_out_score(&test, &w, weighted_score)
            })
            .collect()
    };
    let per_fold: Vec<Vec<f64>> =
        crate::parallel::install(|| (0..n_splits).into_par_iter().map(one_fold).collect());
    crate::interrupt::check()?;
    let scores: Vec<f64> = (0..penalties.len())
        .map(|i| per_fold.iter().map(|f| f[i]).sum())
        .collect();
    let best = (0..penalties.len()).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
    let coefficients = fit_l1_logistic(data, penalties[best], &vec![0.0; data.d]);
    Ok(CrossValidated {
        coefficients,
        penalty: penalties[best],
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        // Deterministic features; labels from a known model plus a bounded wobble.
        let mut x = Vec::new();
        let mut p = Vec::new();
        for i in 0..n {
            let (a, b) = (
                ((i * 37) % 101) as f64 / 50.0 - 1.0,
                ((i * 61) % 97) as f64 / 48.0 - 1.0,
            );
            x.extend([a, b, 1.0]);
            let wobble = ((i * 13) % 7) as f64 / 20.0 - 0.15;
            p.push(sigmoid(1.5 * a - 0.7 * b + 0.2 + wobble));
        }
        (x, p, vec![1.0; n])
    }

    #[test]
    fn the_optimum_satisfies_the_l1_conditions() {
        let (x, p, s) = rows(300);
        let data = SoftLabelRows::new(&x, 3, &p, &s).unwrap();
        let all: Vec<usize> = (0..300).collect();
        let mut w = vec![0.0; 3];
        for c in [0.01, 0.3, 10.0, 1e4, 1e6] {
            w = fit_l1_logistic(&data, c, &w); // warm started, as the path runs
            for j in 0..3 {
                let g: f64 = all
                    .iter()
                    .map(|&i| c * (sigmoid(data.dot(i, &w)) - p[i]) * x[i * 3 + j])
                    .sum();
                if w[j] == 0.0 {
                    assert!(g.abs() <= 1.0 + 1e-9, "c {c} j {j}: |g| {g}");
                } else {
                    assert!((g + w[j].signum()).abs() < 1e-8, "c {c} j {j}: g {g}");
                }
            }
        }
    }

    #[test]
    fn folds_follow_group_kfold_and_bad_input_is_named() {
        assert_eq!(group_folds(7, 3), vec![0, 2, 1, 0, 2, 1, 0]);
        let (x, p, s) = rows(4);
        let data = SoftLabelRows::new(&x, 3, &p, &s).unwrap();
        assert!(cross_validate_l1_logistic(&data, &[1.0], 5, false).is_err());
        let err = SoftLabelRows::new(&x, 3, &[0.5, 1.5, 0.5, 0.5], &s)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "column 'label', row 1: 1.5 is not in [0, 1]"
        );
    }

    #[test]
    fn a_strong_penalty_wins_only_where_it_predicts_best() {
        let (x, p, s) = rows(200);
        let data = SoftLabelRows::new(&x, 3, &p, &s).unwrap();
        let fit = cross_validate_l1_logistic(&data, &[1e-4, 1.0, 1e4], 5, false).unwrap();
        // The labels follow the features: the unpenalised end predicts far better.
        assert!(fit.scores[0] < fit.scores[2] && fit.penalty > 1e-4);
        assert!((fit.coefficients[0] - 1.5).abs() < 0.3);
    }
}
