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
        let q = Matrix {
            data: &q,
            rows: nq,
            dim,
            name: "queries",
        };
        let c = Matrix {
            data: &c,
            rows: nc,
            dim,
            name: "corpus",
        };
        matching::knn(q, c, k, metric, corpus_block, exclude_self)
    })?;
    Ok((
        to_py_array(py, Arc::new(Float32Array::from(scores)))?,
        to_py_array(py, Arc::new(Int64Array::from(indices)))?,
    ))
}
