//! Group the rows of a long table by an id column without sorting it.
//!
//! Runs are usually written query by query, so rows of one query are contiguous. We
//! hash only at the start of each run of equal ids ("segment") and keep, per group,
//! the list of its segments: one hash per query on sorted input, correct on any input.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::columns::IdAccessor;
use crate::keys::IdHashBuilder;
use crate::parallel;

/// Rows of each distinct id, as segments of contiguous rows.
pub struct Groups<'a> {
    /// Distinct ids, in order of first appearance.
    pub keys: Vec<&'a [u8]>,
    /// CSR offsets into `segments` per group.
    seg_offsets: Vec<usize>,
    segments: Vec<(u32, u32)>,
    /// Group index of each id.
    pub index: HashMap<&'a [u8], u32, IdHashBuilder>,
}

impl<'a> Groups<'a> {
    pub fn build(ids: IdAccessor<'a>, len: usize) -> Self {
        let mut index: HashMap<&'a [u8], u32, IdHashBuilder> = HashMap::default();
        let mut keys = Vec::new();
        // (group, start, end) per segment, in row order.
        let starts = segment_starts(ids, len);
        let mut raw: Vec<(u32, u32, u32)> = Vec::with_capacity(starts.len());
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(len as u32);
            let key = ids.get(start as usize);
            let next = keys.len() as u32;
            let g = *index.entry(key).or_insert_with(|| {
                keys.push(key);
                next
            });
            raw.push((g, start, end));
        }
        // Counting sort of segments by group keeps row order within a group.
        let mut seg_offsets = vec![0usize; keys.len() + 1];
        for &(g, _, _) in &raw {
            seg_offsets[g as usize + 1] += 1;
        }
        for i in 0..keys.len() {
            seg_offsets[i + 1] += seg_offsets[i];
        }
        let mut fill = seg_offsets.clone();
        let mut segments = vec![(0u32, 0u32); raw.len()];
        for &(g, s, e) in &raw {
            segments[fill[g as usize]] = (s, e);
            fill[g as usize] += 1;
        }
        Groups {
            keys,
            seg_offsets,
            segments,
            index,
        }
    }

    /// The row ranges `start..end` of group `g`, in table order (usually just one).
    pub fn segments(&self, g: usize) -> &[(u32, u32)] {
        &self.segments[self.seg_offsets[g]..self.seg_offsets[g + 1]]
    }
}

/// First row of every run of equal consecutive ids, found in parallel chunks.
fn segment_starts(ids: IdAccessor<'_>, len: usize) -> Vec<u32> {
    const CHUNK: usize = 1 << 16;
    let chunks: Vec<Vec<u32>> = parallel::install(|| {
        (0..len.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(len));
                let mut starts = Vec::new();
                // A run that began in the previous chunk is not a new segment.
                let mut r = if lo > 0 && ids.get(lo) == ids.get(lo - 1) {
                    ids.run_end(lo, hi)
                } else {
                    lo
                };
                while r < hi {
                    starts.push(r as u32);
                    r = ids.run_end(r, hi);
                }
                starts
            })
            .collect()
    });
    chunks.concat()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow_array::{LargeStringArray, StringArray, StringViewArray};
    use proptest::prelude::*;

    use super::*;

    fn check(values: &[&str]) {
        let naive: Vec<u32> = (0..values.len())
            .filter(|&r| r == 0 || values[r] != values[r - 1])
            .map(|r| r as u32)
            .collect();
        let utf8 = StringArray::from(values.to_vec());
        let large = LargeStringArray::from(values.to_vec());
        let view = StringViewArray::from(values.to_vec());
        for ids in [
            IdAccessor::Utf8(&utf8),
            IdAccessor::Large(&large),
            IdAccessor::View(&view),
        ] {
            assert_eq!(segment_starts(ids, values.len()), naive);
            let groups = Groups::build(ids, values.len());
            let mut expected: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (r, v) in values.iter().enumerate() {
                expected.entry(v).or_default().push(r);
            }
            for (g, key) in groups.keys.iter().enumerate() {
                let key = std::str::from_utf8(key).unwrap();
                let rows: Vec<usize> = groups
                    .segments(g)
                    .iter()
                    .flat_map(|&(s, e)| s as usize..e as usize)
                    .collect();
                assert_eq!(rows, expected[key]);
            }
            assert_eq!(groups.keys.len(), expected.len());
        }
    }

    proptest! {
        #[test]
        fn segments_and_groups_equal_the_naive_scan(
            runs in prop::collection::vec((prop::sample::select(vec!["ab", "ba", "aa", "a", ""]), 1usize..40), 0..30)
        ) {
            let values: Vec<&str> = runs.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect();
            check(&values);
        }
    }

    #[test]
    fn interleaved_ids_that_fool_galloping() {
        // Rows 0, 1, 2, 4, 8 equal "x": galloping alone would call 0..9 one run.
        let mut v = vec!["x"; 9];
        v[3] = "y";
        v[5] = "y";
        check(&v);
        // Long runs across the parallel chunk size.
        let long: Vec<&str> = (0..200_000)
            .map(|i| if (i / 70_000) % 2 == 0 { "q1" } else { "q2" })
            .collect();
        check(&long);
    }
}
