//! Bindings of `prefcore_core::matching`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Float32Array, Int64Array};
use arrow_schema::DataType;
use prefcore_core::matching::{self, Matrix, Metric};
use prefcore_core::Error;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, to_py_array};
use crate::errors::{compute, to_py};

fn floats(obj: AnyArray, name: &str) -> PyResult<arrow_buffer::ScalarBuffer<f32>> {
    let a = array(obj, name)?;
    if *a.data_type() != DataType::Float32 {
        return Err(to_py(Error::WrongType {
            column: name.to_string(),
            found: a.data_type().to_string(),
            expected: "float32".to_string(),
        }));
    }
    Ok(a.as_primitive::<Float32Type>().values().clone())
}

fn matrix<'a>(data: &'a [f32], rows: usize, dim: usize, name: &'a str) -> Matrix<'a> {
    Matrix {
        data,
        rows,
        dim,
        name,
    }
}

/// Exact kNN over flat row-major float32 buffers; returns flat (scores, indices).
#[pyfunction]
#[pyo3(signature = (queries, nq, corpus, nc, dim, k, metric, corpus_block, exclude_self))]
#[allow(clippy::too_many_arguments)]
pub fn knn<'py>(
    py: Python<'py>,
    queries: AnyArray,
    nq: usize,
    corpus: AnyArray,
    nc: usize,
    dim: usize,
    k: usize,
    metric: &str,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (q, c) = (floats(queries, "queries")?, floats(corpus, "corpus")?);
    let metric: Metric = metric.parse().map_err(to_py)?;
    let (scores, indices) = compute(py, || {
        let q = matrix(&q, nq, dim, "queries");
        let c = matrix(&c, nc, dim, "corpus");
        matching::knn(q, c, k, metric, corpus_block, exclude_self)
    })?;
    Ok((
        to_py_array(py, Arc::new(Float32Array::from(scores)))?,
        to_py_array(py, Arc::new(Int64Array::from(indices)))?,
    ))
}

/// All pairs within `threshold`: (query_idx, corpus_idx, score) arrays.
#[pyfunction]
#[pyo3(signature = (queries, nq, corpus, nc, dim, threshold, metric, corpus_block, exclude_self))]
#[allow(clippy::too_many_arguments)]
pub fn range_search<'py>(
    py: Python<'py>,
    queries: AnyArray,
    nq: usize,
    corpus: AnyArray,
    nc: usize,
    dim: usize,
    threshold: f32,
    metric: &str,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (q, c) = (floats(queries, "queries")?, floats(corpus, "corpus")?);
    let metric: Metric = metric.parse().map_err(to_py)?;
    let (qi, cj, s) = compute(py, || {
        let q = matrix(&q, nq, dim, "queries");
        let c = matrix(&c, nc, dim, "corpus");
        matching::range_search(q, c, threshold, metric, corpus_block, exclude_self)
    })?;
    hits_to_py(py, (qi, cj, s))
}

/// Pairs `a < b` of one matrix's rows within `threshold`: (row_a, row_b, score) arrays.
#[pyfunction]
#[pyo3(signature = (data, n, dim, threshold, metric, corpus_block))]
pub fn self_pairs<'py>(
    py: Python<'py>,
    data: AnyArray,
    n: usize,
    dim: usize,
    threshold: f32,
    metric: &str,
    corpus_block: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let x = floats(data, "embeddings")?;
    let metric: Metric = metric.parse().map_err(to_py)?;
    let hits = compute(py, || {
        matching::self_pairs(
            matrix(&x, n, dim, "embeddings"),
            threshold,
            metric,
            corpus_block,
        )
    })?;
    hits_to_py(py, hits)
}

type Hits = (Vec<i64>, Vec<i64>, Vec<f32>);

fn hits_to_py(
    py: Python<'_>,
    (a, b, s): Hits,
) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    Ok((
        to_py_array(py, Arc::new(Int64Array::from(a)))?,
        to_py_array(py, Arc::new(Int64Array::from(b)))?,
        to_py_array(py, Arc::new(Float32Array::from(s)))?,
    ))
}

/// One-to-one matching: (a_idx, b_idx, score, rank) arrays.
#[pyfunction]
#[pyo3(signature = (a, na, b, nb, dim, metric, method, csls_k))]
#[allow(clippy::too_many_arguments)]
pub fn match_sets<'py>(
    py: Python<'py>,
    a: AnyArray,
    na: usize,
    b: AnyArray,
    nb: usize,
    dim: usize,
    metric: &str,
    method: &str,
    csls_k: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let (a, b) = (floats(a, "a")?, floats(b, "b")?);
    let metric: Metric = metric.parse().map_err(to_py)?;
    let method: matching::Method = method.parse().map_err(to_py)?;
    let m = compute(py, || {
        let a = matrix(&a, na, dim, "a");
        let b = matrix(&b, nb, dim, "b");
        matching::match_sets(a, b, metric, method, csls_k)
    })?;
    vec![
        to_py_array(py, Arc::new(Int64Array::from(m.a))),
        to_py_array(py, Arc::new(Int64Array::from(m.b))),
        to_py_array(py, Arc::new(Float32Array::from(m.score))),
        to_py_array(py, Arc::new(Int64Array::from(m.rank))),
    ]
    .into_iter()
    .collect()
}
