//! Bindings of `prefcore_core::glm`, for AlpacaEval's length-controlled win rate in
//! `prefcore.benchmarks`.

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use prefcore_core::glm::{cross_validate_l1_logistic, SoftLabelRows};
use pyo3::prelude::*;

use crate::errors::compute;

/// A cross-validated L1 logistic fit: coefficients refitted at the chosen penalty,
/// the penalty, and each candidate penalty's summed held-out score.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct L1LogisticFit {
    coefficients: Vec<f64>,
    penalty: f64,
    scores: Vec<f64>,
}

#[pyfunction]
#[pyo3(signature = (x, label, weight, penalties, *, n_splits, weighted_score))]
pub fn l1_logistic_cv<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    label: PyReadonlyArray1<'py, f64>,
    weight: PyReadonlyArray1<'py, f64>,
    penalties: Vec<f64>,
    n_splits: usize,
    weighted_score: bool,
) -> PyResult<L1LogisticFit> {
    let d = x.shape()[1];
    let (x, label, weight) = (x.as_slice()?, label.as_slice()?, weight.as_slice()?);
    let fit = compute(py, || {
        let rows = SoftLabelRows::new(x, d, label, weight)?;
        cross_validate_l1_logistic(&rows, &penalties, n_splits, weighted_score)
    })?;
    Ok(L1LogisticFit {
        coefficients: fit.coefficients,
        penalty: fit.penalty,
        scores: fit.scores,
    })
}
