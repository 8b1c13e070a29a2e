//! Bindings of `prefcore_core::pairs::transcript`, for `prefcore.formats`.

use std::sync::Arc;

use arrow_array::StringArray;
use prefcore_core::pairs::{self, Roles};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;

use crate::convert::{array, to_py_array, Table};
use crate::errors::{compute, to_py};

fn roles(user: &str, assistant: &str) -> PyResult<Roles> {
    Roles::new(user, assistant).map_err(to_py)
}

/// The prompt split off each transcript pair, and why a row could not be split.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct PromptSplit {
    prompt: Py<PyAny>,
    chosen: Py<PyAny>,
    rejected: Py<PyAny>,
    reason: Py<PyAny>,
}

/// Prompt, chosen and rejected from transcript pairs.
#[pyfunction]
#[pyo3(signature = (table, chosen, rejected, user, assistant))]
pub fn extract_prompt(
    py: Python<'_>,
    table: PyTable,
    chosen: &str,
    rejected: &str,
    user: &str,
    assistant: &str,
) -> PyResult<PromptSplit> {
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
    let array = |a| to_py_array(py, a).map(Bound::unbind);
    Ok(PromptSplit {
        prompt: array(split.prompt)?,
        chosen: array(split.chosen)?,
        rejected: array(split.rejected)?,
        reason: array(Arc::new(reason))?,
    })
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
