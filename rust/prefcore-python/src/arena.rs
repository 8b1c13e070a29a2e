//! Bindings of `prefcore_core::ratings::arena`, for `prefcore.ratings.arena`.

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use prefcore_core::ratings::arena::{self, Fit, Model, Resampling, Rows, Ties};
use prefcore_core::ratings::battle_codes::{code_battles, CodedBattles};
use prefcore_core::ratings::sandwich;
use prefcore_core::Error;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::errors::{compute, to_py};
use arrow_array::ArrayRef;
use prefcore_core::columns::decode_dictionary;

/// `h⁻¹ g h⁻¹` for a symmetric positive-definite `h` and a symmetric `g` (square
/// float64 matrices of one size); None when `h` is not positive definite.
#[pyfunction]
pub fn robust_covariance<'py>(
    py: Python<'py>,
    h: PyReadonlyArray2<'py, f64>,
    g: PyReadonlyArray2<'py, f64>,
) -> PyResult<Option<Py<PyAny>>> {
    let p = h.shape()[0];
    if h.shape() != [p, p] || g.shape() != [p, p] {
        return Err(to_py(Error::argument(
            "robust_covariance needs two square matrices of one size",
        )));
    }
    let (h, g) = (h.as_slice()?, g.as_slice()?);
    let cov = compute(py, || Ok(sandwich::robust_covariance(h, g, p)))?;
    cov.map(|c| matrix(py, c, p, p)).transpose()
}

/// Battles read from their string columns: `names` sorted; per battle (when asked)
/// `a`, `b` (uint32 codes into `names`) and `outcome` (uint8: 0 `b` won, 1 tie, 2 `a`
/// won); the battles counted per cell (`cell_a < cell_b`, `cell_outcome` from
/// `cell_a`'s side, `cell_count` float64); or `problem` at `problem_row`, the first
/// row of the most important problem: `"null winner"`, `"unknown winner"`,
/// `"self battle"`, `"null a"`, `"null b"`.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct BattleCodes {
    names: Vec<String>,
    a: Option<Py<PyAny>>,
    b: Option<Py<PyAny>>,
    outcome: Option<Py<PyAny>>,
    cell_a: Option<Py<PyAny>>,
    cell_b: Option<Py<PyAny>>,
    cell_outcome: Option<Py<PyAny>>,
    cell_count: Option<Py<PyAny>>,
    problem: Option<&'static str>,
    problem_row: Option<usize>,
}

/// A column's chunks as they are (dictionaries decoded): the reader takes them where
/// they lie and checks the text it keeps.
fn chunks(obj: AnyArray) -> PyResult<Vec<ArrayRef>> {
    let (chunks, field) = obj.into_chunked_array()?.into_inner();
    if chunks.is_empty() {
        return Ok(vec![arrow_array::new_empty_array(field.data_type())]);
    }
    chunks
        .into_iter()
        .map(|c| decode_dictionary(c).map_err(to_py))
        .collect()
}

fn numpy<T: numpy::Element>(py: Python<'_>, v: Vec<T>) -> Option<Py<PyAny>> {
    Some(PyArray1::from_vec(py, v).into_any().unbind())
}

#[pyfunction]
#[pyo3(signature = (a, b, winner, *, columns, rows))]
pub fn battle_codes(
    py: Python<'_>,
    a: AnyArray,
    b: AnyArray,
    winner: AnyArray,
    columns: (String, String, String),
    rows: bool,
) -> PyResult<BattleCodes> {
    let (a, b, winner) = (chunks(a)?, chunks(b)?, chunks(winner)?);
    let names = [columns.0.as_str(), columns.1.as_str(), columns.2.as_str()];
    let read = compute(py, || code_battles(&a, &b, &winner, names, rows))?;
    let CodedBattles {
        names,
        a,
        b,
        outcome,
        cells,
    } = match read {
        Ok(coded) => coded,
        Err((problem, row)) => {
            return Ok(BattleCodes {
                names: Vec::new(),
                a: None,
                b: None,
                outcome: None,
                cell_a: None,
                cell_b: None,
                cell_outcome: None,
                cell_count: None,
                problem: Some(problem.name()),
                problem_row: Some(row),
            })
        }
    };
    let per_battle = |v| if rows { v } else { None };
    Ok(BattleCodes {
        names,
        a: per_battle(numpy(py, a)),
        b: per_battle(numpy(py, b)),
        outcome: per_battle(numpy(py, outcome)),
        cell_a: numpy(py, cells.a),
        cell_b: numpy(py, cells.b),
        cell_outcome: numpy(py, cells.outcome),
        cell_count: numpy(py, cells.count.iter().map(|&c| c as f64).collect()),
        problem: None,
        problem_row: None,
    })
}

/// A fit, with (when asked) the curvature matrices and the bootstrap rounds: each
/// matrix a 2-D float64 array (`hessian`/`scores`: parameters × parameters, rows
/// ratings then coefficients then the log tie propensity; `boot_*`: one row per round).
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct ArenaFit {
    ratings: Vec<f64>,
    coefs: Vec<f64>,
    log_tie: f64,
    iterations: usize,
    hessian: Option<Py<PyAny>>,
    scores: Option<Py<PyAny>>,
    boot_ratings: Option<Py<PyAny>>,
    boot_coefs: Option<Py<PyAny>>,
    boot_log_tie: Option<Py<PyAny>>,
    /// Bootstrap rounds refitted with the fallback ridge.
    boot_fallbacks: usize,
}

fn matrix(py: Python<'_>, values: Vec<f64>, rows: usize, cols: usize) -> PyResult<Py<PyAny>> {
    Ok(PyArray1::from_vec(py, values)
        .reshape([rows, cols])?
        .into_any()
        .unbind())
}

#[pyfunction]
#[pyo3(signature = (
    a, b, win, tie, weight, features, n_models, *, unit, ridge_ratings, ridge_coefs, divisor,
    davidson, fallback_ridge, curvature, bootstrap, seed, resample_indices, resample_weights,
    counts=None
))]
#[allow(clippy::too_many_arguments)]
pub fn arena_fit<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, u32>,
    b: PyReadonlyArray1<'py, u32>,
    win: PyReadonlyArray1<'py, f64>,
    tie: PyReadonlyArray1<'py, f64>,
    weight: PyReadonlyArray1<'py, f64>,
    features: PyReadonlyArray2<'py, f64>,
    n_models: usize,
    unit: f64,
    ridge_ratings: f64,
    ridge_coefs: f64,
    divisor: f64,
    davidson: bool,
    fallback_ridge: f64,
    curvature: bool,
    bootstrap: usize,
    seed: u64,
    resample_indices: Option<PyReadonlyArray2<'py, u32>>,
    resample_weights: Option<PyReadonlyArray2<'py, f64>>,
    counts: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<ArenaFit> {
    let n_features = features.shape()[1];
    let (a, b, win, tie, weight, features) = (
        a.as_slice()?,
        b.as_slice()?,
        win.as_slice()?,
        tie.as_slice()?,
        weight.as_slice()?,
        features.as_slice()?,
    );
    let counts = match &counts {
        Some(c) => Some(c.as_slice()?),
        None => None,
    };
    let model = Model {
        unit,
        ridge_ratings,
        ridge_coefs,
        divisor,
        ties: if davidson { Ties::Davidson } else { Ties::Half },
        fallback_ridge,
        ..Model::default()
    };
    let indices = match &resample_indices {
        Some(m) => Some((m.as_slice()?, m.shape()[0])),
        None => None,
    };
    let weights = match &resample_weights {
        Some(m) => Some((m.as_slice()?, m.shape()[0])),
        None => None,
    };
    let resampling = match (indices, weights) {
        (Some(_), Some(_)) => {
            return Err(to_py(Error::argument(
                "give resample indices or resample weights, not both",
            )))
        }
        (Some((rows, rounds)), None) => Some(Resampling::Indices { rows, rounds }),
        (None, Some((weights, rounds))) => Some(Resampling::Weights { weights, rounds }),
        (None, None) => (bootstrap > 0).then_some(Resampling::Seeded {
            rounds: bootstrap,
            seed,
        }),
    };
    type Output = (Fit, Option<(Vec<f64>, Vec<f64>)>, Vec<Fit>);
    let (fit, curv, rounds): Output = compute(py, || {
        let rows = Rows {
            a,
            b,
            win,
            tie,
            weight,
            features,
            n_features,
            n_models,
        };
        let fit = arena::fit(&rows, &model, None)?;
        let curv = if curvature {
            Some(arena::curvature(&rows, &model, &fit, counts)?)
        } else {
            None
        };
        let rounds = match &resampling {
            Some(r) => arena::bootstrap(&rows, &model, &fit, r)?,
            None => Vec::new(),
        };
        Ok((fit, curv, rounds))
    })?;
    let p = n_models + n_features + usize::from(davidson);
    let (hessian, scores) = match curv {
        Some((h, g)) => (Some(matrix(py, h, p, p)?), Some(matrix(py, g, p, p)?)),
        None => (None, None),
    };
    let (boot_ratings, boot_coefs, boot_log_tie) = if resampling.is_some() {
        let r = rounds.len();
        let ratings = rounds
            .iter()
            .flat_map(|f| f.ratings.iter().copied())
            .collect();
        let coefs = rounds
            .iter()
            .flat_map(|f| f.coefs.iter().copied())
            .collect();
        let ties: Vec<f64> = rounds.iter().map(|f| f.log_tie).collect();
        (
            Some(matrix(py, ratings, r, n_models)?),
            Some(matrix(py, coefs, r, n_features)?),
            Some(PyArray1::from_vec(py, ties).into_any().unbind()),
        )
    } else {
        (None, None, None)
    };
    Ok(ArenaFit {
        ratings: fit.ratings,
        coefs: fit.coefs,
        log_tie: fit.log_tie,
        iterations: fit.iterations,
        hessian,
        scores,
        boot_ratings,
        boot_coefs,
        boot_log_tie,
        boot_fallbacks: rounds.iter().filter(|f| f.fallback).count(),
    })
}
