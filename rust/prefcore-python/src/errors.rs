//! Core errors to Python exceptions, and the guard that keeps panics out of Python.

use std::panic::{catch_unwind, AssertUnwindSafe};

use prefcore_core::Error;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError,
    PyTypeError, PyValueError,
};
use pyo3::prelude::*;

/// Map a core error to the exception a Python user expects.
pub fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::WrongType { .. } => PyTypeError::new_err(message),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Io { .. } => PyOSError::new_err(message),
        Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
        Error::Interrupted => PyKeyboardInterrupt::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Whether Python has a signal (Ctrl-C) waiting: the core's interrupt check. Python
/// runs signal handlers on the main thread only, so elsewhere this is always false.
fn signal_pending() -> bool {
    Python::attach(|py| py.check_signals().is_err())
}

/// Let the core's long kernels notice Ctrl-C (called once at import).
pub fn install_interrupt_check() {
    prefcore_core::interrupt::set_check(signal_pending);
}

/// Run `f` without the GIL, turning a core error into an exception and a panic (a bug
/// of ours) into a `RuntimeError` rather than letting it unwind into Python.
pub fn compute<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> prefcore_core::Result<T> + Send,
{
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            PyRuntimeError::new_err(format!(
                "internal error in prefcore (please report it): {what}"
            ))
        })?
        .map_err(to_py)
}
