//! Text is valid UTF-8 before any `&str` is made from it.
//!
//! Arrow arrays imported through the C data interface are not validated, and pyarrow's
//! JSON and CSV readers keep bytes such as a lone `\xe9` in `string` columns. Every
//! column that enters the core through `columns::concat_chunks` is checked here once;
//! kernels may then read string values without further checks. A failure names the
//! column and the (outermost) row.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericListArray, GenericStringArray, OffsetSizeTrait};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// Fail on the first row of `array` holding text that is not valid UTF-8, looking into
/// lists and structs (conversational columns) as well.
pub fn validate(column: &str, array: &ArrayRef) -> Result<()> {
    match first_invalid(array.as_ref()) {
        Some(row) => Err(invalid(column, row)),
        None => Ok(()),
    }
}

/// The error for invalid text in `column` at `row`.
pub fn invalid(column: &str, row: usize) -> Error {
    Error::value(
        column,
        row,
        "text is not valid UTF-8 (decode the file with the right encoding, or replace \
         the bad bytes, e.g. errors='replace')",
    )
}

/// The first row (of `array`'s own rows) with invalid UTF-8 anywhere inside it.
pub fn first_invalid(array: &dyn Array) -> Option<usize> {
    match array.data_type() {
        DataType::Utf8 => strings(array.as_string::<i32>()),
        DataType::LargeUtf8 => strings(array.as_string::<i64>()),
        DataType::Utf8View => array
            .as_string_view()
            .bytes_iter()
            .position(|bytes| simdutf8::basic::from_utf8(bytes).is_err()),
        DataType::List(_) => list(array.as_list::<i32>()),
        DataType::LargeList(_) => list(array.as_list::<i64>()),
        DataType::FixedSizeList(_, size) => {
            // The values of a fixed-size list are sliced with it: row i is values
            // [i * size, (i + 1) * size).
            let bad = first_invalid(array.as_fixed_size_list().values().as_ref())?;
            Some(bad / (*size as usize).max(1))
        }
        DataType::Struct(_) => array
            .as_struct()
            .columns()
            .iter()
            .filter_map(|c| first_invalid(c.as_ref()))
            .min(),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let bad = first_invalid(dictionary.values().as_ref())?;
            let keys = dictionary.normalized_keys();
            keys.iter().position(|&k| k == bad)
        }
        _ => None,
    }
}

/// Rows checked per parallel block.
const BLOCK_ROWS: usize = 1 << 15;

/// Check a string array block by block in parallel (SIMD validation where the CPU has
/// it): a block is valid when its bytes are UTF-8 as a whole and every row in it
/// starts on a character boundary. Only on failure are rows checked one by one, to
/// name the first bad one.
fn strings<O: OffsetSizeTrait>(array: &GenericStringArray<O>) -> Option<usize> {
    use rayon::prelude::*;
    let offsets = array.value_offsets();
    let data = array.value_data();
    let block_ok = |start: usize| -> bool {
        let end = (start + BLOCK_ROWS).min(array.len());
        let (a, b) = (offsets[start].as_usize(), offsets[end].as_usize());
        let bytes = &data[a..b];
        // ASCII (the common case) is valid and every offset is a boundary: one pass.
        bytes.is_ascii()
            || (simdutf8::basic::from_utf8(bytes).is_ok()
                && offsets[start..end]
                    .iter()
                    .all(|o| !is_continuation(data, o.as_usize())))
    };
    let starts: Vec<usize> = (0..array.len()).step_by(BLOCK_ROWS).collect();
    let all_ok = if starts.len() > 1 {
        crate::parallel::install(|| starts.par_iter().all(|&s| block_ok(s)))
    } else {
        starts.iter().all(|&s| block_ok(s))
    };
    if all_ok {
        return None;
    }
    (0..array.len()).find(|&i| {
        let (a, b) = (offsets[i].as_usize(), offsets[i + 1].as_usize());
        std::str::from_utf8(&data[a..b]).is_err()
    })
}

fn is_continuation(data: &[u8], at: usize) -> bool {
    data.get(at).is_some_and(|&b| (b & 0xC0) == 0x80)
}

fn list<O: OffsetSizeTrait>(array: &GenericListArray<O>) -> Option<usize> {
    let offsets = array.value_offsets();
    let (first, last) = (offsets[0].as_usize(), offsets[offsets.len() - 1].as_usize());
    // Only the values this (possibly sliced) list covers.
    let bad = first + first_invalid(array.values().slice(first, last - first).as_ref())?;
    // The list row whose range holds child row `bad`.
    Some(offsets.partition_point(|o| o.as_usize() <= bad) - 1)
}
