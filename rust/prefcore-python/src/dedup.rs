//! Bindings of `prefcore_core::dedup`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Int64Array, StringArray, UInt64Array};
use arrow_schema::DataType;
use prefcore_core::dedup::{self, Keep, Normalizer, TextColumn};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;

use crate::convert::{array, to_py_array, Clusters, Opt, Table};
use crate::errors::{compute, to_py, unsigned, unsigned_size};

/// Normaliser options: `prefcore.dedup.Normalization` hands one of these over (None
/// for no normalisation).
#[pyclass(module = "prefcore._prefcore", frozen, from_py_object)]
#[derive(Clone)]
pub struct NormalizeOptions(Normalizer);

#[pymethods]
impl NormalizeOptions {
    #[new]
    #[pyo3(signature = (*, lowercase, unicode, collapse_whitespace, strip_punctuation, digits_to_zero))]
    fn new(
        lowercase: bool,
        unicode: Option<Opt<dedup::UnicodeForm>>,
        collapse_whitespace: bool,
        strip_punctuation: bool,
        digits_to_zero: bool,
    ) -> PyResult<Self> {
        Ok(NormalizeOptions(Normalizer {
            lowercase,
            unicode: unicode.map_or(dedup::UnicodeForm::None, |form| form.0),
            collapse_whitespace,
            strip_punctuation,
            digits_to_zero,
        }))
    }
}

pub type NormalizeArgs = Option<NormalizeOptions>;

pub(crate) fn normalizer(args: NormalizeArgs) -> PyResult<Option<Normalizer>> {
    Ok(args.map(|o| o.0))
}

/// MinHash parameters (permutations, shingle size and kind, seed): one object for
/// every function that signs texts.
#[pyclass(module = "prefcore._prefcore", frozen, from_py_object)]
#[derive(Clone, Copy)]
pub struct MinHashOptions(pub(crate) dedup::MinHashOptions);

#[pymethods]
impl MinHashOptions {
    #[new]
    #[pyo3(signature = (*, num_perm, ngram, tokenizer, seed))]
    fn new(
        num_perm: &Bound<'_, PyAny>,
        ngram: &Bound<'_, PyAny>,
        tokenizer: Opt<dedup::Tokenizer>,
        seed: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(MinHashOptions(dedup::MinHashOptions {
            num_perm: unsigned_size(num_perm, "num_perm")?,
            ngram: unsigned_size(ngram, "ngram")?,
            tokenizer: tokenizer.0,
            seed: unsigned(seed, "seed")?,
        }))
    }
}

/// Text columns over named arrays (checked in the core: strings or conversations).
pub(crate) fn text_columns(
    names: &[String],
    arrays: &[ArrayRef],
) -> prefcore_core::Result<Vec<TextColumn>> {
    names
        .iter()
        .zip(arrays)
        .map(|(name, a)| TextColumn::new(name, a))
        .collect()
}

#[pyfunction]
#[pyo3(signature = (texts, options))]
pub fn normalize<'py>(
    py: Python<'py>,
    texts: AnyArray,
    options: NormalizeArgs,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, "texts")?;
    let n = normalizer(options)?.unwrap_or_default();
    let out = compute(py, || {
        n.normalize_column(&TextColumn::new("texts", &texts)?)
    })?;
    to_py_array(py, out)
}

#[pyfunction]
#[pyo3(signature = (table, columns, options, keep))]
pub fn exact(
    py: Python<'_>,
    table: PyTable,
    columns: Vec<String>,
    options: NormalizeArgs,
    keep: Opt<Keep>,
) -> PyResult<Clusters> {
    let table = Table::new(table);
    let arrays = columns
        .iter()
        .map(|c| table.column(c))
        .collect::<PyResult<Vec<_>>>()?;
    let n = normalizer(options)?;
    let keep = keep.0;
    let clusters = compute(py, || {
        let cols = text_columns(&columns, &arrays)?;
        dedup::exact(&cols, n.as_ref(), keep)
    })?;
    Clusters::new(py, clusters)
}

/// Returns the reason per row (null for a usable pair).
#[pyfunction]
#[pyo3(signature = (table, chosen, rejected, options))]
pub fn degenerate_pairs<'py>(
    py: Python<'py>,
    table: PyTable,
    chosen: &str,
    rejected: &str,
    options: NormalizeArgs,
) -> PyResult<Bound<'py, PyAny>> {
    let table = Table::new(table);
    let (c, r) = (table.column(chosen)?, table.column(rejected)?);
    let n = normalizer(options)?;
    let reasons = compute(py, || {
        let (c, r) = (TextColumn::new(chosen, &c)?, TextColumn::new(rejected, &r)?);
        dedup::degenerate_pairs(&c, &r, n.as_ref())
    })?;
    let out: StringArray = reasons.iter().map(|r| r.map(|r| r.as_str())).collect();
    to_py_array(py, Arc::new(out))
}

/// Flat row-major MinHash signatures (uint64), `num_perm` per row.
#[pyfunction]
#[pyo3(signature = (texts, options, minhash))]
pub fn signatures<'py>(
    py: Python<'py>,
    texts: AnyArray,
    options: NormalizeArgs,
    minhash: MinHashOptions,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, "texts")?;
    let n = normalizer(options)?;
    let minhash = minhash.0;
    let flat = compute(py, || {
        let column = TextColumn::new("texts", &texts)?;
        dedup::signatures(&column, n.as_ref(), minhash)
    })?;
    to_py_array(py, Arc::new(UInt64Array::from(flat)))
}

/// What near-duplicate detection found: the clusters, the LSH candidate pairs
/// counted, the pairs merged (as `merged_a[i]`, `merged_b[i]` rows) and the bands
/// and rows per band used.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct NearDuplicates {
    clusters: Py<Clusters>,
    candidate_pairs: usize,
    merged_a: Py<PyAny>,
    merged_b: Py<PyAny>,
    bands: usize,
    rows_per_band: usize,
}

#[pyfunction]
#[pyo3(signature = (table, column, options, minhash, *, threshold, bands, rows, keep, verify))]
#[allow(clippy::too_many_arguments)]
pub fn minhash(
    py: Python<'_>,
    table: PyTable,
    column: &str,
    options: NormalizeArgs,
    minhash: MinHashOptions,
    threshold: f64,
    bands: Option<usize>,
    rows: Option<usize>,
    keep: Opt<Keep>,
    verify: bool,
) -> PyResult<NearDuplicates> {
    let texts = Table::new(table).column(column)?;
    let n = normalizer(options)?;
    let bands_rows =
        match (bands, rows) {
            (Some(b), Some(r)) => Some((b, r)),
            (None, None) => None,
            _ => return Err(to_py(prefcore_core::Error::argument(
                "give both bands and rows, or neither (then they are chosen from the threshold)",
            ))),
        };
    let near = dedup::NearOptions {
        minhash: minhash.0,
        threshold,
        bands_rows,
        keep: keep.0,
        verify,
    };
    let (out, (bands, rows_per_band)) = compute(py, || {
        let column = TextColumn::new(column, &texts)?;
        dedup::near_duplicates(&column, n.as_ref(), near)
    })?;
    let rows_of = |side: fn(&(u32, u32)) -> u32| -> PyResult<Py<PyAny>> {
        let rows = Int64Array::from_iter_values(out.merged.iter().map(|p| side(p) as i64));
        Ok(to_py_array(py, Arc::new(rows))?.unbind())
    };
    Ok(NearDuplicates {
        merged_a: rows_of(|p| p.0)?,
        merged_b: rows_of(|p| p.1)?,
        clusters: Py::new(py, Clusters::new(py, out.clusters)?)?,
        candidate_pairs: out.candidate_pairs,
        bands,
        rows_per_band,
    })
}

/// (bands, rows) that datasketch's MinHashLSH would choose.
#[pyfunction]
pub fn optimal_bands(py: Python<'_>, threshold: f64, num_perm: usize) -> PyResult<LshBands> {
    let (bands, rows) = compute(py, || dedup::optimal_bands(threshold, num_perm))?;
    Ok(LshBands { bands, rows })
}

/// The overlap of each training row with the evaluation set.
#[pyfunction]
#[pyo3(signature = (train, reference, column, reference_column, options, *, method, n,
    threshold, num_perm, seed))]
#[allow(clippy::too_many_arguments)]
pub fn contamination(
    py: Python<'_>,
    train: PyTable,
    reference: PyTable,
    column: &str,
    reference_column: &str,
    options: NormalizeArgs,
    method: Opt<dedup::Method>,
    n: usize,
    threshold: f64,
    num_perm: usize,
    seed: u64,
) -> PyResult<Overlaps> {
    let (train, reference) = (
        Table::new(train).column(column)?,
        Table::new(reference).column(reference_column)?,
    );
    let normalizer = normalizer(options)?;
    let method = method.0;
    let minhash = dedup::MinHashOptions {
        num_perm,
        ngram: n,
        tokenizer: dedup::Tokenizer::Word,
        seed,
    };
    let overlaps = compute(py, || {
        let t = TextColumn::new(column, &train)?;
        let r = TextColumn::new(reference_column, &reference)?;
        dedup::contamination(&t, &r, normalizer.as_ref(), method, n, minhash, threshold)
    })?;
    let rows: Int64Array = overlaps
        .iter()
        .map(|o| o.reference.map(i64::from))
        .collect();
    let scores: arrow_array::Float64Array = overlaps.iter().map(|o| Some(o.score)).collect();
    Ok(Overlaps {
        reference_row: to_py_array(py, Arc::new(rows))?.unbind(),
        score: to_py_array(py, Arc::new(scores))?.unbind(),
    })
}

/// Per training row: the evaluation row it overlaps (null if none) and the overlap.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct Overlaps {
    reference_row: Py<PyAny>,
    score: Py<PyAny>,
}

/// LSH bands and rows per band.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct LshBands {
    bands: usize,
    rows: usize,
}

/// Connected components of `n` rows joined by pairs.
#[pyfunction]
#[pyo3(signature = (row_a, row_b, n, keep))]
pub fn clusters_from_pairs(
    py: Python<'_>,
    row_a: AnyArray,
    row_b: AnyArray,
    n: usize,
    keep: Opt<Keep>,
) -> PyResult<Clusters> {
    let cast = |obj: AnyArray, name: &str| -> PyResult<arrow_buffer::ScalarBuffer<i64>> {
        let a = array(obj, name)?;
        let a = arrow_cast::cast(&a, &DataType::Int64).map_err(|e| to_py(e.into()))?;
        if let Some(row) = (0..a.len()).find(|&i| a.is_null(i)) {
            return Err(to_py(prefcore_core::Error::value(
                name,
                row,
                "a null where a row number was expected",
            )));
        }
        Ok(a.as_primitive::<arrow_array::types::Int64Type>()
            .values()
            .clone())
    };
    let (a, b) = (cast(row_a, "row_a")?, cast(row_b, "row_b")?);
    let keep = keep.0;
    let clusters = compute(py, || {
        prefcore_core::dedup::clusters_from_pairs(n, &a, &b, keep)
    })?;
    Clusters::new(py, clusters)
}
