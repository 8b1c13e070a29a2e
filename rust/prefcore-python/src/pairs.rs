//! Bindings of `prefcore_core::pairs`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{BooleanArray, Float64Array, StringArray, UInt32Array};
use arrow_buffer::ScalarBuffer;
use arrow_schema::DataType;
use numpy::{PyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use prefcore_core::columns::ListColumn;
use prefcore_core::pairs::bradley_terry::{self as bt, Battles, FitOptions};
use prefcore_core::pairs::listwise;
use prefcore_core::pairs::votes::Votes;
use prefcore_core::pairs::{self, PairOptions, Roles};
use prefcore_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;

use crate::convert::{array, to_py_array, to_pyarrow_table, Table};
use crate::errors::{compute, to_py};

/// Returns the pairs table and the stats as a dict.
#[pyfunction]
#[pyo3(signature = (table, prompt, completions, scores, scores_name, strategy, min_margin, ties, k, seed, max_pairs_per_prompt, score_range, short_groups, first_group, texts))]
#[allow(clippy::too_many_arguments)]
pub fn pairs_from_scores<'py>(
    py: Python<'py>,
    table: PyTable,
    prompt: Option<&str>,
    completions: &str,
    scores: AnyArray,
    scores_name: &str,
    strategy: &str,
    min_margin: f64,
    ties: &str,
    k: usize,
    seed: u64,
    max_pairs_per_prompt: Option<usize>,
    score_range: Option<(f64, f64)>,
    short_groups: &str,
    first_group: u64,
    texts: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let table = Table::new(table);
    let prompt_column = prompt.map(|p| table.column(p)).transpose()?;
    // The kernel checks the completion texts it copies out (or all, when it does not).
    let completion_column = table.column_checked_by_kernel(completions)?;
    let scores = array(scores, scores_name)?;
    let options = PairOptions {
        strategy: strategy.parse().map_err(to_py)?,
        min_margin,
        ties: ties.parse().map_err(to_py)?,
        k,
        seed,
        max_pairs_per_group: max_pairs_per_prompt,
        score_range,
        short_groups: short_groups.parse().map_err(to_py)?,
        first_group,
        texts: texts.parse().map_err(to_py)?,
    };
    let (columns, stats) = compute(py, || {
        let scores = ListColumn::new(scores_name, &scores)?;
        let completion_column = (completions, &completion_column);
        let prompt_column = prompt.zip(prompt_column.as_ref());
        pairs::pair_table(prompt_column, completion_column, &scores, &options)
    })?;
    let out = PyDict::new(py);
    out.set_item("prompts", stats.groups)?;
    out.set_item("prompts_with_pairs", stats.groups_with_pairs)?;
    out.set_item("prompts_skipped_short", stats.groups_skipped_short)?;
    out.set_item(
        "prompts_without_eligible_pair",
        stats.groups_without_eligible_pair,
    )?;
    out.set_item("pairs_capped", stats.pairs_capped)?;
    Ok((to_pyarrow_table(py, columns)?, out))
}

fn roles(user: &str, assistant: &str) -> PyResult<Roles> {
    Roles::new(user, assistant).map_err(to_py)
}

/// Returns (prompt, chosen, rejected, reason) arrays.
#[pyfunction]
#[pyo3(signature = (table, chosen, rejected, user, assistant))]
pub fn extract_prompt<'py>(
    py: Python<'py>,
    table: PyTable,
    chosen: &str,
    rejected: &str,
    user: &str,
    assistant: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let table = Table::new(table);
    let (c, r) = (table.column(chosen)?, table.column(rejected)?);
    let roles = roles(user, assistant)?;
    let split = compute(py, || {
        pairs::extract_prompt((chosen, rejected), &c, &r, &roles)
    })?;
    let reason: StringArray = split
        .failure
        .iter()
        .map(|f| f.map(|f| f.as_str()))
        .collect();
    [split.prompt, split.chosen, split.rejected, Arc::new(reason)]
        .into_iter()
        .map(|a| to_py_array(py, a))
        .collect()
}

#[pyfunction]
#[pyo3(signature = (texts, user, assistant))]
pub fn parse_transcripts<'py>(
    py: Python<'py>,
    texts: AnyArray,
    user: &str,
    assistant: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let texts = array(texts, "text")?;
    let roles = roles(user, assistant)?;
    let out = compute(py, || pairs::parse_transcripts("text", &texts, &roles))?;
    to_py_array(py, out)
}

#[pyfunction]
#[pyo3(signature = (messages, user, assistant))]
pub fn render_transcripts<'py>(
    py: Python<'py>,
    messages: AnyArray,
    user: &str,
    assistant: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let messages = array(messages, "messages")?;
    let roles = roles(user, assistant)?;
    let out = compute(py, || {
        pairs::render_transcripts("messages", &messages, &roles)
    })?;
    to_py_array(py, out)
}

/// Per list: the positions in rank order and the flattened `n × n` LiPO-λ weights.
#[pyfunction]
#[pyo3(signature = (scores, labels, scores_name, labels_name))]
pub fn listwise_weights<'py>(
    py: Python<'py>,
    scores: AnyArray,
    labels: AnyArray,
    scores_name: &str,
    labels_name: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (scores, labels) = (array(scores, scores_name)?, array(labels, labels_name)?);
    let (order, weights) = compute(py, || {
        let s = ListColumn::new(scores_name, &scores)?;
        let l = ListColumn::new(labels_name, &labels)?;
        listwise::grouped_weights(&s, &l)
    })?;
    Ok((to_py_array(py, order)?, to_py_array(py, weights)?))
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

fn u32_codes(obj: AnyArray, name: &str) -> PyResult<ScalarBuffer<u32>> {
    let a = array(obj, name)?;
    let a = arrow_cast::cast(&a, &DataType::UInt32).map_err(|e| to_py(e.into()))?;
    Ok(a.as_primitive::<UInt32Type>().values().clone())
}

fn f64_values(obj: AnyArray, name: &str) -> PyResult<ScalarBuffer<f64>> {
    let a = array(obj, name)?;
    let a = arrow_cast::cast(&a, &DataType::Float64).map_err(|e| to_py(e.into()))?;
    Ok(a.as_primitive::<Float64Type>().values().clone())
}

/// An item that won or lost every battle, as (code, "won"/"lost").
#[pyfunction]
#[pyo3(signature = (a, b, score_a, n_items))]
pub fn bt_unbounded_item(
    a: AnyArray,
    b: AnyArray,
    score_a: AnyArray,
    n_items: usize,
) -> PyResult<Option<(usize, &'static str)>> {
    let (a, b, s) = (
        u32_codes(a, "a")?,
        u32_codes(b, "b")?,
        f64_values(score_a, "winner")?,
    );
    let battles = Battles {
        a: &a,
        b: &b,
        score_a: &s,
        n_items,
    };
    Ok(bt::unbounded_item(
        &bt::win_matrix(&battles, |k| k),
        n_items,
    ))
}

/// Returns (θ, variance of θ − reference, bootstrap θ per round).
#[pyfunction]
#[pyo3(signature = (a, b, score_a, n_items, alpha, bootstrap, seed, reference))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn bradley_terry(
    py: Python<'_>,
    a: AnyArray,
    b: AnyArray,
    score_a: AnyArray,
    n_items: usize,
    alpha: f64,
    bootstrap: usize,
    seed: u64,
    reference: Option<usize>,
) -> PyResult<(Vec<f64>, Vec<f64>, Vec<Vec<f64>>)> {
    let (a, b, s) = (
        u32_codes(a, "a")?,
        u32_codes(b, "b")?,
        f64_values(score_a, "winner")?,
    );
    compute(py, || {
        let battles = Battles {
            a: &a,
            b: &b,
            score_a: &s,
            n_items,
        };
        let options = FitOptions {
            alpha,
            ..Default::default()
        };
        let w = bt::win_matrix(&battles, |k| k);
        let theta = bt::fit(&w, n_items, &options)?;
        let var = bt::variances(&theta, &w, alpha, reference);
        let rounds = bt::bootstrap(&battles, &options, bootstrap, seed)?;
        Ok((theta, var, rounds))
    })
}

/// Consensus and agreement from coded votes; returns a dict of columns and figures.
#[pyfunction]
#[pyo3(signature = (item, annotator, vote, n_items, n_annotators, n_classes, method))]
#[allow(clippy::too_many_arguments)]
pub fn aggregate_votes<'py>(
    py: Python<'py>,
    item: AnyArray,
    annotator: AnyArray,
    vote: AnyArray,
    n_items: usize,
    n_annotators: usize,
    n_classes: usize,
    method: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let (item, annotator, class) = (
        u32_codes(item, "item")?,
        u32_codes(annotator, "annotator")?,
        u32_codes(vote, "vote")?,
    );
    let dawid_skene = match method {
        "majority" => false,
        "dawid_skene" => true,
        other => {
            return Err(to_py(Error::argument(format!(
                "method must be one of 'majority', 'dawid_skene'; not '{other}'"
            ))))
        }
    };
    let (consensus, agreement, annotators, iterations) = compute(py, || {
        let votes = Votes {
            item: &item,
            annotator: &annotator,
            class: &class,
            n_items,
            n_annotators,
            n_classes,
        };
        let counts = votes.counts()?;
        let (consensus, iterations) = if dawid_skene {
            votes.dawid_skene(&counts, 200, 1e-8)
        } else {
            (votes.majority(&counts), 0)
        };
        let agreement = votes.agreement(&counts);
        let annotators = votes.annotator_agreement(&consensus.class);
        Ok((consensus, agreement, annotators, iterations))
    })?;
    let out = PyDict::new(py);
    let class: UInt32Array = consensus.class.iter().copied().collect();
    out.set_item("class", to_py_array(py, Arc::new(class))?)?;
    out.set_item(
        "support",
        to_py_array(py, Arc::new(Float64Array::from(consensus.support)))?,
    )?;
    out.set_item(
        "tied",
        to_py_array(
            py,
            Arc::new(BooleanArray::from_iter(
                consensus.tied.iter().map(|&t| Some(t > 1)),
            )),
        )?,
    )?;
    out.set_item(
        "n_votes",
        to_py_array(py, Arc::new(UInt32Array::from(consensus.n_votes)))?,
    )?;
    out.set_item("raw_agreement", agreement.raw)?;
    out.set_item("fleiss_kappa", agreement.fleiss_kappa)?;
    out.set_item("krippendorff_alpha", agreement.krippendorff_alpha)?;
    out.set_item("items_rated_twice", agreement.items_rated_twice)?;
    out.set_item("iterations", iterations)?;
    let (votes, share): (Vec<u32>, Vec<f64>) = annotators.into_iter().unzip();
    out.set_item(
        "annotator_votes",
        to_py_array(py, Arc::new(UInt32Array::from(votes)))?,
    )?;
    out.set_item(
        "annotator_agreement",
        to_py_array(py, Arc::new(Float64Array::from(share)))?,
    )?;
    Ok(out)
}
