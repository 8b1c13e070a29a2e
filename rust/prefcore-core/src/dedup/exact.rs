//! Exact duplicates of a tuple of (normalised) text columns.
//!
//! Each row's key (the normalised values, each prefixed by its length so that
//! ("ab", "c") and ("a", "bc") differ) is hashed to 128 bits; rows are sorted by hash
//! and rows with equal hashes are compared by their keys before they are merged. A hash
//! collision therefore costs a comparison, never a wrong merge.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_128;

use super::normalize::Normalizer;
use super::text::{TextColumn, TextReader};
use crate::error::{Error, Result};
use crate::parallel;

/// Which row of a cluster is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    First,
    Last,
}

crate::parse_option!(Keep, "keep", {
    "first" => Keep::First,
    "last" => Keep::Last,
});

/// Duplicate clusters of a table's rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Clusters {
    /// Cluster of each row, numbered in order of first appearance.
    pub cluster_id: Vec<i64>,
    /// The row kept for each row's cluster.
    pub representative: Vec<i64>,
    pub num_clusters: usize,
}

impl Clusters {
    /// Clusters from each row's root (the first row of its class; roots point at
    /// themselves and precede their members).
    pub fn from_roots(root: &[u32], keep: Keep) -> Clusters {
        let n = root.len();
        let mut cluster_id = vec![0i64; n];
        let mut first_row = Vec::new();
        for row in 0..n {
            let r = root[row] as usize;
            cluster_id[row] = if r == row {
                first_row.push(row as i64);
                (first_row.len() - 1) as i64
            } else {
                cluster_id[r]
            };
        }
        let mut chosen = first_row;
        if keep == Keep::Last {
            for (row, &c) in cluster_id.iter().enumerate() {
                chosen[c as usize] = row as i64;
            }
        }
        let representative = cluster_id.iter().map(|&c| chosen[c as usize]).collect();
        Clusters {
            num_clusters: chosen.len(),
            cluster_id,
            representative,
        }
    }

    /// Whether each row is the one kept for its cluster.
    pub fn keep(&self) -> Vec<bool> {
        self.representative
            .iter()
            .enumerate()
            .map(|(row, &r)| r == row as i64)
            .collect()
    }
}

/// Buffers for building a row's key.
#[derive(Default)]
struct KeyBuf {
    key: Vec<u8>,
    rendered: String,
    normalized: String,
}

impl KeyBuf {
    fn key(
        &mut self,
        readers: &[TextReader],
        row: usize,
        normalizer: Option<&Normalizer>,
    ) -> &[u8] {
        self.key.clear();
        for reader in readers {
            let text = reader.get(row, &mut self.rendered);
            let text = match normalizer {
                Some(n) => {
                    self.normalized.clear();
                    n.normalize_into(text, &mut self.normalized);
                    self.normalized.as_str()
                }
                None => text,
            };
            self.key
                .extend_from_slice(&(text.len() as u64).to_le_bytes());
            self.key.extend_from_slice(text.as_bytes());
        }
        &self.key
    }
}

/// The 128-bit hash of each row's key (its columns after normalisation): what a
/// streaming dedup keeps of a row once its batch is gone.
pub fn row_hashes(columns: &[TextColumn], normalizer: Option<&Normalizer>) -> Result<Vec<u128>> {
    let n = check_columns(columns)?;
    let readers: Vec<TextReader> = columns.iter().map(TextColumn::reader).collect();
    parallel::map_init_interruptible(n, KeyBuf::default, |kb, row| {
        xxh3_128(kb.key(&readers, row, normalizer))
    })
}

fn check_columns(columns: &[TextColumn]) -> Result<usize> {
    let Some(first) = columns.first() else {
        return Err(Error::argument("exact dedup needs at least one column"));
    };
    let n = first.len();
    if let Some(c) = columns.iter().find(|c| c.len() != n) {
        return Err(Error::argument(format!(
            "columns '{}' ({n} rows) and '{}' ({} rows) differ in length",
            first.name(),
            c.name(),
            c.len()
        )));
    }
    Ok(n)
}

/// Cluster the rows of `columns` that are equal after normalisation.
pub fn exact(
    columns: &[TextColumn],
    normalizer: Option<&Normalizer>,
    keep: Keep,
) -> Result<Clusters> {
    exact_with_hash(columns, normalizer, keep, xxh3_128)
}

/// [`exact`] with the hash function as a parameter, so tests can force collisions.
pub(crate) fn exact_with_hash(
    columns: &[TextColumn],
    normalizer: Option<&Normalizer>,
    keep: Keep,
    hash: impl Fn(&[u8]) -> u128 + Sync,
) -> Result<Clusters> {
    let n = check_columns(columns)?;
    if n >= u32::MAX as usize {
        return Err(Error::argument(format!(
            "{n} rows; at most 2^32 - 2 are supported"
        )));
    }
    let readers: Vec<TextReader> = columns.iter().map(TextColumn::reader).collect();
    crate::progress::stage("hashing");
    let hashes = parallel::map_init_interruptible(n, KeyBuf::default, |kb, row| {
        hash(kb.key(&readers, row, normalizer))
    })?;
    crate::progress::stage("grouping");
    let mut order: Vec<u32> = (0..n as u32).collect();
    parallel::install(|| order.par_sort_unstable_by_key(|&r| (hashes[r as usize], r)));
    // On the calling thread, where Ctrl-C can be noticed.
    const CHECK_EVERY: usize = 1 << 16;
    let mut root: Vec<u32> = (0..n as u32).collect();
    let mut kb = KeyBuf::default();
    let mut start = 0;
    let mut next_check = 0;
    while start < n {
        if start >= next_check {
            crate::interrupt::check()?;
            crate::progress::advance(start, n);
            next_check = start + CHECK_EVERY;
        }
        let h = hashes[order[start] as usize];
        let mut end = start + 1;
        while end < n && hashes[order[end] as usize] == h {
            end += 1;
        }
        // Rows with equal hashes: split into classes of equal keys. Rows come in
        // ascending order, so each class's first row is its smallest.
        // Each class's key is built once; a run of k true copies costs k keys.
        if end - start > 1 {
            let first = order[start];
            let mut reps: Vec<(u32, Vec<u8>)> =
                vec![(first, kb.key(&readers, first as usize, normalizer).to_vec())];
            for (i, &row) in order[start + 1..end].iter().enumerate() {
                if i % CHECK_EVERY == CHECK_EVERY - 1 {
                    crate::interrupt::check()?; // a long run of copies
                }
                let key = kb.key(&readers, row as usize, normalizer);
                match reps.iter().find(|(_, k)| k.as_slice() == key) {
                    Some(&(r, _)) => root[row as usize] = r,
                    None => reps.push((row, key.to_vec())),
                }
            }
        }
        start = end;
    }
    crate::progress::advance(n, n);
    Ok(Clusters::from_roots(&root, keep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::text::test_column as column;

    #[test]
    fn clusters_follow_first_appearance() {
        let c = column(&["a", "B", "A ", "c", "b"]);
        let out = exact(&[c], Some(&Normalizer::default()), Keep::First).unwrap();
        assert_eq!(out.cluster_id, vec![0, 1, 0, 2, 1]);
        assert_eq!(out.representative, vec![0, 1, 0, 3, 1]);
        let c = column(&["a", "B", "A ", "c", "b"]);
        let last = exact(&[c], Some(&Normalizer::default()), Keep::Last).unwrap();
        assert_eq!(last.representative, vec![2, 4, 2, 3, 4]);
        assert_eq!(last.keep(), vec![false, false, true, true, true]);
    }

    #[test]
    fn progress_names_each_stage_and_ends_at_the_row_count() {
        use std::sync::{Arc, Mutex};
        let n = 200_000; // several waves
        let values: Vec<String> = (0..n).map(|i| (i % 1000).to_string()).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let seen: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
        let sink = seen.clone();
        let out = crate::progress::reporting(
            Box::new(move |stage, done, total| {
                sink.lock().unwrap().push((stage.into(), done, total))
            }),
            || exact(&[column(&refs)], None, Keep::First),
        )
        .unwrap();
        assert_eq!(out.representative[1000], 0);
        let seen = seen.lock().unwrap();
        for stage in ["hashing", "grouping"] {
            let of_stage: Vec<_> = seen.iter().filter(|(s, _, _)| s == stage).collect();
            assert!(of_stage.len() >= 2, "{stage}: {of_stage:?}");
            assert!(
                of_stage.windows(2).all(|w| w[0].1 <= w[1].1),
                "{stage} goes back"
            );
            assert_eq!(
                of_stage.last().map(|r| (r.1, r.2)),
                Some((n as u64, n as u64))
            );
        }
    }

    #[test]
    fn a_hash_that_always_collides_still_gives_exact_classes() {
        let values = ["x", "y", "x", "z", "y", "x"];
        let honest = exact(&[column(&values)], None, Keep::First).unwrap();
        let colliding = exact_with_hash(&[column(&values)], None, Keep::First, |_| 7).unwrap();
        assert_eq!(honest, colliding);
        assert_eq!(colliding.cluster_id, vec![0, 1, 0, 2, 1, 0]);
    }

    #[test]
    fn column_boundaries_are_part_of_the_key() {
        let a = column(&["ab", "a"]);
        let b = column(&["c", "bc"]);
        let out = exact(&[a, b], None, Keep::First).unwrap();
        assert_eq!(out.num_clusters, 2);
    }
}
