//! Typed, validated views of Arrow columns.
//!
//! Kernels read Arrow buffers directly (no per-row objects). These helpers check the
//! things a kernel relies on once, up front, and turn a failure into an [`Error`] that
//! names the column and the first offending row.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, LargeStringArray, StringArray, StringViewArray,
};
use arrow_buffer::ScalarBuffer;
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// First null row of `array`, if any.
pub fn first_null(array: &dyn Array) -> Option<usize> {
    // A `null`-typed array (e.g. pyarrow's type for `[None]`) has no validity buffer.
    if *array.data_type() == DataType::Null {
        return (!array.is_empty()).then_some(0);
    }
    if array.null_count() == 0 {
        return None;
    }
    (0..array.len()).find(|&i| array.is_null(i))
}

/// Fail on the first null of `array`.
pub fn require_no_nulls(column: &str, array: &dyn Array) -> Result<()> {
    match first_null(array) {
        Some(row) => Err(Error::value(
            column,
            row,
            "null value; nulls are not allowed here",
        )),
        None => Ok(()),
    }
}

/// Join the chunks of one column into one array (a copy only when there are several),
/// dictionaries decoded and text checked to be UTF-8: the one door columns enter by.
pub fn concat_chunks(column: &str, chunks: &[ArrayRef]) -> Result<ArrayRef> {
    let plain = join_chunks(column, chunks)?;
    crate::utf8::validate(column, &plain)?;
    Ok(plain)
}

/// [`concat_chunks`] without the UTF-8 check, for a kernel that checks the texts it
/// reads itself before any leaves it ([`crate::pairs::pair_table`]: a pass over the
/// pairs' texts instead of over every completion).
pub fn join_chunks(column: &str, chunks: &[ArrayRef]) -> Result<ArrayRef> {
    let one = match chunks {
        [] => return Err(Error::argument(format!("column '{column}' has no chunks"))),
        [one] => one.clone(),
        many => {
            let refs: Vec<&dyn Array> = many.iter().map(|a| a.as_ref()).collect();
            arrow_select::concat::concat(&refs)?
        }
    };
    decode_dictionary(one)
}

/// A dictionary-encoded column (pyarrow dictionaries, polars categoricals, prefcore's
/// own `texts="dictionary"` pairs) as its plain values; any other column as it is.
pub fn decode_dictionary(array: ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let values = dictionary.values().as_ref();
            Ok(arrow_select::take::take(values, dictionary.keys(), None)?)
        }
        _ => Ok(array),
    }
}

fn wrong_type(column: &str, found: &DataType, expected: &str) -> Error {
    Error::WrongType {
        column: column.to_string(),
        found: found.to_string(),
        expected: expected.to_string(),
    }
}

/// An identifier column (query or document ids), compared as bytes.
///
/// Integer and dictionary ids are cast to strings once, so ordering follows the
/// decimal text, as trec_eval (which reads text files) orders them.
pub struct Ids {
    array: ArrayRef,
}

impl Ids {
    pub fn new(column: &str, array: &ArrayRef) -> Result<Self> {
        let array = match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => array.clone(),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Dictionary(_, _)
            | DataType::LargeBinary
            | DataType::Binary => arrow_cast::cast(array, &DataType::Utf8)
                .map_err(|_| wrong_type(column, array.data_type(), "string or integer ids"))?,
            other => return Err(wrong_type(column, other, "string or integer ids")),
        };
        require_no_nulls(column, array.as_ref())?;
        Ok(Ids { array })
    }

    pub fn len(&self) -> usize {
        self.array.len()
    }

    pub fn is_empty(&self) -> bool {
        self.array.is_empty()
    }

    /// The id of `row` as bytes.
    #[inline]
    pub fn get(&self, row: usize) -> &[u8] {
        match self.array.data_type() {
            DataType::Utf8 => self.array.as_string::<i32>().value(row).as_bytes(),
            DataType::LargeUtf8 => self.array.as_string::<i64>().value(row).as_bytes(),
            _ => self.array.as_string_view().value(row).as_bytes(),
        }
    }

    /// The id of `row` as text, for error messages.
    pub fn display(&self, row: usize) -> String {
        String::from_utf8_lossy(self.get(row)).into_owned()
    }

    /// A fast accessor for the hot loops: avoids re-matching the type per row.
    pub fn accessor(&self) -> IdAccessor<'_> {
        match self.array.data_type() {
            DataType::Utf8 => {
                IdAccessor::Utf8(self.array.as_any().downcast_ref::<StringArray>().unwrap())
            }
            DataType::LargeUtf8 => IdAccessor::Large(
                self.array
                    .as_any()
                    .downcast_ref::<LargeStringArray>()
                    .unwrap(),
            ),
            _ => IdAccessor::View(
                self.array
                    .as_any()
                    .downcast_ref::<StringViewArray>()
                    .unwrap(),
            ),
        }
    }
}

/// Borrowed, type-resolved view of an [`Ids`] column.
#[derive(Clone, Copy)]
pub enum IdAccessor<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> IdAccessor<'a> {
    #[inline]
    pub fn get(&self, row: usize) -> &'a [u8] {
        self.text(row).as_bytes()
    }

    /// The value of `row` as text (Arrow string arrays hold valid UTF-8).
    #[inline]
    pub fn text(&self, row: usize) -> &'a str {
        match self {
            IdAccessor::Utf8(a) => a.value(row),
            IdAccessor::Large(a) => a.value(row),
            IdAccessor::View(a) => a.value(row),
        }
    }

    /// End (exclusive) of the run of rows equal to row `start`, looking at rows below
    /// `hi`. Long runs (a query's documents) are found by galloping and then verified
    /// in one pass, instead of one comparison per row.
    pub fn run_end(&self, start: usize, hi: usize) -> usize {
        let key = self.get(start);
        let (mut equal, mut differs, mut step) = (start, hi, 1);
        while equal + step < hi {
            if self.get(equal + step) == key {
                equal += step;
                step *= 2;
            } else {
                differs = equal + step;
                break;
            }
        }
        while differs - equal > 1 {
            let mid = equal + (differs - equal) / 2;
            if self.get(mid) == key {
                equal = mid;
            } else {
                differs = mid;
            }
        }
        let end = equal + 1;
        if self.all_equal(start, end, key) {
            return end;
        }
        // Not one run after all (e.g. "a b a"): walk it row by row.
        (start + 1..hi).find(|&r| self.get(r) != key).unwrap_or(hi)
    }

    /// Whether every row in `start..end` equals `key`.
    fn all_equal(&self, start: usize, end: usize, key: &[u8]) -> bool {
        // With offsets, equal rows are equal lengths and a byte region that equals
        // itself shifted by one id: one bulk comparison for the whole run.
        fn repeated<O: Copy + Into<i64>>(offsets: &[O], values: &[u8], key: &[u8]) -> bool {
            let l = key.len() as i64;
            if offsets.windows(2).any(|w| w[1].into() - w[0].into() != l) {
                return false;
            }
            let (a, b) = (
                offsets[0].into() as usize,
                offsets[offsets.len() - 1].into() as usize,
            );
            let (region, l) = (&values[a..b], l as usize);
            region.len() < l || (region[..l] == *key && region[l..] == region[..region.len() - l])
        }
        match self {
            IdAccessor::Utf8(a) => repeated(&a.value_offsets()[start..=end], a.value_data(), key),
            IdAccessor::Large(a) => repeated(&a.value_offsets()[start..=end], a.value_data(), key),
            IdAccessor::View(_) => (start..end).all(|r| self.get(r) == key),
        }
    }
}

/// Types cast to numbers. `Null` is what pyarrow infers for an empty list; any
/// null it holds is reported by [`first_null`].
fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating() || matches!(t, DataType::Boolean | DataType::Null)
}

/// A numeric column as `f64` (zero-copy when it already is `float64`), without nulls
/// or NaN. Infinities are allowed: they order like any other number.
pub fn scores_f64(column: &str, array: &ArrayRef) -> Result<Float64Array> {
    if !is_numeric(array.data_type()) {
        return Err(wrong_type(column, array.data_type(), "a numeric type"));
    }
    require_no_nulls(column, array.as_ref())?;
    let cast = arrow_cast::cast(array, &DataType::Float64)?;
    let values = cast.as_primitive::<Float64Type>().clone();
    if let Some(row) = first_nan(values.values()) {
        return Err(Error::value(
            column,
            row,
            "NaN score; scores must be numbers",
        ));
    }
    Ok(values)
}

/// Position of the first NaN: a branch-free scan of blocks (it vectorises), the
/// position looked up only in the block that has one.
pub fn first_nan(values: &[f64]) -> Option<usize> {
    const BLOCK: usize = 4096;
    values.chunks(BLOCK).enumerate().find_map(|(b, block)| {
        if block.iter().fold(false, |nan, v| nan | v.is_nan()) {
            block.iter().position(|v| v.is_nan()).map(|p| b * BLOCK + p)
        } else {
            None
        }
    })
}

/// Relevance grades: integers (or whole floats), no nulls; negative grades only when
/// `allow_negative` (trec_eval reads them as "judged, but not in the pool").
pub fn relevance_i64(column: &str, array: &ArrayRef, allow_negative: bool) -> Result<Int64Array> {
    let t = array.data_type();
    if !is_numeric(t) {
        return Err(wrong_type(column, t, "integer relevance grades"));
    }
    require_no_nulls(column, array.as_ref())?;
    if t.is_floating() {
        let f = arrow_cast::cast(array, &DataType::Float64)?;
        let f = f.as_primitive::<Float64Type>();
        if let Some(row) = f
            .values()
            .iter()
            .position(|v| v.fract() != 0.0 || !v.is_finite())
        {
            return Err(Error::value(
                column,
                row,
                format!("relevance {} is not a whole number", f.value(row)),
            ));
        }
    }
    // A value beyond i64 casts to null (safe cast): that is an error, never a 0 grade.
    let cast = arrow_cast::cast(array, &DataType::Int64)?;
    if let Some(row) = first_null(cast.as_ref()) {
        let shown =
            arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &Default::default())
                .map(|f| f.value(row).to_string())
                .unwrap_or_default();
        return Err(Error::value(
            column,
            row,
            format!("relevance {shown} does not fit in a 64-bit integer"),
        ));
    }
    let values = cast.as_primitive::<Int64Type>().clone();
    if allow_negative {
        return Ok(values);
    }
    if let Some(row) = values.values().iter().position(|&v| v < 0) {
        return Err(Error::value(
            column,
            row,
            format!(
                "negative relevance {}; grades must be >= 0",
                values.value(row)
            ),
        ));
    }
    Ok(values)
}

/// Find `name` among `names`, or say which columns exist.
pub fn find_column(names: &[String], name: &str) -> Result<usize> {
    names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| Error::MissingColumn {
            column: name.to_string(),
            available: names.join(", "),
        })
}

/// The flat values of a list column, kept in their own type so no full-size copy is
/// made; groups are converted to `f64` one at a time, in cache.
enum Flat {
    F64(ScalarBuffer<f64>),
    F32(ScalarBuffer<f32>),
    I64(ScalarBuffer<i64>),
    I32(ScalarBuffer<i32>),
}

/// The offsets (`offsets[g]..offsets[g + 1]` is list `g`) and the flat values of a
/// `list`, `large_list` or `fixed_size_list` column.
pub fn list_parts(
    column: &str,
    array: &ArrayRef,
    expected: &str,
) -> Result<(Vec<usize>, ArrayRef)> {
    Ok(match array.data_type() {
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            (
                l.value_offsets().iter().map(|&o| o as usize).collect(),
                l.values().clone(),
            )
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            (
                l.value_offsets().iter().map(|&o| o as usize).collect(),
                l.values().clone(),
            )
        }
        DataType::FixedSizeList(_, size) => {
            let l = array.as_fixed_size_list();
            let size = *size as usize;
            let start = l.offset() * size;
            (
                (0..=l.len()).map(|g| start + g * size).collect(),
                l.values().clone(),
            )
        }
        other => return Err(wrong_type(column, other, expected)),
    })
}

/// A list column of numbers (`list`, `large_list` or `fixed_size_list`), flattened:
/// group `g` is `values[offsets[g]..offsets[g + 1]]`. Nulls are rejected here; NaN
/// is checked group by group by [`ListColumn::group`].
pub struct ListColumn {
    column: String,
    offsets: Vec<usize>,
    values: Flat,
}

impl ListColumn {
    pub fn new(column: &str, array: &ArrayRef) -> Result<Self> {
        let expected = "a list of numbers (list, large_list or fixed_size_list)";
        if let Some(row) = first_null(array.as_ref()) {
            return Err(Error::value(column, row, "null list"));
        }
        let (offsets, child) = list_parts(column, array, expected)?;
        if !is_numeric(child.data_type()) {
            return Err(wrong_type(column, array.data_type(), expected));
        }
        if let Some(i) = first_null(child.as_ref()) {
            let g = offsets.partition_point(|&o| o <= i).saturating_sub(1);
            return Err(Error::value(
                column,
                g,
                format!("null value at position {} of the list", i - offsets[g]),
            ));
        }
        let values = match child.data_type() {
            DataType::Float64 => Flat::F64(child.as_primitive::<Float64Type>().values().clone()),
            DataType::Float32 => Flat::F32(child.as_primitive::<Float32Type>().values().clone()),
            DataType::Int64 => Flat::I64(child.as_primitive::<Int64Type>().values().clone()),
            DataType::Int32 => Flat::I32(child.as_primitive::<Int32Type>().values().clone()),
            _ => {
                let cast = arrow_cast::cast(&child, &DataType::Float64)?;
                Flat::F64(cast.as_primitive::<Float64Type>().values().clone())
            }
        };
        Ok(ListColumn {
            column: column.to_string(),
            offsets,
            values,
        })
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column's name, for error messages.
    pub fn name(&self) -> &str {
        &self.column
    }

    /// List `g` is `offsets()[g]..offsets()[g + 1]` of the flat values.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Number of items in group `g`.
    pub fn group_len(&self, g: usize) -> usize {
        self.offsets[g + 1] - self.offsets[g]
    }

    /// Group `g` as `f64` (borrowed when the column already is `float64`, else
    /// converted into `buf`). NaN is an error naming the row and the position.
    pub fn group<'a>(&'a self, g: usize, buf: &'a mut Vec<f64>) -> Result<&'a [f64]> {
        let values = self.values_of(g, buf);
        if matches!(self.values, Flat::I64(_) | Flat::I32(_)) {
            return Ok(values); // whole numbers: no NaN to look for
        }
        match first_nan(values) {
            Some(p) => Err(Error::value(
                &self.column,
                g,
                format!("NaN at position {p} of the list"),
            )),
            None => Ok(values),
        }
    }

    /// Group `g` as `f64` without the NaN check: for kernels that checked the group
    /// with [`ListColumn::group`] before.
    pub fn values_of<'a>(&'a self, g: usize, buf: &'a mut Vec<f64>) -> &'a [f64] {
        let range = self.offsets[g]..self.offsets[g + 1];
        match &self.values {
            Flat::F64(v) => &v[range],
            Flat::F32(v) => {
                buf.clear();
                buf.extend(v[range].iter().map(|&x| x as f64));
                buf
            }
            Flat::I64(v) => {
                widen_i64(&v[range], buf);
                buf
            }
            Flat::I32(v) => {
                buf.clear();
                buf.extend(v[range].iter().map(|&x| x as f64));
                buf
            }
        }
    }
}

/// `values` as `f64` into `buf` (cleared first). x86-64's baseline has no packed
/// conversion from 64-bit integers, so this is one scalar instruction per value;
/// with AVX-512DQ eight go at once (integer labels of grouped lists take this path
/// for every group).
fn widen_i64(values: &[i64], buf: &mut Vec<f64>) {
    crate::simd::by_level!("avx512f,avx512dq", (values: &[i64] = values, buf: &mut Vec<f64> = buf) -> (), {
        buf.clear();
        buf.extend(values.iter().map(|&x| x as f64));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_widen_to_the_same_floats_on_every_path() {
        let values: Vec<i64> = (0..1000)
            .map(|i: i64| (i - 500) * 7_919 + (i % 13) * (1 << 53) - (1 << 62) * (i % 2))
            .collect();
        let want: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        crate::simd::at_each_level(|level| {
            let mut buf = vec![9.0; 3];
            widen_i64(&values, &mut buf);
            assert_eq!(buf, want, "{level:?}");
            widen_i64(&values[..5], &mut buf);
            assert_eq!(buf, want[..5], "{level:?}");
        });
    }

    #[test]
    fn first_nan_finds_the_first_across_blocks() {
        let mut values = vec![1.0; 10_000];
        assert_eq!(first_nan(&values), None);
        assert_eq!(first_nan(&[]), None);
        for at in [9_999, 8_192, 4_097, 4_095, 0] {
            values[at] = f64::NAN;
            assert_eq!(first_nan(&values), Some(at));
        }
    }
}
