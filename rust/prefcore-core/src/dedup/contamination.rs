//! Decontamination: which training rows overlap an evaluation (reference) set.
//!
//! * `ngram`: a training row overlaps a reference row when they share a word n-gram
//!   (13 by default, the usual decontamination practice) of their normalised text; a
//!   text shorter than n words is one n-gram. Score: the fraction of the training
//!   row's n-grams found in its best reference row.
//! * `exact`: equal normalised texts (score 1).
//! * `minhash`: LSH candidates between the two sets, scored by the exact Jaccard of
//!   their shingle sets.
//!
//! The best reference row is the one with the highest score (ties: the lowest index).

use std::collections::HashMap;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::bands::optimal_bands;
use super::lsh::{band_key, jaccard};
use super::minhash::{shingle_sets, signatures, MinHashOptions, Tokenizer};
use super::normalize::Normalizer;
use super::text::TextColumn;
use crate::error::{Error, Result};
use crate::keys::IdHashBuilder;
use crate::parallel;

/// How overlap is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Ngram,
    Exact,
    MinHash,
}

crate::parse_option!(Method, "method", {
    "ngram" => Method::Ngram,
    "exact" => Method::Exact,
    "minhash" => Method::MinHash,
});

/// The best reference match of one training row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overlap {
    pub reference: Option<u32>,
    pub score: f64,
}

const NONE: Overlap = Overlap {
    reference: None,
    score: 0.0,
};

/// The candidate with the highest score (ties: lowest reference row).
fn best(candidates: impl Iterator<Item = (u32, f64)>) -> Overlap {
    candidates.fold(NONE, |acc, (r, score)| {
        let better =
            score > acc.score || (score == acc.score && acc.reference.is_some_and(|a| r < a));
        if better && score > 0.0 {
            Overlap {
                reference: Some(r),
                score,
            }
        } else {
            acc
        }
    })
}

/// For every training row, its best reference match (`reference: None` when it has
/// none with a positive score).
pub fn contamination(
    train: &TextColumn,
    reference: &TextColumn,
    normalizer: Option<&Normalizer>,
    method: Method,
    n: usize,
    minhash: MinHashOptions,
    threshold: f64,
) -> Result<Vec<Overlap>> {
    if n == 0 && method != Method::Exact {
        return Err(Error::argument(
            "n (the n-gram size in words) must be at least 1",
        ));
    }
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::bad_argument(
            "threshold",
            format!("threshold must be in [0, 1], not {threshold}"),
        ));
    }
    match method {
        Method::Exact => {
            let key = |texts: &TextColumn| -> Vec<u64> {
                let reader = texts.reader();
                let (mut raw, mut normalized) = (String::new(), String::new());
                (0..texts.len())
                    .map(|row| {
                        xxh3_64(
                            reader
                                .normalized(row, normalizer, &mut raw, &mut normalized)
                                .as_bytes(),
                        )
                    })
                    .collect()
            };
            let mut index: HashMap<u64, u32, IdHashBuilder> = HashMap::default();
            for (row, h) in key(reference).into_iter().enumerate() {
                index.entry(h).or_insert(row as u32);
            }
            // 64-bit hashes of the texts: confirm each hit on the texts themselves.
            let (tr, rr) = (train.reader(), reference.reader());
            let (mut a, mut b, mut c, mut d) =
                (String::new(), String::new(), String::new(), String::new());
            Ok(key(train)
                .into_iter()
                .enumerate()
                .map(|(row, h)| match index.get(&h) {
                    Some(&r)
                        if tr.normalized(row, normalizer, &mut a, &mut b)
                            == rr.normalized(r as usize, normalizer, &mut c, &mut d) =>
                    {
                        Overlap {
                            reference: Some(r),
                            score: 1.0,
                        }
                    }
                    _ => NONE,
                })
                .collect())
        }
        Method::Ngram => {
            let refs = shingle_sets(reference, normalizer, n, Tokenizer::Word);
            let mut index: HashMap<u64, Vec<u32>, IdHashBuilder> = HashMap::default();
            for (row, set) in refs.iter().enumerate() {
                for &h in set {
                    index.entry(h).or_default().push(row as u32);
                }
            }
            let sets = shingle_sets(train, normalizer, n, Tokenizer::Word);
            Ok(parallel::install(|| {
                sets.par_iter()
                    .map(|set| {
                        let mut shared: HashMap<u32, usize, IdHashBuilder> = HashMap::default();
                        for h in set {
                            for &r in index.get(h).into_iter().flatten() {
                                *shared.entry(r).or_default() += 1;
                            }
                        }
                        let total = set.len().max(1) as f64;
                        best(shared.into_iter().map(|(r, k)| (r, k as f64 / total)))
                    })
                    .collect()
            }))
        }
        Method::MinHash => {
            let (bands, rows) = optimal_bands(threshold, minhash.num_perm)?;
            let p = minhash.num_perm;
            // Candidates share a band key (the same keys as near-dup LSH); the exact
            // Jaccard below decides.
            let ref_sigs = signatures(reference, normalizer, minhash)?;
            let mut index: HashMap<u128, Vec<u32>> = HashMap::new();
            let mut buf = Vec::new();
            for (row, sig) in ref_sigs.chunks(p).enumerate() {
                for band in 0..bands {
                    index
                        .entry(band_key(sig, band, rows, &mut buf))
                        .or_default()
                        .push(row as u32);
                }
            }
            let train_sigs = signatures(train, normalizer, minhash)?;
            let ref_sets = shingle_sets(reference, normalizer, minhash.ngram, minhash.tokenizer);
            let train_sets = shingle_sets(train, normalizer, minhash.ngram, minhash.tokenizer);
            Ok(parallel::install(|| {
                train_sigs
                    .par_chunks(p)
                    .zip(train_sets.par_iter())
                    .map_init(Vec::new, |buf, (sig, set)| {
                        let mut candidates: Vec<u32> = (0..bands)
                            .filter_map(|band| index.get(&band_key(sig, band, rows, buf)))
                            .flatten()
                            .copied()
                            .collect();
                        candidates.sort_unstable();
                        candidates.dedup();
                        let scored = candidates
                            .into_iter()
                            .map(|r| (r, jaccard(set, &ref_sets[r as usize])));
                        let found = best(scored);
                        if found.score >= threshold {
                            found
                        } else {
                            NONE
                        }
                    })
                    .collect()
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::text::test_column as column;

    #[test]
    fn ngram_overlap_picks_the_best_reference_row() {
        let reference = column(&["a b c d", "x y z w", "a b c q"]);
        let train = column(&["a b c d e", "nothing here at all", "x y"]);
        let options = MinHashOptions {
            num_perm: 16,
            ngram: 3,
            tokenizer: Tokenizer::Word,
            seed: 1,
        };
        let out = contamination(&train, &reference, None, Method::Ngram, 3, options, 0.8).unwrap();
        // Row 0's 3-grams: abc, bcd, cde; reference 0 shares two, reference 2 one.
        assert_eq!(
            out[0],
            Overlap {
                reference: Some(0),
                score: 2.0 / 3.0
            }
        );
        assert_eq!(out[1], NONE);
        // "x y" is shorter than 3 words: one 2-word n-gram, not in "x y z w"'s 3-grams.
        assert_eq!(out[2], NONE);
    }
}
