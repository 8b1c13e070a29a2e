//! Core errors to Python exceptions, and the guard that keeps panics out of Python.

use std::panic::{catch_unwind, AssertUnwindSafe};

use prefcore_core::Error;

use crate::exceptions::Class;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Map a core error to the exception a Python user expects: bad input becomes one of
/// the classes of [`Class`] (all `ValueError`s, a wrong type a `TypeError`) carrying
/// the column, row, query id, path or line as attributes.
pub fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    let (class, fields): (Class, Vec<(&str, Field)>) = match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            return PyFileNotFoundError::new_err(message);
        }
        Error::Io { .. } => return PyOSError::new_err(message),
        Error::OutOfMemory { .. } => return PyMemoryError::new_err(message),
        Error::Interrupted => return PyKeyboardInterrupt::new_err(message),
        Error::WrongType { column, .. } => (Class::ColumnType, vec![("column", column.into())]),
        Error::MissingColumn { column, .. } => {
            (Class::MissingColumn, vec![("column", column.into())])
        }
        Error::InvalidValue { column, row, .. } => (
            Class::InvalidValue,
            vec![("column", column.into()), ("row", row.into())],
        ),
        Error::InvalidQuery {
            column, query_id, ..
        } => (
            Class::InvalidQuery,
            vec![("column", column.into()), ("query_id", query_id.into())],
        ),
        Error::Parse { path, line, .. } => (
            Class::Input,
            vec![("path", path.into()), ("line", line.into())],
        ),
        Error::InvalidArgument {
            argument: Some(argument),
            ..
        } => (Class::InvalidArgument, vec![("argument", argument.into())]),
        Error::InvalidArgument { argument: None, .. } | Error::Arrow(_) => {
            (Class::InvalidArgument, vec![])
        }
    };
    prefcore_error(class, message, fields)
}

/// An instance of the exception class `class` with `message` and the attributes
/// `fields` (a plain `ValueError` should building it fail, which only running out of
/// memory could cause).
fn prefcore_error(class: Class, message: String, fields: Vec<(&str, Field)>) -> PyErr {
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let kwargs = PyDict::new(py);
            for (name, value) in fields {
                match value {
                    Field::Text(v) => kwargs.set_item(name, v)?,
                    Field::Number(v) => kwargs.set_item(name, v)?,
                }
            }
            let class = class.type_object(py)?;
            Ok(PyErr::from_value(class.call((&message,), Some(&kwargs))?))
        };
        build().unwrap_or_else(|_| PyValueError::new_err(message.clone()))
    })
}

/// `ArgumentTypeError` (a `TypeError`): an option of the wrong type.
pub fn argument_type_error(argument: &str, message: String) -> PyErr {
    prefcore_error(
        Class::ArgumentType,
        message,
        vec![("argument", argument.to_string().into())],
    )
}

/// `InvalidArgumentError`: an option with a value the call refuses.
pub fn invalid_argument(argument: &str, message: String) -> PyErr {
    prefcore_error(
        Class::InvalidArgument,
        message,
        vec![("argument", argument.to_string().into())],
    )
}

/// `ColumnTypeError` (a `TypeError`): a column of the wrong type.
pub fn column_type_error(column: &str, message: String) -> PyErr {
    prefcore_error(
        Class::ColumnType,
        message,
        vec![("column", column.to_string().into())],
    )
}

/// An attribute of one of prefcore's exceptions.
enum Field {
    Text(String),
    Number(usize),
}

impl From<String> for Field {
    fn from(v: String) -> Self {
        Field::Text(v)
    }
}

impl From<usize> for Field {
    fn from(v: usize) -> Self {
        Field::Number(v)
    }
}

/// Whether Python has a signal (Ctrl-C) waiting: the core's interrupt check. Python
/// runs signal handlers on the main thread only, so elsewhere this is always false.
/// Asking takes the GIL, which another Python thread may hold for milliseconds, so
/// it is asked at most every [`SIGNAL_CHECK_INTERVAL`]: kernels can check as often as
/// they like at the cost of reading a clock.
fn signal_pending() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    static LAST_ASKED_NS: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_nanos() as u64;
    let last = LAST_ASKED_NS.load(Ordering::Relaxed);
    if last != 0 && now.saturating_sub(last) < SIGNAL_CHECK_INTERVAL.as_nanos() as u64 {
        return false;
    }
    LAST_ASKED_NS.store(now.max(1), Ordering::Relaxed);
    Python::attach(|py| py.check_signals().is_err())
}

/// How often, at most, a long kernel asks Python for a pending Ctrl-C.
const SIGNAL_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// Let the core's long kernels notice Ctrl-C (called once at import).
pub fn install_interrupt_check() {
    prefcore_core::interrupt::set_check(signal_pending);
}

/// Run `f` without the GIL (reporting progress to the thread's callback, if any),
/// turning a core error into an exception and a panic (a bug
/// of ours) into a `RuntimeError` rather than letting it unwind into Python.
pub fn compute<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> prefcore_core::Result<T> + Send,
{
    let report = crate::progress::report(py);
    py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| match report {
            Some(report) => prefcore_core::progress::reporting(report, f),
            None => f(),
        }))
    })
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

/// An unsigned integer argument of a constructor. pyo3 rejects a negative or too large
/// int with a bare `OverflowError`; the package translates that for functions
/// (`prefcore/_overflow.py`), but a class constructor is out of its reach, so it is
/// named here.
pub(crate) fn unsigned(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    value.extract::<u64>().map_err(|err| {
        if err.is_instance_of::<pyo3::exceptions::PyOverflowError>(value.py()) {
            invalid_argument(
                name,
                format!(
                    "'{name}' is out of range: expected a non-negative integer that fits in \
                     64 bits, not {value}"
                ),
            )
        } else {
            argument_type_error(
                name,
                format!("argument '{name}': {}", err.value(value.py())),
            )
        }
    })
}

/// A number argument of a constructor, as an `ArgumentTypeError` naming it when it is
/// not one (pyo3's own error would be a bare `TypeError`).
pub(crate) fn number(value: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    value
        .extract::<f64>()
        .map_err(|_| wrong_type(value, name, "a number"))
}

/// A string argument of a constructor, as [`number`] checks a number.
pub(crate) fn text(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    value
        .extract::<String>()
        .map_err(|_| wrong_type(value, name, "a string"))
}

fn wrong_type(value: &Bound<'_, PyAny>, name: &str, wanted: &str) -> PyErr {
    let given = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    argument_type_error(name, format!("{name} must be {wanted}, not {given}"))
}

/// [`unsigned`] as a `usize`.
pub(crate) fn unsigned_size(value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let n = unsigned(value, name)?;
    usize::try_from(n).map_err(|_| {
        invalid_argument(
            name,
            format!("'{name}' is out of range: {n} does not fit in this machine's usize"),
        )
    })
}
