//! Byte-level BPE encoding (the GPT-2 family of tokenizers), equal id for id to the
//! `tokenizers` library on the configurations it accepts, and several times faster:
//! one pass over the text with a hand-written pre-tokenizer, a cache of encoded
//! words, and no offsets or alignment tracking, which prefcore never reads.
//!
//! The Python side reads the tokenizer's own JSON and builds an [`Encoder`] only for
//! what is implemented here (no normalizer, the GPT-2 byte-level pre-tokenizer, a
//! plain BPE model, template post-processing); everything else is encoded by the
//! tokenizer itself.

mod bpe;
mod pretokenize;

pub use bpe::{Bpe, BpeSpec};
pub use pretokenize::{byte_to_char, gpt2_pieces};

use std::collections::HashMap;

use arrow_array::{Array, ArrayRef, ListArray, StringArray};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::Field;
use rayon::prelude::*;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Added tokens matched in the raw text before pre-tokenization (leftmost, then
/// longest), as `tokenizers` splits them: those not normalized first, then the others
/// in the pieces that are left.
#[derive(Debug)]
pub struct AddedTokens {
    /// `(content, id)` per token.
    tokens: Vec<(Box<[u8]>, u32)>,
    /// Which first bytes start a token, so most positions are rejected at once.
    starts: [bool; 256],
}

impl AddedTokens {
    pub fn new(tokens: Vec<(String, u32)>) -> Result<Self> {
        let mut starts = [false; 256];
        let mut out = Vec::with_capacity(tokens.len());
        for (content, id) in tokens {
            let bytes = content.into_bytes().into_boxed_slice();
            let Some(&first) = bytes.first() else {
                return Err(Error::argument("an added token is empty"));
            };
            starts[first as usize] = true;
            out.push((bytes, id));
        }
        // Longest first: the first token matching at a position is the longest one.
        out.sort_by_key(|t| std::cmp::Reverse(t.0.len()));
        Ok(AddedTokens {
            tokens: out,
            starts,
        })
    }

    /// The longest token at byte `at` of `text`, as `(length, id)`.
    fn at(&self, text: &[u8], at: usize) -> Option<(usize, u32)> {
        if !self.starts[text[at] as usize] {
            return None;
        }
        self.tokens
            .iter()
            .find(|(t, _)| text[at..].starts_with(t))
            .map(|(t, id)| (t.len(), *id))
    }
}

/// A piece of text: plain text to encode, or an added token's id.
enum Piece<'a> {
    Text(&'a str),
    Token(u32),
}

fn split_added<'a>(pieces: Vec<Piece<'a>>, added: &AddedTokens) -> Vec<Piece<'a>> {
    if added.tokens.is_empty() {
        return pieces;
    }
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let Piece::Text(text) = piece else {
            out.push(piece);
            continue;
        };
        let bytes = text.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            match added.at(bytes, i) {
                Some((len, id)) => {
                    if start < i {
                        out.push(Piece::Text(&text[start..i]));
                    }
                    out.push(Piece::Token(id));
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        if start < bytes.len() {
            out.push(Piece::Text(&text[start..]));
        }
    }
    out
}

/// A byte-level BPE tokenizer: added tokens, pre-tokenizer, model, post-processor.
pub struct Encoder {
    pub bpe: Bpe,
    /// Added tokens that are not normalized, then those that are.
    pub added: [AddedTokens; 2],
    /// Ids the post-processor puts before and after the text (`add_special_tokens`).
    pub prefix: Vec<u32>,
    pub suffix: Vec<u32>,
}

/// Encoded words, kept per worker: most words of a corpus repeat.
pub type WordCache = HashMap<Box<[u8]>, Box<[u32]>>;

impl Encoder {
    /// Appends the ids of `text` to `out`.
    pub fn encode_into(
        &self,
        text: &str,
        specials: bool,
        cache: &mut WordCache,
        out: &mut Vec<i32>,
    ) {
        if specials {
            out.extend(self.prefix.iter().map(|&id| id as i32));
        }
        let pieces = split_added(
            split_added(vec![Piece::Text(text)], &self.added[0]),
            &self.added[1],
        );
        for piece in pieces {
            match piece {
                Piece::Token(id) => out.push(id as i32),
                Piece::Text(t) => {
                    for word in gpt2_pieces(t) {
                        self.bpe.encode_word(word.as_bytes(), cache, out);
                    }
                }
            }
        }
        if specials {
            out.extend(self.suffix.iter().map(|&id| id as i32));
        }
    }

    /// Every text of `texts` (no nulls) as one `list<int32>` array, in parallel.
    pub fn encode_all(
        &self,
        column: &str,
        texts: &StringArray,
        specials: bool,
    ) -> Result<ArrayRef> {
        if let Some(row) = (0..texts.len()).find(|&i| texts.is_null(i)) {
            return Err(Error::value(column, row, "null text"));
        }
        // prefcore's pool, not rayon's global one: it is rebuilt in a forked child.
        let encoded: Vec<Vec<i32>> = crate::parallel::install(|| {
            (0..texts.len())
                .into_par_iter()
                .with_min_len(16)
                .map_init(WordCache::new, |cache, i| {
                    let mut out = Vec::new();
                    self.encode_into(texts.value(i), specials, cache, &mut out);
                    out
                })
                .collect()
        });
        let offsets = OffsetBuffer::from_lengths(encoded.iter().map(Vec::len));
        let values: Vec<i32> = encoded.concat();
        let field = Arc::new(Field::new("item", arrow_schema::DataType::Int32, false));
        let list = ListArray::try_new(
            field,
            offsets,
            Arc::new(arrow_array::Int32Array::new(
                ScalarBuffer::from(values),
                None,
            )),
            None,
        )
        .map_err(|e| Error::argument(e.to_string()))?;
        Ok(Arc::new(list))
    }
}
