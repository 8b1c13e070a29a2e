//! Batches of token sequences into the tensors a trainer consumes, written in one
//! pass: padded `[rows, width]` buffers, or one packed row (padding-free) with
//! position ids and cumulative sequence lengths (flash-attention's varlen layout).
//!
//! Layout and truncation follow TRL's preference collators value for value: chosen
//! sequences then rejected ones, each `prompt + completion` cut to `max_length` from
//! the end `keep` names, right padding, the width rounded up to `pad_to_multiple_of`.

use super::tokens::TokenLists;
use super::truncate::Keep;
use crate::error::{Error, Result};

/// One training sequence: prompt tokens followed by completion tokens.
#[derive(Clone, Copy, Debug)]
pub struct Sequence<'a> {
    pub prompt: &'a [i32],
    pub completion: &'a [i32],
}

impl<'a> Sequence<'a> {
    pub fn len(&self) -> usize {
        self.prompt.len() + self.completion.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sequence cut to `max_length` tokens, keeping its start or its end.
    fn cut(self, max_length: Option<usize>, keep: Keep) -> Self {
        let Some(l) = max_length.filter(|&l| self.len() > l) else {
            return self;
        };
        let (p, c) = (self.prompt, self.completion);
        match keep {
            Keep::Start if p.len() >= l => Sequence {
                prompt: &p[..l],
                completion: &[],
            },
            Keep::Start => Sequence {
                prompt: p,
                completion: &c[..l - p.len()],
            },
            Keep::End if c.len() >= l => Sequence {
                prompt: &[],
                completion: &c[c.len() - l..],
            },
            Keep::End => Sequence {
                prompt: &p[p.len() - (l - c.len())..],
                completion: c,
            },
        }
    }
}

/// How a batch of pairs is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairLayout {
    /// Chosen rows, then rejected rows, in one padded block (TRL's DPO batch).
    Concat,
    /// `chosen_*` and `rejected_*`, each padded to its own width.
    Separate,
}

crate::parse_option!(PairLayout, "layout", {
    "concat" => PairLayout::Concat,
    "separate" => PairLayout::Separate,
});

/// Settings shared by every collation.
#[derive(Clone, Copy, Debug)]
pub struct CollateOptions {
    pub pad_token_id: i64,
    /// Write `labels`, with this id where there is no completion token.
    pub label_pad_id: Option<i64>,
    pub max_length: Option<usize>,
    pub keep: Keep,
    pub pad_to_multiple_of: Option<usize>,
}

impl CollateOptions {
    fn check(&self) -> Result<()> {
        if self.max_length == Some(0) {
            return Err(Error::bad_argument(
                "max_length",
                "max_length must be at least 1",
            ));
        }
        if self.pad_to_multiple_of == Some(0) {
            return Err(Error::bad_argument(
                "pad_to_multiple_of",
                "pad_to_multiple_of must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Row-major `[rows, width]` tensors, right-padded.
pub struct Padded {
    pub rows: usize,
    pub width: usize,
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    pub completion_mask: Vec<i64>,
    /// Input ids on completion tokens, `label_pad_id` on prompt and padding (when asked).
    pub labels: Option<Vec<i64>>,
}

/// All sequences back to back in one row: no padding at all.
pub struct Packed {
    pub input_ids: Vec<i64>,
    /// Restarts at 0 with every sequence.
    pub position_ids: Vec<i64>,
    pub completion_mask: Vec<i64>,
    pub labels: Option<Vec<i64>>,
    /// Sequence `i` is `cu_seq_lens[i]..cu_seq_lens[i + 1]` of the packed row.
    pub cu_seq_lens: Vec<i32>,
    pub max_seq_len: usize,
}

fn cut_all<'a>(seqs: &[Sequence<'a>], o: &CollateOptions) -> Result<Vec<Sequence<'a>>> {
    o.check()?;
    if seqs.is_empty() {
        return Err(Error::argument("cannot collate an empty batch"));
    }
    Ok(seqs.iter().map(|s| s.cut(o.max_length, o.keep)).collect())
}

/// Pad `seqs` (after cutting) into `[len(seqs), width]` tensors.
pub fn pad(seqs: &[Sequence], o: &CollateOptions) -> Result<Padded> {
    let seqs = cut_all(seqs, o)?;
    let longest = seqs.iter().map(Sequence::len).max().unwrap_or(0);
    let width = match o.pad_to_multiple_of {
        Some(m) => crate::alloc::product(longest.div_ceil(m), m, "pad_to_multiple_of")?,
        None => longest,
    };
    let size = crate::alloc::product(seqs.len(), width, "pad_to_multiple_of")?;
    let mut out = Padded {
        rows: seqs.len(),
        width,
        input_ids: crate::alloc::reserved(size, "pad_to_multiple_of")?,
        attention_mask: crate::alloc::reserved(size, "pad_to_multiple_of")?,
        completion_mask: crate::alloc::reserved(size, "pad_to_multiple_of")?,
        labels: match o.label_pad_id {
            Some(_) => Some(crate::alloc::reserved(size, "pad_to_multiple_of")?),
            None => None,
        },
    };
    for s in &seqs {
        let (p, c, pad) = (s.prompt.len(), s.completion.len(), width - s.len());
        let ids = s.prompt.iter().chain(s.completion).map(|&t| i64::from(t));
        out.input_ids.extend(ids);
        out.input_ids
            .extend(std::iter::repeat_n(o.pad_token_id, pad));
        out.attention_mask.extend(std::iter::repeat_n(1, p + c));
        out.attention_mask.extend(std::iter::repeat_n(0, pad));
        out.completion_mask.extend(std::iter::repeat_n(0, p));
        out.completion_mask.extend(std::iter::repeat_n(1, c));
        out.completion_mask.extend(std::iter::repeat_n(0, pad));
        if let (Some(labels), Some(none)) = (out.labels.as_mut(), o.label_pad_id) {
            labels.extend(std::iter::repeat_n(none, p));
            labels.extend(s.completion.iter().map(|&t| i64::from(t)));
            labels.extend(std::iter::repeat_n(none, pad));
        }
    }
    Ok(out)
}

/// Pack `seqs` (after cutting) into one row; `pad_to_multiple_of` does not apply.
pub fn pack(seqs: &[Sequence], o: &CollateOptions) -> Result<Packed> {
    if o.pad_to_multiple_of.is_some() {
        return Err(Error::argument(
            "pad_to_multiple_of does not apply to padding-free batches (there is no padding)",
        ));
    }
    let seqs = cut_all(seqs, o)?;
    let total: usize = seqs.iter().map(Sequence::len).sum();
    if total > i32::MAX as usize {
        return Err(Error::argument(
            "a packed batch cannot hold 2³¹ tokens or more",
        ));
    }
    let mut out = Packed {
        input_ids: Vec::with_capacity(total),
        position_ids: Vec::with_capacity(total),
        completion_mask: Vec::with_capacity(total),
        labels: o.label_pad_id.map(|_| Vec::with_capacity(total)),
        cu_seq_lens: Vec::with_capacity(seqs.len() + 1),
        max_seq_len: seqs.iter().map(Sequence::len).max().unwrap_or(0),
    };
    out.cu_seq_lens.push(0);
    for s in &seqs {
        let (p, c) = (s.prompt.len(), s.completion.len());
        out.input_ids
            .extend(s.prompt.iter().chain(s.completion).map(|&t| i64::from(t)));
        out.position_ids.extend(0..(p + c) as i64);
        out.completion_mask.extend(std::iter::repeat_n(0, p));
        out.completion_mask.extend(std::iter::repeat_n(1, c));
        if let (Some(labels), Some(none)) = (out.labels.as_mut(), o.label_pad_id) {
            labels.extend(std::iter::repeat_n(none, p));
            labels.extend(s.completion.iter().map(|&t| i64::from(t)));
        }
        out.cu_seq_lens.push(out.input_ids.len() as i32);
    }
    Ok(out)
}

pub(crate) fn completion_row(c: &TokenLists, row: usize, vocab: Option<u32>) -> Result<&[i32]> {
    let ids = c.checked_row(row, vocab)?;
    if ids.is_empty() {
        return Err(Error::value(c.name(), row, "empty completion (no tokens)"));
    }
    Ok(ids)
}

/// The sequences of a batch of pairs: `prompt + chosen` for every row of `rows`, then
/// `prompt + rejected` in the same order (TRL's concatenated layout).
pub fn pair_sequences<'a>(
    prompt: &'a TokenLists,
    chosen: &'a TokenLists,
    rejected: &'a TokenLists,
    rows: &[usize],
    vocab_size: Option<u32>,
) -> Result<Vec<Sequence<'a>>> {
    let mut seqs = Vec::with_capacity(2 * rows.len());
    for &r in rows {
        let p = prompt.checked_row(r, vocab_size)?;
        seqs.push(Sequence {
            prompt: p,
            completion: completion_row(chosen, r, vocab_size)?,
        });
    }
    for (i, &r) in rows.iter().enumerate() {
        let p = seqs[i].prompt;
        seqs.push(Sequence {
            prompt: p,
            completion: completion_row(rejected, r, vocab_size)?,
        });
    }
    Ok(seqs)
}

/// The sequences of a batch of unpaired (KTO) rows, and their mismatched twins for the
/// KL estimate. With a `kl` column, row `i`'s twin is its prompt with `kl[i]` (the
/// `KL_completion_ids` TRL's trainer builds in dataset order before shuffling). Without
/// one, row `i`'s prompt takes the completion of row `i − 1` in the batch (the first row
/// the last one's): the same pairs as TRL's only when batches follow dataset order.
pub fn unpaired_sequences<'a>(
    prompt: &'a TokenLists,
    completion: &'a TokenLists,
    kl: Option<&'a TokenLists>,
    rows: &[usize],
    vocab_size: Option<u32>,
) -> Result<(Vec<Sequence<'a>>, Vec<Sequence<'a>>)> {
    let mut seqs = Vec::with_capacity(rows.len());
    for &r in rows {
        seqs.push(Sequence {
            prompt: prompt.checked_row(r, vocab_size)?,
            completion: completion_row(completion, r, vocab_size)?,
        });
    }
    let n = seqs.len();
    let mismatched = match kl {
        Some(kl) => rows
            .iter()
            .zip(&seqs)
            .map(|(&r, s)| {
                Ok(Sequence {
                    prompt: s.prompt,
                    completion: completion_row(kl, r, vocab_size)?,
                })
            })
            .collect::<Result<_>>()?,
        None => (0..n)
            .map(|i| Sequence {
                prompt: seqs[i].prompt,
                completion: seqs[(i + n - 1) % n].completion,
            })
            .collect(),
    };
    Ok((seqs, mismatched))
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: CollateOptions = CollateOptions {
        pad_token_id: 0,
        label_pad_id: Some(-100),
        max_length: None,
        keep: Keep::Start,
        pad_to_multiple_of: None,
    };

    fn seq<'a>(p: &'a [i32], c: &'a [i32]) -> Sequence<'a> {
        Sequence {
            prompt: p,
            completion: c,
        }
    }

    #[test]
    fn pads_like_the_trl_docstring_example() {
        // TRL's DataCollatorForPreference example, written out by hand.
        let s = [
            seq(&[1, 2, 3], &[4, 5]),
            seq(&[7, 8], &[9]),
            seq(&[1, 2, 3], &[6]),
            seq(&[7, 8], &[10, 11]),
        ];
        let p = pad(&s, &O).unwrap();
        assert_eq!((p.rows, p.width), (4, 5));
        assert_eq!(
            p.input_ids,
            [1, 2, 3, 4, 5, 7, 8, 9, 0, 0, 1, 2, 3, 6, 0, 7, 8, 10, 11, 0]
        );
        assert_eq!(
            p.attention_mask,
            [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0]
        );
        assert_eq!(
            p.completion_mask,
            [0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0]
        );
        assert_eq!(&p.labels.as_ref().unwrap()[..5], &[-100, -100, -100, 4, 5]);
        let bare = pad(
            &s,
            &CollateOptions {
                label_pad_id: None,
                ..O
            },
        )
        .unwrap();
        assert!(bare.labels.is_none() && bare.input_ids == p.input_ids);
    }

    #[test]
    fn cuts_from_either_end_and_rounds_the_width() {
        let s = [seq(&[1, 2, 3], &[4, 5, 6])];
        let start = pad(
            &s,
            &CollateOptions {
                max_length: Some(4),
                pad_to_multiple_of: Some(3),
                ..O
            },
        )
        .unwrap();
        assert_eq!(start.input_ids, [1, 2, 3, 4, 0, 0]);
        assert_eq!(start.completion_mask, [0, 0, 0, 1, 0, 0]);
        let end = pad(
            &s,
            &CollateOptions {
                max_length: Some(2),
                keep: Keep::End,
                ..O
            },
        )
        .unwrap();
        assert_eq!(end.input_ids, [5, 6]);
        assert_eq!(end.completion_mask, [1, 1]);
    }

    #[test]
    fn packing_keeps_every_token_and_restarts_positions() {
        let s = [seq(&[1, 2], &[3]), seq(&[4], &[5, 6])];
        let k = pack(&s, &O).unwrap();
        assert_eq!(k.input_ids, [1, 2, 3, 4, 5, 6]);
        assert_eq!(k.position_ids, [0, 1, 2, 0, 1, 2]);
        assert_eq!(k.cu_seq_lens, [0, 3, 6]);
        assert_eq!(k.labels.unwrap(), [-100, -100, 3, -100, 5, 6]);
        assert_eq!(k.max_seq_len, 3);
        assert!(pack(
            &s,
            &CollateOptions {
                pad_to_multiple_of: Some(8),
                ..O
            }
        )
        .is_err());
        assert!(pad(&[], &O).is_err());
    }

    fn lists(name: &str, rows: Vec<Vec<i32>>) -> TokenLists {
        let array: arrow_array::ArrayRef =
            std::sync::Arc::new(arrow_array::ListArray::from_iter_primitive::<
                arrow_array::types::Int32Type,
                _,
                _,
            >(
                rows.into_iter().map(|r| Some(r.into_iter().map(Some)))
            ));
        TokenLists::new(name, &array).unwrap()
    }

    #[test]
    fn kl_twins_come_from_the_given_column_else_rotate_within_the_batch() {
        let p = lists("prompt_ids", vec![vec![1, 2, 3], vec![7, 8]]);
        let c = lists("completion_ids", vec![vec![4, 5], vec![9]]);
        let kl = lists("KL_completion_ids", vec![vec![6], vec![10, 11]]);
        let (_, given) = unpaired_sequences(&p, &c, Some(&kl), &[0, 1], None).unwrap();
        // TRL's DataCollatorForUnpairedPreference docstring: KL rows [1,2,3,6] and [7,8,10,11].
        assert_eq!(
            pad(&given, &O).unwrap().input_ids,
            [1, 2, 3, 6, 7, 8, 10, 11]
        );
        let (_, rotated) = unpaired_sequences(&p, &c, None, &[0, 1], None).unwrap();
        assert_eq!(
            pad(&rotated, &O).unwrap().input_ids,
            [1, 2, 3, 9, 7, 8, 4, 5]
        );
        let empty = lists("KL_completion_ids", vec![vec![6], vec![]]);
        let err = unpaired_sequences(&p, &c, Some(&empty), &[0, 1], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("column 'KL_completion_ids', row 1"),
            "{err}"
        );
    }
}
