//! Binding of `prefcore_core::tokenize`: a byte-level BPE encoder built from the parts
//! of a tokenizer's JSON that Python has already checked.

use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use prefcore_core::tokenize::{AddedTokens, Bpe, BpeSpec, Encoder};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::convert::{array, to_py_array};
use crate::errors::{compute, to_py};

#[pyclass(module = "prefcore._prefcore", frozen)]
pub struct ByteLevelBpe {
    encoder: Encoder,
}

#[pymethods]
impl ByteLevelBpe {
    /// `added`: `(content, id, normalized)` per added token; `prefix` / `suffix`: the
    /// post-processor's ids around a text.
    #[new]
    #[pyo3(signature = (vocab, merges, added, unk_id, fuse_unk, ignore_merges, prefix, suffix))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        vocab: Vec<(String, u32)>,
        merges: Vec<(String, String)>,
        added: Vec<(String, u32, bool)>,
        unk_id: Option<u32>,
        fuse_unk: bool,
        ignore_merges: bool,
        prefix: Vec<u32>,
        suffix: Vec<u32>,
    ) -> PyResult<Self> {
        let bpe = Bpe::new(BpeSpec {
            vocab,
            merges,
            unk_id,
            fuse_unk,
            ignore_merges,
        })
        .map_err(to_py)?;
        let (normalized, raw): (Vec<_>, Vec<_>) = added.into_iter().partition(|a| a.2);
        let tokens = |v: Vec<(String, u32, bool)>| {
            AddedTokens::new(v.into_iter().map(|(c, id, _)| (c, id)).collect()).map_err(to_py)
        };
        Ok(ByteLevelBpe {
            encoder: Encoder {
                bpe,
                added: [tokens(raw)?, tokens(normalized)?],
                prefix,
                suffix,
            },
        })
    }

    /// The ids of every text of `texts` as a `list<int32>` array.
    #[pyo3(signature = (texts, column, add_special_tokens))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        texts: AnyArray,
        column: &str,
        add_special_tokens: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = array(texts, column)?;
        let a = if a.data_type() == &DataType::Utf8 {
            a
        } else {
            arrow_cast::cast(&a, &DataType::Utf8).map_err(|e| {
                crate::errors::column_type_error(column, format!("column '{column}': {e}"))
            })?
        };
        let out = compute(py, || {
            self.encoder
                .encode_all(column, a.as_string::<i32>(), add_special_tokens)
        })?;
        to_py_array(py, out)
    }
}
