//! Bindings of `prefcore_core::pairs` (pair construction), for `prefcore.pairs`.

use prefcore_core::columns::ListColumn;
use prefcore_core::pairs::{self, PairOptions};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyTable;

use crate::convert::{array, to_pyarrow_table, Opt, Table};
use crate::errors::compute;

/// Returns the pairs table and what was done with the prompts. The arguments have
/// the public function's names, so that an error names the one the user passed.
#[pyfunction]
#[pyo3(signature = (table, prompt, completions, scores, scores_name, strategy, min_margin, ties, k, seed, max_pairs_per_prompt, score_range, short_groups, group_offset, texts))]
#[allow(clippy::too_many_arguments)]
pub fn pairs_from_scores(
    py: Python<'_>,
    table: PyTable,
    prompt: Option<&str>,
    completions: &str,
    scores: AnyArray,
    scores_name: &str,
    strategy: Opt<pairs::Strategy>,
    min_margin: f64,
    ties: Opt<pairs::Ties>,
    k: usize,
    seed: u64,
    max_pairs_per_prompt: Option<usize>,
    score_range: Option<(f64, f64)>,
    short_groups: Opt<pairs::ShortGroups>,
    group_offset: u64,
    texts: Opt<pairs::TextLayout>,
) -> PyResult<PairTable> {
    let table = Table::new(table);
    let prompt_column = prompt.map(|p| table.column(p)).transpose()?;
    // The kernel checks the completion texts it copies out (or all, when it does not).
    let completion_column = table.column_checked_by_kernel(completions)?;
    let scores = array(scores, scores_name)?;
    let options = PairOptions {
        strategy: strategy.0,
        min_margin,
        ties: ties.0,
        k,
        seed,
        max_pairs_per_group: max_pairs_per_prompt,
        score_range,
        short_groups: short_groups.0,
        first_group: group_offset,
        texts: texts.0,
    };
    let (columns, stats) = compute(py, || {
        let scores = ListColumn::new(scores_name, &scores)?;
        let completion_column = (completions, &completion_column);
        let prompt_column = prompt.zip(prompt_column.as_ref());
        pairs::pair_table(prompt_column, completion_column, &scores, &options)
    })?;
    let counts = PairCounts {
        prompts: stats.groups,
        prompts_with_pairs: stats.groups_with_pairs,
        prompts_skipped_short: stats.groups_skipped_short,
        prompts_without_eligible_pair: stats.groups_without_eligible_pair,
        pairs_capped: stats.pairs_capped,
    };
    Ok(PairTable {
        table: to_pyarrow_table(py, columns)?.unbind(),
        counts: Py::new(py, counts)?,
    })
}

/// The pairs built, and what was done with each prompt.
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct PairTable {
    table: Py<PyAny>,
    counts: Py<PairCounts>,
}

/// What pair construction did with the prompts (the core's `PairStats`, named as
/// `prefcore.pairs` reports them).
#[pyclass(module = "prefcore._prefcore", frozen, get_all)]
pub struct PairCounts {
    prompts: usize,
    prompts_with_pairs: usize,
    prompts_skipped_short: usize,
    prompts_without_eligible_pair: usize,
    pairs_capped: usize,
}
