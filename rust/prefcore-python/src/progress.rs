//! Progress bars for long calls: Python installs a callback for its thread
//! (`set_progress`), and [`crate::errors::compute`] hands it to the core's
//! [`prefcore_core::progress`] for the duration of each call made on that thread.

use std::cell::RefCell;

use pyo3::prelude::*;

thread_local! {
    /// The callback of the Python thread this OS thread runs.
    static CALLBACK: RefCell<Option<Py<PyAny>>> = const { RefCell::new(None) };
}

/// Install `callback(stage, done, total)` for the calls this thread makes next (None
/// removes it); returns the one it replaces, so a caller can restore it.
#[pyfunction]
#[pyo3(signature = (callback))]
pub fn set_progress(callback: Option<Py<PyAny>>) -> Option<Py<PyAny>> {
    CALLBACK.with(|c| std::mem::replace(&mut *c.borrow_mut(), callback))
}

/// The core report that calls this thread's callback, if one is installed. Called with
/// the GIL held; the report attaches to Python for each call (between waves only).
pub fn report(py: Python<'_>) -> Option<prefcore_core::progress::Report> {
    let callback = CALLBACK.with(|c| c.borrow().as_ref().map(|cb| cb.clone_ref(py)))?;
    Some(Box::new(move |stage: &str, done: u64, total: u64| {
        Python::attach(|py| {
            if let Err(e) = callback.call1(py, (stage, done, total)) {
                // A broken progress bar must not lose the call's result.
                e.write_unraisable(py, Some(callback.bind(py)));
            }
        })
    }))
}
