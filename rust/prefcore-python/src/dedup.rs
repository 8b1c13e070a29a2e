//! Bindings of `prefcore_core::dedup`.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, LargeStringArray, StringArray, UInt64Array};
use prefcore_core::dedup::{self, Keep, Normalizer, TextColumn};
use prefcore_core::parallel;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;
use rayon::prelude::*;

use crate::convert::{array, clusters_to_py, named_arrays, to_py_array, Table};
use crate::errors::{compute, to_py};

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
        unicode: Option<&str>,
        collapse_whitespace: bool,
        strip_punctuation: bool,
        digits_to_zero: bool,
    ) -> PyResult<Self> {
        Ok(NormalizeOptions(Normalizer {
            lowercase,
            unicode: match unicode {
                Some(form) => form.parse().map_err(to_py)?,
                None => dedup::UnicodeForm::None,
            },
            collapse_whitespace,
            strip_punctuation,
            digits_to_zero,
        }))
    }
}

pub type NormalizeArgs = Option<NormalizeOptions>;

fn normalizer(args: NormalizeArgs) -> PyResult<Option<Normalizer>> {
    Ok(args.map(|o| o.0))
}

/// MinHash parameters as Python passes them.
fn minhash_options(
    num_perm: usize,
    ngram: usize,
    tokenizer: &str,
    seed: u64,
) -> PyResult<dedup::MinHashOptions> {
    Ok(dedup::MinHashOptions {
        num_perm,
        ngram,
        tokenizer: tokenizer.parse().map_err(to_py)?,
        seed,
    })
}

/// Text columns over named arrays (checked in the core: strings or conversations).
fn text_columns(names: &[String], arrays: &[ArrayRef]) -> prefcore_core::Result<Vec<TextColumn>> {
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
        let column = TextColumn::new("texts", &texts)?;
        let reader = column.reader();
        let values: Vec<String> = parallel::install(|| {
            (0..column.len())
                .into_par_iter()
                .map_init(String::new, |buf, row| n.normalize(reader.get(row, buf)))
                .collect()
        });
        // i32 offsets unless the text outgrows them.
        let total: usize = values.iter().map(String::len).sum();
        let out: ArrayRef = if total < i32::MAX as usize {
            Arc::new(StringArray::from(values))
        } else {
            Arc::new(LargeStringArray::from(values))
        };
        Ok(out)
    })?;
    to_py_array(py, out)
}

/// Returns (cluster_id, representative, number of clusters).
#[pyfunction]
#[pyo3(signature = (table, columns, options, keep))]
pub fn exact<'py>(
    py: Python<'py>,
    table: PyTable,
    columns: Vec<String>,
    options: NormalizeArgs,
    keep: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, usize)> {
    let table = Table::new(table);
    let arrays = columns
        .iter()
        .map(|c| table.column(c))
        .collect::<PyResult<Vec<_>>>()?;
    let n = normalizer(options)?;
    let keep: Keep = keep.parse().map_err(to_py)?;
    let clusters = compute(py, || {
        let cols = text_columns(&columns, &arrays)?;
        dedup::exact(&cols, n.as_ref(), keep)
    })?;
    clusters_to_py(py, clusters)
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
#[pyo3(signature = (texts, options, *, num_perm, ngram, tokenizer, seed))]
pub fn signatures<'py>(
    py: Python<'py>,
    texts: AnyArray,
    options: NormalizeArgs,
    num_perm: usize,
    ngram: usize,
    tokenizer: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, "texts")?;
    let n = normalizer(options)?;
    let minhash = minhash_options(num_perm, ngram, tokenizer, seed)?;
    let flat = compute(py, || {
        let column = TextColumn::new("texts", &texts)?;
        dedup::signatures(&column, n.as_ref(), minhash)
    })?;
    to_py_array(py, Arc::new(UInt64Array::from(flat)))
}

/// Returns (cluster_id, representative, clusters, candidate_pairs, merged pairs as
/// (row_a, row_b) arrays, bands, rows).
#[pyfunction]
#[pyo3(signature = (table, column, options, *, threshold, num_perm, ngram, tokenizer, seed,
    bands, rows, keep, verify))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn minhash<'py>(
    py: Python<'py>,
    table: PyTable,
    column: &str,
    options: NormalizeArgs,
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    tokenizer: &str,
    seed: u64,
    bands: Option<usize>,
    rows: Option<usize>,
    keep: &str,
    verify: bool,
) -> PyResult<(
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    usize,
    usize,
    (Bound<'py, PyAny>, Bound<'py, PyAny>),
    usize,
    usize,
)> {
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
        minhash: minhash_options(num_perm, ngram, tokenizer, seed)?,
        threshold,
        bands_rows,
        keep: keep.parse().map_err(to_py)?,
        verify,
    };
    let (out, (b, r)) = compute(py, || {
        let column = TextColumn::new(column, &texts)?;
        dedup::near_duplicates(&column, n.as_ref(), near)
    })?;
    Ok((
        to_py_array(py, Arc::new(Int64Array::from(out.clusters.cluster_id)))?,
        to_py_array(py, Arc::new(Int64Array::from(out.clusters.representative)))?,
        out.clusters.num_clusters,
        out.candidate_pairs,
        (
            to_py_array(
                py,
                Arc::new(Int64Array::from_iter_values(
                    out.merged.iter().map(|p| p.0 as i64),
                )),
            )?,
            to_py_array(
                py,
                Arc::new(Int64Array::from_iter_values(
                    out.merged.iter().map(|p| p.1 as i64),
                )),
            )?,
        ),
        b,
        r,
    ))
}

/// (bands, rows) that datasketch's MinHashLSH would choose.
#[pyfunction]
pub fn optimal_bands(py: Python<'_>, threshold: f64, num_perm: usize) -> PyResult<(usize, usize)> {
    compute(py, || dedup::optimal_bands(threshold, num_perm))
}

/// Returns (reference row or null, score) per training row.
#[pyfunction]
#[pyo3(signature = (train, reference, column, reference_column, options, *, method, n,
    threshold, num_perm, seed))]
#[allow(clippy::too_many_arguments)]
pub fn contamination<'py>(
    py: Python<'py>,
    train: PyTable,
    reference: PyTable,
    column: &str,
    reference_column: &str,
    options: NormalizeArgs,
    method: &str,
    n: usize,
    threshold: f64,
    num_perm: usize,
    seed: u64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (train, reference) = (
        Table::new(train).column(column)?,
        Table::new(reference).column(reference_column)?,
    );
    let normalizer = normalizer(options)?;
    let method: dedup::Method = method.parse().map_err(to_py)?;
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
    Ok((
        to_py_array(py, Arc::new(rows))?,
        to_py_array(py, Arc::new(scores))?,
    ))
}

/// Exact dedup over a stream of batches: only each seen row's 128-bit key hash is
/// kept (16 bytes a row, plus the hash set's slack). A row is kept when no earlier
/// row of the stream had its key.
#[pyclass(module = "prefcore._prefcore")]
pub struct ExactStream {
    seen: std::collections::HashSet<u128>,
    normalizer: Option<Normalizer>,
    rows: usize,
}

#[pymethods]
impl ExactStream {
    #[new]
    #[pyo3(signature = (options))]
    fn new(options: NormalizeArgs) -> PyResult<Self> {
        Ok(ExactStream {
            seen: Default::default(),
            normalizer: normalizer(options)?,
            rows: 0,
        })
    }

    /// The keep mask of one batch, given its key columns.
    fn push<'py>(
        &mut self,
        py: Python<'py>,
        columns: Vec<AnyArray>,
        names: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let arrays = named_arrays(columns, &names)?;
        let n = self.normalizer;
        let hashes = compute(py, || {
            let cols = text_columns(&names, &arrays)?;
            dedup::row_hashes(&cols, n.as_ref())
        })
        .map_err(|e| offset_rows(py, e, self.rows))?;
        self.rows += hashes.len();
        let keep: Vec<bool> = hashes.into_iter().map(|h| self.seen.insert(h)).collect();
        to_py_array(py, Arc::new(arrow_array::BooleanArray::from(keep)))
    }

    /// Distinct keys seen so far.
    #[getter]
    fn distinct(&self) -> usize {
        self.seen.len()
    }
}

/// An error's row numbers are per batch; say where the batch starts in the stream.
fn offset_rows(py: Python<'_>, e: PyErr, first_row: usize) -> PyErr {
    if first_row == 0 {
        return e;
    }
    let message = format!(
        "{} (rows are counted from row {first_row} of the input)",
        e.value(py)
    );
    PyErr::from_type(e.get_type(py), message)
}

/// Near-duplicate dedup over a stream: each batch's LSH band keys are appended, as
/// the low 64 bits of the 128-bit keys `minhash` uses (8 bytes per band per row);
/// `finish` clusters them as `minhash` clusters a whole table without verification.
/// Results differ only if two unequal bands collide in 64 bits (for 10 million rows
/// and 9 bands, about 2e-5 expected false collisions in all).
#[pyclass(module = "prefcore._prefcore")]
pub struct NearStream {
    keys: Vec<Vec<u64>>,
    normalizer: Option<Normalizer>,
    minhash: dedup::MinHashOptions,
    bands: usize,
    rows: usize,
    seen_rows: usize,
}

#[pymethods]
impl NearStream {
    #[new]
    #[pyo3(signature = (options, *, num_perm, ngram, tokenizer, seed, bands, rows))]
    fn new(
        options: NormalizeArgs,
        num_perm: usize,
        ngram: usize,
        tokenizer: &str,
        seed: u64,
        bands: usize,
        rows: usize,
    ) -> PyResult<Self> {
        Ok(NearStream {
            keys: Vec::new(),
            normalizer: normalizer(options)?,
            minhash: minhash_options(num_perm, ngram, tokenizer, seed)?,
            bands,
            rows,
            seen_rows: 0,
        })
    }

    fn push(&mut self, py: Python<'_>, texts: AnyArray, column: &str) -> PyResult<()> {
        let texts = array(texts, column)?;
        let (n, m, b, r) = (self.normalizer, self.minhash, self.bands, self.rows);
        let keys = compute(py, || {
            let column = TextColumn::new(column, &texts)?;
            dedup::band_keys(&column, n.as_ref(), m, b, r)
        })
        .map_err(|e| offset_rows(py, e, self.seen_rows))?;
        self.seen_rows += keys.len() / self.bands;
        self.keys.push(keys.iter().map(|&k| k as u64).collect());
        Ok(())
    }

    /// Returns (cluster_id, representative, clusters, candidate pairs) over all rows
    /// pushed, and frees the keys.
    fn finish<'py>(
        &mut self,
        py: Python<'py>,
        keep: &str,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, usize, usize)> {
        let keep: Keep = keep.parse().map_err(to_py)?;
        let keys = std::mem::take(&mut self.keys);
        let bands = self.bands;
        let out = compute(py, || dedup::lsh::cluster_key_chunks(&keys, bands, keep))?;
        let (id, rep, n) = clusters_to_py(py, out.clusters)?;
        Ok((id, rep, n, out.candidate_pairs))
    }

    /// Bytes held by the band keys so far.
    #[getter]
    fn key_bytes(&self) -> usize {
        self.keys.iter().map(Vec::len).sum::<usize>() * std::mem::size_of::<u64>()
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
    let out =
        arrow_array::FixedSizeBinaryArray::try_from_iter(hashes.iter().map(|h| h.to_le_bytes()))
            .map_err(|e| to_py(e.into()))?;
    to_py_array(py, Arc::new(out))
}

/// Row-major LSH band keys (low 64 bits of the 128-bit keys), `bands` per row: the
/// stateless half of near dedup, for engines that bucket rows themselves.
#[pyfunction]
#[pyo3(signature = (texts, column, options, *, num_perm, ngram, tokenizer, seed, bands, rows))]
#[allow(clippy::too_many_arguments)]
pub fn lsh_band_keys<'py>(
    py: Python<'py>,
    texts: AnyArray,
    column: &str,
    options: NormalizeArgs,
    num_perm: usize,
    ngram: usize,
    tokenizer: &str,
    seed: u64,
    bands: usize,
    rows: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, column)?;
    let n = normalizer(options)?;
    let minhash = minhash_options(num_perm, ngram, tokenizer, seed)?;
    let keys = compute(py, || {
        let column = TextColumn::new(column, &texts)?;
        dedup::band_keys(&column, n.as_ref(), minhash, bands, rows)
    })?;
    let low = UInt64Array::from_iter_values(keys.iter().map(|&k| k as u64));
    to_py_array(py, Arc::new(low))
}
