//! Bindings of `prefcore_core::ratings`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{BooleanArray, Float64Array, UInt32Array};
use arrow_buffer::ScalarBuffer;
use arrow_schema::DataType;
use numpy::PyReadonlyArray2;
use prefcore_core::ratings::{
    self, bradley_terry as bt, elo, Battles, FitOptions, VoteMethod, Votes,
};
use prefcore_core::Error;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, to_py_array};
use crate::errors::{compute, to_py};

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

/// An item that won or lost every battle: its code and which it did.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct UnboundedItem {
    item: usize,
    outcome: &'static str,
}

/// The first item that won or lost every battle, if any.
#[pyfunction]
#[pyo3(signature = (a, b, score_a, n_items))]
pub fn bt_unbounded_item(
    a: AnyArray,
    b: AnyArray,
    score_a: AnyArray,
    n_items: usize,
) -> PyResult<Option<UnboundedItem>> {
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
    Ok(
        bt::unbounded_item(&bt::win_matrix(&battles, |k| k), n_items)
            .map(|(item, outcome)| UnboundedItem { item, outcome }),
    )
}

/// A Bradley-Terry fit: θ per item, the variance of θ − reference, and θ per
/// bootstrap round.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct BradleyTerryFit {
    theta: Vec<f64>,
    variance: Vec<f64>,
    bootstrap: Vec<Vec<f64>>,
}

#[pyfunction]
#[pyo3(signature = (a, b, score_a, n_items, *, alpha, bootstrap, seed, reference))]
#[allow(clippy::too_many_arguments)]
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
) -> PyResult<BradleyTerryFit> {
    let (a, b, s) = (
        u32_codes(a, "a")?,
        u32_codes(b, "b")?,
        f64_values(score_a, "winner")?,
    );
    let fit = compute(py, || {
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
        ratings::bradley_terry(&battles, &options, reference, bootstrap, seed)
    })?;
    Ok(BradleyTerryFit {
        theta: fit.theta,
        variance: fit.variance,
        bootstrap: fit.bootstrap,
    })
}

/// Online Elo ratings and, when asked, each bootstrap round's ratings.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct EloFit {
    ratings: Vec<f64>,
    bootstrap: Vec<Vec<f64>>,
}

#[pyfunction]
#[pyo3(signature = (a, b, score_a, n_items, *, k, base, scale, init, bootstrap, seed, resamples))]
#[allow(clippy::too_many_arguments)]
pub fn online_elo(
    py: Python<'_>,
    a: AnyArray,
    b: AnyArray,
    score_a: AnyArray,
    n_items: usize,
    k: f64,
    base: f64,
    scale: f64,
    init: f64,
    bootstrap: usize,
    seed: u64,
    resamples: Option<PyReadonlyArray2<'_, u32>>,
) -> PyResult<EloFit> {
    let (a, b, s) = (
        u32_codes(a, "a")?,
        u32_codes(b, "b")?,
        f64_values(score_a, "winner")?,
    );
    let rows: Option<Vec<Vec<u32>>> = resamples.map(|m| {
        let m = m.as_array();
        m.rows().into_iter().map(|row| row.to_vec()).collect()
    });
    let options = elo::EloOptions {
        k,
        base,
        scale,
        init,
    };
    let (ratings, draws) = compute(py, || {
        let battles = Battles {
            a: &a,
            b: &b,
            score_a: &s,
            n_items,
        };
        let ratings = elo::online_elo(&battles, &options, None)?;
        let draws = if rows.is_some() || bootstrap > 0 {
            elo::bootstrap_elo(&battles, &options, rows.as_deref(), bootstrap, seed)?
        } else {
            Vec::new()
        };
        Ok((ratings, draws))
    })?;
    Ok(EloFit {
        ratings,
        bootstrap: draws,
    })
}

/// Consensus per item (arrays) and agreement figures of a set of votes.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct VoteSummary {
    /// Consensus class code per item (null: tie or no votes).
    consensus: Py<PyAny>,
    support: Py<PyAny>,
    tied: Py<PyAny>,
    n_votes: Py<PyAny>,
    raw_agreement: f64,
    fleiss_kappa: f64,
    krippendorff_alpha: f64,
    items_rated_twice: usize,
    iterations: usize,
    annotator_votes: Py<PyAny>,
    annotator_agreement: Py<PyAny>,
}

#[pyfunction]
#[pyo3(signature = (item, annotator, vote, *, n_items, n_annotators, n_classes, method))]
#[allow(clippy::too_many_arguments)]
pub fn aggregate_votes(
    py: Python<'_>,
    item: AnyArray,
    annotator: AnyArray,
    vote: AnyArray,
    n_items: usize,
    n_annotators: usize,
    n_classes: usize,
    method: &str,
) -> PyResult<VoteSummary> {
    let (item, annotator, class) = (
        u32_codes(item, "item")?,
        u32_codes(annotator, "annotator")?,
        u32_codes(vote, "vote")?,
    );
    let method = match method {
        "majority" => VoteMethod::Majority,
        "dawid_skene" => VoteMethod::DAWID_SKENE,
        other => {
            return Err(to_py(Error::argument(format!(
                "method must be one of 'majority', 'dawid_skene'; not '{other}'"
            ))))
        }
    };
    let s = compute(py, || {
        let votes = Votes {
            item: &item,
            annotator: &annotator,
            class: &class,
            n_items,
            n_annotators,
            n_classes,
        };
        ratings::aggregate_votes(&votes, method)
    })?;
    let (votes, share): (Vec<u32>, Vec<f64>) = s.annotators.into_iter().unzip();
    let class: UInt32Array = s.consensus.class.iter().copied().collect();
    let tied = BooleanArray::from_iter(s.consensus.tied.iter().map(|&t| Some(t > 1)));
    Ok(VoteSummary {
        consensus: to_py_array(py, Arc::new(class))?.unbind(),
        support: to_py_array(py, Arc::new(Float64Array::from(s.consensus.support)))?.unbind(),
        tied: to_py_array(py, Arc::new(tied))?.unbind(),
        n_votes: to_py_array(py, Arc::new(UInt32Array::from(s.consensus.n_votes)))?.unbind(),
        raw_agreement: s.agreement.raw,
        fleiss_kappa: s.agreement.fleiss_kappa,
        krippendorff_alpha: s.agreement.krippendorff_alpha,
        items_rated_twice: s.agreement.items_rated_twice,
        iterations: s.iterations,
        annotator_votes: to_py_array(py, Arc::new(UInt32Array::from(votes)))?.unbind(),
        annotator_agreement: to_py_array(py, Arc::new(Float64Array::from(share)))?.unbind(),
    })
}
