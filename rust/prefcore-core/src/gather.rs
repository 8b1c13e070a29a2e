//! Gathering rows of an Arrow column in parallel (`values[source_row(i)]` for every
//! output row `i`), for outputs of millions of rows such as pairs.

use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericStringArray, OffsetSizeTrait, UInt64Array};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;
use rayon::prelude::*;

use crate::error::Result;
use crate::parallel;

/// Rows per parallel block.
const BLOCK: usize = 1 << 15;

/// `values[source_row(i)]` for `i` in `0..len`. Strings are copied in parallel into a
/// `string` array (`large_string` past 2 GiB of text); other types use Arrow's `take`.
pub fn gather_rows(
    values: &ArrayRef,
    len: usize,
    source_row: impl Fn(usize) -> usize + Sync,
) -> Result<ArrayRef> {
    match values.data_type() {
        DataType::Utf8 => Ok(strings(values.as_string::<i32>(), len, &source_row)),
        DataType::LargeUtf8 => Ok(strings(values.as_string::<i64>(), len, &source_row)),
        _ => {
            let idx = UInt64Array::from_iter_values((0..len).map(|i| source_row(i) as u64));
            Ok(arrow_select::take::take(values, &idx, None)?)
        }
    }
}

fn strings<I: OffsetSizeTrait>(
    source: &GenericStringArray<I>,
    len: usize,
    source_row: &(impl Fn(usize) -> usize + Sync),
) -> ArrayRef {
    let offsets = source.value_offsets();
    let span = |row: usize| offsets[row].as_usize()..offsets[row + 1].as_usize();
    // Bytes per block, then where each block's bytes start.
    let block_bytes: Vec<usize> = parallel::install(|| {
        (0..len.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                (b * BLOCK..((b + 1) * BLOCK).min(len))
                    .map(|i| span(source_row(i)).len())
                    .sum()
            })
            .collect()
    });
    let total: usize = block_bytes.iter().sum();
    let nulls = source
        .nulls()
        .map(|n| NullBuffer::from_iter((0..len).map(|i| n.is_valid(source_row(i)))));
    if total <= i32::MAX as usize {
        Arc::new(copy::<I, i32>(
            source,
            len,
            source_row,
            &block_bytes,
            total,
            nulls,
        ))
    } else {
        Arc::new(copy::<I, i64>(
            source,
            len,
            source_row,
            &block_bytes,
            total,
            nulls,
        ))
    }
}

fn copy<I: OffsetSizeTrait, O: OffsetSizeTrait>(
    source: &GenericStringArray<I>,
    len: usize,
    source_row: &(impl Fn(usize) -> usize + Sync),
    block_bytes: &[usize],
    total: usize,
    nulls: Option<NullBuffer>,
) -> GenericStringArray<O> {
    let offsets_in = source.value_offsets();
    let data_in = source.value_data();
    let mut offsets = vec![O::usize_as(0); len + 1];
    let mut data: Vec<u8> = Vec::with_capacity(total);
    // Split the output offsets and bytes into the blocks' disjoint stretches.
    let mut parts = Vec::with_capacity(block_bytes.len());
    let (mut off_rest, mut data_rest) =
        (&mut offsets[1..], &mut data.spare_capacity_mut()[..total]);
    let mut start = 0;
    for (b, &bytes) in block_bytes.iter().enumerate() {
        let rows = BLOCK.min(len - b * BLOCK);
        let (o, o_rest) = off_rest.split_at_mut(rows);
        let (d, d_rest) = data_rest.split_at_mut(bytes);
        parts.push((b * BLOCK, start, o, d));
        (off_rest, data_rest) = (o_rest, d_rest);
        start += bytes;
    }
    parallel::install(|| {
        parts
            .into_par_iter()
            .for_each(|(first, mut at, out_offsets, out_data)| {
                let base = at;
                for (k, o) in out_offsets.iter_mut().enumerate() {
                    let row = source_row(first + k);
                    let bytes =
                        &data_in[offsets_in[row].as_usize()..offsets_in[row + 1].as_usize()];
                    let dst: &mut [MaybeUninit<u8>] =
                        &mut out_data[at - base..at - base + bytes.len()];
                    // SAFETY: `dst` and `bytes` have the same length and do not overlap
                    // (one is this call's output, the other its input).
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            bytes.as_ptr(),
                            dst.as_mut_ptr().cast::<u8>(),
                            bytes.len(),
                        )
                    };
                    at += bytes.len();
                    *o = O::usize_as(at);
                }
            })
    });
    // SAFETY: the blocks' byte stretches tile `0..total` and each block copied exactly
    // its rows' bytes, which are whole strings of a valid UTF-8 array; the offsets
    // rise from 0 to `total`.
    unsafe {
        data.set_len(total);
        GenericStringArray::<O>::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
            Buffer::from_vec(data),
            nulls,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;

    #[test]
    fn gathers_strings_and_nulls_in_any_order() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some("ccc"),
            Some(""),
        ]));
        let rows = [2usize, 0, 1, 2, 3];
        let out = gather_rows(&values, rows.len(), |i| rows[i]).unwrap();
        let out = out.as_string::<i32>();
        let got: Vec<Option<&str>> = out.iter().collect();
        assert_eq!(
            got,
            vec![Some("ccc"), Some("a"), None, Some("ccc"), Some("")]
        );
        // More rows than one block.
        let many = gather_rows(&values, 3 * BLOCK + 5, |i| (i * 7) % 4).unwrap();
        let many = many.as_string::<i32>();
        for i in [0, BLOCK - 1, BLOCK, 3 * BLOCK + 4] {
            assert_eq!(many.is_valid(i), (i * 7) % 4 != 1);
            if many.is_valid(i) {
                let want = ["a", "", "ccc", ""][(i * 7) % 4];
                assert_eq!(many.value(i), want);
            }
        }
    }
}
