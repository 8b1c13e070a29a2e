//! Output columns that one loop writes side by side, each starting at its own offset
//! within the memory page layout.
//!
//! The allocator hands out equal-sized large buffers at addresses that agree in their
//! low 26 bits or more (slots of 64 MiB and up). A loop that writes row `k` of six such
//! columns at once then hits the same DRAM bank and channel six times over, and the
//! writes queue behind each other: on this project's VM the pair table's numeric pass
//! took 147 ms instead of 67 ms when the columns happened to line up, and a
//! microbenchmark of six aligned streams ran 1.5× slower than the same streams set
//! apart. Starting column `slot` a few pages and lines further into its buffer keeps
//! the streams apart whatever the allocator does; the skipped prefix costs at most a
//! few hundred kilobytes per call.

use std::mem::MaybeUninit;

use arrow_buffer::{ArrowNativeType, Buffer, ScalarBuffer};

/// The stagger between consecutive slots: nine pages and five cache lines, so no two
/// slots share a page offset or a line offset.
const STEP: usize = 9 * 4096 + 5 * 64;

/// Buffers smaller than this are written without a stagger (a few streams of small
/// buffers gain nothing, and small outputs stay tight).
const FROM_BYTES: usize = 1 << 22;

/// Room for `len` values, staggered as output column `slot` of its loop.
pub struct StaggeredBuf<T> {
    vec: Vec<T>,
    skip: usize,
    len: usize,
}

impl<T: ArrowNativeType> StaggeredBuf<T> {
    pub fn new(len: usize, slot: usize) -> Self {
        let size = std::mem::size_of::<T>();
        let skip = if len * size >= FROM_BYTES {
            slot * STEP / size
        } else {
            0
        };
        let mut vec = Vec::with_capacity(skip + len);
        // The skipped prefix is initialised (zeros), so the finished buffer holds only
        // initialised values; the column itself is written through `room`.
        vec.resize(skip, T::default());
        StaggeredBuf { vec, skip, len }
    }

    /// The column's `len` slots, uninitialised.
    pub fn room(&mut self) -> &mut [MaybeUninit<T>] {
        &mut self.vec.spare_capacity_mut()[..self.len]
    }

    /// The written column as an Arrow buffer of `len` values.
    ///
    /// # Safety
    /// Every slot of [`StaggeredBuf::room`] has been written.
    pub unsafe fn finish(mut self) -> ScalarBuffer<T> {
        // SAFETY (the caller's): the prefix was initialised in `new` and every slot
        // of the room since.
        unsafe { self.vec.set_len(self.skip + self.len) };
        ScalarBuffer::new(Buffer::from_vec(self.vec), self.skip, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(len: usize, slot: usize) -> ScalarBuffer<i64> {
        let mut buf = StaggeredBuf::<i64>::new(len, slot);
        for (i, x) in buf.room().iter_mut().enumerate() {
            x.write(i as i64 * 3 - 7);
        }
        unsafe { buf.finish() }
    }

    #[test]
    fn finished_buffers_hold_exactly_the_written_values() {
        for (len, slot) in [(0, 0), (5, 3), (1 << 20, 0), (1 << 20, 4)] {
            let out = filled(len, slot);
            assert_eq!(out.len(), len);
            assert!(out.iter().enumerate().all(|(i, &x)| x == i as i64 * 3 - 7));
        }
    }

    #[test]
    fn large_columns_of_different_slots_are_set_apart_in_page_and_line() {
        let offsets: Vec<usize> = (0..12)
            .map(|slot| StaggeredBuf::<i64>::new(1 << 20, slot).skip * 8)
            .collect();
        for (a, &x) in offsets.iter().enumerate() {
            for &y in &offsets[a + 1..] {
                assert_ne!(x % 4096, y % 4096, "page offsets {offsets:?}");
                assert_eq!(x % 64, 0, "line-aligned starts {offsets:?}");
            }
        }
        // Small columns are not padded.
        assert_eq!(StaggeredBuf::<i64>::new(100, 5).skip, 0);
    }
}
