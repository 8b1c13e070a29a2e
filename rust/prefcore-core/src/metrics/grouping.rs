//! Group the rows of a long table by an id column without sorting it.
//!
//! Runs are usually written query by query, so rows of one query are contiguous. We
//! hash only at the start of each run of equal ids ("segment") and keep, per group,
//! the list of its segments: one hash per query on sorted input, correct on any input.

use std::collections::HashMap;

use crate::columns::IdAccessor;

/// Rows of each distinct id, as segments of contiguous rows.
pub struct Groups<'a> {
    /// Distinct ids, in order of first appearance.
    pub keys: Vec<&'a [u8]>,
    /// CSR offsets into `segments` per group.
    seg_offsets: Vec<usize>,
    segments: Vec<(u32, u32)>,
    /// Group index of each id.
    pub index: HashMap<&'a [u8], u32>,
}

impl<'a> Groups<'a> {
    pub fn build(ids: IdAccessor<'a>, len: usize) -> Self {
        let mut index: HashMap<&'a [u8], u32> = HashMap::new();
        let mut keys = Vec::new();
        // (group, start, end) per segment, in row order.
        let mut raw: Vec<(u32, u32, u32)> = Vec::new();
        let mut row = 0usize;
        while row < len {
            let key = ids.get(row);
            let start = row;
            row += 1;
            while row < len && ids.get(row) == key {
                row += 1;
            }
            let next = keys.len() as u32;
            let g = *index.entry(key).or_insert_with(|| {
                keys.push(key);
                next
            });
            raw.push((g, start as u32, row as u32));
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

    /// Rows of group `g`, in table order.
    pub fn rows(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        self.segments[self.seg_offsets[g]..self.seg_offsets[g + 1]]
            .iter()
            .flat_map(|&(s, e)| s as usize..e as usize)
    }
}
