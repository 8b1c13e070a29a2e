//! Leaderboard ratings as the arenas fit them: Bradley-Terry over battles, optionally
//! with per-battle covariates ("style control": `logit = u·(θ_a − θ_b) + x·β`) and
//! optionally with Davidson's tie model, by weighted (penalised) maximum likelihood.
//!
//! One objective covers every published variant; they differ only in constants:
//!
//! `L(θ, β, δ) = Σ_k w_k ℓ_k / D + λ_θ/2 |θ|² + λ_β/2 |β|²`
//!
//! with `ℓ_k` the negative log-likelihood of battle `k` (ties as half a win, or
//! Davidson's `P(tie) = ν / (e^{d/2} + e^{−d/2} + ν)`, `δ = ln ν`), `u` the rating unit
//! (ln 10 when ratings are log10 odds, 1 for natural log odds) and `D` the divisor (1
//! for a sum, the weight total or the row count for a mean). It is solved by Newton's
//! method to machine precision; ratings are pinned to mean 0 (the likelihood ignores
//! a common shift, and the references' gradient methods keep the mean of their zero
//! start). Without covariates, battles are first summed per pair of models, so an
//! iteration costs O(models²), not O(battles).
//!
//! ```
//! use prefcore_core::ratings::arena::{fit, Model, Rows};
//! // a beat b three times and lost once: θ_a − θ_b = ln 3.
//! let rows = Rows::plain(&[0, 0], &[1, 1], &[1.0, 0.0], &[0.0, 0.0], &[3.0, 1.0], 2);
//! let f = fit(&rows, &Model::default(), None).unwrap();
//! assert!((f.ratings[0] - f.ratings[1] - 3f64.ln()).abs() < 1e-12);
//! ```

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::numeric::{sigmoid, softplus};
use crate::parallel;
use crate::random::Rng;
use crate::ratings::bradley_terry::solve_spd;

/// How a tie enters the likelihood.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ties {
    /// Half a win for each side (the arenas' rule).
    Half,
    /// Davidson (1970): one more parameter, the log tie propensity `δ`.
    Davidson,
}

/// The objective's constants (see the module text).
#[derive(Clone, Copy, Debug)]
pub struct Model {
    pub unit: f64,
    pub ridge_ratings: f64,
    pub ridge_coefs: f64,
    pub divisor: f64,
    pub ties: Ties,
    pub max_iter: usize,
    /// Converged when no parameter moves by more than this in a Newton step.
    pub tol: f64,
    /// The ratings' ridge for a bootstrap round whose unpenalised optimum is infinite
    /// (a model won or lost every battle drawn): such a round is refitted with it.
    pub fallback_ridge: f64,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            unit: 1.0,
            ridge_ratings: 0.0,
            ridge_coefs: 0.0,
            divisor: 1.0,
            ties: Ties::Half,
            max_iter: 200,
            tol: 1e-11,
            fallback_ridge: 0.0,
        }
    }
}

impl Model {
    fn check(&self) -> Result<()> {
        let ok = self.unit.is_finite()
            && self.unit > 0.0
            && self.ridge_ratings.is_finite()
            && self.ridge_ratings >= 0.0
            && self.ridge_coefs.is_finite()
            && self.ridge_coefs >= 0.0
            && self.divisor.is_finite()
            && self.divisor > 0.0
            && self.fallback_ridge.is_finite()
            && self.fallback_ridge >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::argument(format!(
                "the rating model needs unit > 0, ridge penalties >= 0 and a divisor > 0; got \
                 unit={}, ridge_ratings={}, ridge_coefs={}, divisor={}",
                self.unit, self.ridge_ratings, self.ridge_coefs, self.divisor
            )))
        }
    }
}

/// Battles: the two models, the shares of the battle `a` won and tied (one-hot for a
/// single battle, fractions for summed ones), a weight, and `n_features` covariates
/// per battle (row-major).
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    pub a: &'a [u32],
    pub b: &'a [u32],
    pub win: &'a [f64],
    pub tie: &'a [f64],
    pub weight: &'a [f64],
    pub features: &'a [f64],
    pub n_features: usize,
    pub n_models: usize,
}

impl<'a> Rows<'a> {
    /// Battles without covariates.
    pub fn plain(
        a: &'a [u32],
        b: &'a [u32],
        win: &'a [f64],
        tie: &'a [f64],
        weight: &'a [f64],
        n_models: usize,
    ) -> Self {
        Rows {
            a,
            b,
            win,
            tie,
            weight,
            features: &[],
            n_features: 0,
            n_models,
        }
    }

    fn len(&self) -> usize {
        self.a.len()
    }

    fn check(&self) -> Result<()> {
        let m = self.len();
        if self.b.len() != m
            || self.win.len() != m
            || self.tie.len() != m
            || self.weight.len() != m
            || self.features.len() != m * self.n_features
        {
            return Err(Error::argument(
                "battle columns differ in length (a, b, win, tie, weight, features)",
            ));
        }
        if self.n_models < 2 {
            return Err(Error::argument("ratings need at least two models"));
        }
        for k in 0..m {
            let (a, b) = (self.a[k] as usize, self.b[k] as usize);
            if a >= self.n_models || b >= self.n_models || a == b {
                return Err(Error::argument(format!(
                    "battle {k}: models {a} and {b} are not two distinct codes below {}",
                    self.n_models
                )));
            }
            let (win, tie, w) = (self.win[k], self.tie[k], self.weight[k]);
            let shares_ok = win >= 0.0 && tie >= 0.0 && win + tie <= 1.0 + 1e-12;
            if !shares_ok || !w.is_finite() || w < 0.0 {
                return Err(Error::argument(format!(
                    "battle {k}: win share {win}, tie share {tie} and weight {w} must be \
                     shares in [0, 1] summing to at most 1 and a finite weight >= 0"
                )));
            }
        }
        if let Some(k) = self.features.iter().position(|x| !x.is_finite()) {
            return Err(Error::argument(format!(
                "battle {}: covariate {} is not finite",
                k / self.n_features,
                k % self.n_features
            )));
        }
        Ok(())
    }
}

/// A fitted model: ratings (natural log odds, before the unit), covariate
/// coefficients and, under Davidson, the log tie propensity (NaN otherwise).
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub ratings: Vec<f64>,
    pub coefs: Vec<f64>,
    pub log_tie: f64,
    pub iterations: usize,
    /// Fitted with [`Model::fallback_ridge`] (bootstrap rounds only).
    pub fallback: bool,
}

/// Parameter layout: ratings, then coefficients, then `δ` under Davidson.
#[derive(Clone, Copy)]
struct Layout {
    n: usize,
    f: usize,
    davidson: bool,
}

impl Layout {
    fn new(rows: &Rows, model: &Model) -> Self {
        Layout {
            n: rows.n_models,
            f: rows.n_features,
            davidson: model.ties == Ties::Davidson,
        }
    }

    fn len(&self) -> usize {
        self.n + self.f + usize::from(self.davidson)
    }

    fn split(&self, params: &[f64]) -> Fit {
        Fit {
            ratings: params[..self.n].to_vec(),
            coefs: params[self.n..self.n + self.f].to_vec(),
            log_tie: if self.davidson {
                params[self.n + self.f]
            } else {
                f64::NAN
            },
            iterations: 0,
            fallback: false,
        }
    }

    fn join(&self, fit: &Fit) -> Vec<f64> {
        let mut p = fit.ratings.clone();
        p.extend_from_slice(&fit.coefs);
        if self.davidson {
            p.push(fit.log_tie);
        }
        p
    }
}

/// One battle's negative log-likelihood and its derivatives in the logit `d` and `δ`.
struct Terms {
    loss: f64,
    dd: f64,
    dd2: f64,
    dt: f64,
    dt2: f64,
    cross: f64,
}

fn terms(d: f64, log_tie: f64, win: f64, tie: f64, ties: Ties) -> Terms {
    match ties {
        Ties::Half => {
            let y = win + 0.5 * tie;
            let p = sigmoid(d);
            Terms {
                loss: softplus(d) - y * d,
                dd: p - y,
                dd2: p * (1.0 - p),
                dt: 0.0,
                dt2: 0.0,
                cross: 0.0,
            }
        }
        Ties::Davidson => {
            let lose = (1.0 - win - tie).max(0.0);
            let h = 0.5 * d;
            let top = h.abs().max(log_tie);
            let log_z = top + ((h - top).exp() + (-h - top).exp() + (log_tie - top).exp()).ln();
            let (pa, pb, pt) = (
                (h - log_z).exp(),
                (-h - log_z).exp(),
                (log_tie - log_z).exp(),
            );
            let diff = pa - pb;
            Terms {
                loss: log_z - (win - lose) * h - tie * log_tie,
                dd: 0.5 * (diff - (win - lose)),
                dd2: 0.25 * (pa + pb - diff * diff),
                dt: pt - tie,
                dt2: pt * (1.0 - pt),
                cross: -0.5 * pt * diff,
            }
        }
    }
}

/// Objective value, gradient and (when asked) Hessian at `params`; rows whose weight is
/// 0 are skipped.
struct Evaluation {
    value: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

fn logit(rows: &Rows, k: usize, params: &[f64], layout: &Layout, unit: f64) -> f64 {
    let (a, b) = (rows.a[k] as usize, rows.b[k] as usize);
    let mut d = unit * (params[a] - params[b]);
    let x = &rows.features[k * layout.f..(k + 1) * layout.f];
    for (j, xj) in x.iter().enumerate() {
        d += xj * params[layout.n + j];
    }
    d
}

/// Adds `s · J Jᵀ`-shaped terms of one battle to `h` (`J = u e_a − u e_b + x`), plus the
/// `δ` row and column under Davidson.
fn add_curvature(h: &mut [f64], k: usize, rows: &Rows, layout: &Layout, unit: f64, t: [f64; 3]) {
    let p = layout.len();
    let (a, b) = (rows.a[k] as usize, rows.b[k] as usize);
    let [s, cross, tt] = t;
    let uu = unit * unit * s;
    h[a * p + a] += uu;
    h[b * p + b] += uu;
    h[a * p + b] -= uu;
    h[b * p + a] -= uu;
    let x = &rows.features[k * layout.f..(k + 1) * layout.f];
    for (i, xi) in x.iter().enumerate() {
        let c = unit * s * xi;
        let col = layout.n + i;
        h[a * p + col] += c;
        h[col * p + a] += c;
        h[b * p + col] -= c;
        h[col * p + b] -= c;
        for (j, xj) in x.iter().enumerate() {
            h[col * p + layout.n + j] += s * xi * xj;
        }
    }
    if layout.davidson {
        let t = p - 1;
        let uc = unit * cross;
        h[a * p + t] += uc;
        h[t * p + a] += uc;
        h[b * p + t] -= uc;
        h[t * p + b] -= uc;
        for (i, xi) in x.iter().enumerate() {
            h[(layout.n + i) * p + t] += cross * xi;
            h[t * p + layout.n + i] += cross * xi;
        }
        h[t * p + t] += tt;
    }
}

fn evaluate(
    rows: &Rows,
    params: &[f64],
    model: &Model,
    layout: &Layout,
    hessian: bool,
) -> Evaluation {
    let p = layout.len();
    let log_tie = if layout.davidson { params[p - 1] } else { 0.0 };
    let mut value = 0.0;
    let mut grad = vec![0.0; p];
    let mut hess = if hessian { vec![0.0; p * p] } else { vec![] };
    let scale = 1.0 / model.divisor;
    for k in 0..rows.len() {
        let w = rows.weight[k] * scale;
        if w == 0.0 {
            continue;
        }
        let d = logit(rows, k, params, layout, model.unit);
        let t = terms(d, log_tie, rows.win[k], rows.tie[k], model.ties);
        value += w * t.loss;
        let (a, b) = (rows.a[k] as usize, rows.b[k] as usize);
        grad[a] += w * model.unit * t.dd;
        grad[b] -= w * model.unit * t.dd;
        let x = &rows.features[k * layout.f..(k + 1) * layout.f];
        for (j, xj) in x.iter().enumerate() {
            grad[layout.n + j] += w * t.dd * xj;
        }
        if layout.davidson {
            grad[p - 1] += w * t.dt;
        }
        if hessian {
            add_curvature(
                &mut hess,
                k,
                rows,
                layout,
                model.unit,
                [w * t.dd2, w * t.cross, w * t.dt2],
            );
        }
    }
    let ridge = |i: usize| {
        if i < layout.n {
            model.ridge_ratings
        } else if i < layout.n + layout.f {
            model.ridge_coefs
        } else {
            0.0
        }
    };
    for i in 0..p {
        let r = ridge(i);
        value += 0.5 * r * params[i] * params[i];
        grad[i] += r * params[i];
        if hessian {
            hess[i * p + i] += r;
        }
    }
    Evaluation { value, grad, hess }
}

/// Models joined by battles of positive weight, as group labels. The likelihood
/// ignores a shift of one group's ratings, so each group's mean is pinned: the mean the
/// references keep from their zero start (their gradients sum to 0 within a group).
struct Groups {
    label: Vec<usize>,
    size: Vec<usize>,
}

impl Groups {
    fn of(rows: &Rows) -> Self {
        let n = rows.n_models;
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for k in 0..rows.len() {
            if rows.weight[k] > 0.0 {
                let (x, y) = (
                    root(&mut parent, rows.a[k] as usize),
                    root(&mut parent, rows.b[k] as usize),
                );
                parent[x.max(y)] = x.min(y);
            }
        }
        let mut label = vec![usize::MAX; n];
        let mut size = Vec::new();
        for i in 0..n {
            let r = root(&mut parent, i);
            if label[r] == usize::MAX {
                label[r] = size.len();
                size.push(0);
            }
            label[i] = label[r];
            size[label[i]] += 1;
        }
        Groups { label, size }
    }

    /// Subtracts each group's mean from its members' values.
    fn centre(&self, values: &mut [f64]) {
        let mut sum = vec![0.0; self.size.len()];
        for (i, v) in values.iter().enumerate() {
            sum[self.label[i]] += v;
        }
        for (i, v) in values.iter_mut().enumerate() {
            *v -= sum[self.label[i]] / self.size[self.label[i]] as f64;
        }
    }

    /// Centres the ratings' gradient within each group and adds `1 1ᵀ / size` to the
    /// group's Hessian block (an eigenvalue of 1 along the shift, which the steps
    /// never use; see `bradley_terry::pin_mean`).
    fn pin(&self, grad: &mut [f64], hess: &mut [f64], p: usize) {
        let n = self.label.len();
        self.centre(&mut grad[..n]);
        for i in 0..n {
            let g = self.label[i];
            for j in 0..n {
                if self.label[j] == g {
                    hess[i * p + j] += 1.0 / self.size[g] as f64;
                }
            }
        }
    }
}

/// Newton's method with backtracking from `start` (zeros when None).
fn newton(rows: &Rows, model: &Model, start: Option<&Fit>) -> Result<Fit> {
    let layout = Layout::new(rows, model);
    let (n, p) = (layout.n, layout.len());
    let mut params = match start {
        Some(fit) => layout.join(fit),
        None => vec![0.0; p],
    };
    // Without a ridge on the ratings, each group's shift is free: the group starts at
    // mean 0 and keeps it. With one, the optimum is unique and nothing is pinned.
    let groups = (model.ridge_ratings == 0.0).then(|| Groups::of(rows));
    if let Some(groups) = &groups {
        groups.centre(&mut params[..n]);
    }
    let mut now = evaluate(rows, &params, model, &layout, true);
    for iteration in 1..=model.max_iter {
        if let Some(groups) = &groups {
            groups.pin(&mut now.grad, &mut now.hess, p);
        }
        let step = solve_spd(&now.hess, &now.grad).ok_or_else(|| {
            Error::argument(
                "the battles do not determine the ratings (a model is not connected to the \
                 rest, or a covariate is constant or collinear with the ratings)",
            )
        })?;
        let size = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        // Odds beyond e^35 without a penalty: the optimum is at infinity (the
        // probabilities round to 0 or 1, so the gradient vanishes before it).
        let (lo, hi) = params[..n]
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), t| (l.min(*t), h.max(*t)));
        let unbounded = model.ridge_ratings == 0.0 && model.unit * (hi - lo) > 35.0;
        if unbounded || !params.iter().all(|v| v.is_finite()) {
            break;
        }
        if size < model.tol {
            params.iter_mut().zip(&step).for_each(|(x, s)| *x -= s);
            let mut fit = layout.split(&params);
            fit.iterations = iteration;
            return Ok(fit);
        }
        let mut t = 1.0;
        loop {
            let next: Vec<f64> = params.iter().zip(&step).map(|(x, s)| x - t * s).collect();
            let trial = evaluate(rows, &next, model, &layout, true);
            // Accept a step that does not raise the objective beyond its rounding.
            if trial.value <= now.value + 1e-13 * now.value.abs() || t < 1e-10 {
                params = next;
                now = trial;
                break;
            }
            t *= 0.5;
        }
    }
    Err(Error::argument(format!(
        "the ratings did not converge in {} Newton iterations or grew without bound (a \
         model that wins or loses every battle has no finite rating without a ridge \
         penalty)",
        model.max_iter
    )))
}

/// Battles summed per unordered pair of models (covariate-free models only): the same
/// objective, with one row per pair.
struct Summed {
    a: Vec<u32>,
    b: Vec<u32>,
    win: Vec<f64>,
    tie: Vec<f64>,
    weight: Vec<f64>,
}

impl Summed {
    fn rows(&self, n_models: usize) -> Rows<'_> {
        Rows::plain(
            &self.a,
            &self.b,
            &self.win,
            &self.tie,
            &self.weight,
            n_models,
        )
    }
}

/// Each battle's pair slot (pairs numbered in order of first appearance) and whether
/// its sides are swapped to put the lower model code first.
fn pair_slots(rows: &Rows) -> (Vec<u32>, Vec<bool>, Vec<(u32, u32)>) {
    let mut index: HashMap<(u32, u32), u32> = HashMap::new();
    let mut pairs = Vec::new();
    let mut slot = Vec::with_capacity(rows.len());
    let mut swapped = Vec::with_capacity(rows.len());
    for k in 0..rows.len() {
        let (a, b) = (rows.a[k], rows.b[k]);
        let key = (a.min(b), a.max(b));
        let s = *index.entry(key).or_insert_with(|| {
            pairs.push(key);
            (pairs.len() - 1) as u32
        });
        slot.push(s);
        swapped.push(a > b);
    }
    (slot, swapped, pairs)
}

/// Sums battles into their pair slots, each weighted by `weight × multiplier`.
fn sum_pairs(
    rows: &Rows,
    slots: &(Vec<u32>, Vec<bool>, Vec<(u32, u32)>),
    multiplier: impl Fn(usize) -> f64,
) -> Summed {
    let (slot, swapped, pairs) = slots;
    let m = pairs.len();
    let (mut win, mut tie, mut weight) = (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
    for k in 0..rows.len() {
        let w = rows.weight[k] * multiplier(k);
        if w == 0.0 {
            continue;
        }
        let s = slot[k] as usize;
        let lose = 1.0 - rows.win[k] - rows.tie[k];
        win[s] += w * if swapped[k] { lose } else { rows.win[k] };
        tie[s] += w * rows.tie[k];
        weight[s] += w;
    }
    for s in 0..m {
        if weight[s] > 0.0 {
            win[s] /= weight[s];
            tie[s] /= weight[s];
        }
    }
    Summed {
        a: pairs.iter().map(|p| p.0).collect(),
        b: pairs.iter().map(|p| p.1).collect(),
        win,
        tie,
        weight,
    }
}

/// The penalised maximum-likelihood fit (Newton from `start`, or from zeros).
pub fn fit(rows: &Rows, model: &Model, start: Option<&Fit>) -> Result<Fit> {
    model.check()?;
    rows.check()?;
    if rows.n_features == 0 {
        let summed = sum_pairs(rows, &pair_slots(rows), |_| 1.0);
        return newton(&summed.rows(rows.n_models), model, start);
    }
    newton(rows, model, start)
}

/// The data part of the objective's curvature at `fit`, summed over battles (no
/// divisor, no ridge): the Hessian `Σ w ℓ''` and the score products `Σ (w ℓ')²`, each
/// `p × p` row-major, for sandwich (robust) variances.
pub fn curvature(rows: &Rows, model: &Model, fit: &Fit) -> Result<(Vec<f64>, Vec<f64>)> {
    model.check()?;
    rows.check()?;
    let layout = Layout::new(rows, model);
    let params = layout.join(fit);
    if params.len() != layout.len() {
        return Err(Error::argument(
            "the fit does not match the battles' models",
        ));
    }
    let p = layout.len();
    let log_tie = if layout.davidson { params[p - 1] } else { 0.0 };
    let (mut h, mut g) = (vec![0.0; p * p], vec![0.0; p * p]);
    for k in 0..rows.len() {
        let w = rows.weight[k];
        if w == 0.0 {
            continue;
        }
        let d = logit(rows, k, &params, &layout, model.unit);
        let t = terms(d, log_tie, rows.win[k], rows.tie[k], model.ties);
        add_curvature(
            &mut h,
            k,
            rows,
            &layout,
            model.unit,
            [w * t.dd2, w * t.cross, w * t.dt2],
        );
        // The score is w·(ℓ_d J + ℓ_δ e_δ): its outer product has the same pattern.
        let (sd, st) = (w * t.dd, w * t.dt);
        add_curvature(
            &mut g,
            k,
            rows,
            &layout,
            model.unit,
            [sd * sd, sd * st, st * st],
        );
    }
    Ok((h, g))
}

/// How the bootstrap rounds resample the battles.
pub enum Resampling<'a> {
    /// `rounds` row resamples with replacement, each an independent stream of `seed`.
    Seeded { rounds: usize, seed: u64 },
    /// Given resamples: `rounds × battles` row indices, row-major.
    Indices { rows: &'a [u32], rounds: usize },
    /// Given weight multipliers: `rounds × battles`, row-major.
    Weights { weights: &'a [f64], rounds: usize },
}

impl Resampling<'_> {
    fn rounds(&self) -> usize {
        match self {
            Resampling::Seeded { rounds, .. }
            | Resampling::Indices { rounds, .. }
            | Resampling::Weights { rounds, .. } => *rounds,
        }
    }

    /// Round `r`'s multiplier per battle.
    fn multipliers(&self, r: usize, m: usize) -> Vec<f64> {
        match self {
            Resampling::Seeded { seed, .. } => {
                let mut rng = Rng::for_stream(*seed, r as u64);
                let mut counts = vec![0.0; m];
                for _ in 0..m {
                    counts[rng.below(m as u64) as usize] += 1.0;
                }
                counts
            }
            Resampling::Indices { rows, .. } => {
                let mut counts = vec![0.0; m];
                for &k in &rows[r * m..(r + 1) * m] {
                    counts[k as usize] += 1.0;
                }
                counts
            }
            Resampling::Weights { weights, .. } => weights[r * m..(r + 1) * m].to_vec(),
        }
    }

    fn check(&self, m: usize) -> Result<()> {
        match self {
            Resampling::Seeded { .. } => Ok(()),
            Resampling::Indices { rows, rounds } => {
                if rows.len() != rounds * m {
                    return Err(Error::argument(format!(
                        "resamples hold {} indices; {rounds} rounds of {m} battles need {}",
                        rows.len(),
                        rounds * m
                    )));
                }
                match rows.iter().position(|&k| k as usize >= m) {
                    Some(i) => Err(Error::argument(format!(
                        "resample {}, position {}: battle index {} is not below {m}",
                        i / m.max(1),
                        i % m.max(1),
                        rows[i]
                    ))),
                    None => Ok(()),
                }
            }
            Resampling::Weights { weights, rounds } => {
                if weights.len() != rounds * m {
                    return Err(Error::argument(format!(
                        "resample weights hold {} values; {rounds} rounds of {m} battles need {}",
                        weights.len(),
                        rounds * m
                    )));
                }
                match weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
                    Some(i) => Err(Error::argument(format!(
                        "resample weight {} (round {}) is not a finite number >= 0",
                        weights[i],
                        i / m.max(1)
                    ))),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Refits the model on every resample, each starting from `point` (the full-data fit),
/// rounds in parallel; results in round order.
pub fn bootstrap(
    rows: &Rows,
    model: &Model,
    point: &Fit,
    resampling: &Resampling,
) -> Result<Vec<Fit>> {
    model.check()?;
    rows.check()?;
    let m = rows.len();
    resampling.check(m)?;
    let slots = (rows.n_features == 0).then(|| pair_slots(rows));
    let penalised = Model {
        ridge_ratings: model.fallback_ridge,
        ..*model
    };
    let can_fall_back = model.ridge_ratings == 0.0 && model.fallback_ridge > 0.0;
    let one = |r: usize| -> Result<Fit> {
        let mult = resampling.multipliers(r, m);
        let summed;
        let weight: Vec<f64>;
        let resampled = match &slots {
            Some(slots) => {
                summed = sum_pairs(rows, slots, |k| mult[k]);
                summed.rows(rows.n_models)
            }
            None => {
                weight = rows.weight.iter().zip(&mult).map(|(w, c)| w * c).collect();
                Rows {
                    weight: &weight,
                    ..*rows
                }
            }
        };
        let fitted = match newton(&resampled, model, Some(point)) {
            Err(_) if can_fall_back => newton(&resampled, &penalised, Some(point)).map(|f| Fit {
                fallback: true,
                ..f
            }),
            other => other,
        };
        fitted.map_err(|e| Error::argument(format!("bootstrap round {r}: {e}")))
    };
    parallel::rounds(resampling.rounds(), "bootstrap", one)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_norm(rows: &Rows, model: &Model, fit: &Fit) -> f64 {
        let layout = Layout::new(rows, model);
        let e = evaluate(rows, &layout.join(fit), model, &layout, false);
        let n = layout.n;
        let mean = e.grad[..n].iter().sum::<f64>() / n as f64;
        e.grad
            .iter()
            .enumerate()
            .map(|(i, g)| if i < n { g - mean } else { *g })
            .fold(0.0, |m, g| m.max(g.abs()))
    }

    fn triangle() -> (Vec<u32>, Vec<u32>, Vec<f64>, Vec<f64>) {
        // 0 > 1 > 2 mostly, with ties.
        let a = vec![0, 0, 1, 1, 2, 0, 1, 2, 0];
        let b = vec![1, 2, 2, 0, 0, 1, 2, 1, 2];
        let win = vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let tie = vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        (a, b, win, tie)
    }

    #[test]
    fn summed_pairs_give_the_per_battle_fit() {
        let (a, b, win, tie) = triangle();
        let w = vec![1.0; a.len()];
        // A covariate of zeros keeps the per-battle path but cannot change the fit.
        let x = vec![0.0; a.len()];
        let per_battle = Rows {
            features: &x,
            n_features: 1,
            ..Rows::plain(&a, &b, &win, &tie, &w, 3)
        };
        for ties in [Ties::Half, Ties::Davidson] {
            let model = Model {
                ties,
                ridge_coefs: 1.0,
                ..Model::default()
            };
            let summed = fit(&Rows::plain(&a, &b, &win, &tie, &w, 3), &model, None).unwrap();
            let full = fit(&per_battle, &model, None).unwrap();
            for (s, f) in summed.ratings.iter().zip(&full.ratings) {
                assert!((s - f).abs() < 1e-10, "{ties:?}: {s} vs {f}");
            }
            assert!(summed.ratings.iter().sum::<f64>().abs() < 1e-12);
            assert!(gradient_norm(&per_battle, &model, &full) < 1e-10);
        }
    }

    #[test]
    fn davidson_matches_its_closed_form_for_two_models() {
        // Two models, 3 wins, 1 loss, 2 ties: the MLE has P_a : P_b : P_t = 3 : 1 : 2,
        // so d = ln 3 (e^{d/2} / e^{-d/2} = 3) and ν = 2 / √3.
        let (a, b) = (vec![0, 0, 0], vec![1, 1, 1]);
        let (win, tie, w) = (
            vec![1.0, 0.0, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![3.0, 1.0, 2.0],
        );
        let model = Model {
            ties: Ties::Davidson,
            ..Model::default()
        };
        let f = fit(&Rows::plain(&a, &b, &win, &tie, &w, 2), &model, None).unwrap();
        assert!((f.ratings[0] - f.ratings[1] - 3f64.ln()).abs() < 1e-10);
        assert!((f.log_tie - (2.0 / 3f64.sqrt()).ln()).abs() < 1e-10);
    }

    #[test]
    fn covariates_and_ridge_reach_a_stationary_point() {
        let (a, b, win, tie) = triangle();
        let w: Vec<f64> = (0..a.len()).map(|k| 1.0 + k as f64 / 10.0).collect();
        let x: Vec<f64> = (0..a.len() * 2)
            .map(|k| ((k * 7 % 5) as f64) - 2.0)
            .collect();
        let rows = Rows {
            features: &x,
            n_features: 2,
            ..Rows::plain(&a, &b, &win, &tie, &w, 3)
        };
        let model = Model {
            unit: 10f64.ln(),
            ridge_ratings: 0.5,
            ridge_coefs: 0.5,
            ..Model::default()
        };
        let f = fit(&rows, &model, None).unwrap();
        assert!(gradient_norm(&rows, &model, &f) < 1e-10);
        // With a ridge on the ratings the mean is 0 at the optimum itself.
        assert!(f.ratings.iter().sum::<f64>().abs() < 1e-10);
    }

    #[test]
    fn bootstrap_rounds_replay_their_resamples() {
        let (a, b, win, tie) = triangle();
        let w = vec![1.0; a.len()];
        let rows = Rows::plain(&a, &b, &win, &tie, &w, 3);
        let model = Model {
            ridge_ratings: 0.1,
            ..Model::default()
        };
        let point = fit(&rows, &model, None).unwrap();
        let m = a.len();
        // Resample 0 keeps every battle once: the point fit again.
        let mut idx: Vec<u32> = (0..m as u32).collect();
        idx.extend([0, 0, 1, 2, 3, 4, 5, 6, 7]);
        let given = Resampling::Indices {
            rows: &idx,
            rounds: 2,
        };
        let fits = bootstrap(&rows, &model, &point, &given).unwrap();
        for (x, y) in fits[0].ratings.iter().zip(&point.ratings) {
            assert!((x - y).abs() < 1e-10);
        }
        // Resample 1 equals weights 2, 1, 1, ..., 0 for the last battle.
        let mut mult = vec![1.0; m];
        mult[0] = 2.0;
        mult[m - 1] = 0.0;
        let weighted = Resampling::Weights {
            weights: &mult,
            rounds: 1,
        };
        let again = bootstrap(&rows, &model, &point, &weighted).unwrap();
        for (x, y) in fits[1].ratings.iter().zip(&again[0].ratings) {
            assert!((x - y).abs() < 1e-10);
        }
        let seeded = Resampling::Seeded { rounds: 3, seed: 7 };
        let ratings = |fits: Vec<Fit>| fits.into_iter().map(|f| f.ratings).collect::<Vec<_>>();
        let once = ratings(bootstrap(&rows, &model, &point, &seeded).unwrap());
        assert_eq!(
            once,
            ratings(bootstrap(&rows, &model, &point, &seeded).unwrap())
        );
        assert_ne!(once[0], once[1]);
        let bad = [0u32, 99];
        assert!(bootstrap(
            &rows,
            &model,
            &point,
            &Resampling::Indices {
                rows: &bad,
                rounds: 1
            }
        )
        .is_err());
    }

    #[test]
    fn curvature_of_two_models_is_the_fisher_information() {
        // Var(θ0 − θ1) = 1 / (n p (1 − p)) for 3 wins in 4: the Hessian entry is 3/4.
        let (a, b) = (vec![0; 4], vec![1; 4]);
        let (win, tie, w) = (vec![1.0, 1.0, 1.0, 0.0], vec![0.0; 4], vec![1.0; 4]);
        let rows = Rows::plain(&a, &b, &win, &tie, &w, 2);
        let f = fit(&rows, &Model::default(), None).unwrap();
        let (h, g) = curvature(&rows, &Model::default(), &f).unwrap();
        assert!((h[0] - 0.75).abs() < 1e-12 && (h[1] + 0.75).abs() < 1e-12);
        // Scores: 3 × (1/4)² + 1 × (3/4)² = 3/4 at the MLE (the information equality).
        assert!((g[0] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn an_absent_model_sits_at_zero_under_a_ridge() {
        // Model 2 has no battle of positive weight: the ridge alone holds it at 0,
        // wherever the fit starts.
        let (a, b) = (vec![0, 0, 1], vec![1, 2, 2]);
        let (win, tie, w) = (vec![1.0, 1.0, 0.0], vec![0.0; 3], vec![1.0, 0.0, 0.0]);
        let rows = Rows::plain(&a, &b, &win, &tie, &w, 3);
        let model = Model {
            ridge_ratings: 0.5,
            ..Model::default()
        };
        let start = Fit {
            ratings: vec![0.3, -0.1, 0.9],
            coefs: vec![],
            log_tie: f64::NAN,
            iterations: 0,
            fallback: false,
        };
        let f = fit(&rows, &model, Some(&start)).unwrap();
        assert!(f.ratings[2].abs() < 1e-12);
        assert!((f.ratings[0] + f.ratings[1]).abs() < 1e-12);
    }

    #[test]
    fn separate_groups_keep_mean_zero_each() {
        // {0, 1} and {2, 3} never meet: each group's ratings have mean 0.
        let (a, b) = (vec![0, 1, 2, 3], vec![1, 0, 3, 2]);
        let (win, tie, w) = (vec![1.0; 4], vec![0.0; 4], vec![3.0, 1.0, 1.0, 2.0]);
        let f = fit(
            &Rows::plain(&a, &b, &win, &tie, &w, 4),
            &Model::default(),
            None,
        )
        .unwrap();
        assert!((f.ratings[0] - f.ratings[1] - 3f64.ln()).abs() < 1e-10);
        assert!((f.ratings[0] + f.ratings[1]).abs() < 1e-12);
        assert!((f.ratings[3] - f.ratings[2] - 2f64.ln()).abs() < 1e-10);
        assert!((f.ratings[2] + f.ratings[3]).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_an_error() {
        let w = [1.0];
        let same = Rows::plain(&[0], &[0], &[1.0], &[0.0], &w, 2);
        assert!(fit(&same, &Model::default(), None).is_err());
        let shares = Rows::plain(&[0], &[1], &[0.8], &[0.5], &w, 2);
        assert!(fit(&shares, &Model::default(), None).is_err());
        let unbeaten = Rows::plain(&[0], &[1], &[1.0], &[0.0], &w, 2);
        let r = fit(&unbeaten, &Model::default(), None);
        assert!(r.is_err(), "{r:?}");
        let ridge = Model {
            ridge_ratings: 1.0,
            ..Model::default()
        };
        assert!(fit(&unbeaten, &ridge, None).is_ok());
    }
}
