//! Bindings of `prefcore_core::metrics`.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array};
use prefcore_core::columns::{scores_f64, Ids, ListColumn};
use prefcore_core::metrics::correlation as corr;
use prefcore_core::metrics::{grouped, preference, significance, trec, Evaluation};
use prefcore_core::{io, parallel, Error};
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;

use crate::convert::{array, to_pyarrow_table, Opt, Table};
use crate::display::{summary_html, summary_repr};
use crate::errors::{compute, number, text, to_py, unsigned_size};

/// The summary (metric names and values) and, when `per_row`, the per-row table.
/// Without it the table is never built: that serial work is a few percent of a fast
/// evaluation.
fn evaluation_out(
    py: Python<'_>,
    id_name: &str,
    e: Evaluation,
    per_row: bool,
) -> PyResult<EvaluationOut> {
    let summary = e.summary();
    let names = e.metrics.iter().map(|m| m.name.clone()).collect();
    if !per_row {
        return Ok(EvaluationOut {
            table: None,
            names,
            summary,
        });
    }
    let mut columns: Vec<(String, ArrayRef)> = vec![(id_name.to_string(), e.ids.clone())];
    for (m, spec) in e.metrics.iter().enumerate() {
        columns.push((spec.name.clone(), Arc::new(Float64Array::from(e.column(m)))));
    }
    Ok(EvaluationOut {
        table: Some(to_pyarrow_table(py, columns)?.unbind()),
        names,
        summary,
    })
}

/// An evaluation: the metric names, their summary values, and the per-row table when
/// it was asked for.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct EvaluationOut {
    table: Option<Py<PyAny>>,
    names: Vec<String>,
    summary: Vec<f64>,
}

#[pyfunction]
#[pyo3(signature = (run, qrels, metrics, *, query_col, doc_col, score_col, qrels_query_col,
    qrels_doc_col, rel_col, relevance_level, complete, per_query))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_trec(
    py: Python<'_>,
    run: PyTable,
    qrels: PyTable,
    metrics: Vec<String>,
    query_col: &str,
    doc_col: &str,
    score_col: &str,
    qrels_query_col: &str,
    qrels_doc_col: &str,
    rel_col: &str,
    relevance_level: i64,
    complete: bool,
    per_query: bool,
) -> PyResult<EvaluationOut> {
    let (run, qrels) = (Table::new(run), Table::new(qrels));
    let (rq, rd, rs) = (
        run.column(query_col)?,
        run.column(doc_col)?,
        run.column(score_col)?,
    );
    let (qq, qd, qr) = (
        qrels.column(qrels_query_col)?,
        qrels.column(qrels_doc_col)?,
        qrels.column(rel_col)?,
    );
    let specs = prefcore_core::metrics::parse_metrics(&metrics).map_err(to_py)?;
    let e = compute(py, || {
        trec::evaluate(
            &trec::RunColumns {
                query: trec::Column {
                    name: query_col,
                    array: &rq,
                },
                doc: trec::Column {
                    name: doc_col,
                    array: &rd,
                },
                score: trec::Column {
                    name: score_col,
                    array: &rs,
                },
            },
            &trec::QrelsColumns {
                query: trec::Column {
                    name: qrels_query_col,
                    array: &qq,
                },
                doc: trec::Column {
                    name: qrels_doc_col,
                    array: &qd,
                },
                relevance: trec::Column {
                    name: rel_col,
                    array: &qr,
                },
            },
            &specs,
            trec::TrecOptions {
                relevance_level,
                complete,
            },
        )
    })?;
    evaluation_out(py, query_col, e, per_query)
}

#[pyfunction]
#[pyo3(signature = (scores, labels, metrics, *, ties, relevance_level, per_group))]
pub fn evaluate_grouped(
    py: Python<'_>,
    scores: AnyArray,
    labels: AnyArray,
    metrics: Vec<String>,
    ties: Opt<grouped::Ties>,
    relevance_level: f64,
    per_group: bool,
) -> PyResult<EvaluationOut> {
    let (s, l) = (array(scores, "scores")?, array(labels, "labels")?);
    let specs = prefcore_core::metrics::parse_metrics(&metrics).map_err(to_py)?;
    let options = grouped::GroupedOptions {
        ties: ties.0,
        relevance_level,
    };
    let e = compute(py, || {
        grouped::evaluate(("scores", &s), ("labels", &l), &specs, options)
    })?;
    evaluation_out(py, "group", e, per_group)
}

/// Subset index of each row, and the subset names in order of first appearance.
fn subset_indices(subsets: Option<&ArrayRef>, n: usize) -> Result<(Vec<u32>, Vec<String>), Error> {
    let Some(array) = subsets else {
        return Ok((vec![0; n], vec![String::new()]));
    };
    if array.len() != n {
        return Err(Error::argument(format!(
            "subsets has {} rows for {n} pairs",
            array.len()
        )));
    }
    let ids = Ids::new("subsets", array)?;
    let mut index: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut names = Vec::new();
    let rows = (0..n)
        .map(|i| {
            let next = names.len() as u32;
            *index.entry(ids.get(i).to_vec()).or_insert_with(|| {
                names.push(ids.display(i));
                next
            })
        })
        .collect();
    Ok((rows, names))
}

/// Returns rows of (subset, count, correct, ties); subset "" when there are none.
#[pyfunction]
#[pyo3(signature = (chosen, rejected, subsets, *, ties))]
pub fn pairwise_accuracy(
    py: Python<'_>,
    chosen: AnyArray,
    rejected: AnyArray,
    subsets: Option<AnyArray>,
    ties: Opt<preference::TiePolicy>,
) -> PyResult<Vec<SubsetAccuracy>> {
    let (c, r) = (array(chosen, "chosen")?, array(rejected, "rejected")?);
    let subsets = subsets.map(|s| array(s, "subsets")).transpose()?;
    let ties = ties.0;
    compute(py, || {
        let (c, r) = (scores_f64("chosen", &c)?, scores_f64("rejected", &r)?);
        let (rows, names) = subset_indices(subsets.as_ref(), c.len())?;
        let counts =
            preference::pairwise_accuracy(c.values(), r.values(), &rows, names.len(), ties)?;
        Ok(names
            .into_iter()
            .zip(counts)
            .map(|(subset, k)| SubsetAccuracy {
                subset,
                count: k.count,
                correct: k.correct,
                ties: k.ties,
            })
            .collect())
    })
}

/// Reward-model accuracy on one subset: pairs, correct (ties as the policy counts
/// them) and ties.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct SubsetAccuracy {
    subset: String,
    count: usize,
    correct: f64,
    ties: usize,
}

/// Expected (``ece``) and maximum (``mce``) calibration error, Brier score of
/// P(chosen wins), and the reliability table ``bins``
/// (``bin_lower, bin_upper, count, mean_predicted, fraction_positive``).
#[pyclass(
    module = "prefcore.metrics",
    name = "CalibrationResult",
    frozen,
    get_all
)]
pub struct Calibration {
    ece: f64,
    mce: f64,
    brier: f64,
    bins: Py<PyAny>,
}

#[pymethods]
impl Calibration {
    #[new]
    fn new(
        ece: &Bound<'_, PyAny>,
        mce: &Bound<'_, PyAny>,
        brier: &Bound<'_, PyAny>,
        bins: Py<PyAny>,
    ) -> PyResult<Self> {
        Ok(Calibration {
            ece: number(ece, "ece")?,
            mce: number(mce, "mce")?,
            brier: number(brier, "brier")?,
            bins,
        })
    }

    #[classattr]
    fn _fields() -> [&'static str; 4] {
        ["ece", "mce", "brier", "bins"]
    }

    /// The reliability diagram (:func:`prefcore.plot.reliability_diagram`).
    #[pyo3(signature = (ax=None))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        ax: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("prefcore.plot")?
            .call_method1("reliability_diagram", (slf, ax))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> (Bound<'py, PyType>, (f64, f64, f64, Py<PyAny>)) {
        let c = slf.get();
        let bins = c.bins.clone_ref(slf.py());
        (slf.get_type(), (c.ece, c.mce, c.brier, bins))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        summary_repr(slf.as_any())
    }

    fn _repr_html_(slf: &Bound<'_, Self>) -> PyResult<String> {
        summary_html(slf.as_any())
    }
}

#[pyfunction]
#[pyo3(signature = (chosen, rejected, *, n_bins, scale))]
pub fn calibration(
    py: Python<'_>,
    chosen: AnyArray,
    rejected: AnyArray,
    n_bins: usize,
    scale: f64,
) -> PyResult<Calibration> {
    let (c, r) = (array(chosen, "chosen")?, array(rejected, "rejected")?);
    let cal = compute(py, || {
        let (c, r) = (scores_f64("chosen", &c)?, scores_f64("rejected", &r)?);
        preference::calibration(c.values(), r.values(), n_bins, scale)
    })?;
    let bins = &cal.bins;
    let table = to_pyarrow_table(
        py,
        vec![
            (
                "bin_lower".into(),
                Arc::new(Float64Array::from_iter_values(bins.iter().map(|b| b.lower))) as ArrayRef,
            ),
            (
                "bin_upper".into(),
                Arc::new(Float64Array::from_iter_values(bins.iter().map(|b| b.upper))),
            ),
            (
                "count".into(),
                Arc::new(arrow_array::Int64Array::from_iter_values(
                    bins.iter().map(|b| b.count as i64),
                )),
            ),
            (
                "mean_predicted".into(),
                Arc::new(Float64Array::from_iter_values(
                    bins.iter().map(|b| b.mean_predicted),
                )),
            ),
            (
                "fraction_positive".into(),
                Arc::new(Float64Array::from_iter_values(
                    bins.iter().map(|b| b.fraction_positive),
                )),
            ),
        ],
    )?;
    Ok(Calibration {
        ece: cal.ece,
        mce: cal.mce,
        brier: cal.brier,
        bins: table.unbind(),
    })
}

#[pyfunction]
#[pyo3(signature = (x, y, *, method, variant))]
pub fn correlation(
    py: Python<'_>,
    x: AnyArray,
    y: AnyArray,
    method: Opt<corr::Method>,
    variant: Opt<corr::TauVariant>,
) -> PyResult<Vec<f64>> {
    let (x, y) = (array(x, "x")?, array(y, "y")?);
    let which = corr::Correlation::new(method.0, variant.0);
    compute(py, || {
        let (x, y) = (ListColumn::new("x", &x)?, ListColumn::new("y", &y)?);
        corr::per_group(("x", &x), ("y", &y), which)
    })
}

/// A paired comparison of two systems on the same queries: ``n`` queries, each
/// system's mean, their ``difference`` (a - b), the ``test``'s statistic and two-sided
/// ``p_value``, and the paired Cohen's d as ``effect_size``.
#[pyclass(
    module = "prefcore.metrics",
    name = "ComparisonResult",
    frozen,
    get_all,
    eq
)]
#[derive(Clone, PartialEq)]
pub struct Comparison {
    n: usize,
    mean_a: f64,
    mean_b: f64,
    difference: f64,
    statistic: f64,
    p_value: f64,
    effect_size: f64,
    test: String,
}

#[pymethods]
impl Comparison {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n: &Bound<'_, PyAny>,
        mean_a: &Bound<'_, PyAny>,
        mean_b: &Bound<'_, PyAny>,
        difference: &Bound<'_, PyAny>,
        statistic: &Bound<'_, PyAny>,
        p_value: &Bound<'_, PyAny>,
        effect_size: &Bound<'_, PyAny>,
        test: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        Ok(Comparison {
            n: unsigned_size(n, "n")?,
            mean_a: number(mean_a, "mean_a")?,
            mean_b: number(mean_b, "mean_b")?,
            difference: number(difference, "difference")?,
            statistic: number(statistic, "statistic")?,
            p_value: number(p_value, "p_value")?,
            effect_size: number(effect_size, "effect_size")?,
            test: text(test, "test")?,
        })
    }

    #[classattr]
    fn _fields() -> [&'static str; 8] {
        [
            "n",
            "mean_a",
            "mean_b",
            "difference",
            "statistic",
            "p_value",
            "effect_size",
            "test",
        ]
    }

    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> (
        Bound<'py, PyType>,
        (usize, f64, f64, f64, f64, f64, f64, String),
    ) {
        let c = slf.get().clone();
        let args = (
            c.n,
            c.mean_a,
            c.mean_b,
            c.difference,
            c.statistic,
            c.p_value,
            c.effect_size,
            c.test,
        );
        (slf.get_type(), args)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        summary_repr(slf.as_any())
    }

    fn _repr_html_(slf: &Bound<'_, Self>) -> PyResult<String> {
        summary_html(slf.as_any())
    }
}

#[pyfunction]
#[pyo3(signature = (a, b, *, test, n_resamples, seed))]
pub fn compare(
    py: Python<'_>,
    a: Vec<f64>,
    b: Vec<f64>,
    test: Opt<significance::Test>,
    n_resamples: usize,
    seed: u64,
) -> PyResult<Comparison> {
    let test = test.0;
    let c = compute(py, || {
        significance::compare(&a, &b, test, n_resamples, seed)
    })?;
    Ok(Comparison {
        n: c.n,
        mean_a: c.mean_a,
        mean_b: c.mean_b,
        difference: c.difference,
        statistic: c.statistic,
        p_value: c.p_value,
        effect_size: c.effect_size,
        test: test.name().to_string(),
    })
}

fn batch_to_pyarrow(py: Python<'_>, batch: arrow_array::RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}

#[pyfunction]
pub fn read_trec_run(py: Python<'_>, path: String) -> PyResult<Bound<'_, PyAny>> {
    let batch = compute(py, || io::trec::read_run(&path))?;
    batch_to_pyarrow(py, batch)
}

#[pyfunction]
pub fn read_trec_qrels(py: Python<'_>, path: String) -> PyResult<Bound<'_, PyAny>> {
    let batch = compute(py, || io::trec::read_qrels(&path))?;
    batch_to_pyarrow(py, batch)
}

#[pyfunction]
pub fn set_num_threads(n: usize) -> PyResult<()> {
    parallel::set_num_threads(n).map_err(to_py)
}

#[pyfunction]
pub fn get_num_threads() -> usize {
    parallel::num_threads()
}

/// Why `PREFCORE_NUM_THREADS` was not taken as given, if it was not.
#[pyfunction]
pub fn thread_setting_warning() -> Option<String> {
    parallel::threads_from_env().1
}
