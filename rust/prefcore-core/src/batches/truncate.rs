//! Cutting tokenized prompts and completions to a length budget, the same way for
//! every completion of a prompt.
//!
//! The rules (stated in `prefcore.tokenize`'s docs and counted in its stats):
//! - the prompt is tokenized once and shared by all its completions;
//! - EOS is appended to a completion that does not already end with it, and survives
//!   truncation (a cut completion ends `..., EOS`);
//! - the prompt budget is `max_prompt_length`, or else what the longest completion
//!   leaves of `max_length`, but never less than half of it; `truncation` picks which
//!   end of the prompt is kept; completions keep their beginning and share what the
//!   prompt leaves.

use arrow_array::{ArrayRef, BooleanArray};

use super::tokens::{list_from_rows, TokenLists};
use crate::error::{Error, Result};

/// Which end of an over-long prompt is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Start,
    End,
}

crate::parse_option!(Keep, "truncation_mode", {
    "keep_start" => Keep::Start,
    "keep_end" => Keep::End,
});

#[derive(Clone, Copy, Debug)]
pub struct CutOptions {
    pub max_length: Option<usize>,
    pub max_prompt_length: Option<usize>,
    pub keep: Keep,
    pub eos: Option<i32>,
}

impl CutOptions {
    fn check(&self) -> Result<()> {
        match (self.max_length, self.max_prompt_length) {
            (Some(0), _) => Err(Error::bad_argument(
                "max_length",
                "max_length must be at least 1",
            )),
            (Some(l), Some(p)) if p >= l => Err(Error::argument(format!(
                "max_prompt_length ({p}) must be smaller than max_length ({l}): \
                 it would leave no room for the completion"
            ))),
            _ => Ok(()),
        }
    }

    /// Tokens the prompt may keep, given the longest completion (EOS included).
    fn prompt_budget(&self, longest: usize) -> usize {
        match (self.max_prompt_length, self.max_length) {
            (Some(p), _) => p,
            (None, Some(l)) => l.saturating_sub(longest).max(l / 2),
            (None, None) => usize::MAX,
        }
    }
}

/// The cut columns: the prompt, each completion, and per row which were truncated.
pub struct Cut {
    pub prompt: ArrayRef,
    pub completions: Vec<ArrayRef>,
    pub prompt_truncated: BooleanArray,
    pub completion_truncated: Vec<BooleanArray>,
}

fn keep_prompt(prompt: &[i32], budget: usize, keep: Keep) -> &[i32] {
    if prompt.len() <= budget {
        return prompt;
    }
    match keep {
        Keep::Start => &prompt[..budget],
        Keep::End => &prompt[prompt.len() - budget..],
    }
}

/// Cut every row of `prompt` and its `completions` (one list column per completion:
/// chosen and rejected for pairs, one for unpaired rows). An empty completion is an
/// error naming its column and row.
pub fn cut(prompt: &TokenLists, completions: &[&TokenLists], options: &CutOptions) -> Result<Cut> {
    options.check()?;
    let rows = prompt.len();
    for c in completions {
        if c.len() != rows {
            return Err(Error::argument(format!(
                "column '{}' has {} rows but '{}' has {rows}",
                c.name(),
                c.len(),
                prompt.name()
            )));
        }
    }
    let n = completions.len();
    let mut prompts: Vec<&[i32]> = Vec::with_capacity(rows);
    let mut prompt_cut = Vec::with_capacity(rows);
    let mut outs: Vec<Vec<i32>> = vec![Vec::new(); n];
    let mut offsets: Vec<Vec<usize>> = vec![vec![0]; n];
    let mut cut_flags: Vec<Vec<bool>> = vec![Vec::with_capacity(rows); n];
    for row in 0..rows {
        let p = prompt.checked_row(row, None)?;
        let mut longest = 0;
        for c in completions {
            let ids = c.checked_row(row, None)?;
            if ids.is_empty() {
                return Err(Error::value(c.name(), row, "empty completion (no tokens)"));
            }
            let with_eos = ids.len() + usize::from(needs_eos(ids, options.eos));
            longest = longest.max(with_eos);
        }
        let kept = keep_prompt(p, options.prompt_budget(longest), options.keep);
        prompts.push(kept);
        prompt_cut.push(kept.len() < p.len());
        let budget = options
            .max_length
            .map_or(usize::MAX, |l| l.saturating_sub(kept.len()));
        for (j, c) in completions.iter().enumerate() {
            let ids = c.row(row);
            let out = &mut outs[j];
            let eos = options.eos.filter(|_| needs_eos(ids, options.eos));
            let full = ids.len() + usize::from(eos.is_some());
            let truncated = full > budget;
            if truncated {
                match options.eos {
                    // Keep the first budget − 1 tokens and end on EOS.
                    Some(e) => {
                        out.extend_from_slice(&ids[..budget - 1]);
                        out.push(e);
                    }
                    None => out.extend_from_slice(&ids[..budget]),
                }
            } else {
                out.extend_from_slice(ids);
                out.extend(eos);
            }
            offsets[j].push(out.len());
            cut_flags[j].push(truncated);
        }
    }
    let completions = outs
        .iter()
        .zip(&offsets)
        .map(|(v, o)| list_from_rows(o.windows(2).map(|w| &v[w[0]..w[1]])))
        .collect::<Result<Vec<_>>>()?;
    Ok(Cut {
        prompt: list_from_rows(prompts)?,
        completions,
        prompt_truncated: BooleanArray::from(prompt_cut),
        completion_truncated: cut_flags.into_iter().map(BooleanArray::from).collect(),
    })
}

fn needs_eos(ids: &[i32], eos: Option<i32>) -> bool {
    eos.is_some_and(|e| ids.last() != Some(&e))
}

/// Prompt and completions split out of jointly tokenized `prompt + completion`
/// sequences: the completion starts where the joint tokens leave the separately
/// tokenized prompt (the shortest such point over the row's completions, so the
/// prompt stays shared). `boundary_moved[row]` is true where that point falls inside
/// the prompt, i.e. tokens merged across the boundary.
pub struct Split {
    pub prompt: ArrayRef,
    pub completions: Vec<ArrayRef>,
    pub boundary_moved: BooleanArray,
}

pub fn split_joint(prompt: &TokenLists, joints: &[&TokenLists]) -> Result<Split> {
    let rows = prompt.len();
    let mut prompts = Vec::with_capacity(rows);
    let mut moved = Vec::with_capacity(rows);
    let mut parts: Vec<Vec<&[i32]>> = vec![Vec::with_capacity(rows); joints.len()];
    for row in 0..rows {
        let p = prompt.checked_row(row, None)?;
        let mut shared = p.len();
        for j in joints {
            let ids = j.checked_row(row, None)?;
            let common = p.iter().zip(ids).take_while(|(a, b)| a == b).count();
            shared = shared.min(common);
        }
        prompts.push(&p[..shared]);
        moved.push(shared < p.len());
        for (k, j) in joints.iter().enumerate() {
            parts[k].push(&j.row(row)[shared..]);
        }
    }
    Ok(Split {
        prompt: list_from_rows(prompts)?,
        completions: parts
            .into_iter()
            .map(list_from_rows)
            .collect::<Result<Vec<_>>>()?,
        boundary_moved: BooleanArray::from(moved),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(rows: &[&[i32]]) -> TokenLists {
        TokenLists::new("t", &list_from_rows(rows.iter().copied()).unwrap()).unwrap()
    }

    fn rows_of(a: &ArrayRef) -> Vec<Vec<i32>> {
        let t = TokenLists::new("x", a).unwrap();
        (0..t.len()).map(|i| t.row(i).to_vec()).collect()
    }

    #[test]
    fn eos_survives_truncation_and_prompt_is_shared() {
        let prompt = lists(&[&[1, 2, 3, 4, 5, 6]]);
        let chosen = lists(&[&[10, 11, 12, 13, 14, 15, 16]]);
        let rejected = lists(&[&[20, 21]]);
        let o = CutOptions {
            max_length: Some(8),
            max_prompt_length: Some(4),
            keep: Keep::End,
            eos: Some(99),
        };
        let cut = cut(&prompt, &[&chosen, &rejected], &o).unwrap();
        assert_eq!(rows_of(&cut.prompt), vec![vec![3, 4, 5, 6]]);
        assert_eq!(rows_of(&cut.completions[0]), vec![vec![10, 11, 12, 99]]);
        assert_eq!(rows_of(&cut.completions[1]), vec![vec![20, 21, 99]]);
        assert!(cut.prompt_truncated.value(0));
        assert!(cut.completion_truncated[0].value(0));
        assert!(!cut.completion_truncated[1].value(0));
    }

    #[test]
    fn default_prompt_budget_yields_to_completions_down_to_half() {
        let o = CutOptions {
            max_length: Some(10),
            max_prompt_length: None,
            keep: Keep::Start,
            eos: None,
        };
        // Short completions: the prompt keeps 10 − 2 = 8 tokens.
        assert_eq!(o.prompt_budget(2), 8);
        // Long completions: the prompt still keeps half.
        assert_eq!(o.prompt_budget(9), 5);
        assert_eq!(o.prompt_budget(50), 5);
    }

    #[test]
    fn eos_is_not_doubled_and_empty_completions_fail() {
        let prompt = lists(&[&[1], &[2]]);
        let done = lists(&[&[5, 99], &[]]);
        let o = CutOptions {
            max_length: None,
            max_prompt_length: None,
            keep: Keep::Start,
            eos: Some(99),
        };
        let err = cut(&prompt, &[&done], &o).err().unwrap().to_string();
        assert!(err.contains("row 1") && err.contains("empty"), "{err}");
        let ok = cut(&lists(&[&[1]]), &[&lists(&[&[5, 99]])], &o).unwrap();
        assert_eq!(rows_of(&ok.completions[0]), vec![vec![5, 99]]);
    }

    #[test]
    fn prompt_budget_must_leave_room() {
        let o = CutOptions {
            max_length: Some(4),
            max_prompt_length: Some(4),
            keep: Keep::Start,
            eos: None,
        };
        let err = cut(&lists(&[&[1]]), &[&lists(&[&[2]])], &o).err().unwrap();
        assert!(err.to_string().contains("no room"));
    }

    #[test]
    fn joint_split_moves_the_boundary_back_for_both_completions() {
        // Prompt [1, 2, 3]; in the chosen joint tokens 3 merged with the completion.
        let prompt = lists(&[&[1, 2, 3]]);
        let chosen = lists(&[&[1, 2, 7, 8]]);
        let rejected = lists(&[&[1, 2, 3, 9]]);
        let s = split_joint(&prompt, &[&chosen, &rejected]).unwrap();
        assert_eq!(rows_of(&s.prompt), vec![vec![1, 2]]);
        assert_eq!(rows_of(&s.completions[0]), vec![vec![7, 8]]);
        assert_eq!(rows_of(&s.completions[1]), vec![vec![3, 9]]);
        assert!(s.boundary_moved.value(0));
    }
}
