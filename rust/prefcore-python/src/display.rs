//! The display of the result classes that are public types: the same compact `repr`
//! and notebook table as the package's result dataclasses (`prefcore/_display.py`),
//! one field per line, tables and arrays by size.

use pyo3::prelude::*;

/// `prefcore._display.summary_repr(result)`.
pub fn summary_repr(result: &Bound<'_, PyAny>) -> PyResult<String> {
    call(result, "summary_repr")
}

/// `prefcore._display.summary_html(result)`.
pub fn summary_html(result: &Bound<'_, PyAny>) -> PyResult<String> {
    call(result, "summary_html")
}

fn call(result: &Bound<'_, PyAny>, function: &str) -> PyResult<String> {
    result
        .py()
        .import("prefcore._display")?
        .call_method1(function, (result,))?
        .extract()
}
