//! Bradley-Terry ratings from battles: the penalised maximum-likelihood estimate that
//! choix's `opt_pairwise` defines (objective `alpha * |θ|² + Σ log(1 + e^{θ_loser − θ_winner})`),
//! solved by Newton's method on the aggregated win matrix, so the cost per iteration
//! depends on the number of items, not of battles. A tie counts as half a win for each side.

use crate::error::{Error, Result};
use crate::numeric::{sigmoid, softplus};
use crate::parallel;
use crate::random::Rng;

/// Battles as item codes and the score of `a` (1 win, 0 loss, 0.5 tie).
pub struct Battles<'a> {
    pub a: &'a [u32],
    pub b: &'a [u32],
    pub score_a: &'a [f64],
    pub n_items: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct FitOptions {
    /// Ridge penalty (choix's `alpha`); 0 is the plain MLE, which needs every item to
    /// have won and lost (after ties) against a connected field.
    pub alpha: f64,
    pub max_iter: usize,
    pub tol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            alpha: 1e-6,
            max_iter: 100,
            tol: 1e-10,
        }
    }
}

/// `w[i * n + j]`: (fractional) wins of `i` over `j`.
pub fn win_matrix(battles: &Battles, pick: impl Fn(usize) -> usize) -> Vec<f64> {
    let n = battles.n_items;
    let mut w = vec![0.0; n * n];
    for k in 0..battles.a.len() {
        let k = pick(k);
        let (a, b, s) = (
            battles.a[k] as usize,
            battles.b[k] as usize,
            battles.score_a[k],
        );
        w[a * n + b] += s;
        w[b * n + a] += 1.0 - s;
    }
    w
}

fn objective(theta: &[f64], w: &[f64], alpha: f64) -> f64 {
    let n = theta.len();
    let mut v = alpha * theta.iter().map(|t| t * t).sum::<f64>();
    for i in 0..n {
        for j in 0..n {
            let wij = w[i * n + j];
            if wij > 0.0 {
                v += wij * softplus(theta[j] - theta[i]);
            }
        }
    }
    v
}

/// Gradient and Hessian of [`objective`].
fn derivatives(theta: &[f64], w: &[f64], alpha: f64) -> (Vec<f64>, Vec<f64>) {
    let n = theta.len();
    let mut g: Vec<f64> = theta.iter().map(|t| 2.0 * alpha * t).collect();
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] += 2.0 * alpha;
        for j in i + 1..n {
            let games = w[i * n + j] + w[j * n + i];
            if games == 0.0 {
                continue;
            }
            let p = sigmoid(theta[i] - theta[j]);
            g[i] += games * p - w[i * n + j];
            g[j] += games * (1.0 - p) - w[j * n + i];
            let v = games * p * (1.0 - p);
            h[i * n + i] += v;
            h[j * n + j] += v;
            h[i * n + j] -= v;
            h[j * n + i] -= v;
        }
    }
    (g, h)
}

/// `Σ x_k y_k` in four interleaved sums: without them the additions form one chain
/// that the compiler may not reorder, so each waits for the last (the Cholesky
/// factorisation below spends its time here).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for i in 0..4 {
            acc[i] += a[i] * b[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Solve `a x = b` for a symmetric positive-definite `a` (Cholesky); None if it is not.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    Some(cholesky_solve(&cholesky(a, b.len())?, b))
}

/// Solve `l lᵀ x = b` for the Cholesky factor `l` of [`cholesky`].
pub fn cholesky_solve(l: &[f64], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// The lower-triangular `l` with `l lᵀ = a` (`n × n`, row-major), None if `a` is not
/// symmetric positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
            if i == j {
                let d = a[i * n + i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i * n + i] = d.sqrt();
            } else {
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// The likelihood ignores a common shift of θ and the penalty's optimum has mean 0, so
/// the solver works in the mean-zero subspace: the gradient is centred and `11ᵀ/n` is
/// added to the Hessian (an eigenvalue of 1 along `1`, which the steps never use).
/// Without this, rounding noise along `1` would be amplified by `1 / alpha`.
fn pin_mean(h: &mut [f64], n: usize) {
    h.iter_mut().for_each(|v| *v += 1.0 / n as f64);
}

fn centre(g: &mut [f64]) {
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    g.iter_mut().for_each(|v| *v -= mean);
}

/// Ratings θ (natural log-odds units, mean 0) maximising the penalised likelihood.
pub fn fit(w: &[f64], n: usize, options: &FitOptions) -> Result<Vec<f64>> {
    if options.alpha.is_nan() || options.alpha < 0.0 {
        return Err(Error::bad_argument(
            "alpha",
            format!("alpha must be >= 0, got {}", options.alpha),
        ));
    }
    if options.alpha == 0.0 {
        if let Some((i, what)) = unbounded_item(w, n) {
            return Err(Error::argument(format!(
                "item {i} {what} every battle it played, so its maximum-likelihood rating \
                 is infinite; pass alpha > 0"
            )));
        }
    }
    let mut theta = vec![0.0; n];
    let mut value = objective(&theta, w, options.alpha);
    for _ in 0..options.max_iter {
        let (mut g, mut h) = derivatives(&theta, w, options.alpha);
        centre(&mut g);
        pin_mean(&mut h, n);
        let step = solve_spd(&h, &g).ok_or_else(|| {
            Error::argument(
                "the battles do not determine the ratings (some items are not connected \
                 by battles to the rest); pass alpha > 0",
            )
        })?;
        // Backtracking: Newton steps are full steps near the optimum.
        let mut t = 1.0;
        let mut next: Vec<f64>;
        loop {
            next = theta.iter().zip(&step).map(|(x, d)| x - t * d).collect();
            let v = objective(&next, w, options.alpha);
            if v <= value || t < 1e-8 {
                value = v;
                break;
            }
            t *= 0.5;
        }
        let moved = step.iter().map(|d| (t * d).abs()).fold(0.0, f64::max);
        theta = next;
        if moved < options.tol {
            // Without a penalty, odds beyond e^35 mean the optimum is at infinity.
            if options.alpha == 0.0 && theta.iter().any(|t| t.abs() > 35.0) {
                return Err(Error::argument(
                    "the maximum-likelihood ratings are infinite (one group of items \
                     won every battle against the rest); pass alpha > 0",
                ));
            }
            return Ok(theta);
        }
    }
    Err(Error::argument(format!(
        "Bradley-Terry did not converge in {} Newton iterations",
        options.max_iter
    )))
}

/// An item that won (or lost) every battle it played, as `(item, "won" | "lost")`:
/// the plain MLE is then infinite.
pub fn unbounded_item(w: &[f64], n: usize) -> Option<(usize, &'static str)> {
    (0..n).find_map(|i| {
        let wins: f64 = (0..n).map(|j| w[i * n + j]).sum();
        let losses: f64 = (0..n).map(|j| w[j * n + i]).sum();
        if losses == 0.0 {
            Some((i, "won"))
        } else if wins == 0.0 {
            Some((i, "lost"))
        } else {
            None
        }
    })
}

/// Variance of `θ_i − θ_ref` for every `i`, from the inverse Fisher information
/// (`reference` None: relative to the mean rating).
pub fn variances(theta: &[f64], w: &[f64], alpha: f64, reference: Option<usize>) -> Vec<f64> {
    let n = theta.len();
    let (_, mut h) = derivatives(theta, w, alpha);
    pin_mean(&mut h, n);
    // Columns of H⁻¹.
    let mut inv = vec![0.0; n * n];
    for k in 0..n {
        let mut e = vec![0.0; n];
        e[k] = 1.0;
        if let Some(col) = solve_spd(&h, &e) {
            for i in 0..n {
                inv[i * n + k] = col[i];
            }
        } else {
            return vec![f64::NAN; n];
        }
    }
    match reference {
        Some(r) => (0..n)
            .map(|i| (inv[i * n + i] + inv[r * n + r] - 2.0 * inv[i * n + r]).max(0.0))
            .collect(),
        None => {
            // Var(θ_i − mean θ) = (P H⁻¹ P)_ii with P = I − 11ᵀ/n.
            let nf = n as f64;
            let row_mean: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| inv[i * n + j]).sum::<f64>() / nf)
                .collect();
            let total = row_mean.iter().sum::<f64>() / nf;
            (0..n)
                .map(|i| (inv[i * n + i] - 2.0 * row_mean[i] + total).max(0.0))
                .collect()
        }
    }
}

/// Fit `rounds` bootstrap resamples of the battles (each a stream of `seed`).
pub fn bootstrap(
    battles: &Battles,
    options: &FitOptions,
    rounds: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let m = battles.a.len();
    let one = |round: usize| -> Result<Vec<f64>> {
        let mut rng = Rng::for_stream(seed, round as u64);
        let picks: Vec<usize> = (0..m).map(|_| rng.below(m as u64) as usize).collect();
        let w = win_matrix(battles, |k| picks[k]);
        if options.alpha == 0.0 && unbounded_item(&w, battles.n_items).is_some() {
            return Err(Error::argument(format!(
                "bootstrap resample {round}: an item won (or lost) every battle in it, \
                 so its maximum-likelihood rating is infinite; pass alpha > 0"
            )));
        }
        fit(&w, battles.n_items, options)
    };
    parallel::rounds(rounds, "bootstrap", one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_items_match_the_closed_form() {
        // 3 wins to 1: the MLE has θ_0 − θ_1 = ln 3.
        let w = vec![0.0, 3.0, 1.0, 0.0];
        let t = fit(
            &w,
            2,
            &FitOptions {
                alpha: 0.0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!((t[0] - t[1] - 3f64.ln()).abs() < 1e-12);
        assert!((t[0] + t[1]).abs() < 1e-12);
        // Var(θ0 − θ1) = 1 / (n p (1 − p)) = 1 / (4 · 3/16).
        let v = variances(&t, &w, 0.0, Some(1));
        assert!((v[0] - 4.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn an_unbeaten_item_needs_a_penalty() {
        let w = vec![0.0, 2.0, 0.0, 0.0];
        assert!(fit(
            &w,
            2,
            &FitOptions {
                alpha: 0.0,
                ..Default::default()
            }
        )
        .is_err());
        assert!(fit(&w, 2, &FitOptions::default()).is_ok());
    }
}
