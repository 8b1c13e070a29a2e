//! Bindings of `prefcore_core::dedup::stream` and the stateless halves of dedup, for
//! `prefcore.streaming`.

use std::sync::{Arc, Mutex, MutexGuard};

use arrow_array::{ArrayRef, UInt64Array};
use prefcore_core::dedup::{self, Keep, TextColumn};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, named_arrays, to_py_array, Clusters, Opt};
use crate::dedup::{normalizer, text_columns, MinHashOptions, NormalizeArgs};
use crate::errors::{compute, to_py, unsigned_size};

/// The state of a stream shared by Python threads. Calls from several threads take
/// turns: each waits for the lock with the GIL released (so the holder, which also
/// runs without the GIL, can finish), and no push is lost or refused.
struct Shared<T>(Mutex<T>);

impl<T: Send> Shared<T> {
    fn new(state: T) -> Self {
        Shared(Mutex::new(state))
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        // A panic inside a call is caught and reported; the state it left is still a
        // valid value, so a poisoned lock is used as it is.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A value read from the state. The lock is taken with the GIL released: the
    /// holder may need the GIL (its Ctrl-C check) before it lets go.
    fn read<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&T) -> R + Send) -> R {
        py.detach(|| f(&self.lock()))
    }

    /// Runs `f` on the state with the GIL released, as `compute` does.
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut T) -> prefcore_core::Result<R> + Send,
    ) -> PyResult<R> {
        compute(py, || f(&mut self.lock()))
    }
}

/// `prefcore_core::dedup::ExactStream` for Python.
#[pyclass(module = "prefcore._prefcore")]
pub struct ExactStream(Shared<dedup::ExactStream>);

#[pymethods]
impl ExactStream {
    #[new]
    #[pyo3(signature = (options))]
    fn new(options: NormalizeArgs) -> PyResult<Self> {
        Ok(ExactStream(Shared::new(dedup::ExactStream::new(
            normalizer(options)?,
        ))))
    }

    /// The keep mask of one batch, given its key columns.
    fn push<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<AnyArray>,
        names: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arrays = named_arrays(columns, &names)?;
        let named: Vec<(&str, &ArrayRef)> = names.iter().map(String::as_str).zip(&arrays).collect();
        let keep = self.0.with(py, |stream| stream.push(&named))?;
        to_py_array(py, Arc::new(arrow_array::BooleanArray::from(keep)))
    }

    #[getter]
    fn rows(&self, py: Python<'_>) -> usize {
        self.0.read(py, |s| s.rows())
    }

    #[getter]
    fn distinct(&self, py: Python<'_>) -> usize {
        self.0.read(py, |s| s.distinct())
    }
}

/// `prefcore_core::dedup::NearStream` for Python.
#[pyclass(module = "prefcore._prefcore")]
pub struct NearStream(Shared<NearState>);

struct NearState {
    stream: dedup::NearStream,
    /// LSH candidate pairs found by `finish`.
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
        Ok(NearStream(Shared::new(NearState {
            stream,
            candidate_pairs: None,
        })))
    }

    fn push(&self, py: Python<'_>, texts: AnyArray, column: &str) -> PyResult<()> {
        let texts = array(texts, column)?;
        self.0.with(py, |state| state.stream.push(column, &texts))
    }

    /// Clusters every row pushed (without verification), and frees the keys.
    fn finish(&self, py: Python<'_>, keep: Opt<Keep>) -> PyResult<Clusters> {
        let keep = keep.0;
        let clusters = self.0.with(py, |state| {
            let out = state.stream.finish(keep)?;
            state.candidate_pairs = Some(out.candidate_pairs);
            Ok(out.clusters)
        })?;
        Clusters::new(py, clusters)
    }

    #[getter]
    fn candidate_pairs(&self, py: Python<'_>) -> Option<usize> {
        self.0.read(py, |s| s.candidate_pairs)
    }

    #[getter]
    fn rows(&self, py: Python<'_>) -> usize {
        self.0.read(py, |s| s.stream.rows())
    }

    #[getter]
    fn key_bytes(&self, py: Python<'_>) -> usize {
        self.0.read(py, |s| s.stream.key_bytes())
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
