//! prefcore's exception hierarchy, owned by the extension: `PrefcoreError` (a
//! `ValueError`) and its subclasses, made once per interpreter when the module loads
//! and shown to Python as `prefcore.errors`.
//!
//! They are ordinary Python exception classes (made by calling `type`) rather than
//! `#[pyclass]`es: a wrong type must be both a `PrefcoreError` and a `TypeError`, and
//! only a class without Rust-side fields can have both as bases. Their one addition is
//! an `__init__` taking the attributes as keyword arguments ([`ExceptionInit`]); the
//! attributes live in the instance `__dict__`, so `BaseException`'s own pickling (the
//! message as `args`, then the `__dict__`) carries them to Ray workers and back.

use pyo3::exceptions::{PyBaseException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The module the classes report (`__module__`): where users import them from and
/// where pickle finds them again.
const MODULE: &str = "prefcore.errors";

/// The attributes every prefcore exception carries, `None` where they do not apply.
const ATTRIBUTES: [&str; 6] = ["argument", "column", "row", "query_id", "path", "line"];

/// One class of the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Prefcore,
    InvalidValue,
    InvalidQuery,
    MissingColumn,
    InvalidArgument,
    Input,
    ColumnType,
    ArgumentType,
}

impl Class {
    /// Every class, the root first (each class is made after its bases).
    pub const ALL: [Class; 8] = [
        Class::Prefcore,
        Class::InvalidValue,
        Class::InvalidQuery,
        Class::MissingColumn,
        Class::InvalidArgument,
        Class::Input,
        Class::ColumnType,
        Class::ArgumentType,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Prefcore => "PrefcoreError",
            Class::InvalidValue => "InvalidValueError",
            Class::InvalidQuery => "InvalidQueryError",
            Class::MissingColumn => "MissingColumnError",
            Class::InvalidArgument => "InvalidArgumentError",
            Class::Input => "InputError",
            Class::ColumnType => "ColumnTypeError",
            Class::ArgumentType => "ArgumentTypeError",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Class::Prefcore => "Bad input to a prefcore call: the root of prefcore's exceptions.",
            Class::InvalidValue => {
                "One value is invalid (a null, NaN, a negative grade, an id out of range): \
                 ``column`` and ``row`` (0-based, in the input as given) say which."
            }
            Class::InvalidQuery => {
                "A whole query of a TREC run or qrels is invalid (a document listed \
                 twice): ``column`` and ``query_id`` say which."
            }
            Class::MissingColumn => {
                "A column the call needs is not in the table; ``column`` names it."
            }
            Class::InvalidArgument => {
                "An argument that is not a column (an option, a metric name, a cutoff) \
                 is invalid; ``argument`` names it where one argument is at fault."
            }
            Class::Input => {
                "A file cannot be read as asked: ``path``, and ``line`` for a malformed line."
            }
            Class::ColumnType => {
                "A column has a type the call cannot use; also a ``TypeError``, with \
                 ``column``."
            }
            Class::ArgumentType => {
                "An argument that is not a column has the wrong type (a string where a \
                 number belongs); also a ``TypeError``, with ``argument``."
            }
        }
    }

    /// Whether the class is also a `TypeError`, so that `except TypeError` catches it.
    fn is_type_error(self) -> bool {
        matches!(self, Class::ColumnType | Class::ArgumentType)
    }

    /// The class object, made on first use.
    pub fn type_object(self, py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
        let classes = CLASSES.get_or_try_init(py, || make_classes(py))?;
        // `ALL` lists the variants in declaration order, so a variant indexes its class.
        Ok(classes[self as usize].bind(py))
    }
}

static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn make_classes(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let make_type = py.get_type::<PyType>();
    let init = Py::new(py, ExceptionInit)?;
    let mut made: Vec<Py<PyType>> = Vec::with_capacity(Class::ALL.len());
    for class in Class::ALL {
        let bases = match class {
            Class::Prefcore => PyTuple::new(py, [py.get_type::<PyValueError>()])?,
            c if c.is_type_error() => {
                PyTuple::new(py, [made[0].bind(py).clone(), py.get_type::<PyTypeError>()])?
            }
            _ => PyTuple::new(py, [made[0].bind(py).clone()])?,
        };
        let namespace = PyDict::new(py);
        namespace.set_item("__module__", MODULE)?;
        namespace.set_item("__qualname__", class.name())?;
        namespace.set_item("__doc__", class.doc())?;
        if class == Class::Prefcore {
            namespace.set_item("__init__", init.clone_ref(py))?;
            for attribute in ATTRIBUTES {
                // Class-level defaults: an instance made without `__init__` (by
                // `copy`, or pickled by an older prefcore) still answers `None`.
                namespace.set_item(attribute, py.None())?;
            }
        }
        let made_class = make_type.call1((class.name(), bases, namespace))?;
        made.push(made_class.cast_into::<PyType>()?.unbind());
    }
    Ok(made)
}

/// `PrefcoreError.__init__(self, message, *, argument=None, column=None, row=None,
/// query_id=None, path=None, line=None)`: the message as `BaseException` keeps it, and
/// each attribute set on the instance. A descriptor, so that it binds to the instance
/// the way a Python function would.
#[pyclass(frozen, module = "prefcore.errors", name = "_ExceptionInit")]
pub struct ExceptionInit;

#[pymethods]
impl ExceptionInit {
    fn __get__(
        slf: Bound<'_, Self>,
        instance: Option<Bound<'_, PyAny>>,
        _owner: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        match instance {
            None => Ok(slf.into_any().unbind()),
            Some(instance) => Ok(py
                .import("types")?
                .getattr("MethodType")?
                .call1((slf, instance))?
                .unbind()),
        }
    }

    /// What `inspect.signature` reads for the classes (the instance bound as `self`).
    #[getter]
    fn __text_signature__(&self) -> &'static str {
        "($self, message, *, argument=None, column=None, row=None, query_id=None, \
         path=None, line=None)"
    }

    #[pyo3(signature = (exception, message, *, argument=None, column=None, row=None, query_id=None, path=None, line=None))]
    #[allow(clippy::too_many_arguments)]
    fn __call__(
        &self,
        exception: &Bound<'_, PyAny>,
        message: Bound<'_, PyAny>,
        argument: Option<Bound<'_, PyAny>>,
        column: Option<Bound<'_, PyAny>>,
        row: Option<Bound<'_, PyAny>>,
        query_id: Option<Bound<'_, PyAny>>,
        path: Option<Bound<'_, PyAny>>,
        line: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = exception.py();
        py.get_type::<PyBaseException>()
            .call_method1("__init__", (exception, message))?;
        let values = [argument, column, row, query_id, path, line];
        for (name, value) in ATTRIBUTES.into_iter().zip(values) {
            exception.setattr(name, value)?;
        }
        Ok(())
    }
}

/// Put every class on the extension module (`prefcore.errors` re-exports them).
pub fn register_exceptions(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for class in Class::ALL {
        m.add(class.name(), class.type_object(m.py())?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Class;

    #[test]
    fn every_class_is_listed_once_with_its_own_name() {
        let mut names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Class::ALL.len());
        assert_eq!(Class::ALL[0], Class::Prefcore, "the root is made first");
        for (index, class) in Class::ALL.into_iter().enumerate() {
            assert_eq!(class as usize, index, "{}", class.name());
        }
    }
}
