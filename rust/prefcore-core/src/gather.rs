//! Gathering rows of Arrow columns in parallel (`values[source_row(i)]` for every
//! output row `i`), for outputs of millions of rows such as pairs.
//!
//! String columns are copied by hand: one pass counts each block's bytes, a second
//! copies them into the blocks' stretches of the output. Several columns gathered
//! together share both passes, row by row, so rows that read the same source
//! neighbourhood (a prompt's completions) find it in cache. Callers that know their
//! stretches' rows and bytes in advance (pairs, counted as they are made) write
//! [`TextColumns`] through [`TextWriter`]s themselves, in a pass of their own.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericStringArray, OffsetSizeTrait, UInt64Array};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::DataType;
use rayon::prelude::*;

use crate::error::Result;
use crate::parallel;
use crate::staggered::StaggeredBuf;

/// Rows per parallel block.
const BLOCK: usize = 1 << 15;

/// `values[source_row(i)]` for `i` in `0..len`. Strings are copied in parallel into a
/// `string` array (`large_string` past 2 GiB of text); other types use Arrow's `take`.
pub fn gather_rows(
    values: &ArrayRef,
    len: usize,
    source_row: impl Fn(usize) -> usize + Sync,
) -> Result<ArrayRef> {
    let [out] = gather_columns([values], len, |i| [source_row(i)])?;
    Ok(out)
}

/// `C` gathers of `len` rows each: output row `i` of column `c` is row
/// `source_rows(i)[c]` of `sources[c]`. The string columns among them are copied
/// together, row by row, in one pass; they come out as `string`, or all as
/// `large_string` when one of them passes 2 GiB of text.
pub fn gather_columns<const C: usize>(
    sources: [&ArrayRef; C],
    len: usize,
    source_rows: impl Fn(usize) -> [usize; C] + Sync,
) -> Result<[ArrayRef; C]> {
    let strings: [Option<StrSource>; C] = sources.map(StrSource::of);
    // Without a string column there is nothing to count or copy by hand.
    let copied = match strings.iter().any(Option::is_some) {
        true => copy_strings(&strings, len, &source_rows),
        false => Vec::new(),
    };
    let mut copied = copied.into_iter();
    let mut out = Vec::with_capacity(C);
    for (c, values) in sources.iter().enumerate() {
        out.push(match strings[c] {
            Some(_) => copied.next().expect("one copied array per string column"),
            None => {
                let idx = UInt64Array::from_iter_values((0..len).map(|i| source_rows(i)[c] as u64));
                arrow_select::take::take(*values, &idx, None)?
            }
        });
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("C columns were pushed")))
}

/// A string column's offsets, bytes and validity, whatever its offset width.
#[derive(Clone, Copy)]
pub enum StrSource<'a> {
    Narrow(&'a GenericStringArray<i32>),
    Wide(&'a GenericStringArray<i64>),
}

impl<'a> StrSource<'a> {
    /// `values` as a string source, when it is a `string` or `large_string` column.
    pub fn of(values: &'a ArrayRef) -> Option<Self> {
        match values.data_type() {
            DataType::Utf8 => Some(StrSource::Narrow(values.as_string::<i32>())),
            DataType::LargeUtf8 => Some(StrSource::Wide(values.as_string::<i64>())),
            _ => None,
        }
    }

    /// Where row `row`'s bytes lie in the column's data.
    #[inline]
    pub fn span(self, row: usize) -> Range<usize> {
        match self {
            StrSource::Narrow(a) => span_of(a, row),
            StrSource::Wide(a) => span_of(a, row),
        }
    }

    fn data(self) -> &'a [u8] {
        match self {
            StrSource::Narrow(a) => a.value_data(),
            StrSource::Wide(a) => a.value_data(),
        }
    }

    /// The bytes of row `row`.
    #[inline]
    pub fn bytes(self, row: usize) -> &'a [u8] {
        &self.data()[self.span(row)]
    }

    pub fn nulls(self) -> Option<&'a NullBuffer> {
        match self {
            StrSource::Narrow(a) => a.nulls(),
            StrSource::Wide(a) => a.nulls(),
        }
    }
}

#[inline]
fn span_of<I: OffsetSizeTrait>(a: &GenericStringArray<I>, row: usize) -> Range<usize> {
    let offsets = a.value_offsets();
    offsets[row].as_usize()..offsets[row + 1].as_usize()
}

/// Gather the string columns (the `Some` of `columns`): one parallel pass counts every
/// block's bytes per column, a second copies them.
fn copy_strings<const C: usize>(
    columns: &[Option<StrSource>; C],
    len: usize,
    source_rows: &(impl Fn(usize) -> [usize; C] + Sync),
) -> Vec<ArrayRef> {
    // Bytes per (block, column); 0 for the columns that are not strings.
    let block_bytes = count_bytes(columns, len, source_rows);
    let totals: [usize; C] = std::array::from_fn(|c| block_bytes.iter().map(|b| b[c]).sum());
    if totals.iter().all(|&t| t <= i32::MAX as usize) {
        copy::<i32, C>(columns, len, source_rows, &block_bytes, &totals)
    } else {
        copy::<i64, C>(columns, len, source_rows, &block_bytes, &totals)
    }
}

/// Text bytes of every block of rows, per string column, in parallel.
fn count_bytes<const C: usize>(
    columns: &[Option<StrSource>; C],
    len: usize,
    source_rows: &(impl Fn(usize) -> [usize; C] + Sync),
) -> Vec<[usize; C]> {
    let n_blocks = len.div_ceil(BLOCK);
    parallel::install(|| {
        (0..n_blocks)
            .into_par_iter()
            .map(|b| {
                let mut bytes = [0usize; C];
                for i in b * BLOCK..((b + 1) * BLOCK).min(len) {
                    let rows = source_rows(i);
                    for c in 0..C {
                        if let Some(src) = columns[c] {
                            bytes[c] += src.span(rows[c]).len();
                        }
                    }
                }
                bytes
            })
            .collect()
    })
}

/// One stretch of rows of an output string column: its offsets and its bytes, written
/// row by row.
pub struct TextWriter<'a, O> {
    offsets: &'a mut [MaybeUninit<O>],
    data: &'a mut [MaybeUninit<u8>],
    /// Where `data` starts in the column's bytes.
    base: usize,
    /// Bytes written so far.
    at: usize,
}

impl<O: OffsetSizeTrait> TextWriter<'_, O> {
    /// Write `bytes` as the stretch's row `k` (rows go in order).
    #[inline]
    pub fn push(&mut self, k: usize, bytes: &[u8]) {
        let dst = &mut self.data[self.at..self.at + bytes.len()];
        // SAFETY: `dst` and `bytes` have the same length and do not overlap (one is
        // this output, the other its input).
        unsafe { copy_bytes(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), bytes.len()) };
        self.at += bytes.len();
        self.offsets[k].write(O::usize_as(self.base + self.at));
    }

    /// Panics unless the stretch is exactly full: bytes past a short count fail the
    /// slicing in [`TextWriter::push`], and a long count would leave bytes unwritten.
    pub fn check_full(&self, what: &str) {
        assert_eq!(self.at, self.data.len(), "byte count of {what}");
    }
}

/// Output string columns whose stretches' rows and bytes are known in advance: each
/// stretch is written by one task, then [`TextColumns::finish`] makes the arrays.
pub struct TextColumns<O> {
    offsets: Vec<StaggeredBuf<O>>,
    data: Vec<StaggeredBuf<u8>>,
    /// Rows per column.
    len: usize,
    /// Bytes per column.
    totals: Vec<usize>,
}

impl<O: OffsetSizeTrait> TextColumns<O> {
    /// Room for `totals.len()` columns of `len` rows holding `totals[c]` bytes, written
    /// alongside other columns: staggered from slot `first_slot` on (offsets, then
    /// data; see [`crate::staggered`]).
    pub fn new(len: usize, totals: &[usize], first_slot: usize) -> Self {
        // Uninitialised: every offset is written by its stretch (zeroing hundreds of
        // megabytes first would be a serial pass of its own), the leading 0 here.
        let n = totals.len();
        let offsets = (0..n)
            .map(|c| {
                let mut buf = StaggeredBuf::new(len + 1, first_slot + c);
                buf.room()[0].write(O::usize_as(0));
                buf
            })
            .collect();
        let data = totals
            .iter()
            .enumerate()
            .map(|(c, &t)| StaggeredBuf::new(t, first_slot + n + c))
            .collect();
        TextColumns {
            offsets,
            data,
            len,
            totals: totals.to_vec(),
        }
    }

    /// Writers for consecutive stretches: stretch `s` has `rows[s]` rows holding
    /// `bytes[s][c]` bytes of column `c`; one writer per stretch and column. The
    /// stretches must add up to the rows and bytes given to [`TextColumns::new`].
    pub fn writers(&mut self, rows: &[usize], bytes: &[Vec<usize>]) -> Vec<Vec<TextWriter<'_, O>>> {
        assert_eq!(
            rows.iter().sum::<usize>(),
            self.len,
            "rows of the stretches"
        );
        let mut out: Vec<Vec<TextWriter<O>>> = rows.iter().map(|_| Vec::new()).collect();
        let columns = self
            .offsets
            .iter_mut()
            .zip(&mut self.data)
            .zip(&self.totals);
        for (c, ((off, data), &total)) in columns.enumerate() {
            assert_eq!(
                bytes.iter().map(|b| b[c]).sum::<usize>(),
                total,
                "bytes of the stretches"
            );
            let (mut off_rest, mut data_rest) = (&mut off.room()[1..], data.room());
            debug_assert_eq!((off_rest.len(), data_rest.len()), (self.len, total));
            let mut base = 0;
            for (s, writers) in out.iter_mut().enumerate() {
                let (o, o_rest) = off_rest.split_at_mut(rows[s]);
                let (d, d_rest) = data_rest.split_at_mut(bytes[s][c]);
                writers.push(TextWriter {
                    offsets: o,
                    data: d,
                    base,
                    at: 0,
                });
                (off_rest, data_rest) = (o_rest, d_rest);
                base += bytes[s][c];
            }
        }
        out
    }

    /// The arrays, with `nulls` per column.
    ///
    /// # Safety
    /// The writers of one [`TextColumns::writers`] call covered every row and byte
    /// given to [`TextColumns::new`], each wrote all its rows and passed
    /// [`TextWriter::check_full`], and the bytes are whole strings of valid UTF-8
    /// arrays.
    pub unsafe fn finish(self, nulls: Vec<Option<NullBuffer>>) -> Vec<ArrayRef> {
        self.offsets
            .into_iter()
            .zip(self.data)
            .zip(nulls)
            .map(|((offsets, data), nulls)| {
                // SAFETY (the caller's): the stretches tile the rows and bytes, every
                // slot written, and the offsets rise from 0 to the total.
                let array = unsafe {
                    GenericStringArray::<O>::new_unchecked(
                        OffsetBuffer::new_unchecked(offsets.finish()),
                        data.finish().into_inner(),
                        nulls,
                    )
                };
                Arc::new(array) as ArrayRef
            })
            .collect()
    }
}

fn copy<O: OffsetSizeTrait, const C: usize>(
    columns: &[Option<StrSource>; C],
    len: usize,
    source_rows: &(impl Fn(usize) -> [usize; C] + Sync),
    block_bytes: &[[usize; C]],
    totals: &[usize; C],
) -> Vec<ArrayRef> {
    let strings: Vec<usize> = (0..C).filter(|&c| columns[c].is_some()).collect();
    let string_totals: Vec<usize> = strings.iter().map(|&c| totals[c]).collect();
    let mut out = TextColumns::<O>::new(len, &string_totals, 0);
    let rows: Vec<usize> = (0..block_bytes.len())
        .map(|b| BLOCK.min(len - b * BLOCK))
        .collect();
    let bytes: Vec<Vec<usize>> = block_bytes
        .iter()
        .map(|b| strings.iter().map(|&c| b[c]).collect())
        .collect();
    let blocks = out.writers(&rows, &bytes);
    let sources: Vec<StrSource> = columns.iter().flatten().copied().collect();
    parallel::install(|| {
        blocks
            .into_par_iter()
            .enumerate()
            .for_each(|(b, mut writers)| {
                for k in 0..rows[b] {
                    let at = source_rows(b * BLOCK + k);
                    for (w, (&c, &src)) in writers.iter_mut().zip(strings.iter().zip(&sources)) {
                        w.push(k, src.bytes(at[c]));
                    }
                }
                for w in &writers {
                    w.check_full(&format!("block {b}"));
                }
            })
    });
    let nulls = strings.iter().zip(&sources).map(|(&c, src)| {
        src.nulls()
            .map(|n| NullBuffer::from_iter((0..len).map(|i| n.is_valid(source_rows(i)[c]))))
    });
    // SAFETY: the blocks tile the rows and, by their counts (each checked full), the
    // bytes; each copied whole strings of its sources, valid UTF-8 arrays.
    unsafe { out.finish(nulls.collect()) }
}

/// Copy `len` bytes. Short strings (the usual id, label or completion) are moved as
/// two overlapping fixed-size words, which compile to a few loads and stores instead
/// of a call to `memcpy` per string.
///
/// # Safety
/// `src` must be readable and `dst` writable for `len` bytes, and the ranges must not
/// overlap.
#[inline(always)]
unsafe fn copy_bytes(src: *const u8, dst: *mut u8, len: usize) {
    unsafe fn two_words<const W: usize>(src: *const u8, dst: *mut u8, len: usize) {
        // Both words lie inside the `len` bytes (W <= len <= 2W); they overlap in
        // the middle when len < 2W.
        let head = src.cast::<[u8; W]>().read_unaligned();
        let tail = src.add(len - W).cast::<[u8; W]>().read_unaligned();
        dst.cast::<[u8; W]>().write_unaligned(head);
        dst.add(len - W).cast::<[u8; W]>().write_unaligned(tail);
    }
    match len {
        16..=32 => two_words::<16>(src, dst, len),
        8..=15 => two_words::<8>(src, dst, len),
        4..=7 => two_words::<4>(src, dst, len),
        0..=3 => {
            for i in 0..len {
                *dst.add(i) = *src.add(i);
            }
        }
        _ => std::ptr::copy_nonoverlapping(src, dst, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::StringArray;

    #[test]
    fn copies_every_length_exactly() {
        let src: Vec<u8> = (0..100u8).collect();
        for len in 0..=70 {
            for start in [0usize, 3, 30 - len.min(30)] {
                let mut dst = vec![0xAAu8; len + 2];
                // SAFETY: both ranges are in bounds and in different vectors.
                unsafe { copy_bytes(src[start..].as_ptr(), dst[1..].as_mut_ptr(), len) };
                assert_eq!(&dst[1..=len], &src[start..start + len], "len {len}");
                assert_eq!(
                    (dst[0], dst[len + 1]),
                    (0xAA, 0xAA),
                    "len {len} wrote outside"
                );
            }
        }
    }

    #[test]
    fn gathers_several_columns_of_mixed_types_together() {
        use arrow_array::{Int32Array, LargeStringArray};
        let narrow: ArrayRef = Arc::new(StringArray::from(vec!["x", "yy", "zzz"]));
        let wide: ArrayRef = Arc::new(LargeStringArray::from(vec![Some("long one"), None]));
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![7, 8, 9]));
        let len = BLOCK + 3;
        let rows = |i: usize| [i % 3, i % 2, 2 - i % 3];
        let out = gather_columns([&narrow, &wide, &ints], len, rows).unwrap();
        for i in [0, 1, 2, BLOCK, BLOCK + 2] {
            assert_eq!(
                out[0].as_string::<i32>().value(i),
                ["x", "yy", "zzz"][i % 3]
            );
            assert_eq!(out[1].is_valid(i), i % 2 == 0);
            let ints = out[2].as_primitive::<arrow_array::types::Int32Type>();
            assert_eq!(ints.value(i), [9, 8, 7][i % 3]);
        }
        assert_eq!(out[1].data_type(), &DataType::Utf8); // narrow output when it fits
    }

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
