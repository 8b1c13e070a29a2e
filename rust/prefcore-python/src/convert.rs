//! Python objects to Arrow arrays and back (zero-copy through the PyCapsule interface).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use prefcore_core::columns::{concat_chunks, decode_dictionary, find_column, join_chunks};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::{PyArray, PyTable};

use prefcore_core::OptionValues;
use pyo3::Borrowed;

use crate::errors::{argument_type_error, invalid_argument, to_py};

/// The columns of an Arrow table, each as one array.
pub struct Table {
    names: Vec<String>,
    types: Vec<DataType>,
    batches: Vec<RecordBatch>,
}

impl Table {
    pub fn new(table: PyTable) -> Self {
        let (batches, schema) = table.into_inner();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        let types = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Table {
            names,
            types,
            batches,
        }
    }

    /// Column `name`; chunks are joined only when there is more than one.
    pub fn column(&self, name: &str) -> PyResult<ArrayRef> {
        self.column_with(name, concat_chunks)
    }

    /// Column `name` with its UTF-8 check left to the kernel that reads it
    /// (`prefcore_core::columns::join_chunks`).
    pub fn column_checked_by_kernel(&self, name: &str) -> PyResult<ArrayRef> {
        self.column_with(name, join_chunks)
    }

    fn column_with(
        &self,
        name: &str,
        join: fn(&str, &[ArrayRef]) -> prefcore_core::Result<ArrayRef>,
    ) -> PyResult<ArrayRef> {
        let i = find_column(&self.names, name).map_err(to_py)?;
        let chunks: Vec<ArrayRef> = self.batches.iter().map(|b| b.column(i).clone()).collect();
        if chunks.is_empty() {
            // A table without batches still has its schema's type.
            let empty = arrow_array::new_empty_array(&self.types[i]);
            return decode_dictionary(empty).map_err(to_py);
        }
        join(name, &chunks).map_err(to_py)
    }
}

/// Any Arrow array or chunked array as one array.
pub fn array(obj: AnyArray, name: &str) -> PyResult<ArrayRef> {
    let chunked = obj.into_chunked_array()?;
    let (chunks, field) = chunked.into_inner();
    if chunks.is_empty() {
        return decode_dictionary(arrow_array::new_empty_array(field.data_type())).map_err(to_py);
    }
    concat_chunks(name, &chunks).map_err(to_py)
}

/// Arrays named one to one by `names` (the names go into error messages).
pub fn named_arrays(arrays: Vec<AnyArray>, names: &[String]) -> PyResult<Vec<ArrayRef>> {
    arrays
        .into_iter()
        .zip(names)
        .map(|(a, n)| array(a, n))
        .collect()
}

/// Build a `pyarrow.Table` from named columns.
pub fn to_pyarrow_table<'py>(
    py: Python<'py>,
    columns: Vec<(String, ArrayRef)>,
) -> PyResult<Bound<'py, PyAny>> {
    let fields: Vec<Field> = columns
        .iter()
        // Nullable like the tables pyarrow builds, so results concatenate with them.
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| to_py(e.into()))?;
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}

/// An Arrow array as a `pyarrow.Array` (through the PyCapsule interface, no copy).
pub fn to_py_array(py: Python<'_>, a: ArrayRef) -> PyResult<Bound<'_, PyAny>> {
    let exported = PyArray::from_array_ref(a).into_pyobject(py)?;
    py.import("pyarrow")?.getattr("array")?.call1((exported,))
}

/// Dedup clusters: per row its cluster and the cluster's kept row.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct Clusters {
    cluster_id: Py<PyAny>,
    representative: Py<PyAny>,
    num_clusters: usize,
}

impl Clusters {
    pub fn new(py: Python<'_>, clusters: prefcore_core::dedup::Clusters) -> PyResult<Self> {
        Ok(Clusters {
            cluster_id: to_py_array(py, Arc::new(Int64Array::from(clusters.cluster_id)))?.unbind(),
            representative: to_py_array(py, Arc::new(Int64Array::from(clusters.representative)))?
                .unbind(),
            num_clusters: clusters.num_clusters,
        })
    }
}

/// An option given as a string, converted at the boundary: `Opt<Metric>` takes
/// `"cosine"` and hands the body a `Metric`. A value outside the core's vocabulary is
/// an `InvalidArgumentError` naming the argument and the accepted values, a non-string
/// an `ArgumentTypeError`; the vocabulary is the core's own ([`OptionValues`]).
pub struct Opt<T>(pub T);

impl<'a, 'py, T: OptionValues> FromPyObject<'a, 'py> for Opt<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let accepted = || {
            T::VALUES
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Ok(text) = obj.extract::<pyo3::pybacked::PyBackedStr>() else {
            let found = obj.get_type().name().map(|n| n.to_string());
            return Err(argument_type_error(
                T::ARGUMENT,
                format!(
                    "{} must be a string, one of {}; not {}",
                    T::ARGUMENT,
                    accepted(),
                    found.unwrap_or_default()
                ),
            ));
        };
        text.parse::<T>()
            .map(Opt)
            .map_err(|err| invalid_argument(T::ARGUMENT, err.to_string()))
    }
}
