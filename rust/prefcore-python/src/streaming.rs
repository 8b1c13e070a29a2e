//! Bindings of `prefcore_core::dedup::stream` and the stateless halves of dedup, for
//! `prefcore.streaming`.

use std::sync::Arc;

use arrow_array::{ArrayRef, UInt64Array};
use prefcore_core::dedup::{self, Keep, TextColumn};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, named_arrays, to_py_array, Clusters};
use crate::dedup::{normalizer, text_columns, MinHashOptions, NormalizeArgs};
use crate::errors::{compute, to_py, unsigned_size};

/// `prefcore_core::dedup::ExactStream` for Python.
#[pyclass(module = "prefcore._prefcore")]
pub struct ExactStream(dedup::ExactStream);

#[pymethods]
impl ExactStream {
    #[new]
    #[pyo3(signature = (options))]
    fn new(options: NormalizeArgs) -> PyResult<Self> {
        Ok(ExactStream(dedup::ExactStream::new(normalizer(options)?)))
    }

    /// The keep mask of one batch, given its key columns.
    fn push<'py>(
        &mut self,
        py: Python<'py>,
        columns: Vec<AnyArray>,
        names: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arrays = named_arrays(columns, &names)?;
        let named: Vec<(&str, &ArrayRef)> = names.iter().map(String::as_str).zip(&arrays).collect();
        let stream = &mut self.0;
        let keep = compute(py, || stream.push(&named))?;
        to_py_array(py, Arc::new(arrow_array::BooleanArray::from(keep)))
    }

    #[getter]
    fn rows(&self) -> usize {
        self.0.rows()
    }

    #[getter]
    fn distinct(&self) -> usize {
        self.0.distinct()
    }
}

/// `prefcore_core::dedup::NearStream` for Python.
#[pyclass(module = "prefcore._prefcore")]
pub struct NearStream {
    stream: dedup::NearStream,
    /// LSH candidate pairs found by `finish`.
    #[pyo3(get)]
    candidate_pairs: Option<usize>,
}

#[pymethods]
impl NearStream {
    #[new]
    #[pyo3(signature = (options, minhash, *, bands, rows))]
    fn new(
        options: NormalizeArgs,
        minhash: MinHashOptions,
        bands: &Bound<'_, PyAny>,
        rows: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (bands, rows) = (unsigned_size(bands, "bands")?, unsigned_size(rows, "rows")?);
        let stream =
            dedup::NearStream::new(normalizer(options)?, minhash.0, bands, rows).map_err(to_py)?;
        Ok(NearStream {
            stream,
            candidate_pairs: None,
        })
    }

    fn push(&mut self, py: Python<'_>, texts: AnyArray, column: &str) -> PyResult<()> {
        let texts = array(texts, column)?;
        let stream = &mut self.stream;
        compute(py, || stream.push(column, &texts))
    }

    /// Clusters every row pushed (without verification), and frees the keys.
    fn finish(&mut self, py: Python<'_>, keep: &str) -> PyResult<Clusters> {
        let keep: Keep = keep.parse().map_err(to_py)?;
        let stream = &mut self.stream;
        let out = compute(py, || stream.finish(keep))?;
        self.candidate_pairs = Some(out.candidate_pairs);
        Clusters::new(py, out.clusters)
    }

    #[getter]
    fn rows(&self) -> usize {
        self.stream.rows()
    }

    #[getter]
    fn key_bytes(&self) -> usize {
        self.stream.key_bytes()
    }
}

/// Per row, the 128-bit hash of its (normalised) key columns, as 16-byte binaries:
/// the stateless half of exact dedup, for engines that group rows themselves.
#[pyfunction]
#[pyo3(signature = (columns, names, options))]
pub fn row_hashes<'py>(
    py: Python<'py>,
    columns: Vec<AnyArray>,
    names: Vec<String>,
    options: NormalizeArgs,
) -> PyResult<Bound<'py, PyAny>> {
    let arrays = named_arrays(columns, &names)?;
    let n = normalizer(options)?;
    let hashes = compute(py, || {
        let cols = text_columns(&names, &arrays)?;
        dedup::row_hashes(&cols, n.as_ref())
    })?;
    // Built from the bytes: `try_from_iter` refuses an empty batch.
    let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
    let out = arrow_array::FixedSizeBinaryArray::new(16, bytes.into(), None);
    to_py_array(py, Arc::new(out))
}

/// Row-major LSH band keys (low 64 bits of the 128-bit keys), `bands` per row: the
/// stateless half of near dedup, for engines that bucket rows themselves.
#[pyfunction]
#[pyo3(signature = (texts, column, options, minhash, *, bands, rows))]
pub fn lsh_band_keys<'py>(
    py: Python<'py>,
    texts: AnyArray,
    column: &str,
    options: NormalizeArgs,
    minhash: MinHashOptions,
    bands: usize,
    rows: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, column)?;
    let n = normalizer(options)?;
    let minhash = minhash.0;
    let keys = compute(py, || {
        let column = TextColumn::new(column, &texts)?;
        dedup::band_keys(&column, n.as_ref(), minhash, bands, rows)
    })?;
    let low = UInt64Array::from_iter_values(keys.iter().map(|&k| k as u64));
    to_py_array(py, Arc::new(low))
}
