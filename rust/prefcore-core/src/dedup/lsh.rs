//! Near-duplicate clusters from MinHash signatures: LSH banding, candidate pairs,
//! optional exact verification, union-find. Rows whose signatures agree on every
//! slot of at least one band are candidates; clusters are the connected components
//! of the (verified) candidate pairs, so they are transitive.

use rayon::prelude::*;

use super::exact::{Clusters, Keep};
use xxhash_rust::xxh3::xxh3_128;

use super::bands::{check_threshold, optimal_bands};
use super::minhash::{shingle_sets, MinHashOptions, SignScratch, Signer};
use super::normalize::Normalizer;
use super::text::TextColumn;
use crate::error::{Error, Result};
use crate::parallel;

/// Union-find whose root is always the smallest row of its set.
struct MinUnion {
    parent: Vec<u32>,
}

impl MinUnion {
    fn new(n: usize) -> Self {
        MinUnion {
            parent: (0..n as u32).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        self.parent[hi as usize] = lo;
    }
}

/// What LSH found.
pub struct LshResult {
    pub clusters: Clusters,
    /// Without verification, the distinct row pairs (each bucket's first row with the
    /// others) that shared a band; with it, the pairs tested: rows with equal
    /// shingle sets joined, and the exact comparisons made.
    pub candidate_pairs: usize,
    /// The pairs that were merged, `(a, b)` with `a < b`, in order: without
    /// verification each bucket's first row with the others; with it the verified
    /// pairs that joined two clusters (a spanning forest of the clusters).
    pub merged: Vec<(u32, u32)>,
}

/// Clusters of `n` rows joined by `pairs` (connected components; each cluster's
/// representative by `keep`). A row outside `0..n` is an error.
pub fn clusters_from_pairs(n: usize, a: &[i64], b: &[i64], keep: Keep) -> Result<Clusters> {
    if a.len() != b.len() {
        return Err(Error::argument(format!(
            "the pair columns differ in length: {} rows a, {} rows b",
            a.len(),
            b.len()
        )));
    }
    let mut union = MinUnion::new(n);
    for (k, (&x, &y)) in a.iter().zip(b).enumerate() {
        let valid = |v: i64| v >= 0 && (v as usize) < n;
        if !valid(x) || !valid(y) {
            return Err(Error::value(
                "pairs",
                k,
                format!("row ({x}, {y}) outside 0..{n}"),
            ));
        }
        union.union(x as u32, y as u32);
    }
    let roots: Vec<u32> = (0..n as u32).map(|r| union.find(r)).collect();
    Ok(Clusters::from_roots(&roots, keep))
}

/// 128-bit key of band `band` (slots `band * rows ..`) of one signature: two rows
/// share a bucket when their keys are equal, which for unequal slices has probability
/// 2^-128 (never seen in practice), so equal keys stand for equal slices.
pub fn band_key(signature: &[u64], band: usize, rows: usize, buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    buf.extend_from_slice(&(band as u64).to_le_bytes());
    for v in &signature[band * rows..][..rows] {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    xxh3_128(buf)
}

pub(super) fn check_bands(num_perm: usize, bands: usize, rows: usize) -> Result<()> {
    if bands == 0 || rows == 0 || bands * rows > num_perm {
        return Err(Error::argument(format!(
            "bands ({bands}) x rows ({rows}) must be at least 1 and at most num_perm ({num_perm})"
        )));
    }
    Ok(())
}

/// Clusters of rows from their signatures (row-major, `num_perm` per row).
pub fn cluster(
    signatures: &[u64],
    num_perm: usize,
    bands: usize,
    rows: usize,
    keep: Keep,
    verify: Option<&Verifier>,
) -> Result<LshResult> {
    check_bands(num_perm, bands, rows)?;
    let mut buf = Vec::new();
    let keys: Vec<u128> = signatures
        .chunks(num_perm)
        .flat_map(|sig| {
            (0..bands)
                .map(|b| band_key(sig, b, rows, &mut buf))
                .collect::<Vec<_>>()
        })
        .collect();
    cluster_keys(&keys, bands, keep, verify)
}

/// Clusters of rows from their band keys (`keys[row * bands + band]`). Bands are
/// bucketed one at a time, so the extra memory is one band's sorted keys. Keys are
/// the 128-bit band keys, or (for streams, at half the memory) their low 64 bits.
pub fn cluster_keys<K: Copy + Ord + Send + Sync>(
    keys: &[K],
    bands: usize,
    keep: Keep,
    verify: Option<&Verifier>,
) -> Result<LshResult> {
    let n = keys.len() / bands;
    let fill = |band: usize, keyed: &mut Vec<(K, u32)>| {
        keyed.extend((0..n).map(|row| (keys[row * bands + band], row as u32)));
    };
    cluster_with(n, bands, fill, keep, verify)
}

/// [`cluster_keys`] over keys kept in chunks (one per batch of a stream, each
/// row-major), so a growing stream never reallocates one large buffer.
pub fn cluster_key_chunks<K: Copy + Ord + Send + Sync>(
    chunks: &[Vec<K>],
    bands: usize,
    keep: Keep,
) -> Result<LshResult> {
    let n = chunks.iter().map(|c| c.len() / bands).sum();
    let fill = |band: usize, keyed: &mut Vec<(K, u32)>| {
        let mut row = 0u32;
        for chunk in chunks {
            for keys in chunk.chunks_exact(bands) {
                keyed.push((keys[band], row));
                row += 1;
            }
        }
    };
    cluster_with(n, bands, fill, keep, None)
}

/// Exact verification of candidate pairs: `class[row]` is the smallest row with the
/// same shingle set (rows with equal sets are similar to each other and to the same
/// others), `similar(a, b)` the exact test of two rows.
pub struct Verifier<'a> {
    pub class: Vec<u32>,
    pub similar: &'a (dyn Fn(usize, usize) -> bool + Sync),
}

/// Bucket `n` rows band by band (`fill(band, keyed)` appends each row's key of that
/// band in row order), then merge the buckets' rows.
///
/// Without verification each bucket's first row is joined with the others (a star).
/// With it, a bucket's rows are first reduced to their distinct shingle sets (equal
/// sets join at once), and two sets are compared only while they are still in
/// different clusters: clusters come out as the connected components of the verified
/// candidate pairs, with work near-linear in the bucket when its rows are alike
/// (12,000 copies of one text: one class, no comparison) instead of quadratic.
fn cluster_with<K: Copy + Ord + Send + Sync>(
    n: usize,
    bands: usize,
    fill: impl Fn(usize, &mut Vec<(K, u32)>),
    keep: Keep,
    verify: Option<&Verifier>,
) -> Result<LshResult> {
    let mut union = MinUnion::new(n);
    let mut merged: Vec<(u32, u32)> = Vec::new();
    let mut candidate_pairs = 0usize;
    let mut keyed: Vec<(K, u32)> = Vec::with_capacity(n);
    let mut distinct: Vec<u32> = Vec::new();
    // Without verification: each bucket's first row with the others (a < b already,
    // as a bucket's rows are sorted).
    let mut stars: Vec<(u32, u32)> = Vec::new();
    crate::progress::stage("bands");
    for band in 0..bands {
        crate::interrupt::check()?;
        crate::progress::advance(band, bands);
        keyed.clear();
        fill(band, &mut keyed);
        parallel::install(|| keyed.par_sort_unstable());
        let mut start = 0;
        while start < keyed.len() {
            let mut end = start + 1;
            while end < keyed.len() && keyed[end].0 == keyed[start].0 {
                end += 1;
            }
            let members = &keyed[start..end];
            let first = members[0].1;
            match verify {
                None => stars.extend(members[1..].iter().map(|&(_, b)| (first, b))),
                Some(v) => {
                    distinct.clear();
                    for &(_, row) in members {
                        let class = v.class[row as usize];
                        if class != row {
                            if union.find(class) != union.find(row) {
                                candidate_pairs += 1;
                                union.union(class, row);
                                merged.push((class, row));
                            }
                        } else {
                            distinct.push(row);
                        }
                        // A row whose set's first row is elsewhere: compare that row.
                        if class != row && !distinct.contains(&class) {
                            distinct.push(class);
                        }
                    }
                    for i in 0..distinct.len() {
                        for j in i + 1..distinct.len() {
                            let (a, b) = (distinct[i], distinct[j]);
                            if union.find(a) == union.find(b) {
                                continue;
                            }
                            candidate_pairs += 1;
                            if (v.similar)(a as usize, b as usize) {
                                union.union(a, b);
                                merged.push((a.min(b), a.max(b)));
                            }
                        }
                    }
                }
            }
            start = end;
        }
    }
    drop(keyed);
    if verify.is_none() {
        stars.sort_unstable();
        stars.dedup();
        candidate_pairs = stars.len();
        for &(a, b) in &stars {
            union.union(a, b);
        }
        merged = stars;
    }
    merged.sort_unstable();
    let roots: Vec<u32> = (0..n as u32).map(|r| union.find(r)).collect();
    Ok(LshResult {
        clusters: Clusters::from_roots(&roots, keep),
        candidate_pairs,
        merged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_union_keeps_the_smallest_root() {
        let mut u = MinUnion::new(5);
        u.union(4, 2);
        u.union(3, 4);
        u.union(1, 0);
        let roots: Vec<u32> = (0..5).map(|r| u.find(r)).collect();
        assert_eq!(roots, vec![0, 0, 2, 2, 2]);
    }

    #[test]
    fn chunked_keys_cluster_like_one_buffer() {
        let keys: Vec<u64> = vec![1, 2, 3, 4, 1, 9, 5, 4, 7, 7];
        let whole = cluster_keys(&keys, 2, Keep::First, None).unwrap();
        let chunks = vec![keys[..4].to_vec(), keys[4..6].to_vec(), keys[6..].to_vec()];
        let parts = cluster_key_chunks(&chunks, 2, Keep::First).unwrap();
        assert_eq!(whole.clusters.cluster_id, vec![0, 1, 0, 1, 2]);
        assert_eq!(parts.clusters.cluster_id, whole.clusters.cluster_id);
        assert_eq!(parts.candidate_pairs, whole.candidate_pairs);
    }

    #[test]
    fn identical_signatures_cluster_and_bad_bands_fail() {
        let sigs = [1, 2, 3, 4, 9, 9, 9, 9, 1, 2, 3, 4];
        let out = cluster(&sigs, 4, 2, 2, Keep::First, None).unwrap();
        assert_eq!(out.clusters.cluster_id, vec![0, 1, 0]);
        assert_eq!(out.candidate_pairs, 1);
        assert!(cluster(&sigs, 4, 3, 2, Keep::First, None).is_err());
    }
}

/// Parameters of [`near_duplicates`].
#[derive(Clone, Copy, Debug)]
pub struct NearOptions {
    pub minhash: MinHashOptions,
    pub threshold: f64,
    /// `None`: chosen by [`optimal_bands`].
    pub bands_rows: Option<(usize, usize)>,
    pub keep: Keep,
    pub verify: bool,
}

/// The `bands` LSH keys of every row (`keys[row * bands + band]`), straight from each
/// row's signature: the `[rows, num_perm]` signature matrix (1 GiB for a million
/// rows) is never held. A stream of batches appends these and clusters them at the end.
pub fn band_keys(
    texts: &TextColumn,
    normalizer: Option<&Normalizer>,
    minhash: MinHashOptions,
    bands: usize,
    rows: usize,
) -> Result<Vec<u128>> {
    let num_perm = minhash.num_perm;
    check_bands(num_perm, bands, rows)?;
    let signer = Signer::new(texts, normalizer, minhash)?;
    let mut keys = vec![0u128; texts.len() * bands];
    // Slots past `bands * rows` never reach a key: they are not computed.
    let used = bands * rows;
    crate::progress::stage("signatures");
    parallel::fill_rows_with(
        &mut keys,
        bands,
        || (SignScratch::default(), vec![0u64; used], Vec::new()),
        |(scratch, signature, buf), row, out| {
            signer.sign(row, scratch, signature);
            for (band, key) in out.iter_mut().enumerate() {
                *key = band_key(signature, band, rows, buf);
            }
        },
    )?;
    Ok(keys)
}

/// Near-duplicate clusters of a text column; also returns the (bands, rows) used.
pub fn near_duplicates(
    texts: &TextColumn,
    normalizer: Option<&Normalizer>,
    options: NearOptions,
) -> Result<(LshResult, (usize, usize))> {
    let (bands, rows) = match options.bands_rows {
        Some(br) => br,
        None => optimal_bands(options.threshold, options.minhash.num_perm)?,
    };
    check_threshold(options.threshold)?;
    let keys = band_keys(texts, normalizer, options.minhash, bands, rows)?;
    let run = |verify: Option<&Verifier>| {
        cluster_keys(&keys, bands, options.keep, verify).map(|out| (out, (bands, rows)))
    };
    if !options.verify {
        return run(None);
    }
    // Exact Jaccard of the shingle-hash sets (64-bit hashes: a collision would need
    // two distinct shingles with equal hashes).
    let sets = shingle_sets(
        texts,
        normalizer,
        options.minhash.ngram,
        options.minhash.tokenizer,
    );
    let similar = |a: usize, b: usize| jaccard(&sets[a], &sets[b]) >= options.threshold;
    let mut first_of: std::collections::HashMap<&[u64], u32> = Default::default();
    let class = sets
        .iter()
        .enumerate()
        .map(|(row, set)| *first_of.entry(set.as_slice()).or_insert(row as u32))
        .collect();
    run(Some(&Verifier {
        class,
        similar: &similar,
    }))
}

/// Jaccard similarity of two sorted, deduplicated sets (two empty sets: 1).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        1.0
    } else {
        common as f64 / union as f64
    }
}
