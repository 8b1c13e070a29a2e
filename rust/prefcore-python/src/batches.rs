//! Bindings of `prefcore_core::batches`: token columns in, numpy arrays out (torch
//! wraps them without a copy).

use arrow_array::ArrayRef;
use numpy::{PyArray1, PyArrayMethods};
use prefcore_core::batches::collate::{self, pair_sequences, unpaired_sequences, PairLayout};
use prefcore_core::batches::prefix::{self, PrefixOptions};
use prefcore_core::batches::tokens::{normalize, TokenLists};
use prefcore_core::batches::truncate::{cut, split_joint, CutOptions, Keep};
use prefcore_core::batches::{CollateOptions, Sequence};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, named_arrays, to_py_array, Opt};
use crate::errors::{compute, to_py};

/// A token column as `list<int32>` (zero-copy when it already is).
#[pyfunction]
#[pyo3(signature = (ids, column))]
pub fn normalize_tokens<'py>(
    py: Python<'py>,
    ids: AnyArray,
    column: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let a = array(ids, column)?;
    let out = compute(py, || normalize(column, &a))?;
    to_py_array(py, out)
}

fn not_ids(column: &str, row: usize, found: &Bound<'_, PyAny>) -> PyErr {
    let kind = found
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string());
    crate::errors::column_type_error(
        column,
        format!("column '{column}', row {row}: token ids must be lists of integers, found {kind}"),
    )
}

/// Python lists (or any sequences) of integer ids as one `list<int32>` array, read
/// item by item without Arrow's type inference: the collators' path for example dicts.
#[pyfunction]
#[pyo3(signature = (rows, column))]
pub fn token_lists<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    column: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let mut offsets = vec![0i32];
    let mut values: Vec<i32> = Vec::new();
    for (r, row) in rows.try_iter()?.enumerate() {
        let row = row?;
        if row.is_none() {
            return Err(to_py(prefcore_core::Error::value(
                column,
                r,
                "null token list",
            )));
        }
        if row.is_instance_of::<PyString>() || row.is_instance_of::<PyBytes>() {
            return Err(not_ids(column, r, &row));
        }
        let items = row.try_iter().map_err(|_| not_ids(column, r, &row))?;
        for item in items {
            let item = item?;
            if item.is_instance_of::<PyBool>() {
                return Err(not_ids(column, r, &item));
            }
            let id: i64 = item.extract().map_err(|_| not_ids(column, r, &item))?;
            let id = i32::try_from(id).map_err(|_| {
                to_py(prefcore_core::Error::value(
                    column,
                    r,
                    format!("token id {id} does not fit in int32"),
                ))
            })?;
            values.push(id);
        }
        let end = i32::try_from(values.len()).map_err(|_| {
            to_py(prefcore_core::Error::argument(format!(
                "column '{column}': more than 2^31 token ids in one call"
            )))
        })?;
        offsets.push(end);
    }
    let field = std::sync::Arc::new(arrow_schema::Field::new(
        "item",
        arrow_schema::DataType::Int32,
        false,
    ));
    let list = arrow_array::ListArray::new(
        field,
        arrow_buffer::OffsetBuffer::new(offsets.into()),
        std::sync::Arc::new(arrow_array::Int32Array::from(values)),
        None,
    );
    to_py_array(py, std::sync::Arc::new(list))
}

fn views(arrays: &[ArrayRef], names: &[String]) -> prefcore_core::Result<Vec<TokenLists>> {
    arrays
        .iter()
        .zip(names)
        .map(|(a, n)| TokenLists::new(n, a))
        .collect()
}

/// Prompt and completion ids cut to `max_length` / `max_prompt_length`.
#[pyfunction]
#[pyo3(signature = (prompt, completions, names, max_length, max_prompt_length, truncation, eos))]
#[allow(clippy::too_many_arguments)]
pub fn cut_tokens(
    py: Python<'_>,
    prompt: AnyArray,
    completions: Vec<AnyArray>,
    names: Vec<String>,
    max_length: Option<usize>,
    max_prompt_length: Option<usize>,
    truncation: Opt<Keep>,
    eos: Option<i32>,
) -> PyResult<CutTokens> {
    let prompt = array(prompt, &names[0])?;
    let completions = named_arrays(completions, &names[1..])?;
    let options = CutOptions {
        max_length,
        max_prompt_length,
        keep: truncation.0,
        eos,
    };
    let out = compute(py, || {
        let p = TokenLists::new(&names[0], &prompt)?;
        let cs = views(&completions, &names[1..])?;
        cut(&p, &cs.iter().collect::<Vec<_>>(), &options)
    })?;
    let cs = out
        .completions
        .into_iter()
        .map(|a| to_py_array(py, a).map(Bound::unbind))
        .collect::<PyResult<_>>()?;
    let flags = out
        .completion_truncated
        .into_iter()
        .map(|f| to_py_array(py, std::sync::Arc::new(f)).map(Bound::unbind))
        .collect::<PyResult<_>>()?;
    Ok(CutTokens {
        prompt: to_py_array(py, out.prompt)?.unbind(),
        completions: cs,
        prompt_truncated: to_py_array(py, std::sync::Arc::new(out.prompt_truncated))?.unbind(),
        completion_truncated: flags,
    })
}

/// Token lists cut to their budgets, and which rows were cut.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct CutTokens {
    prompt: Py<PyAny>,
    completions: Vec<Py<PyAny>>,
    prompt_truncated: Py<PyAny>,
    completion_truncated: Vec<Py<PyAny>>,
}

/// Prompt and completion ids split from joint encodings, and the rows whose boundary
/// moved.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct JointSplit {
    prompt: Py<PyAny>,
    completions: Vec<Py<PyAny>>,
    boundary_moved: Py<PyAny>,
}

/// Prompt and completion ids from prompt + completion encoded together.
#[pyfunction]
#[pyo3(signature = (prompt, joints, names))]
pub fn split_joint_tokens(
    py: Python<'_>,
    prompt: AnyArray,
    joints: Vec<AnyArray>,
    names: Vec<String>,
) -> PyResult<JointSplit> {
    let prompt = array(prompt, &names[0])?;
    let joints = named_arrays(joints, &names[1..])?;
    let out = compute(py, || {
        let p = TokenLists::new(&names[0], &prompt)?;
        let js = views(&joints, &names[1..])?;
        split_joint(&p, &js.iter().collect::<Vec<_>>())
    })?;
    let cs = out
        .completions
        .into_iter()
        .map(|a| to_py_array(py, a).map(Bound::unbind))
        .collect::<PyResult<_>>()?;
    Ok(JointSplit {
        prompt: to_py_array(py, out.prompt)?.unbind(),
        completions: cs,
        boundary_moved: to_py_array(py, std::sync::Arc::new(out.boundary_moved))?.unbind(),
    })
}

/// How sequences become tensors.
enum Shape {
    Padded(collate::Padded),
    Packed(collate::Packed),
}

fn shape(
    seqs: &[Sequence],
    options: &CollateOptions,
    padding_free: bool,
) -> prefcore_core::Result<Shape> {
    Ok(if padding_free {
        Shape::Packed(collate::pack(seqs, options)?)
    } else {
        Shape::Padded(collate::pad(seqs, options)?)
    })
}

fn matrix<'py>(
    py: Python<'py>,
    v: Vec<i64>,
    rows: usize,
    width: usize,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape([rows, width])?.into_any())
}

/// The arrays of one collated batch of sequences (numpy): padded (`attention_mask`)
/// or packed padding-free (`position_ids`, `cu_seq_lens`, `max_seq_len`); `labels`
/// when the collator makes them. The collators name them as TRL's batches do.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct SequenceArrays {
    input_ids: Py<PyAny>,
    attention_mask: Option<Py<PyAny>>,
    position_ids: Option<Py<PyAny>>,
    completion_mask: Py<PyAny>,
    labels: Option<Py<PyAny>>,
    cu_seq_lens: Option<Py<PyAny>>,
    max_seq_len: Option<usize>,
}

impl SequenceArrays {
    fn new(py: Python<'_>, s: Shape) -> PyResult<Py<Self>> {
        let arrays = match s {
            Shape::Padded(p) => {
                let (r, w) = (p.rows, p.width);
                let m = |v: Vec<i64>| matrix(py, v, r, w).map(Bound::unbind);
                SequenceArrays {
                    input_ids: m(p.input_ids)?,
                    attention_mask: Some(m(p.attention_mask)?),
                    position_ids: None,
                    completion_mask: m(p.completion_mask)?,
                    labels: p.labels.map(m).transpose()?,
                    cu_seq_lens: None,
                    max_seq_len: None,
                }
            }
            Shape::Packed(p) => {
                let n = p.input_ids.len();
                let m = |v: Vec<i64>| matrix(py, v, 1, n).map(Bound::unbind);
                SequenceArrays {
                    input_ids: m(p.input_ids)?,
                    attention_mask: None,
                    position_ids: Some(m(p.position_ids)?),
                    completion_mask: m(p.completion_mask)?,
                    labels: p.labels.map(m).transpose()?,
                    cu_seq_lens: Some(PyArray1::from_vec(py, p.cu_seq_lens).into_any().unbind()),
                    max_seq_len: Some(p.max_seq_len),
                }
            }
        };
        Py::new(py, arrays)
    }
}

/// A collated batch of pairs: `joint` (chosen rows, then rejected rows) for the
/// "concat" layout, `chosen` and `rejected` (each padded to its own width) for
/// "separate"; the others `None`.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct PairArrays {
    joint: Option<Py<SequenceArrays>>,
    chosen: Option<Py<SequenceArrays>>,
    rejected: Option<Py<SequenceArrays>>,
}

/// A collated batch of unpaired rows, and `kl`, the mismatched batch, when asked for.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct UnpairedArrays {
    rows: Py<SequenceArrays>,
    kl: Option<Py<SequenceArrays>>,
}

/// A collator's options as the core takes them (the vocabulary size resolved).
#[pyclass(module = "prefcore._prefcore", frozen, from_py_object)]
#[derive(Clone)]
pub struct CollateSettings {
    options: CollateOptions,
    vocab_size: Option<u32>,
    padding_free: bool,
}

#[pymethods]
impl CollateSettings {
    #[new]
    #[pyo3(signature = (*, pad_token_id, label_pad_id, labels, max_length, truncation_mode,
        pad_to_multiple_of, vocab_size, padding_free))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        pad_token_id: i64,
        label_pad_id: i64,
        labels: bool,
        max_length: Option<usize>,
        truncation_mode: Opt<Keep>,
        pad_to_multiple_of: Option<usize>,
        vocab_size: Option<u32>,
        padding_free: bool,
    ) -> PyResult<Self> {
        Ok(CollateSettings {
            options: CollateOptions {
                pad_token_id,
                // Trainers that build labels themselves (TRL's) pass the batch to the
                // model and add their own: labels written here too would be given twice.
                label_pad_id: labels.then_some(label_pad_id),
                max_length,
                keep: truncation_mode.0,
                pad_to_multiple_of,
            },
            vocab_size,
            padding_free,
        })
    }
}

/// One batch of pairs: `layout` "concat" (chosen rows then rejected rows) or
/// "separate" (`chosen_*` and `rejected_*`, each padded to its own width).
#[pyfunction]
#[pyo3(signature = (columns, names, rows, settings, layout))]
pub fn collate_pairs(
    py: Python<'_>,
    columns: Vec<AnyArray>,
    names: Vec<String>,
    rows: Vec<usize>,
    settings: CollateSettings,
    layout: Opt<PairLayout>,
) -> PyResult<PairArrays> {
    let separate = layout.0 == PairLayout::Separate;
    let arrays = named_arrays(columns, &names)?;
    let options = settings.options;
    let shapes = compute(py, || {
        let [p, c, r] = <[TokenLists; 3]>::try_from(views(&arrays, &names)?).map_err(|_| {
            prefcore_core::Error::argument("expected prompt, chosen and rejected columns")
        })?;
        let seqs = pair_sequences(&p, &c, &r, &rows, settings.vocab_size)?;
        if separate {
            let (chosen, rejected) = seqs.split_at(rows.len());
            Ok(vec![
                shape(chosen, &options, settings.padding_free)?,
                shape(rejected, &options, settings.padding_free)?,
            ])
        } else {
            Ok(vec![shape(&seqs, &options, settings.padding_free)?])
        }
    })?;
    let mut made = shapes
        .into_iter()
        .map(|s| SequenceArrays::new(py, s))
        .collect::<PyResult<Vec<_>>>()?
        .into_iter();
    Ok(if separate {
        PairArrays {
            joint: None,
            chosen: made.next(),
            rejected: made.next(),
        }
    } else {
        PairArrays {
            joint: made.next(),
            chosen: None,
            rejected: None,
        }
    })
}

/// A prefix-shared batch: `prompt` and `per_row` completions of each row from each
/// column of `branches` (two columns of one for pairs, one column of `N` for groups),
/// padded and checked as `settings` say, `max_tokens` to a row.
#[pyfunction]
#[pyo3(signature = (prompt, branches, names, per_row, rows, settings, max_tokens))]
#[allow(clippy::too_many_arguments)]
pub fn collate_prefix_shared(
    py: Python<'_>,
    prompt: AnyArray,
    branches: Vec<AnyArray>,
    names: Vec<String>,
    per_row: usize,
    rows: Vec<usize>,
    settings: CollateSettings,
    max_tokens: Option<usize>,
) -> PyResult<PrefixSharedArrays> {
    let prompt = array(prompt, &names[0])?;
    let branches = named_arrays(branches, &names[1..])?;
    let options = PrefixOptions {
        pad_token_id: settings.options.pad_token_id,
        max_tokens,
        pad_to_multiple_of: settings.options.pad_to_multiple_of,
    };
    let vocab_size = settings.vocab_size;
    let p = compute(py, || {
        let prompt = TokenLists::new(&names[0], &prompt)?;
        let columns = views(&branches, &names[1..])?;
        let trees = prefix::trees(&prompt, &columns, per_row, &rows, vocab_size)?;
        prefix::pack_trees(&trees, &options)
    })?;
    let (r, w) = (p.rows, p.width);
    let vector = |v: Vec<i64>| PyArray1::from_vec(py, v).into_any().unbind();
    Ok(PrefixSharedArrays {
        input_ids: matrix(py, p.input_ids, r, w)?.unbind(),
        position_ids: matrix(py, p.position_ids, r, w)?.unbind(),
        tree_ids: matrix(py, p.tree, r, w)?.unbind(),
        branch_ids: matrix(py, p.branch, r, w)?.unbind(),
        logit_index: vector(p.source),
        target_ids: vector(p.target),
        branch_index: vector(p.owner),
        branch_tokens: vector(p.counts),
    })
}

/// The arrays of a prefix-shared batch (int64 numpy): `[rows, width]` tokens,
/// positions, tree and branch of each token, and the completion tokens to score.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct PrefixSharedArrays {
    input_ids: Py<PyAny>,
    position_ids: Py<PyAny>,
    tree_ids: Py<PyAny>,
    branch_ids: Py<PyAny>,
    logit_index: Py<PyAny>,
    target_ids: Py<PyAny>,
    branch_index: Py<PyAny>,
    branch_tokens: Py<PyAny>,
}

/// One batch of unpaired rows, with the `KL_` mismatched batch when `kl`: from a third
/// column of KL completions when given, else rotated within the batch.
#[pyfunction]
#[pyo3(signature = (columns, names, rows, settings, kl))]
pub fn collate_unpaired(
    py: Python<'_>,
    columns: Vec<AnyArray>,
    names: Vec<String>,
    rows: Vec<usize>,
    settings: CollateSettings,
    kl: bool,
) -> PyResult<UnpairedArrays> {
    let arrays = named_arrays(columns, &names)?;
    let options = settings.options;
    let shapes = compute(py, || {
        let lists = views(&arrays, &names)?;
        let (p, c, given) = match lists.as_slice() {
            [p, c] => (p, c, None),
            [p, c, k] => (p, c, Some(k)),
            _ => {
                return Err(prefcore_core::Error::argument(
                    "expected prompt and completion columns (and optionally KL completions)",
                ))
            }
        };
        let (main, mismatched) = unpaired_sequences(p, c, given, &rows, settings.vocab_size)?;
        let main = shape(&main, &options, settings.padding_free)?;
        let mismatched = if kl {
            Some(shape(&mismatched, &options, settings.padding_free)?)
        } else {
            None
        };
        Ok((main, mismatched))
    })?;
    let (main, mismatched) = shapes;
    Ok(UnpairedArrays {
        rows: SequenceArrays::new(py, main)?,
        kl: mismatched.map(|s| SequenceArrays::new(py, s)).transpose()?,
    })
}
