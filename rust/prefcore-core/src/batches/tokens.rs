//! A validated, zero-copy view of a token-id column (`list<int32>` or
//! `large_list<int32>`), and the conversion of other integer lists into one.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int32Array, LargeListArray, ListArray};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field};

use crate::columns::first_null;
use crate::error::{Error, Result};

const EXPECTED: &str = "a list of integer token ids (list<int32>, list<int64>, ...)";

enum Offsets {
    Small(OffsetBuffer<i32>),
    Large(OffsetBuffer<i64>),
}

/// Token ids per row: `row(i)` is a slice of the flat `int32` values, no copy.
pub struct TokenLists {
    column: String,
    offsets: Offsets,
    values: ScalarBuffer<i32>,
}

fn wrong_type(column: &str, found: &DataType) -> Error {
    Error::WrongType {
        column: column.to_string(),
        found: found.to_string(),
        expected: EXPECTED.to_string(),
    }
}

/// Row of flat position `i` given list offsets.
fn row_of<O: Copy + Into<i64>>(offsets: &[O], i: usize) -> usize {
    offsets
        .partition_point(|&o| o.into() <= i as i64)
        .saturating_sub(1)
}

impl TokenLists {
    /// A view of `array`, which must already be `list<int32>` / `large_list<int32>`
    /// without nulls (see [`normalize`] for other integer types).
    pub fn new(column: &str, array: &ArrayRef) -> Result<Self> {
        if let Some(row) = first_null(array.as_ref()) {
            return Err(Error::value(column, row, "null token list"));
        }
        let (offsets, child) = match array.data_type() {
            DataType::List(_) => {
                let l = array.as_list::<i32>();
                (Offsets::Small(l.offsets().clone()), l.values().clone())
            }
            DataType::LargeList(_) => {
                let l = array.as_list::<i64>();
                (Offsets::Large(l.offsets().clone()), l.values().clone())
            }
            other => return Err(wrong_type(column, other)),
        };
        if *child.data_type() != DataType::Int32 {
            return Err(wrong_type(column, array.data_type()));
        }
        if let Some(i) = first_null(child.as_ref()) {
            let row = match &offsets {
                Offsets::Small(o) => row_of(o, i),
                Offsets::Large(o) => row_of(o, i),
            };
            return Err(Error::value(column, row, "null token id in the list"));
        }
        Ok(TokenLists {
            column: column.to_string(),
            offsets,
            values: child.as_primitive::<Int32Type>().values().clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.column
    }

    pub fn len(&self) -> usize {
        match &self.offsets {
            Offsets::Small(o) => o.len() - 1,
            Offsets::Large(o) => o.len() - 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The token ids of row `i` (`i < len()`).
    #[inline]
    pub fn row(&self, i: usize) -> &[i32] {
        let (a, b) = match &self.offsets {
            Offsets::Small(o) => (o[i] as usize, o[i + 1] as usize),
            Offsets::Large(o) => (o[i] as usize, o[i + 1] as usize),
        };
        &self.values[a..b]
    }

    /// Row `i`, checked: in range, and every id in `0..vocab_size` (ids are never
    /// negative; the upper bound applies when a vocabulary size is known).
    pub fn checked_row(&self, i: usize, vocab_size: Option<u32>) -> Result<&[i32]> {
        if i >= self.len() {
            return Err(Error::argument(format!(
                "row index {i} is out of range for column '{}' of {} rows",
                self.column,
                self.len()
            )));
        }
        let ids = self.row(i);
        let limit = vocab_size.map_or(i64::from(i32::MAX) + 1, i64::from);
        if let Some(p) = ids.iter().position(|&t| t < 0 || i64::from(t) >= limit) {
            let why = match vocab_size {
                Some(v) if ids[p] >= 0 => format!("outside the vocabulary of {v} ids"),
                _ => "negative".to_string(),
            };
            return Err(Error::value(
                &self.column,
                i,
                format!("token id {} at position {p} is {why}", ids[p]),
            ));
        }
        Ok(ids)
    }
}

/// `array` as `list<int32>` token ids: zero-copy when it already is, else its integer
/// values are checked to fit (`0 ≤ id < 2³¹`) and narrowed. Ragged lists are the point
/// of the type; a non-integer or nested column is a `WrongType` error.
pub fn normalize(column: &str, array: &ArrayRef) -> Result<ArrayRef> {
    let (offsets, child, large) = match array.data_type() {
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let o: Vec<i64> = l.offsets().iter().map(|&o| o as i64).collect();
            (o, l.values().clone(), false)
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            (l.offsets().to_vec(), l.values().clone(), true)
        }
        DataType::FixedSizeList(_, size) => {
            let l = array.as_fixed_size_list();
            let (size, start) = (*size as i64, l.offset() as i64);
            let o = (0..=l.len() as i64).map(|g| (start + g) * size).collect();
            (o, l.values().clone(), false)
        }
        other => return Err(wrong_type(column, other)),
    };
    if *child.data_type() == DataType::Int32
        && !matches!(array.data_type(), DataType::FixedSizeList(..))
    {
        TokenLists::new(column, array)?;
        return Ok(array.clone());
    }
    if !child.data_type().is_integer() && *child.data_type() != DataType::Null {
        return Err(wrong_type(column, array.data_type()));
    }
    if let Some(row) = first_null(array.as_ref()) {
        return Err(Error::value(column, row, "null token list"));
    }
    if let Some(i) = first_null(child.as_ref()) {
        return Err(Error::value(
            column,
            row_of(&offsets, i),
            "null token id in the list",
        ));
    }
    // Every integer type widens to int64 without loss except large uint64, which a
    // checked cast reports instead of wrapping.
    let wide = arrow_cast::cast_with_options(
        &child,
        &DataType::Int64,
        &arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        },
    )
    .map_err(|_| Error::value(column, 0, "token ids do not fit in 64-bit integers"))?;
    let wide = wide.as_primitive::<Int64Type>();
    let (first, last) = (offsets[0] as usize, offsets[offsets.len() - 1] as usize);
    let used = &wide.values()[first..last];
    if let Some(p) = used
        .iter()
        .position(|&t| !(0..=i64::from(i32::MAX)).contains(&t))
    {
        let row = row_of(&offsets, first + p);
        let why = if used[p] < 0 {
            "is negative"
        } else {
            "does not fit in 31 bits"
        };
        return Err(Error::value(
            column,
            row,
            format!(
                "token id {} at position {} {why}",
                used[p],
                first + p - offsets[row] as usize
            ),
        ));
    }
    let narrow: Int32Array = used.iter().map(|&t| t as i32).collect();
    let field = Arc::new(Field::new("item", DataType::Int32, false));
    let shifted: Vec<i64> = offsets.iter().map(|&o| o - offsets[0]).collect();
    let out: ArrayRef = if large || last > i32::MAX as usize {
        Arc::new(LargeListArray::try_new(
            field,
            OffsetBuffer::new(shifted.into()),
            Arc::new(narrow),
            None,
        )?)
    } else {
        let small: Vec<i32> = shifted.iter().map(|&o| o as i32).collect();
        Arc::new(ListArray::try_new(
            field,
            OffsetBuffer::new(small.into()),
            Arc::new(narrow),
            None,
        )?)
    };
    Ok(out)
}

/// Build a `list<int32>` column from per-row token vectors.
pub fn list_from_rows<'a>(rows: impl IntoIterator<Item = &'a [i32]>) -> Result<ArrayRef> {
    let mut offsets = vec![0i32];
    let mut values: Vec<i32> = Vec::new();
    for r in rows {
        values.extend_from_slice(r);
        let end = i32::try_from(values.len())
            .map_err(|_| Error::argument("more than 2³¹ tokens in one column"))?;
        offsets.push(end);
    }
    let field = Arc::new(Field::new("item", DataType::Int32, false));
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        Arc::new(Int32Array::from(values)),
        None,
    )?))
}
