//! Group the rows of a long table by an id column without sorting it.
//!
//! Runs are usually written query by query, so rows of one query are contiguous. We
//! hash only at the start of each run of equal ids ("segment") and keep, per group,
//! the list of its segments: one hash per query on sorted input, correct on any input.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use rayon::prelude::*;

use crate::columns::IdAccessor;
use crate::keys::hash_bytes;
use crate::parallel;

/// An id with its hash, computed in the parallel scan while the id's bytes were in
/// cache: the serial table work then never reads the bytes of a long table's rows
/// again (a cache miss per group otherwise), except to confirm a match.
#[derive(Clone, Copy, Debug)]
pub struct HashedId<'a> {
    pub hash: u64,
    pub bytes: &'a [u8],
}

impl<'a> HashedId<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        HashedId {
            hash: hash_bytes(bytes),
            bytes,
        }
    }
}

impl PartialEq for HashedId<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.bytes == other.bytes
    }
}

impl Eq for HashedId<'_> {}

impl Hash for HashedId<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hands on the hash a [`HashedId`] carries.
#[derive(Default)]
struct CarriedHash(u64);

impl Hasher for CarriedHash {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes); // not reached by `HashedId`
    }

    fn write_u64(&mut self, h: u64) {
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Index<'a> = HashMap<HashedId<'a>, u32, BuildHasherDefault<CarriedHash>>;

/// Rows of each distinct id, as segments of contiguous rows.
pub struct Groups<'a> {
    /// Distinct ids, in order of first appearance.
    pub keys: Vec<HashedId<'a>>,
    /// CSR offsets into `segments` per group.
    seg_offsets: Vec<usize>,
    segments: Vec<(u32, u32)>,
    /// Group index of each id.
    index: Index<'a>,
}

impl<'a> Groups<'a> {
    pub fn build(ids: IdAccessor<'a>, len: usize) -> Self {
        let starts = segment_starts(ids, len);
        // One segment per group is the usual case: room for that many up front
        // spares the table its rehashes while it grows.
        let mut index = Index::with_capacity_and_hasher(starts.len(), Default::default());
        let mut keys = Vec::with_capacity(starts.len());
        // (group, start, end) per segment, in row order.
        let mut raw: Vec<(u32, u32, u32)> = Vec::with_capacity(starts.len());
        for (i, &(start, key)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(len as u32, |s| s.0);
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

    /// The group of `key`, if the column holds it.
    pub fn find(&self, key: &HashedId<'_>) -> Option<usize> {
        self.index.get(key).map(|&g| g as usize)
    }
}

/// First row of every run of equal consecutive ids, with its id, found in parallel
/// chunks.
fn segment_starts<'a>(ids: IdAccessor<'a>, len: usize) -> Vec<(u32, HashedId<'a>)> {
    const CHUNK: usize = 1 << 16;
    let chunks: Vec<Vec<(u32, HashedId<'a>)>> = parallel::install(|| {
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
                    starts.push((r as u32, HashedId::new(ids.get(r))));
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
            let starts: Vec<u32> = segment_starts(ids, values.len())
                .iter()
                .map(|s| s.0)
                .collect();
            assert_eq!(starts, naive);
            let groups = Groups::build(ids, values.len());
            let mut expected: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (r, v) in values.iter().enumerate() {
                expected.entry(v).or_default().push(r);
            }
            for (g, key) in groups.keys.iter().enumerate() {
                assert_eq!(groups.find(key), Some(g));
                let key = std::str::from_utf8(key.bytes).unwrap();
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
