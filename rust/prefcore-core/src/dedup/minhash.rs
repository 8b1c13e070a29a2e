//! MinHash signatures from raw text: normalise, shingle, hash, permute, in Rust.
//!
//! * Shingles: word n-grams (words split on whitespace) or character n-grams of the
//!   normalised text. A text shorter than `n` is one shingle (the whole text); an empty
//!   text has no shingles and a signature of `u64::MAX`.
//! * A character shingle is hashed to 64 bits with xxh3. A word shingle is a polynomial
//!   over the xxh3 hashes of its words, in order (so each word is hashed once and each
//!   window slides from the previous one), finished with a multiply-xorshift.
//! * Permutation i is multiply-add-shift universal hashing of the shingle hash's high
//!   32 bits `x`: `(a_i·x + b_i mod 2^64) >> 32` with 64-bit `(a_i, b_i)` drawn from
//!   `seed` (datasketch permutes 32-bit hashes too, modulo a Mersenne prime instead).
//!   Slot i of the signature is the minimum over the shingles, a value below 2^32. The
//!   fraction of equal slots estimates Jaccard. Integer arithmetic only, so the
//!   vectorised kernels picked at run time give the same bits as the plain loop.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::normalize::Normalizer;
use super::text::TextColumn;
use crate::error::{Error, Result};
use crate::parallel;
use crate::random::Rng;

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

/// The `a` and `b` of each permutation, drawn from the seed (`a` odd).
fn permutations(num_perm: usize, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let mut rng = Rng::new(seed);
    (0..num_perm)
        .map(|_| (rng.next_u64() | 1, rng.next_u64()))
        .unzip()
}

/// `signature[i] = min(signature[i], permutation i of every hash)`, over the first
/// `signature.len()` permutations.
#[inline(always)]
fn permute_min(hashes: &[u64], a: &[u64], b: &[u64], signature: &mut [u64]) {
    // 32 slots at a time over all the hashes: their minima and permutations stay in
    // vector registers instead of going through memory once per hash (16 were no
    // faster with AVX2's fewer, narrower registers).
    const SLOTS: usize = 32;
    let blocks = signature
        .chunks_mut(SLOTS)
        .zip(a.chunks(SLOTS))
        .zip(b.chunks(SLOTS));
    for ((signature, a), b) in blocks {
        if let (Ok(slots), Some(a), Some(b)) = (
            <&mut [u64; SLOTS]>::try_from(&mut *signature),
            a.first_chunk::<SLOTS>(),
            b.first_chunk::<SLOTS>(),
        ) {
            if hashes.is_empty() {
                continue;
            }
            // Every permuted value is below 2^32, so once one hash is in, a slot's
            // minimum is too: clamped there, the minima compare as signed 64-bit
            // integers, which AVX2 has (`vpcmpgtq`) and unsigned ones it has not.
            let mut min = slots.map(|v| v.min(u64::from(u32::MAX)) as i64);
            for &h in hashes {
                let x = h >> 32;
                for j in 0..SLOTS {
                    let v = a[j].wrapping_mul(x).wrapping_add(b[j]) >> 32;
                    min[j] = min[j].min(v as i64);
                }
            }
            *slots = min.map(|v| v as u64);
        } else {
            for &h in hashes {
                let x = h >> 32;
                for ((slot, &a), &b) in signature.iter_mut().zip(a).zip(b) {
                    *slot = (*slot).min(a.wrapping_mul(x).wrapping_add(b) >> 32);
                }
            }
        }
    }
}

type PermuteMin = fn(&[u64], &[u64], &[u64], &mut [u64]);

/// The [`permute_min`] loop compiled for `level`: AVX-512 (eight 64-bit products per
/// instruction), AVX2, or plain.
fn permute_kernel_for(level: crate::simd::Level) -> PermuteMin {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::simd::Level;
        #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
        unsafe fn avx512(h: &[u64], a: &[u64], b: &[u64], s: &mut [u64]) {
            permute_min(h, a, b, s)
        }
        #[target_feature(enable = "avx2")]
        unsafe fn avx2(h: &[u64], a: &[u64], b: &[u64], s: &mut [u64]) {
            permute_min(h, a, b, s)
        }
        assert!(
            level <= crate::simd::detected(),
            "{level:?} kernels on a CPU without them"
        );
        match level {
            // SAFETY: the CPU has the features the function was compiled for (above).
            Level::Avx512 => |h, a, b, s| unsafe { avx512(h, a, b, s) },
            // SAFETY: as above.
            Level::Avx2 => |h, a, b, s| unsafe { avx2(h, a, b, s) },
            Level::Baseline => permute_min,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = level;
        permute_min
    }
}

/// The kernel of the [`crate::simd::level`] in force.
fn permute_kernel() -> PermuteMin {
    permute_kernel_for(crate::simd::level())
}

/// The odd multiplier of the word-shingle polynomial.
const POLY: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 29)
}

/// The hash of every `n`-word window of `words` (word hashes): the polynomial
/// `Σ w_j · POLY^(n-1-j)` (mod 2^64, so order counts), each window's slid from the
/// previous one's in two multiplications, then a multiply-xorshift so every word
/// reaches the high 32 bits the permutations read.
fn word_shingles(words: &[u64], n: usize, out: &mut Vec<u64>) {
    let Some(first) = words.get(..n) else {
        return;
    };
    let lead = (1..n).fold(1u64, |p, _| p.wrapping_mul(POLY)); // POLY^(n-1)
    let mut h = first
        .iter()
        .fold(0u64, |h, &w| h.wrapping_mul(POLY).wrapping_add(w));
    out.push(finish(h));
    for (&gone, &new) in words.iter().zip(&words[n..]) {
        h = h
            .wrapping_sub(gone.wrapping_mul(lead))
            .wrapping_mul(POLY)
            .wrapping_add(new);
        out.push(finish(h));
    }
}

/// `f(word)` for the words of `text` split on whitespace, as `str::split_whitespace`
/// gives them, but walking bytes: ASCII ones are tested directly and only other
/// characters are decoded.
fn each_word<'t>(text: &'t str, mut f: impl FnMut(&'t str)) {
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        let (space, len) = if b.is_ascii() {
            (matches!(b, b'\t'..=b'\r' | b' '), 1)
        } else {
            let c = text[at..].chars().next().expect("a character starts here");
            (c.is_whitespace(), c.len_utf8())
        };
        if !space {
            start.get_or_insert(at);
        } else if let Some(s) = start.take() {
            f(&text[s..at]);
        }
        at += len;
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

/// `f(word)` for the words of a non-empty text whose only whitespace is single spaces
/// between words. Each 64 bytes become a bit mask of their spaces (a vectorised
/// compare), so the loop branches once per word instead of once per byte.
fn each_spaced_word<'t>(text: &'t [u8], mut f: impl FnMut(&'t [u8])) {
    if text.is_empty() {
        return;
    }
    let mut start = 0;
    let mut words_ending_in = |base: usize, mut spaces: u64| {
        while spaces != 0 {
            let at = base + spaces.trailing_zeros() as usize;
            f(&text[start..at]);
            start = at + 1;
            spaces &= spaces - 1;
        }
    };
    let blocks = text.chunks_exact(64);
    let tail = blocks.remainder();
    for (b, block) in blocks.enumerate() {
        let spaces = block
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &c)| m | (u64::from(c == b' ') << i));
        words_ending_in(b * 64, spaces);
    }
    let spaces = tail
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &c)| m | (u64::from(c == b' ') << i));
    words_ending_in(text.len() - tail.len(), spaces);
    f(&text[start..]);
}

/// Does `normalizer` leave only single spaces between words? Whitespace collapsing
/// does, which lets [`shingle_hashes`] find words by a byte search for spaces.
fn single_spaced(normalizer: Option<&Normalizer>) -> bool {
    normalizer.is_some_and(|n| n.collapse_whitespace)
}

/// The 64-bit hashes of a text's shingles (duplicates included; min is idempotent).
/// `words` is scratch space. `single_spaced` says the text's only whitespace is single
/// ASCII spaces between words (what whitespace collapsing leaves), so a byte search
/// for spaces finds the words.
pub fn shingle_hashes(
    text: &str,
    ngram: usize,
    tokenizer: Tokenizer,
    single_spaced: bool,
    out: &mut Vec<u64>,
    words: &mut Vec<u64>,
) {
    out.clear();
    match tokenizer {
        Tokenizer::Word => {
            words.clear();
            if single_spaced {
                each_spaced_word(text.as_bytes(), |w| words.push(xxh3_64(w)));
            } else {
                each_word(text, |w| words.push(xxh3_64(w.as_bytes())));
            }
            if words.is_empty() {
                return;
            }
            let n = ngram.min(words.len());
            word_shingles(words, n, out);
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
    let collapsed = single_spaced(normalizer);
    parallel::install(|| {
        (0..texts.len())
            .into_par_iter()
            .map_init(
                || (String::new(), String::new(), Vec::new()),
                |(raw, normalized, words), row| {
                    let text = reader.normalized(row, normalizer, raw, normalized);
                    let mut hashes = Vec::new();
                    shingle_hashes(text, n, tokenizer, collapsed, &mut hashes, words);
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
        return Err(Error::bad_argument(
            "num_perm",
            "num_perm must be at least 1",
        ));
    }
    if options.ngram == 0 {
        return Err(Error::bad_argument("ngram", "ngram must be at least 1"));
    }
    Ok(())
}

/// Per-thread buffers of [`Signer::sign`].
#[derive(Default)]
pub struct SignScratch {
    raw: String,
    normalized: String,
    words: Vec<u64>,
    hashes: Vec<u64>,
}

/// Computes one row's signature at a time (for callers that keep only part of it).
pub struct Signer<'a> {
    reader: super::text::TextReader<'a>,
    normalizer: Option<&'a Normalizer>,
    options: MinHashOptions,
    a: Vec<u64>,
    b: Vec<u64>,
    kernel: PermuteMin,
    single_spaced: bool,
}

impl<'a> Signer<'a> {
    pub fn new(
        texts: &'a TextColumn,
        normalizer: Option<&'a Normalizer>,
        options: MinHashOptions,
    ) -> Result<Self> {
        check_options(&options)?;
        let (a, b) = permutations(options.num_perm, options.seed);
        Ok(Signer {
            reader: texts.reader(),
            normalizer,
            options,
            a,
            b,
            kernel: permute_kernel(),
            single_spaced: single_spaced(normalizer),
        })
    }

    /// The signature of `row` into `signature`: its first `signature.len()` slots
    /// (at most `num_perm`; LSH banding reads only `bands × rows` of them).
    pub fn sign(&self, row: usize, scratch: &mut SignScratch, signature: &mut [u64]) {
        let SignScratch {
            raw,
            normalized,
            words,
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
            self.single_spaced,
            hashes,
            words,
        );
        (self.kernel)(hashes, &self.a, &self.b, signature);
    }
}

/// Row-major `[rows, num_perm]` signatures of `texts`.
pub fn signatures(
    texts: &TextColumn,
    normalizer: Option<&Normalizer>,
    options: MinHashOptions,
) -> Result<Vec<u64>> {
    let signer = Signer::new(texts, normalizer, options)?;
    // Zeroed pages come from the OS lazily, so the workers touch them in parallel;
    // `sign` fills every slot.
    let mut out = vec![0u64; texts.len() * options.num_perm];
    crate::progress::stage("signatures");
    parallel::fill_rows_with(
        &mut out,
        options.num_perm,
        SignScratch::default,
        |scratch, row, signature| signer.sign(row, scratch, signature),
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One window's hash from the definition in [`word_shingles`].
    fn combine_words(words: &[u64]) -> u64 {
        finish(
            words
                .iter()
                .fold(0u64, |h, &w| h.wrapping_mul(POLY).wrapping_add(w)),
        )
    }

    proptest! {
        #[test]
        fn every_kernel_gives_the_plain_loops_bits(
            hashes in proptest::collection::vec(any::<u64>(), 0..40),
            seed in any::<u64>(),
            slots in 1usize..70,
        ) {
            let (a, b) = permutations(70, seed);
            let mut want = vec![u64::MAX; slots];
            for &h in &hashes {
                for i in 0..slots {
                    let v = ((a[i] as u128 * (h >> 32) as u128 + b[i] as u128) % (1u128 << 64)) >> 32;
                    want[i] = want[i].min(v as u64);
                }
            }
            for level in crate::simd::supported() {
                let mut got = vec![u64::MAX; slots];
                permute_kernel_for(level)(&hashes, &a, &b, &mut got);
                prop_assert_eq!(&got, &want, "{:?}", level);
            }
        }

        #[test]
        fn collapsed_text_splits_on_single_spaces(
            text in "([a-z]{1,5}|\\PC|\\s|\u{85}|\u{A0}|\u{3000}){0,200}",
            ngram in 1usize..4,
        ) {
            let collapse = crate::dedup::normalize::Normalizer::default();
            let text = collapse.normalize(&text);
            let (mut fast, mut general, mut words) = (Vec::new(), Vec::new(), Vec::new());
            shingle_hashes(&text, ngram, Tokenizer::Word, true, &mut fast, &mut words);
            shingle_hashes(&text, ngram, Tokenizer::Word, false, &mut general, &mut words);
            prop_assert_eq!(fast, general);
        }

        #[test]
        fn sliding_windows_equal_each_window_hashed_alone(
            words in proptest::collection::vec(any::<u64>(), 1..30),
            n in 1usize..8,
        ) {
            let n = n.min(words.len());
            let mut out = Vec::new();
            word_shingles(&words, n, &mut out);
            prop_assert_eq!(out, words.windows(n).map(combine_words).collect::<Vec<_>>());
        }

        #[test]
        fn words_split_as_split_whitespace(text in "(\\PC|\\s|\u{85}|\u{A0}|\u{3000}|\u{B}){0,40}") {
            let mut words = Vec::new();
            each_word(&text, |w| words.push(w));
            prop_assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
        }
    }

    #[test]
    fn shingles_of_short_and_empty_texts() {
        let (mut out, mut words) = (Vec::new(), Vec::new());
        let w = |s: &str| xxh3_64(s.as_bytes());
        shingle_hashes("a b c", 5, Tokenizer::Word, false, &mut out, &mut words);
        assert_eq!(out, vec![combine_words(&[w("a"), w("b"), w("c")])]);
        shingle_hashes(
            " a  b\tc\n",
            2,
            Tokenizer::Word,
            false,
            &mut out,
            &mut words,
        );
        let pairs = vec![
            combine_words(&[w("a"), w("b")]),
            combine_words(&[w("b"), w("c")]),
        ];
        assert_eq!(out, pairs);
        assert_ne!(pairs[0], combine_words(&[w("b"), w("a")]), "order counts");
        assert_ne!(
            pairs[0],
            combine_words(&[w("a b")]),
            "word boundaries count"
        );
        shingle_hashes("", 2, Tokenizer::Word, false, &mut out, &mut words);
        assert!(out.is_empty());
        shingle_hashes("中文🙂", 2, Tokenizer::Char, false, &mut out, &mut words);
        assert_eq!(out, vec![w("中文"), w("文🙂")]);
    }
}
