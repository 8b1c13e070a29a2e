//! Dedup over a stream of batches, for inputs larger than memory: the state kept
//! between batches is a hash per row (exact) or the LSH band keys (near), never
//! the text. Row numbers in errors count from the start of the stream.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, StringArray};
//! use prefcore_core::dedup::ExactStream;
//!
//! let mut stream = ExactStream::new(None);
//! let first: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a"]));
//! let second: ArrayRef = Arc::new(StringArray::from(vec!["b", "c"]));
//! let keep = stream.push(&[("text", &first)]).unwrap();
//! assert_eq!(keep, vec![true, true, false]);
//! let keep = stream.push(&[("text", &second)]).unwrap();
//! assert_eq!(keep, vec![false, true]);
//! assert_eq!((stream.rows(), stream.distinct()), (5, 3));
//! ```

use std::collections::HashSet;

use arrow_array::ArrayRef;

use crate::error::{Error, Result};

use super::exact::{row_hashes, Keep};
use super::lsh::{band_keys, check_bands, cluster_key_chunks, LshResult};
use super::minhash::MinHashOptions;
use super::normalize::Normalizer;
use super::text::TextColumn;

/// Exact dedup across batches: a row is kept when no earlier row of the stream had
/// its (normalised) key. Holds the 128-bit hash of each distinct key (16 bytes a
/// row, plus the hash set's slack).
#[derive(Debug, Default)]
pub struct ExactStream {
    seen: HashSet<u128>,
    normalizer: Option<Normalizer>,
    rows: usize,
}

impl ExactStream {
    pub fn new(normalizer: Option<Normalizer>) -> Self {
        ExactStream {
            normalizer,
            ..Default::default()
        }
    }

    /// The keep mask of the next batch, given its key columns by name.
    pub fn push(&mut self, columns: &[(&str, &ArrayRef)]) -> Result<Vec<bool>> {
        let hashes = columns
            .iter()
            .map(|(name, array)| TextColumn::new(name, array))
            .collect::<Result<Vec<_>>>()
            .and_then(|columns| row_hashes(&columns, self.normalizer.as_ref()))
            .map_err(|e| shift(e, self.rows))?;
        self.rows += hashes.len();
        Ok(hashes.into_iter().map(|h| self.seen.insert(h)).collect())
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Distinct keys seen so far.
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }
}

/// Near-duplicate dedup across batches: each batch's LSH band keys are kept, as the
/// low 64 bits of the 128-bit keys `near_duplicates` uses (8 bytes per band per
/// row), and [`NearStream::finish`] clusters them as `near_duplicates` clusters a
/// whole column without verification. Results differ only if two unequal bands
/// collide in 64 bits (for 10 million rows and 9 bands, about 2e-5 expected false
/// collisions in all).
#[derive(Debug)]
pub struct NearStream {
    keys: Vec<Vec<u64>>,
    normalizer: Option<Normalizer>,
    minhash: MinHashOptions,
    bands: usize,
    rows_per_band: usize,
    rows: usize,
    /// Set by `finish`, which frees the keys: pushing or finishing again is an error
    /// rather than a silent restart from nothing.
    finished: bool,
}

impl NearStream {
    pub fn new(
        normalizer: Option<Normalizer>,
        minhash: MinHashOptions,
        bands: usize,
        rows_per_band: usize,
    ) -> Result<Self> {
        check_bands(minhash.num_perm, bands, rows_per_band)?;
        Ok(NearStream {
            keys: Vec::new(),
            normalizer,
            minhash,
            bands,
            rows_per_band,
            rows: 0,
            finished: false,
        })
    }

    /// Adds the band keys of the next batch's text column.
    pub fn push(&mut self, column: &str, texts: &ArrayRef) -> Result<()> {
        self.check_open("push to")?;
        let keys = TextColumn::new(column, texts)
            .and_then(|texts| {
                band_keys(
                    &texts,
                    self.normalizer.as_ref(),
                    self.minhash,
                    self.bands,
                    self.rows_per_band,
                )
            })
            .map_err(|e| shift(e, self.rows))?;
        self.rows += keys.len() / self.bands;
        self.keys.push(keys.iter().map(|&k| k as u64).collect());
        Ok(())
    }

    /// Clusters every row pushed so far, and frees the keys.
    pub fn finish(&mut self, keep: Keep) -> Result<LshResult> {
        self.check_open("finish")?;
        let out = cluster_key_chunks(&self.keys, self.bands, keep)?;
        self.keys = Vec::new();
        self.finished = true;
        Ok(out)
    }

    fn check_open(&self, what: &str) -> Result<()> {
        if self.finished {
            return Err(Error::argument(format!(
                "cannot {what} a NearStream that has finished (its keys are freed); \
                 start a new one for more rows"
            )));
        }
        Ok(())
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes held by the band keys.
    pub fn key_bytes(&self) -> usize {
        self.keys.iter().map(Vec::len).sum::<usize>() * std::mem::size_of::<u64>()
    }
}

/// A batch's row numbers, as rows of the stream.
fn shift(error: Error, first_row: usize) -> Error {
    match error {
        Error::InvalidValue {
            column,
            row,
            message,
        } => Error::InvalidValue {
            column,
            row: row + first_row,
            message,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, StringArray};

    use super::*;
    use crate::dedup::{near_duplicates, NearOptions, Tokenizer};

    fn column(values: Vec<Option<&str>>) -> ArrayRef {
        Arc::new(StringArray::from(values))
    }

    #[test]
    fn exact_error_rows_count_from_the_stream_start() {
        let mut stream = ExactStream::new(None);
        let a = column(vec![Some("x"), Some("y")]);
        let b = column(vec![Some("z"), None]);
        stream.push(&[("t", &a)]).unwrap();
        match stream.push(&[("t", &b)]) {
            Err(Error::InvalidValue { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (3, "t"))
            }
            other => panic!("expected an invalid value, got {other:?}"),
        }
    }

    #[test]
    fn near_stream_matches_the_whole_column() {
        let texts: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    "the quick brown fox number {} jumps over the lazy dog",
                    i % 20
                )
            })
            .collect();
        let whole = column(texts.iter().map(|s| Some(s.as_str())).collect());
        let minhash = MinHashOptions {
            num_perm: 64,
            ngram: 3,
            tokenizer: Tokenizer::Word,
            seed: 1,
        };
        let (expected, _) = near_duplicates(
            &TextColumn::new("t", &whole).unwrap(),
            None,
            NearOptions {
                minhash,
                threshold: 0.5,
                bands_rows: Some((16, 4)),
                keep: Keep::First,
                verify: false,
            },
        )
        .unwrap();
        let mut stream = NearStream::new(None, minhash, 16, 4).unwrap();
        for chunk in texts.chunks(25) {
            let a = column(chunk.iter().map(|s| Some(s.as_str())).collect());
            stream.push("t", &a).unwrap();
        }
        assert_eq!(stream.rows(), 60);
        assert_eq!(stream.key_bytes(), 60 * 16 * 8);
        let got = stream.finish(Keep::First).unwrap();
        assert_eq!(got.clusters.cluster_id, expected.clusters.cluster_id);
        assert_eq!(
            got.clusters.representative,
            expected.clusters.representative
        );
        assert_eq!(stream.key_bytes(), 0);
    }

    #[test]
    fn near_stream_rejects_bands_beyond_num_perm() {
        let minhash = MinHashOptions {
            num_perm: 8,
            ngram: 3,
            tokenizer: Tokenizer::Word,
            seed: 1,
        };
        assert!(NearStream::new(None, minhash, 4, 4).is_err());
    }
}
