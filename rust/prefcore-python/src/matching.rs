//! Bindings of `prefcore_core::matching`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, Float32Array, Int64Array};
use arrow_schema::DataType;
use prefcore_core::matching::{self, Matrix, Metric};
use prefcore_core::Error;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, to_py_array, to_pyarrow_table, Opt};
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

/// Exact kNN over flat row-major float32 buffers.
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
    metric: Opt<Metric>,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> PyResult<Neighbours> {
    let (q, c) = (floats(queries, "queries")?, floats(corpus, "corpus")?);
    let metric = metric.0;
    let (scores, indices) = compute(py, || {
        let q = matrix(&q, nq, dim, "queries");
        let c = matrix(&c, nc, dim, "corpus");
        matching::knn(q, c, k, metric, corpus_block, exclude_self)
    })?;
    Ok(Neighbours {
        scores: to_py_array(py, Arc::new(Float32Array::from(scores)))?.unbind(),
        indices: to_py_array(py, Arc::new(Int64Array::from(indices)))?.unbind(),
    })
}

/// The `k` nearest neighbours of each query, flat and row-major (`nq * k`): their
/// scores (float32) and corpus indices (int64).
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct Neighbours {
    scores: Py<PyAny>,
    indices: Py<PyAny>,
}

/// All pairs within `threshold`: a table of `query_idx`, `corpus_idx`, `score`.
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
    metric: Opt<Metric>,
    corpus_block: Option<usize>,
    exclude_self: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (q, c) = (floats(queries, "queries")?, floats(corpus, "corpus")?);
    let metric = metric.0;
    let (qi, cj, s) = compute(py, || {
        let q = matrix(&q, nq, dim, "queries");
        let c = matrix(&c, nc, dim, "corpus");
        matching::range_search(q, c, threshold, metric, corpus_block, exclude_self)
    })?;
    hits_table(py, ["query_idx", "corpus_idx", "score"], (qi, cj, s))
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
    metric: Opt<Metric>,
    corpus_block: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = floats(data, "embeddings")?;
    let metric = metric.0;
    let hits = compute(py, || {
        matching::self_pairs(
            matrix(&x, n, dim, "embeddings"),
            threshold,
            metric,
            corpus_block,
        )
    })?;
    hits_table(py, ["row_a", "row_b", "score"], hits)
}

type Hits = (Vec<i64>, Vec<i64>, Vec<f32>);

/// Pairs of rows and their scores as a table with the columns `names`.
fn hits_table<'py>(
    py: Python<'py>,
    names: [&str; 3],
    (a, b, s): Hits,
) -> PyResult<Bound<'py, PyAny>> {
    let columns: [ArrayRef; 3] = [
        Arc::new(Int64Array::from(a)),
        Arc::new(Int64Array::from(b)),
        Arc::new(Float32Array::from(s)),
    ];
    to_pyarrow_table(
        py,
        names.iter().map(|n| n.to_string()).zip(columns).collect(),
    )
}

/// One-to-one matching: a table of `a_idx`, `b_idx`, `score`, `rank`.
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
    metric: Opt<Metric>,
    method: Opt<matching::Method>,
    csls_k: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let (a, b) = (floats(a, "a")?, floats(b, "b")?);
    let metric = metric.0;
    let method = method.0;
    let m = compute(py, || {
        let a = matrix(&a, na, dim, "a");
        let b = matrix(&b, nb, dim, "b");
        matching::match_sets(a, b, metric, method, csls_k)
    })?;
    let columns: [(&str, ArrayRef); 4] = [
        ("a_idx", Arc::new(Int64Array::from(m.a))),
        ("b_idx", Arc::new(Int64Array::from(m.b))),
        ("score", Arc::new(Float32Array::from(m.score))),
        ("rank", Arc::new(Int64Array::from(m.rank))),
    ];
    to_pyarrow_table(py, columns.map(|(n, a)| (n.to_string(), a)).to_vec())
}
