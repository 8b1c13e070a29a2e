//! Bindings of `prefcore_core::pairs::listwise`, for `prefcore.listwise`.

use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use prefcore_core::columns::ListColumn;
use prefcore_core::pairs::listwise;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, to_py_array};
use crate::errors::compute;

/// Per list: the positions in rank order and the flattened `n × n` LiPO-λ weights.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct ListwiseWeights {
    order: Py<PyAny>,
    weights: Py<PyAny>,
}

/// The rank order and LiPO-λ weights of each list.
#[pyfunction]
#[pyo3(signature = (scores, labels, scores_name, labels_name))]
pub fn listwise_weights(
    py: Python<'_>,
    scores: AnyArray,
    labels: AnyArray,
    scores_name: &str,
    labels_name: &str,
) -> PyResult<ListwiseWeights> {
    let (scores, labels) = (array(scores, scores_name)?, array(labels, labels_name)?);
    let (order, weights) = compute(py, || {
        let s = ListColumn::new(scores_name, &scores)?;
        let l = ListColumn::new(labels_name, &labels)?;
        listwise::grouped_weights(&s, &l)
    })?;
    Ok(ListwiseWeights {
        order: to_py_array(py, order)?.unbind(),
        weights: to_py_array(py, weights)?.unbind(),
    })
}

/// LiPO-λ weights of a `[lists, len]` batch as a flat `[lists * len * len]` array.
#[pyfunction]
pub fn lipo_batch_weights<'py>(
    py: Python<'py>,
    scores: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray2<'py, f64>,
    valid: PyReadonlyArray2<'py, bool>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let len = scores.shape()[1];
    let (s, l, v) = (scores.as_slice()?, labels.as_slice()?, valid.as_slice()?);
    let w = compute(py, || listwise::batch_weights(s, l, v, len))?;
    Ok(PyArray1::from_vec(py, w))
}
