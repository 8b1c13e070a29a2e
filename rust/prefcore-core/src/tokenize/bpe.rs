//! The BPE model: words (pre-tokenizer pieces, as bytes) to ids by applying merges in
//! rank order, the leftmost first among equal ranks, as `tokenizers` does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::pretokenize::byte_to_char;
use super::WordCache;
use crate::error::{Error, Result};

/// What a byte-level BPE model is made of, as its JSON lists it.
pub struct BpeSpec {
    /// Token (byte-level characters) and id.
    pub vocab: Vec<(String, u32)>,
    /// Merges, highest priority first.
    pub merges: Vec<(String, String)>,
    pub unk_id: Option<u32>,
    pub fuse_unk: bool,
    /// A word that is a token as a whole takes that id without merging.
    pub ignore_merges: bool,
}

pub struct Bpe {
    /// The id of each byte's character, when the vocabulary has it.
    byte_ids: [Option<u32>; 256],
    /// `(left, right)` to `(rank, merged id)`.
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Tokens by the bytes they stand for (for `ignore_merges`).
    whole: HashMap<Box<[u8]>, u32>,
    unk_id: Option<u32>,
    fuse_unk: bool,
    ignore_merges: bool,
}

/// The bytes a byte-level token stands for; `None` when a character is not one of the
/// 256 byte characters (an added token).
fn token_bytes(token: &str, char_byte: &HashMap<char, u8>) -> Option<Box<[u8]>> {
    token.chars().map(|c| char_byte.get(&c).copied()).collect()
}

impl Bpe {
    pub fn new(spec: BpeSpec) -> Result<Self> {
        let char_byte: HashMap<char, u8> = (0..=255u8).map(|b| (byte_to_char(b), b)).collect();
        let ids: HashMap<&str, u32> = spec.vocab.iter().map(|(t, id)| (t.as_str(), *id)).collect();
        let mut byte_ids = [None; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            *slot = ids.get(byte_to_char(b as u8).to_string().as_str()).copied();
        }
        let mut merges = HashMap::with_capacity(spec.merges.len());
        for (rank, (a, b)) in spec.merges.iter().enumerate() {
            let id = |t: &str| {
                ids.get(t).copied().ok_or_else(|| {
                    Error::argument(format!("merge {rank}: '{t}' is not in the vocabulary"))
                })
            };
            let merged = id(&format!("{a}{b}"))?;
            merges
                .entry((id(a)?, id(b)?))
                .or_insert((rank as u32, merged));
        }
        let whole = if spec.ignore_merges {
            spec.vocab
                .iter()
                .filter_map(|(t, id)| token_bytes(t, &char_byte).map(|b| (b, *id)))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(Bpe {
            byte_ids,
            merges,
            whole,
            unk_id: spec.unk_id,
            fuse_unk: spec.fuse_unk,
            ignore_merges: spec.ignore_merges,
        })
    }

    /// Appends the ids of one word.
    pub fn encode_word(&self, word: &[u8], cache: &mut WordCache, out: &mut Vec<i32>) {
        if self.ignore_merges {
            if let Some(&id) = self.whole.get(word) {
                out.push(id as i32);
                return;
            }
        }
        if let Some(ids) = cache.get(word) {
            out.extend(ids.iter().map(|&id| id as i32));
            return;
        }
        let ids = self.merge(word);
        out.extend(ids.iter().map(|&id| id as i32));
        cache.insert(word.into(), ids.into_boxed_slice());
    }

    /// The word's bytes as symbols, unknown ones as the unknown token (runs of them
    /// fused into one when `fuse_unk`) or dropped when there is none.
    fn symbols(&self, word: &[u8]) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(word.len());
        let mut last_unknown = false;
        for &b in word {
            match (self.byte_ids[b as usize], self.unk_id) {
                (Some(id), _) => {
                    out.push(id);
                    last_unknown = false;
                }
                (None, Some(unk)) => {
                    if !(self.fuse_unk && last_unknown) {
                        out.push(unk);
                    }
                    last_unknown = true;
                }
                (None, None) => {}
            }
        }
        out
    }

    /// Merges in rank order over a linked list of symbols; a queued merge whose
    /// symbols have changed since is skipped.
    fn merge(&self, word: &[u8]) -> Vec<u32> {
        let mut id = self.symbols(word);
        let n = id.len();
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        let mut alive = vec![true; n];
        let mut queue = BinaryHeap::new();
        let push = |queue: &mut BinaryHeap<_>, id: &[u32], i: usize, j: usize| {
            if let Some(&(rank, merged)) = self.merges.get(&(id[i], id[j])) {
                queue.push(Reverse((rank, i, merged)));
            }
        };
        for i in 1..n {
            push(&mut queue, &id, i - 1, i);
        }
        while let Some(Reverse((_, i, merged))) = queue.pop() {
            let j = next[i];
            if !alive[i] || j >= n || self.merges.get(&(id[i], id[j])).map(|m| m.1) != Some(merged)
            {
                continue;
            }
            id[i] = merged;
            alive[j] = false;
            next[i] = next[j];
            if next[i] < n {
                prev[next[i]] = i;
                push(&mut queue, &id, i, next[i]);
            }
            if prev[i] < n {
                push(&mut queue, &id, prev[i], i);
            }
        }
        (0..n).filter(|&i| alive[i]).map(|i| id[i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model over the letters a, b, c (ids 0, 1, 2) and the tokens the merges make.
    fn model(extra: &[(&str, u32)], merges: &[(&str, &str)], ignore_merges: bool) -> Bpe {
        let mut vocab: Vec<(String, u32)> = [("a", 0), ("b", 1), ("c", 2)]
            .map(|(t, i)| (t.to_string(), i))
            .to_vec();
        vocab.extend(extra.iter().map(|&(t, i)| (t.to_string(), i)));
        Bpe::new(BpeSpec {
            vocab,
            merges: merges
                .iter()
                .map(|&(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            unk_id: Some(99),
            fuse_unk: true,
            ignore_merges,
        })
        .unwrap()
    }

    fn encode(bpe: &Bpe, word: &str) -> Vec<i32> {
        let (mut cache, mut out) = (WordCache::new(), Vec::new());
        bpe.encode_word(word.as_bytes(), &mut cache, &mut out);
        // A second encoding, from the cache, gives the same ids.
        let mut again = Vec::new();
        bpe.encode_word(word.as_bytes(), &mut cache, &mut again);
        assert_eq!(out, again);
        out
    }

    #[test]
    fn merges_apply_in_rank_order() {
        let extra = [("ab", 3), ("bc", 4), ("abc", 5)];
        // "bc" outranks "ab": a + bc, then a·bc.
        let bc_first = model(&extra, &[("b", "c"), ("a", "b"), ("a", "bc")], false);
        assert_eq!(encode(&bc_first, "abc"), [5]);
        // "ab" outranks "bc" and nothing joins ab + c: two tokens.
        let ab_first = model(&extra, &[("a", "b"), ("b", "c"), ("a", "bc")], false);
        assert_eq!(encode(&ab_first, "abc"), [3, 2]);
    }

    #[test]
    fn equal_ranks_merge_leftmost_first() {
        let bpe = model(&[("aa", 3)], &[("a", "a")], false);
        assert_eq!(encode(&bpe, "aaa"), [3, 0]);
        assert_eq!(encode(&bpe, "aaaa"), [3, 3]);
    }

    #[test]
    fn unknown_bytes_become_one_unknown_token_per_run() {
        let bpe = model(&[], &[], false);
        // 'd' and 'e' are not in the vocabulary: one fused unknown between a and b.
        assert_eq!(encode(&bpe, "adeb"), [0, 99, 1]);
    }

    #[test]
    fn a_whole_word_token_wins_over_merges_when_asked() {
        let extra = [("ab", 3), ("abc", 7)];
        let merges = [("a", "b")];
        assert_eq!(encode(&model(&extra, &merges, false), "abc"), [3, 2]);
        assert_eq!(encode(&model(&extra, &merges, true), "abc"), [7]);
    }

    #[test]
    fn a_merge_of_an_unknown_token_is_refused_by_rank() {
        let err = Bpe::new(BpeSpec {
            vocab: vec![("a".into(), 0), ("aa".into(), 1)],
            merges: vec![("a".into(), "a".into()), ("a".into(), "z".into())],
            unk_id: None,
            fuse_unk: false,
            ignore_merges: false,
        })
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("merge 1: 'az' is not in the vocabulary"),
            "{err}"
        );
    }
}
