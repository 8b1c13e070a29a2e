//! MinHash signatures from raw text: normalise, shingle, hash, permute, in Rust.
//!
//! * Shingles: word n-grams (words split on whitespace, joined by one space) or
//!   character n-grams of the normalised text. A text shorter than `n` is one shingle
//!   (the whole text); an empty text has no shingles and a signature of `u64::MAX`.
//! * Each shingle is hashed to 64 bits (xxh3) and reduced modulo the Mersenne prime
//!   p = 2^61 − 1; permutation i is h ↦ (a_i·h + b_i) mod p with (a_i, b_i) drawn from
//!   `seed`, as in datasketch's universal hashing. Slot i of the signature is the
//!   minimum over the shingles. The fraction of equal slots estimates Jaccard.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::normalize::Normalizer;
use super::text::TextColumn;
use crate::error::{Error, Result};
use crate::parallel;
use crate::random::Rng;

const MERSENNE: u64 = (1 << 61) - 1;

/// How texts are cut into shingles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokenizer {
    Word,
    Char,
}

crate::parse_option!(Tokenizer, "tokenizer", {
    "word" => Tokenizer::Word,
    "char" => Tokenizer::Char,
});

/// Signature parameters.
#[derive(Clone, Copy, Debug)]
pub struct MinHashOptions {
    pub num_perm: usize,
    pub ngram: usize,
    pub tokenizer: Tokenizer,
    pub seed: u64,
}

/// (a, b) of each permutation, drawn from the seed.
fn permutations(num_perm: usize, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = Rng::new(seed);
    (0..num_perm)
        .map(|_| (1 + rng.below(MERSENNE - 1), rng.below(MERSENNE)))
        .collect()
}

#[inline]
fn mod_mersenne(x: u128) -> u64 {
    // x mod (2^61 - 1) by folding: x = hi·2^61 + lo ≡ hi + lo.
    let folded = (x & MERSENNE as u128) + (x >> 61);
    let folded = (folded & MERSENNE as u128) + (folded >> 61);
    let r = folded as u64;
    if r >= MERSENNE {
        r - MERSENNE
    } else {
        r
    }
}

/// The 64-bit hashes of a text's shingles (duplicates included; min is idempotent).
pub fn shingle_hashes(
    text: &str,
    ngram: usize,
    tokenizer: Tokenizer,
    out: &mut Vec<u64>,
    buf: &mut String,
) {
    out.clear();
    match tokenizer {
        Tokenizer::Word => {
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.is_empty() {
                return;
            }
            let n = ngram.min(words.len());
            for window in words.windows(n) {
                buf.clear();
                for (i, w) in window.iter().enumerate() {
                    if i > 0 {
                        buf.push(' ');
                    }
                    buf.push_str(w);
                }
                out.push(xxh3_64(buf.as_bytes()));
            }
        }
        Tokenizer::Char => {
            let bounds: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let chars = bounds.len() - 1;
            if chars == 0 {
                return;
            }
            let n = ngram.min(chars);
            for start in 0..=chars - n {
                out.push(xxh3_64(&text.as_bytes()[bounds[start]..bounds[start + n]]));
            }
        }
    }
}

/// Sorted, deduplicated shingle hashes of every row.
pub fn shingle_sets(
    texts: &TextColumn,
    normalizer: Option<&Normalizer>,
    n: usize,
    tokenizer: Tokenizer,
) -> Vec<Vec<u64>> {
    let reader = texts.reader();
    parallel::install(|| {
        (0..texts.len())
            .into_par_iter()
            .map_init(
                || (String::new(), String::new(), String::new()),
                |(raw, normalized, shingle), row| {
                    let text = reader.normalized(row, normalizer, raw, normalized);
                    let mut hashes = Vec::new();
                    shingle_hashes(text, n, tokenizer, &mut hashes, shingle);
                    hashes.sort_unstable();
                    hashes.dedup();
                    hashes
                },
            )
            .collect()
    })
}

fn check_options(options: &MinHashOptions) -> Result<()> {
    if options.num_perm == 0 {
        return Err(Error::argument("num_perm must be at least 1"));
    }
    if options.ngram == 0 {
        return Err(Error::argument("ngram must be at least 1"));
    }
    Ok(())
}

/// Per-thread buffers of [`Signer::sign`].
#[derive(Default)]
pub struct SignScratch {
    raw: String,
    normalized: String,
    shingle: String,
    hashes: Vec<u64>,
}

/// Computes one row's signature at a time (for callers that keep only part of it).
pub struct Signer<'a> {
    reader: super::text::TextReader<'a>,
    normalizer: Option<&'a Normalizer>,
    options: MinHashOptions,
    perms: Vec<(u64, u64)>,
}

impl<'a> Signer<'a> {
    pub fn new(
        texts: &'a TextColumn,
        normalizer: Option<&'a Normalizer>,
        options: MinHashOptions,
    ) -> Result<Self> {
        check_options(&options)?;
        Ok(Signer {
            reader: texts.reader(),
            normalizer,
            options,
            perms: permutations(options.num_perm, options.seed),
        })
    }

    /// The signature of `row` into `signature`: its first `signature.len()` slots
    /// (at most `num_perm`; LSH banding reads only `bands × rows` of them).
    pub fn sign(&self, row: usize, scratch: &mut SignScratch, signature: &mut [u64]) {
        let SignScratch {
            raw,
            normalized,
            shingle,
            hashes,
        } = scratch;
        signature.fill(u64::MAX);
        let text = self
            .reader
            .normalized(row, self.normalizer, raw, normalized);
        shingle_hashes(
            text,
            self.options.ngram,
            self.options.tokenizer,
            hashes,
            shingle,
        );
        for &h in hashes.iter() {
            let h = h % MERSENNE;
            for (slot, &(a, b)) in signature.iter_mut().zip(&self.perms) {
                let v = mod_mersenne(a as u128 * h as u128 + b as u128);
                if v < *slot {
                    *slot = v;
                }
            }
        }
    }
}

/// Row-major `[rows, num_perm]` signatures of `texts`.
pub fn signatures(
    texts: &TextColumn,
    normalizer: Option<&Normalizer>,
    options: MinHashOptions,
) -> Result<Vec<u64>> {
    let signer = Signer::new(texts, normalizer, options)?;
    let mut out = vec![u64::MAX; texts.len() * options.num_perm];
    parallel::install(|| {
        out.par_chunks_mut(options.num_perm)
            .enumerate()
            .for_each_init(SignScratch::default, |scratch, (row, signature)| {
                signer.sign(row, scratch, signature)
            })
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn folding_equals_the_remainder(x in any::<u128>()) {
            let x = x >> 6; // a·h + b < 2^122
            prop_assert_eq!(mod_mersenne(x) as u128, x % MERSENNE as u128);
        }
    }

    #[test]
    fn shingles_of_short_and_empty_texts() {
        let (mut out, mut buf) = (Vec::new(), String::new());
        shingle_hashes("a b c", 5, Tokenizer::Word, &mut out, &mut buf);
        assert_eq!(out, vec![xxh3_64(b"a b c")]);
        shingle_hashes("a b c", 2, Tokenizer::Word, &mut out, &mut buf);
        assert_eq!(out, vec![xxh3_64(b"a b"), xxh3_64(b"b c")]);
        shingle_hashes("", 2, Tokenizer::Word, &mut out, &mut buf);
        assert!(out.is_empty());
        shingle_hashes("中文🙂", 2, Tokenizer::Char, &mut out, &mut buf);
        assert_eq!(
            out,
            vec![xxh3_64("中文".as_bytes()), xxh3_64("文🙂".as_bytes())]
        );
    }
}
