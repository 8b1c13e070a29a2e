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
use crate::keys::IdHashBuilder;
use crate::parallel;
use crate::random::Rng;
use crate::ratings::bradley_terry::{cholesky, cholesky_solve};

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
    /// Converged when no parameter moves by more than this in a Newton step (which
    /// is still taken: Newton's error after it is of the order of its square).
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
            tol: 1e-6,
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

/// `ln(1 + x)` for `x` in `[0, 1]` to about an ulp, from `ln` (Goldberg's
/// compensation: the rounding of `1 + x` cancels in the quotient); the library's
/// `ln_1p` costs twice as much and this runs once per battle per pass.
#[inline]
fn ln_1p(x: f64) -> f64 {
    let u = 1.0 + x;
    if u == 1.0 {
        x
    } else {
        u.ln() * (x / (u - 1.0))
    }
}

#[inline]
fn terms(d: f64, log_tie: f64, win: f64, tie: f64, ties: Ties, with_loss: bool) -> Terms {
    match ties {
        Ties::Half => {
            let y = win + 0.5 * tie;
            // σ(d) and softplus(d) from one exponential.
            let e = (-d.abs()).exp();
            let p = if d >= 0.0 {
                1.0 / (1.0 + e)
            } else {
                e / (1.0 + e)
            };
            Terms {
                loss: if with_loss {
                    d.max(0.0) + ln_1p(e) - y * d
                } else {
                    0.0
                },
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

/// The logit of battle `k`; `f` is the covariate count (a constant where the caller
/// is specialised for one, so the loops unroll).
#[inline(always)]
fn logit(rows: &Rows, k: usize, params: &[f64], layout: &Layout, unit: f64, f: usize) -> f64 {
    let (a, b) = (rows.a[k] as usize, rows.b[k] as usize);
    let mut d = unit * (params[a] - params[b]);
    let x = &rows.features[k * f..(k + 1) * f];
    let beta = &params[layout.n..layout.n + f];
    for (xj, bj) in x.iter().zip(beta) {
        d += xj * bj;
    }
    d
}

/// Each battle's pair of models as a slot (pairs numbered in order of first
/// appearance, lower code first) and the sign of its logit in the slot's orientation.
#[derive(Default)]
struct Slots {
    slot: Vec<u32>,
    sign: Vec<i8>,
    pairs: Vec<(u32, u32)>,
}

impl Slots {
    fn of(rows: &Rows) -> Self {
        if let Some(sorted) = Self::of_sorted(rows) {
            return sorted;
        }
        let mut index: HashMap<(u32, u32), u32, IdHashBuilder> = HashMap::default();
        let mut pairs = Vec::new();
        let mut slot = Vec::with_capacity(rows.len());
        let mut sign = Vec::with_capacity(rows.len());
        for k in 0..rows.len() {
            let (a, b) = (rows.a[k], rows.b[k]);
            let key = (a.min(b), a.max(b));
            let s = *index.entry(key).or_insert_with(|| {
                pairs.push(key);
                (pairs.len() - 1) as u32
            });
            slot.push(s);
            sign.push(if a > b { -1 } else { 1 });
        }
        Slots { slot, sign, pairs }
    }

    /// Rows grouped by pair in increasing order, lower code first (battles counted
    /// into cells): slots by runs, without hashing. None for any other order.
    fn of_sorted(rows: &Rows) -> Option<Self> {
        // Battles in their own order fail at once: no slot table is allocated for them.
        if rows.len() > 0 && rows.a[0] >= rows.b[0] {
            return None;
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut slot = Vec::with_capacity(rows.len());
        for k in 0..rows.len() {
            let pair = (rows.a[k], rows.b[k]);
            if pair.0 >= pair.1 {
                return None;
            }
            match pairs.last() {
                Some(last) if *last == pair => {}
                Some(last) if *last > pair => return None,
                _ => pairs.push(pair),
            }
            slot.push((pairs.len() - 1) as u32);
        }
        Some(Slots {
            slot,
            sign: vec![1; rows.len()],
            pairs,
        })
    }
}

/// Sums of `s · J Jᵀ`-shaped terms over battles (`J = u σ (e_lo − e_hi) + x`, plus
/// `e_δ` terms under Davidson), kept per pair slot while battles stream by and
/// scattered into the dense `p × p` matrix once: a battle then touches a few
/// accumulators instead of `(2 + f)²` matrix entries.
struct Curvature {
    pair: Vec<f64>,
    pair_x: Vec<f64>,
    pair_tie: Vec<f64>,
    xx: Vec<f64>,
    x_tie: Vec<f64>,
    tie_tie: f64,
}

impl Curvature {
    fn new(pairs: usize, f: usize) -> Self {
        Curvature {
            pair: vec![0.0; pairs],
            pair_x: vec![0.0; pairs * f],
            pair_tie: vec![0.0; pairs],
            xx: vec![0.0; f * f],
            x_tie: vec![0.0; f],
            tie_tie: 0.0,
        }
    }

    /// One battle in slot `s` with sign `sign`: `[s_dd, s_dδ, s_δδ]` scale the blocks.
    /// (`x` has `f` covariates, `f` as in [`logit`].)
    #[inline(always)]
    fn add(&mut self, s: usize, sign: f64, x: &[f64], t: [f64; 3], f: usize) {
        let [dd, cross, tt] = t;
        self.pair[s] += dd;
        let px = &mut self.pair_x[s * f..(s + 1) * f];
        for (acc, xi) in px.iter_mut().zip(x) {
            *acc += dd * sign * xi;
        }
        // The upper triangle only: `dense` mirrors it.
        for i in 0..f {
            let ddx = dd * x[i];
            let row = &mut self.xx[i * f + i..(i + 1) * f];
            for (acc, xj) in row.iter_mut().zip(&x[i..f]) {
                *acc += ddx * xj;
            }
        }
        if cross != 0.0 || tt != 0.0 {
            self.pair_tie[s] += cross * sign;
            for (acc, xi) in self.x_tie.iter_mut().zip(x) {
                *acc += cross * xi;
            }
            self.tie_tie += tt;
        }
    }

    /// Adds another chunk's sums, whose pair slots start at `at`.
    fn merge(&mut self, other: &Curvature, at: usize, f: usize) {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.pair[at..], &other.pair);
        add(&mut self.pair_x[at * f..], &other.pair_x);
        add(&mut self.pair_tie[at..], &other.pair_tie);
        add(&mut self.xx, &other.xx);
        add(&mut self.x_tie, &other.x_tie);
        self.tie_tie += other.tie_tie;
    }

    /// The dense matrix, `p × p` row-major.
    fn dense(&self, pairs: &[(u32, u32)], layout: &Layout, unit: f64) -> Vec<f64> {
        let (n, f, p) = (layout.n, layout.f, layout.len());
        let mut h = vec![0.0; p * p];
        for (s, &(lo, hi)) in pairs.iter().enumerate() {
            let (lo, hi) = (lo as usize, hi as usize);
            let v = unit * unit * self.pair[s];
            h[lo * p + lo] += v;
            h[hi * p + hi] += v;
            h[lo * p + hi] -= v;
            h[hi * p + lo] -= v;
            for j in 0..f {
                let c = unit * self.pair_x[s * f + j];
                h[lo * p + n + j] += c;
                h[(n + j) * p + lo] += c;
                h[hi * p + n + j] -= c;
                h[(n + j) * p + hi] -= c;
            }
            if layout.davidson {
                let c = unit * self.pair_tie[s];
                let t = p - 1;
                h[lo * p + t] += c;
                h[t * p + lo] += c;
                h[hi * p + t] -= c;
                h[t * p + hi] -= c;
            }
        }
        for i in 0..f {
            for j in i..f {
                h[(n + i) * p + n + j] += self.xx[i * f + j];
                if j != i {
                    h[(n + j) * p + n + i] += self.xx[i * f + j];
                }
            }
        }
        if layout.davidson {
            let t = p - 1;
            for j in 0..f {
                h[(n + j) * p + t] += self.x_tie[j];
                h[t * p + n + j] += self.x_tie[j];
            }
            h[t * p + t] += self.tie_tie;
        }
        h
    }
}

/// What a pass computes besides the gradient.
#[derive(Clone, Copy)]
struct Want {
    value: bool,
    hessian: bool,
}

/// One chunk's sums for [`evaluate`]: the value, per-slot gradient, the
/// coefficients' and `δ`'s gradient, and the curvature.
struct Partial {
    value: f64,
    /// The first pair slot the chunk's battles touch: per-slot sums start there
    /// (battles come ordered by slot, so a chunk spans few).
    first_slot: usize,
    pair_grad: Vec<f64>,
    grad_rest: Vec<f64>,
    curv: Curvature,
}

/// The sums of battles `range`; `f` equals `layout.f` (see [`logit`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn evaluate_range(
    rows: &Rows,
    slots: &Slots,
    params: &[f64],
    model: &Model,
    layout: &Layout,
    want: Want,
    range: std::ops::Range<usize>,
    f: usize,
) -> Partial {
    let p = layout.len();
    let log_tie = if layout.davidson { params[p - 1] } else { 0.0 };
    let touched = &slots.slot[range.clone()];
    let first = touched.iter().min().map_or(0, |&s| s as usize);
    let span = touched.iter().max().map_or(0, |&s| s as usize + 1 - first);
    let mut out = Partial {
        value: 0.0,
        first_slot: first,
        pair_grad: vec![0.0; span],
        grad_rest: vec![0.0; p - layout.n],
        curv: Curvature::new(if want.hessian { span } else { 0 }, f),
    };
    let scale = 1.0 / model.divisor;
    // Sums that every battle adds to are kept in locals while battles stream by: the
    // pair slot's (battles come ordered by slot, so a slot's battles are one run) and
    // the covariates', on the stack for up to `STACK_F` covariates (registers, where
    // `f` is a constant), flushed into `out` when the slot changes and at the end.
    let (mut stack_x, mut stack_px, mut stack_xx) =
        ([0.0; STACK_F], [0.0; STACK_F], [0.0; STACK_F * STACK_F]);
    let (mut heap_x, mut heap_px, mut heap_xx);
    let (grad_x, pair_x, xx): (&mut [f64], &mut [f64], &mut [f64]) = if f <= STACK_F {
        (
            &mut stack_x[..f],
            &mut stack_px[..f],
            &mut stack_xx[..f * f],
        )
    } else {
        (heap_x, heap_px, heap_xx) = (vec![0.0; f], vec![0.0; f], vec![0.0; f * f]);
        (&mut heap_x, &mut heap_px, &mut heap_xx)
    };
    let (mut run, mut pair_grad, mut pair_curv) = (usize::MAX, 0.0, 0.0);
    let flush = |out: &mut Partial, run: usize, grad: f64, curv: f64, px: &mut [f64]| {
        if run == usize::MAX {
            return;
        }
        out.pair_grad[run] += grad;
        if want.hessian {
            out.curv.pair[run] += curv;
            for (acc, v) in out.curv.pair_x[run * f..(run + 1) * f]
                .iter_mut()
                .zip(px.iter_mut())
            {
                *acc += *v;
                *v = 0.0;
            }
        }
    };
    for k in range {
        let w = rows.weight[k] * scale;
        if w == 0.0 {
            continue;
        }
        let (s, sign) = (slots.slot[k] as usize, f64::from(slots.sign[k]));
        // The two models from the pair slot (battles come ordered by slot, so this
        // stays in cache) rather than from two more columns streamed per battle.
        let (lo, hi) = slots.pairs[s];
        let x = &rows.features[k * f..(k + 1) * f];
        let mut d = model.unit * sign * (params[lo as usize] - params[hi as usize]);
        for (xj, bj) in x.iter().zip(&params[layout.n..layout.n + f]) {
            d += xj * bj;
        }
        let t = terms(d, log_tie, rows.win[k], rows.tie[k], model.ties, want.value);
        out.value += w * t.loss;
        let s = s - first;
        if s != run {
            flush(&mut out, run, pair_grad, pair_curv, pair_x);
            (run, pair_grad, pair_curv) = (s, 0.0, 0.0);
        }
        pair_grad += w * t.dd * sign;
        for (g, xj) in grad_x.iter_mut().zip(x) {
            *g += w * t.dd * xj;
        }
        if layout.davidson {
            out.grad_rest[f] += w * t.dt;
        }
        if want.hessian {
            let dd = w * t.dd2;
            pair_curv += dd;
            for (acc, xi) in pair_x.iter_mut().zip(x) {
                *acc += dd * sign * xi;
            }
            // The upper triangle only: `Curvature::dense` mirrors it.
            for i in 0..f {
                let ddx = dd * x[i];
                for (acc, xj) in xx[i * f + i..(i + 1) * f].iter_mut().zip(&x[i..f]) {
                    *acc += ddx * xj;
                }
            }
            let (cross, tt) = (w * t.cross, w * t.dt2);
            if cross != 0.0 || tt != 0.0 {
                out.curv.pair_tie[s] += cross * sign;
                for (acc, xi) in out.curv.x_tie.iter_mut().zip(x) {
                    *acc += cross * xi;
                }
                out.curv.tie_tie += tt;
            }
        }
    }
    flush(&mut out, run, pair_grad, pair_curv, pair_x);
    for (acc, g) in out.grad_rest[..f].iter_mut().zip(grad_x.iter()) {
        *acc += g;
    }
    if want.hessian {
        for (acc, v) in out.curv.xx.iter_mut().zip(xx.iter()) {
            *acc += v;
        }
    }
    out
}

/// Covariates whose running sums [`evaluate_range`] keeps on the stack.
const STACK_F: usize = 8;

/// [`evaluate_range`] compiled for the common covariate counts (style control uses 4;
/// 0 for plain ratings), generic beyond.
fn specialised(
    rows: &Rows,
    slots: &Slots,
    params: &[f64],
    model: &Model,
    layout: &Layout,
    want: Want,
    range: std::ops::Range<usize>,
) -> Partial {
    let go = |f: usize| evaluate_range(rows, slots, params, model, layout, want, range.clone(), f);
    match layout.f {
        0 => go(0),
        1 => go(1),
        2 => go(2),
        3 => go(3),
        4 => go(4),
        5 => go(5),
        6 => go(6),
        8 => go(8),
        f => go(f),
    }
}

/// Battles per chunk when a pass is split across threads: fixed, so the sums (added
/// in chunk order) do not depend on the thread count.
const CHUNK: usize = 1 << 18;

fn evaluate(
    rows: &Rows,
    slots: &Slots,
    params: &[f64],
    model: &Model,
    layout: &Layout,
    want: Want,
) -> Evaluation {
    use rayon::prelude::*;

    let (n, f, p) = (layout.n, layout.f, layout.len());
    let m = rows.len();
    let chunks = m.div_ceil(CHUNK).max(1);
    let parts: Vec<Partial> = parallel::install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let range = c * CHUNK..((c + 1) * CHUNK).min(m);
                specialised(rows, slots, params, model, layout, want, range)
            })
            .collect()
    });
    let pairs = slots.pairs.len();
    let mut total = Partial {
        value: 0.0,
        first_slot: 0,
        pair_grad: vec![0.0; pairs],
        grad_rest: vec![0.0; p - n],
        curv: Curvature::new(if want.hessian { pairs } else { 0 }, f),
    };
    for part in parts {
        total.value += part.value;
        let at = part.first_slot;
        total.pair_grad[at..at + part.pair_grad.len()]
            .iter_mut()
            .zip(&part.pair_grad)
            .for_each(|(a, b)| *a += b);
        total
            .grad_rest
            .iter_mut()
            .zip(&part.grad_rest)
            .for_each(|(a, b)| *a += b);
        if want.hessian {
            total.curv.merge(&part.curv, at, f);
        }
    }
    let mut value = total.value;
    let mut grad = vec![0.0; p];
    grad[n..].copy_from_slice(&total.grad_rest);
    for (s, &(lo, hi)) in slots.pairs.iter().enumerate() {
        grad[lo as usize] += model.unit * total.pair_grad[s];
        grad[hi as usize] -= model.unit * total.pair_grad[s];
    }
    let hessian = want.hessian;
    let mut hess = if hessian {
        total.curv.dense(&slots.pairs, layout, model.unit)
    } else {
        Vec::new()
    };
    let ridge = |i: usize| {
        if i < n {
            model.ridge_ratings
        } else if i < n + f {
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
    fn of(rows: &Rows, slots: &Slots) -> Self {
        let n = rows.n_models;
        let mut used = vec![false; slots.pairs.len()];
        for k in 0..rows.len() {
            if rows.weight[k] > 0.0 {
                used[slots.slot[k] as usize] = true;
            }
        }
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (s, &(a, b)) in slots.pairs.iter().enumerate() {
            if used[s] {
                let (x, y) = (root(&mut parent, a as usize), root(&mut parent, b as usize));
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
    fn pin(&self, hess: &mut [f64], p: usize) {
        let n = self.label.len();
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

/// Newton steps below this size (in the parameters) keep the last Hessian for the next.
const KEEP_HESSIAN_BELOW: f64 = 1e-3;

/// Newton's method with backtracking from `start` (zeros when None).
fn newton(rows: &Rows, slots: &Slots, model: &Model, start: Option<&Fit>) -> Result<Fit> {
    let layout = Layout::new(rows, model);
    let (n, p) = (layout.n, layout.len());
    let mut params = match start {
        Some(fit) => layout.join(fit),
        None => vec![0.0; p],
    };
    // Without a ridge on the ratings, each group's shift is free: the group starts at
    // mean 0 and keeps it. With one, the optimum is unique and nothing is pinned.
    let groups = (model.ridge_ratings == 0.0).then(|| Groups::of(rows, slots));
    if let Some(groups) = &groups {
        groups.centre(&mut params[..n]);
    }
    // Full Newton steps while the Newton decrement (gᵀH⁻¹g) falls, which needs no
    // objective value (a logarithm per battle); where it does not fall, back to the
    // last point and halve the step until the objective falls.
    let curvature = Want {
        value: false,
        hessian: true,
    };
    let mut now = evaluate(rows, slots, &params, model, &layout, curvature);
    let mut last: Option<(Vec<f64>, Vec<f64>, f64)> = None;
    // The last Hessian (pinned) and its Cholesky factor, for a pass that does not
    // compute one.
    let mut kept: Vec<f64> = Vec::new();
    let mut factor: Option<Vec<f64>> = None;
    for iteration in 1..=model.max_iter {
        if let Some(groups) = &groups {
            groups.centre(&mut now.grad[..n]);
        }
        if now.hess.is_empty() {
            // The kept Hessian: its factor too.
            now.hess = std::mem::take(&mut kept);
        } else {
            if let Some(groups) = &groups {
                groups.pin(&mut now.hess, p);
            }
            factor = cholesky(&now.hess, p);
        }
        let step = factor
            .as_deref()
            .map(|l| cholesky_solve(l, &now.grad))
            .ok_or_else(|| {
                Error::argument(
                    "the battles do not determine the ratings (a model is not connected to \
                     the rest, or a covariate is constant or collinear with the ratings)",
                )
            })?;
        let decrement: f64 = now.grad.iter().zip(&step).map(|(g, s)| g * s).sum();
        if let Some((before, last_step, last_decrement)) = last.take() {
            // NaN counts as no progress.
            let progress = decrement < last_decrement;
            if !progress {
                (params, now) = backtrack(rows, slots, model, &layout, before, &last_step);
                continue;
            }
        }
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
        let next: Vec<f64> = params.iter().zip(&step).map(|(x, s)| x - s).collect();
        // After a step this small the next one is of the order of its square, and the
        // Hessian has moved by about as little: the pass keeps the last one (a
        // Hessian costs a third of a pass).
        let fresh = Want {
            value: false,
            hessian: size >= KEEP_HESSIAN_BELOW,
        };
        kept = std::mem::take(&mut now.hess);
        now = evaluate(rows, slots, &next, model, &layout, fresh);
        last = Some((std::mem::replace(&mut params, next), step, decrement));
    }
    Err(Error::argument(format!(
        "the ratings did not converge in {} Newton iterations or grew without bound (a \
         model that wins or loses every battle has no finite rating without a ridge \
         penalty)",
        model.max_iter
    )))
}

/// From `start`, steps of `−t · step` with `t` = ½, ¼, … until the objective is below
/// its value at `start`; the point reached and its gradient and Hessian.
fn backtrack(
    rows: &Rows,
    slots: &Slots,
    model: &Model,
    layout: &Layout,
    start: Vec<f64>,
    step: &[f64],
) -> (Vec<f64>, Evaluation) {
    let all = Want {
        value: true,
        hessian: true,
    };
    let base = evaluate(rows, slots, &start, model, layout, all);
    let mut t = 0.5;
    loop {
        let next: Vec<f64> = start.iter().zip(step).map(|(x, s)| x - t * s).collect();
        let trial = evaluate(rows, slots, &next, model, layout, all);
        // A step that does not raise the objective beyond its rounding, or none.
        if trial.value <= base.value + 1e-13 * base.value.abs() {
            return (next, trial);
        }
        if t < 1e-10 {
            return (start, base);
        }
        t *= 0.5;
    }
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

/// Battles summed into their pair slots, each weighted by `weight × multiplier`.
fn sum_pairs(rows: &Rows, slots: &Slots, multiplier: impl Fn(usize) -> f64) -> Summed {
    let mut sums = PairSums::new(slots.pairs.len());
    for k in 0..rows.len() {
        let w = rows.weight[k] * multiplier(k);
        let win = oriented_win(rows, k, f64::from(slots.sign[k]));
        sums.add(slots.slot[k] as usize, w, win, rows.tie[k]);
    }
    sums.finish(&slots.pairs)
}

/// The share `lo` won of battle `k` (its sides in the slot's order).
fn oriented_win(rows: &Rows, k: usize, sign: f64) -> f64 {
    if sign < 0.0 {
        1.0 - rows.win[k] - rows.tie[k]
    } else {
        rows.win[k]
    }
}

/// Weighted win and tie shares per pair slot, as they accumulate.
struct PairSums {
    win: Vec<f64>,
    tie: Vec<f64>,
    weight: Vec<f64>,
}

impl PairSums {
    fn new(pairs: usize) -> Self {
        PairSums {
            win: vec![0.0; pairs],
            tie: vec![0.0; pairs],
            weight: vec![0.0; pairs],
        }
    }

    #[inline]
    fn add(&mut self, s: usize, w: f64, win: f64, tie: f64) {
        if w != 0.0 {
            self.win[s] += w * win;
            self.tie[s] += w * tie;
            self.weight[s] += w;
        }
    }

    fn finish(mut self, pairs: &[(u32, u32)]) -> Summed {
        for s in 0..pairs.len() {
            if self.weight[s] > 0.0 {
                self.win[s] /= self.weight[s];
                self.tie[s] /= self.weight[s];
            }
        }
        Summed {
            a: pairs.iter().map(|p| p.0).collect(),
            b: pairs.iter().map(|p| p.1).collect(),
            win: self.win,
            tie: self.tie,
            weight: self.weight,
        }
    }
}

/// Newton on the pair sums of covariate-free battles (one row per pair, lower code
/// first, so each row is its own slot).
fn newton_on_pairs(
    summed: &Summed,
    n_models: usize,
    model: &Model,
    start: Option<&Fit>,
) -> Result<Fit> {
    let rows = summed.rows(n_models);
    let slots = Slots {
        slot: (0..rows.len() as u32).collect(),
        sign: vec![1; rows.len()],
        pairs: summed
            .a
            .iter()
            .zip(&summed.b)
            .map(|(a, b)| (*a, *b))
            .collect(),
    };
    newton(&rows, &slots, model, start)
}

/// The penalised maximum-likelihood fit (Newton from `start`, or from zeros).
pub fn fit(rows: &Rows, model: &Model, start: Option<&Fit>) -> Result<Fit> {
    model.check()?;
    rows.check()?;
    let slots = Slots::of(rows);
    if rows.n_features == 0 {
        return newton_on_pairs(
            &sum_pairs(rows, &slots, |_| 1.0),
            rows.n_models,
            model,
            start,
        );
    }
    let sorted = ByPair::of(rows, &slots);
    newton(&sorted.rows(rows), &sorted.battles.slots, model, start)
}

/// Battles with covariates reordered by pair slot: a pass then adds into the same
/// pair's sums battle after battle instead of all over a table of every pair.
struct ByPair {
    /// Original position of each reordered battle.
    order: Vec<u32>,
    battles: Battles,
}

/// Battle columns owned (a reordering or a resample's copy) with their pair slots.
#[derive(Default)]
struct Battles {
    a: Vec<u32>,
    b: Vec<u32>,
    win: Vec<f64>,
    tie: Vec<f64>,
    weight: Vec<f64>,
    features: Vec<f64>,
    slots: Slots,
}

impl Battles {
    /// The first `len` battles (the models and covariate count of `like`).
    fn rows<'a>(&'a self, like: &Rows, len: usize) -> Rows<'a> {
        Rows {
            a: &self.a[..len],
            b: &self.b[..len],
            win: &self.win[..len],
            tie: &self.tie[..len],
            weight: &self.weight[..len],
            features: &self.features[..len * like.n_features],
            n_features: like.n_features,
            n_models: like.n_models,
        }
    }
}

impl ByPair {
    fn of(rows: &Rows, slots: &Slots) -> Self {
        // A counting sort by slot, stable.
        let mut start = vec![0usize; slots.pairs.len() + 1];
        for &s in &slots.slot {
            start[s as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut order = vec![0u32; rows.len()];
        for (k, &s) in slots.slot.iter().enumerate() {
            order[start[s as usize]] = k as u32;
            start[s as usize] += 1;
        }
        let f = rows.n_features;
        let take = |v: &[f64]| order.iter().map(|&k| v[k as usize]).collect::<Vec<f64>>();
        let mut features = Vec::with_capacity(rows.features.len());
        for &k in &order {
            let k = k as usize;
            features.extend_from_slice(&rows.features[k * f..(k + 1) * f]);
        }
        let battles = Battles {
            a: order.iter().map(|&k| rows.a[k as usize]).collect(),
            b: order.iter().map(|&k| rows.b[k as usize]).collect(),
            win: take(rows.win),
            tie: take(rows.tie),
            weight: take(rows.weight),
            features,
            slots: Slots {
                slot: order.iter().map(|&k| slots.slot[k as usize]).collect(),
                sign: order.iter().map(|&k| slots.sign[k as usize]).collect(),
                pairs: slots.pairs.clone(),
            },
        };
        ByPair { order, battles }
    }

    /// The reordered battles (the models and covariate count of `like`).
    fn rows<'a>(&'a self, like: &Rows) -> Rows<'a> {
        self.battles.rows(like, self.order.len())
    }
}

/// The data part of the objective's curvature at `fit`, summed over battles (no
/// divisor, no ridge): the Hessian `Σ w ℓ''` and the score products `Σ (w ℓ')²`, each
/// `p × p` row-major, for sandwich (robust) variances. `counts`: how many identical
/// battles each row stands for (its weight is theirs summed), so that the score
/// products still count each battle's own score.
pub fn curvature(
    rows: &Rows,
    model: &Model,
    fit: &Fit,
    counts: Option<&[f64]>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    model.check()?;
    rows.check()?;
    if let Some(c) = counts {
        if c.len() != rows.len() || c.iter().any(|&c| c.is_nan() || c < 1.0) {
            return Err(Error::bad_argument(
                "counts",
                "counts must hold one number >= 1 per row",
            ));
        }
    }
    let layout = Layout::new(rows, model);
    let params = layout.join(fit);
    if params.len() != layout.len() {
        return Err(Error::argument(
            "the fit does not match the battles' models",
        ));
    }
    let (f, p) = (layout.f, layout.len());
    let slots = Slots::of(rows);
    let log_tie = if layout.davidson { params[p - 1] } else { 0.0 };
    let mut h = Curvature::new(slots.pairs.len(), f);
    let mut g = Curvature::new(slots.pairs.len(), f);
    for k in 0..rows.len() {
        let w = rows.weight[k];
        if w == 0.0 {
            continue;
        }
        let d = logit(rows, k, &params, &layout, model.unit, f);
        let t = terms(d, log_tie, rows.win[k], rows.tie[k], model.ties, false);
        let (s, sign) = (slots.slot[k] as usize, f64::from(slots.sign[k]));
        let x = &rows.features[k * f..(k + 1) * f];
        h.add(s, sign, x, [w * t.dd2, w * t.cross, w * t.dt2], f);
        // The score is w·(ℓ_d J + ℓ_δ e_δ): its outer product has the same pattern.
        let (sd, st) = (w * t.dd, w * t.dt);
        let per_battle = counts.map_or(1.0, |c| 1.0 / c[k]);
        g.add(
            s,
            sign,
            x,
            [sd * sd, sd * st, st * st].map(|v| v * per_battle),
            f,
        );
    }
    Ok((
        h.dense(&slots.pairs, &layout, model.unit),
        g.dense(&slots.pairs, &layout, model.unit),
    ))
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

    /// Round `r`'s resample: `add(battle, multiplier)` for each battle drawn (a battle
    /// drawn twice is added twice) or weighed.
    fn draw(&self, r: usize, m: usize, mut add: impl FnMut(usize, f64)) {
        match self {
            Resampling::Seeded { seed, .. } => {
                let mut rng = Rng::for_stream(*seed, r as u64);
                for _ in 0..m {
                    add(rng.below(m as u64) as usize, 1.0);
                }
            }
            Resampling::Indices { rows, .. } => {
                for &k in &rows[r * m..(r + 1) * m] {
                    add(k as usize, 1.0);
                }
            }
            Resampling::Weights { weights, .. } => {
                for (k, &w) in weights[r * m..(r + 1) * m].iter().enumerate() {
                    add(k, w);
                }
            }
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

/// Battles per block of a seeded row resample (see [`seeded_blocks`]).
const DRAW_BLOCK: usize = 4096;

/// Round `r` of a seeded row resample of `m` battles, block by block: how many of the
/// `m` draws land in each block is Multinomial(m, block sizes / m), and each block's
/// draws then land within it, so the counts being made stay in cache (the same
/// distribution as `m` uniform draws). `block(start, draws)` gets each block's first
/// battle and its draws as offsets into the block, in the order the stream makes them.
fn seeded_blocks(
    seed: u64,
    r: usize,
    m: usize,
    mut block: impl FnMut(usize, &mut dyn Iterator<Item = usize>),
) {
    let mut rng = Rng::for_stream(seed, r as u64);
    let sizes: Vec<u64> = (0..m.div_ceil(DRAW_BLOCK))
        .map(|b| (DRAW_BLOCK.min(m - b * DRAW_BLOCK)) as u64)
        .collect();
    let per_block = rng.multinomial(&sizes, m as u64);
    for (b, (&draws, &size)) in per_block.iter().zip(&sizes).enumerate() {
        let mut offsets = (0..draws).map(|_| rng.below(size) as usize);
        block(b * DRAW_BLOCK, &mut offsets);
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
    let slots = Slots::of(rows);
    let classes = (rows.n_features == 0).then(|| Classes::of(rows, &slots));
    let sorted = (rows.n_features > 0).then(|| ByPair::of(rows, &slots));
    let penalised = Model {
        ridge_ratings: model.fallback_ridge,
        ..*model
    };
    let can_fall_back = model.ridge_ratings == 0.0 && model.fallback_ridge > 0.0;
    let one = |r: usize| -> Result<Fit> {
        let refit = |m: &Model| match &classes {
            Some(classes) => newton_on_pairs(
                &classes.resampled(resampling, r, rows.len(), &slots),
                rows.n_models,
                m,
                Some(point),
            ),
            None => {
                let sorted = sorted
                    .as_ref()
                    .expect("battles with covariates are reordered");
                SCRATCH.with_borrow_mut(|scratch| {
                    let like = sorted.rows(rows);
                    let drawn = match resampling {
                        Resampling::Seeded { seed, .. } => {
                            scratch.seeded_battles(&like, &sorted.battles.slots, *seed, r)
                        }
                        _ => {
                            resampled_weights(&like, &sorted.order, resampling, r, scratch);
                            scratch.drawn_battles(&like, &sorted.battles.slots)
                        }
                    };
                    let battles = drawn.battles.rows(&like, drawn.len);
                    newton(&battles, &drawn.battles.slots, m, Some(point))
                })
            }
        };
        let fitted = match refit(model) {
            Err(_) if can_fall_back => refit(&penalised).map(|f| Fit {
                fallback: true,
                ..f
            }),
            other => other,
        };
        fitted.map_err(|e| Error::argument(format!("bootstrap round {r}: {e}")))
    };
    parallel::rounds(resampling.rounds(), "bootstrap", one)
}

/// A worker's buffers for resampled weights, kept from round to round: a fresh
/// allocation of this size per round comes back from the system as zeroed pages,
/// which cost as much as a pass over the battles.
#[derive(Default)]
struct Scratch {
    drawn: Vec<f64>,
    weight: Vec<f64>,
    kept: Kept,
}

/// The battles a resample drew (weight above 0), copied out in order: about a third
/// of a row resample's battles are not drawn, and every Newton pass would read them
/// and branch on them at random. The buffers keep their length from round to round;
/// the drawn battles are the first `len`.
#[derive(Default)]
struct Kept {
    battles: Battles,
    len: usize,
}

impl Kept {
    /// Room for `m` battles of `f` covariates; the buffers keep their length from round
    /// to round (the rows end at `len`).
    fn reserve(&mut self, m: usize, f: usize, pairs: &[(u32, u32)]) {
        let b = &mut self.battles;
        b.a.resize(m, 0);
        b.b.resize(m, 0);
        b.win.resize(m, 0.0);
        b.tie.resize(m, 0.0);
        b.weight.resize(m, 0.0);
        b.features.resize(m * f, 0.0);
        b.slots.slot.resize(m, 0);
        b.slots.sign.resize(m, 0);
        if b.slots.pairs != pairs {
            b.slots.pairs = pairs.to_vec();
        }
    }

    /// Battle `k` of `rows` with weight `w` copied to place `j`; the next free place.
    /// Every battle is copied and only a drawn one advances the place: no branch on
    /// which battles a resample drew.
    #[inline(always)]
    fn put(&mut self, j: usize, rows: &Rows, slots: &Slots, k: usize, w: f64) -> usize {
        let (f, b) = (rows.n_features, &mut self.battles);
        b.a[j] = rows.a[k];
        b.b[j] = rows.b[k];
        b.win[j] = rows.win[k];
        b.tie[j] = rows.tie[k];
        b.weight[j] = w;
        b.features[j * f..(j + 1) * f].copy_from_slice(&rows.features[k * f..(k + 1) * f]);
        b.slots.slot[j] = slots.slot[k];
        b.slots.sign[j] = slots.sign[k];
        j + usize::from(w > 0.0)
    }
}

impl Scratch {
    /// `rows` with `self.weight` as weights, less the battles of weight 0.
    fn drawn_battles(&mut self, rows: &Rows, slots: &Slots) -> &Kept {
        let kept = &mut self.kept;
        kept.reserve(rows.len(), rows.n_features, &slots.pairs);
        let mut j = 0;
        for (k, &w) in self.weight.iter().enumerate() {
            j = kept.put(j, rows, slots, k, w);
        }
        kept.len = j;
        kept
    }

    /// Round `r` of a seeded row resample, drawn block by block and copied out as each
    /// block's counts are made (they stay in cache): the battles drawn, weighted by the
    /// times drawn.
    fn seeded_battles(&mut self, rows: &Rows, slots: &Slots, seed: u64, r: usize) -> &Kept {
        let m = rows.len();
        let kept = &mut self.kept;
        kept.reserve(m, rows.n_features, &slots.pairs);
        let mut count = [0u32; DRAW_BLOCK];
        let mut j = 0;
        seeded_blocks(seed, r, m, |start, draws| {
            let size = DRAW_BLOCK.min(m - start);
            count[..size].fill(0);
            draws.for_each(|i| count[i] += 1);
            for (i, &c) in count[..size].iter().enumerate() {
                let k = start + i;
                j = kept.put(j, rows, slots, k, f64::from(c) * rows.weight[k]);
            }
        });
        kept.len = j;
        kept
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Sets `scratch.weight` to each (reordered) battle's weight times the times round
/// `r` of given resamples drew it; `order` maps the reordered battles to the
/// positions they refer to. (Seeded rounds: [`Scratch::seeded_battles`].)
fn resampled_weights(
    rows: &Rows,
    order: &[u32],
    resampling: &Resampling,
    r: usize,
    scratch: &mut Scratch,
) {
    let m = rows.len();
    scratch.weight.clear();
    let drawn = &mut scratch.drawn;
    drawn.clear();
    drawn.resize(m, 0.0);
    resampling.draw(r, m, |k, c| drawn[k] += c);
    let weighted = order
        .iter()
        .zip(rows.weight)
        .map(|(&k, w)| drawn[k as usize] * w);
    scratch.weight.extend(weighted);
}

/// Covariate-free battles grouped into classes of identical battles (pair, outcome in
/// the pair's orientation, weight): a resample then only counts draws per class, a
/// table that stays in cache, before summing classes into pairs.
struct Classes {
    of_battle: Vec<u32>,
    size: Vec<u64>,
    slot: Vec<u32>,
    win: Vec<f64>,
    tie: Vec<f64>,
    weight: Vec<f64>,
}

impl Classes {
    fn of(rows: &Rows, slots: &Slots) -> Self {
        let mut index: HashMap<(u32, u64, u64, u64), u32, IdHashBuilder> = HashMap::default();
        let mut c = Classes {
            of_battle: Vec::with_capacity(rows.len()),
            size: Vec::new(),
            slot: Vec::new(),
            win: Vec::new(),
            tie: Vec::new(),
            weight: Vec::new(),
        };
        for k in 0..rows.len() {
            let win = oriented_win(rows, k, f64::from(slots.sign[k]));
            let (s, tie, w) = (slots.slot[k], rows.tie[k], rows.weight[k]);
            let key = (s, win.to_bits(), tie.to_bits(), w.to_bits());
            let id = *index.entry(key).or_insert_with(|| {
                c.slot.push(s);
                c.win.push(win);
                c.tie.push(tie);
                c.weight.push(w);
                c.size.push(0);
                (c.slot.len() - 1) as u32
            });
            c.size[id as usize] += 1;
            c.of_battle.push(id);
        }
        c
    }

    fn resampled(&self, resampling: &Resampling, r: usize, m: usize, slots: &Slots) -> Summed {
        let count: Vec<f64> = match resampling {
            // A row resample counts each class Multinomial(battles, class sizes / battles):
            // drawn class by class, not battle by battle.
            Resampling::Seeded { seed, .. } => Rng::for_stream(*seed, r as u64)
                .multinomial(&self.size, m as u64)
                .into_iter()
                .map(|c| c as f64)
                .collect(),
            _ => {
                let mut count = vec![0.0; self.slot.len()];
                resampling.draw(r, m, |k, c| count[self.of_battle[k] as usize] += c);
                count
            }
        };
        let mut sums = PairSums::new(slots.pairs.len());
        for (i, &c) in count.iter().enumerate() {
            sums.add(
                self.slot[i] as usize,
                c * self.weight[i],
                self.win[i],
                self.tie[i],
            );
        }
        sums.finish(&slots.pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_norm(rows: &Rows, model: &Model, fit: &Fit) -> f64 {
        let layout = Layout::new(rows, model);
        let e = evaluate(
            rows,
            &Slots::of(rows),
            &layout.join(fit),
            model,
            &layout,
            Want {
                value: false,
                hessian: false,
            },
        );
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
        let (h, g) = curvature(&rows, &Model::default(), &f, None).unwrap();
        assert!((h[0] - 0.75).abs() < 1e-12 && (h[1] + 0.75).abs() < 1e-12);
        // Scores: 3 × (1/4)² + 1 × (3/4)² = 3/4 at the MLE (the information equality).
        assert!((g[0] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn counted_cells_have_the_curvature_of_their_battles() {
        // Three wins and a loss of 0 over 1, two wins of 1 over 2, as battles and as
        // cells of identical battles (weights summed, counts given).
        let (a, b) = (vec![0, 0, 0, 0, 1, 1], vec![1, 1, 1, 1, 2, 2]);
        let win = vec![1.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let (tie, w) = (vec![0.0; 6], vec![0.5; 6]);
        let model = Model {
            ridge_ratings: 0.1,
            ..Model::default()
        };
        let rows = Rows::plain(&a, &b, &win, &tie, &w, 3);
        let f = fit(&rows, &model, None).unwrap();
        let (h, g) = curvature(&rows, &model, &f, None).unwrap();
        let (ca, cb, cwin) = (vec![0, 0, 1, 1], vec![1, 1, 2, 2], vec![1.0, 0.0, 1.0, 0.0]);
        let (ctie, counts) = (vec![0.0; 4], vec![3.0, 1.0, 1.0, 1.0]);
        let cw: Vec<f64> = counts.iter().map(|c| 0.5 * c).collect();
        let cells = Rows::plain(&ca, &cb, &cwin, &ctie, &cw, 3);
        let cf = fit(&cells, &model, None).unwrap();
        let (ch, cg) = curvature(&cells, &model, &cf, Some(&counts)).unwrap();
        for (x, y) in h.iter().chain(&g).zip(ch.iter().chain(&cg)) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        // Without the counts the score products would count each cell as one battle.
        let (_, wrong) = curvature(&cells, &model, &cf, None).unwrap();
        assert!((wrong[0] - g[0]).abs() > 1e-3);
        assert!(curvature(&cells, &model, &cf, Some(&[1.0, 0.0, 1.0, 1.0])).is_err());
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
