//! Prompt-once batches: each example is a tree, its prompt's tokens once and then each
//! completion as a branch that sees the prompt and itself only. Trees are packed into
//! rows (best-fit decreasing under a token budget); a branch's positions continue from
//! its prompt's end, so every completion sees exactly what it would see alone.
//!
//! The attention pattern is not materialised here: `tree` and `branch` per token say
//! who may see whom (same tree, earlier in the row, and the prompt or the same
//! branch), and the Python side builds the mask an attention implementation wants.

use super::collate::completion_row;
use super::tokens::TokenLists;
use crate::error::{Error, Result};

/// One example: a prompt and its completions (two for a pair, `N` for a group).
pub struct Tree<'a> {
    pub prompt: &'a [i32],
    pub branches: Vec<&'a [i32]>,
}

impl Tree<'_> {
    pub fn len(&self) -> usize {
        self.prompt.len() + self.branches.iter().map(|b| b.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PrefixOptions {
    pub pad_token_id: i64,
    /// Tokens per row; `None`: the largest tree's size. A larger tree takes a row of
    /// its own.
    pub max_tokens: Option<usize>,
    pub pad_to_multiple_of: Option<usize>,
}

/// Row-major `[rows, width]` token tensors and the completion tokens to score.
pub struct PrefixPacked {
    pub rows: usize,
    pub width: usize,
    pub input_ids: Vec<i64>,
    /// Positions as the tree's sequences see them: a branch continues from the prompt.
    pub position_ids: Vec<i64>,
    /// The example each token belongs to; -1 on padding.
    pub tree: Vec<i64>,
    /// 0 on prompt tokens, `k` on the `k`-th completion (from 1), -1 on padding.
    pub branch: Vec<i64>,
    /// Per scored completion token: the flat index (`row * width + column`) of the
    /// token whose output predicts it, the token, and its branch (`example * N + k`).
    pub source: Vec<i64>,
    pub target: Vec<i64>,
    pub owner: Vec<i64>,
    /// Tokens scored per branch, `[examples * N]`.
    pub counts: Vec<i64>,
}

/// Rows as lists of tree indices, best-fit decreasing: largest tree first, each into
/// the row it leaves the least room in, a new row when none has room.
fn pack_rows(sizes: &[usize], capacity: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut rows: Vec<(usize, Vec<usize>)> = Vec::new(); // (room left, trees)
    for i in order {
        let best = rows
            .iter()
            .enumerate()
            .filter(|(_, (room, _))| *room >= sizes[i])
            .min_by_key(|(r, (room, _))| (*room, *r))
            .map(|(r, _)| r);
        match best {
            Some(r) => {
                rows[r].0 -= sizes[i];
                rows[r].1.push(i);
            }
            None => rows.push((capacity.saturating_sub(sizes[i]), vec![i])),
        }
    }
    rows.into_iter().map(|(_, trees)| trees).collect()
}

/// Pack `trees` (all with the same number of branches) into prefix-shared rows.
pub fn pack_trees(trees: &[Tree], o: &PrefixOptions) -> Result<PrefixPacked> {
    let Some(first) = trees.first() else {
        return Err(Error::argument("cannot collate an empty batch"));
    };
    let n = first.branches.len();
    if n == 0 || trees.iter().any(|t| t.branches.len() != n) {
        return Err(Error::argument(
            "every example needs the same number of completions (at least one)",
        ));
    }
    if o.max_tokens == Some(0) || o.pad_to_multiple_of == Some(0) {
        return Err(Error::argument(
            "max_tokens and pad_to_multiple_of must be at least 1",
        ));
    }
    let sizes: Vec<usize> = trees.iter().map(Tree::len).collect();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let rows = pack_rows(&sizes, o.max_tokens.unwrap_or(largest));
    let longest = rows
        .iter()
        .map(|r| r.iter().map(|&i| sizes[i]).sum::<usize>())
        .max()
        .unwrap_or(0);
    let width = match o.pad_to_multiple_of {
        Some(m) => crate::alloc::product(longest.div_ceil(m), m, "pad_to_multiple_of")?,
        None => longest,
    };
    let size = crate::alloc::product(rows.len(), width, "max_tokens")?;
    let scored: usize = trees.iter().map(|t| t.len() - t.prompt.len()).sum();
    let mut out = PrefixPacked {
        rows: rows.len(),
        width,
        input_ids: vec![o.pad_token_id; size],
        position_ids: vec![0; size],
        tree: vec![-1; size],
        branch: vec![-1; size],
        source: Vec::with_capacity(scored),
        target: Vec::with_capacity(scored),
        owner: Vec::with_capacity(scored),
        counts: vec![0; trees.len() * n],
    };
    for (r, row) in rows.iter().enumerate() {
        let mut at = r * width;
        for &i in row {
            let t = &trees[i];
            let p = t.prompt.len();
            out.put(at, t.prompt, 0, i, 0);
            let prompt_end = at + p; // flat index just past the prompt
            at = prompt_end;
            for (k, b) in t.branches.iter().enumerate() {
                let owner = i * n + k;
                out.put(at, b, p, i, k + 1);
                // Token j is predicted by the output before it; the first completion
                // token by the prompt's last one (none when the prompt is empty).
                let first = usize::from(p == 0);
                let scored = b.len().saturating_sub(first);
                let sources = (first..b.len()).map(|j| {
                    if j == 0 {
                        prompt_end as i64 - 1
                    } else {
                        (at + j - 1) as i64
                    }
                });
                out.source.extend(sources);
                out.target
                    .extend(b[first..].iter().map(|&id| i64::from(id)));
                out.owner.extend(std::iter::repeat_n(owner as i64, scored));
                out.counts[owner] += scored as i64;
                at += b.len();
            }
        }
    }
    Ok(out)
}

/// The trees of `rows`: the prompt of each row, and `per_row` completions from each
/// column of `branches` (completion `k` of row `r` at flat row `r * per_row + k`).
pub fn trees<'a>(
    prompt: &'a TokenLists,
    branches: &'a [TokenLists],
    per_row: usize,
    rows: &[usize],
    vocab_size: Option<u32>,
) -> Result<Vec<Tree<'a>>> {
    rows.iter()
        .map(|&r| {
            let mut out = Vec::with_capacity(branches.len() * per_row);
            for column in branches {
                for k in 0..per_row {
                    let flat = r * per_row + k;
                    if flat >= column.len() {
                        return Err(Error::argument(format!(
                            "column '{}' has {} completions, fewer than {per_row} per example",
                            column.name(),
                            column.len()
                        )));
                    }
                    out.push(completion_row(column, flat, vocab_size)?);
                }
            }
            Ok(Tree {
                prompt: prompt.checked_row(r, vocab_size)?,
                branches: out,
            })
        })
        .collect()
}

impl PrefixPacked {
    /// Write `ids` from flat index `at`: positions from `position`, one tree and branch.
    fn put(&mut self, at: usize, ids: &[i32], position: usize, tree: usize, branch: usize) {
        let end = at + ids.len();
        for (slot, &id) in self.input_ids[at..end].iter_mut().zip(ids) {
            *slot = i64::from(id);
        }
        for (slot, pos) in self.position_ids[at..end].iter_mut().zip(position..) {
            *slot = pos as i64;
        }
        self.tree[at..end].fill(tree as i64);
        self.branch[at..end].fill(branch as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: PrefixOptions = PrefixOptions {
        pad_token_id: 0,
        max_tokens: None,
        pad_to_multiple_of: None,
    };

    #[test]
    fn a_pair_is_its_prompt_once_then_both_completions() {
        let t = Tree {
            prompt: &[1, 2, 3],
            branches: vec![&[4, 5], &[6]],
        };
        let p = pack_trees(&[t], &O).unwrap();
        assert_eq!((p.rows, p.width), (1, 6));
        assert_eq!(p.input_ids, [1, 2, 3, 4, 5, 6]);
        assert_eq!(p.position_ids, [0, 1, 2, 3, 4, 3]);
        assert_eq!(p.branch, [0, 0, 0, 1, 1, 2]);
        // 4 and 6 are predicted by the prompt's last token (index 2), 5 by 4.
        assert_eq!(p.source, [2, 3, 2]);
        assert_eq!(p.target, [4, 5, 6]);
        assert_eq!(p.owner, [0, 0, 1]);
        assert_eq!(p.counts, [2, 1]);
    }

    #[test]
    fn best_fit_decreasing_fills_rows_and_keeps_owners() {
        let trees: Vec<Tree> = [(3usize, 2usize), (1, 1), (2, 2), (1, 2)]
            .iter()
            .map(|&(p, c)| Tree {
                prompt: &[7, 7, 7][..p],
                branches: vec![&[8, 8][..c], &[9][..]],
            })
            .collect();
        // Sizes 6, 3, 5, 4 under a budget of 8: [6], [5, 3], [4].
        let p = pack_trees(
            &trees,
            &PrefixOptions {
                max_tokens: Some(8),
                pad_to_multiple_of: Some(4),
                ..O
            },
        )
        .unwrap();
        assert_eq!((p.rows, p.width), (3, 8));
        assert_eq!(&p.tree[8..16], &[2, 2, 2, 2, 2, 1, 1, 1]);
        assert_eq!(&p.tree[16..24], &[3, 3, 3, 3, -1, -1, -1, -1]);
        assert_eq!(p.counts, [2, 1, 1, 1, 2, 1, 2, 1]);
        assert!(pack_trees(&[], &O).is_err());
    }

    #[test]
    fn an_empty_prompt_leaves_each_first_token_unscored() {
        let t = Tree {
            prompt: &[],
            branches: vec![&[4, 5], &[6]],
        };
        let p = pack_trees(&[t], &O).unwrap();
        assert_eq!(p.target, [5]);
        assert_eq!(p.counts, [1, 0]);
    }
}
