//! Metrics over grouped lists: each row holds one group's candidate scores and labels
//! (a prompt with its completions, a query with its reranked documents).
//!
//! There is no "relevant but not retrieved" here: the ideal ranking comes from the
//! group's own labels. Order among equal scores is either the candidates' order in
//! the list (`Ties::Stable`) or averaged over all orders (`Ties::Average`, what
//! scikit-learn's `ndcg_score` does).

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array};

use super::ranked::RankedList;
use super::sort::Sorter;
use super::spec::{Measure, MetricSpec};
use super::Evaluation;
use crate::columns::ListColumn;
use crate::error::{Error, Result};
use crate::keys::score_desc_key;
use crate::parallel;

/// How equal scores are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    /// Earlier candidate first.
    Stable,
    /// Every metric is the mean over all orders of the tied candidates.
    Average,
}

crate::parse_option!(Ties, "ties", {
    "stable" => Ties::Stable,
    "average" => Ties::Average,
});

/// Options of [`evaluate`].
#[derive(Clone, Copy, Debug)]
pub struct GroupedOptions {
    pub ties: Ties,
    /// Minimum label counted as relevant by the binary metrics.
    pub relevance_level: f64,
}

#[derive(Default)]
struct Scratch {
    /// A group's values as f64 (when the column holds another type).
    scores: Vec<f64>,
    labels: Vec<f64>,
    rank: RankScratch,
}

/// Buffers of [`rank_and_score`].
#[derive(Default)]
struct RankScratch {
    /// (score key, position): selecting and sorting these is a ranking's prefix.
    order: Vec<(u64, u32)>,
    ranked: Vec<f64>,
    ideal: Vec<f64>,
    tie_ends: Vec<u32>,
    sorter: Sorter,
}

/// What to compute for every group.
struct Plan<'a> {
    metrics: &'a [MetricSpec],
    options: GroupedOptions,
    depth: Depths,
    /// A metric with gain 2^label - 1 is asked for (labels must stay below 1024).
    exponential_gain: bool,
}

/// How far the ranking and the ideal ranking must be sorted for these metrics.
struct Depths {
    ranking: Option<usize>,
    ideal: Option<usize>,
}

fn depths(metrics: &[MetricSpec]) -> Depths {
    let mut ranking = Some(0usize);
    let mut ideal = Some(0usize);
    for m in metrics {
        ranking = match (ranking, m.depth()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        if matches!(m.measure, Measure::Ndcg | Measure::NdcgBurges) {
            ideal = match (ideal, m.cutoff) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
    }
    Depths { ranking, ideal }
}

fn check_ties(metrics: &[MetricSpec], ties: Ties) -> Result<()> {
    if ties == Ties::Average {
        if let Some(m) = metrics.iter().find(|m| !m.measure.supports_tie_average()) {
            return Err(Error::bad_argument(
                "ties",
                format!(
                    "ties='average' is defined for metrics linear in the ranked labels (ndcg, \
                 ndcg_burges, dcg, precision, recall, f1, r_precision); '{}' is not: use \
                 ties='stable'",
                    m.name
                ),
            ));
        }
    }
    Ok(())
}

/// Validate group `g` and score it into `out`.
fn score_group(
    g: usize,
    scores: &ListColumn,
    labels: &ListColumn,
    plan: &Plan,
    s: &mut Scratch,
    out: &mut [f64],
) -> Result<()> {
    let n = scores.group_len(g);
    if labels.group_len(g) != n {
        return Err(Error::value(
            labels.name(),
            g,
            format!(
                "{} labels for {n} scores in '{}'",
                labels.group_len(g),
                scores.name()
            ),
        ));
    }
    let sc = scores.group(g, &mut s.scores)?;
    let lab = labels.group(g, &mut s.labels)?;
    let facts = LabelFacts::scan(lab, plan.options.relevance_level);
    // Small whole grades (the usual labels) are finite; only other groups need the
    // extra pass that finds NaN and +inf.
    if facts.negative || (facts.top_grade.is_none() && !lab.iter().all(|&v| valid_label(v))) {
        // NaN and +inf land here too: no gain or relevance can be read from them.
        let p = lab
            .iter()
            .position(|&v| !valid_label(v))
            .unwrap_or_default();
        let message = if lab[p] < 0.0 {
            format!(
                "negative label {} at position {p}; labels must be >= 0",
                lab[p]
            )
        } else {
            format!("label {} at position {p}; labels must be finite", lab[p])
        };
        return Err(Error::value(labels.name(), g, message));
    }
    if plan.exponential_gain {
        if let Some(p) = lab.iter().position(|&v| v > MAX_EXP_GAIN_LABEL) {
            return Err(Error::value(
                labels.name(),
                g,
                format!(
                    "label {} at position {p} is too large for the gain 2^label - 1 \
                     (ndcg_burges); labels must be at most {MAX_EXP_GAIN_LABEL}",
                    lab[p]
                ),
            ));
        }
    }
    rank_and_score(sc, lab, &facts, plan, &mut s.rank, out);
    Ok(())
}

/// 2^1024 overflows an f64: the largest label whose exponential gain is finite.
const MAX_EXP_GAIN_LABEL: f64 = 1023.0;

fn valid_label(l: f64) -> bool {
    (0.0..f64::INFINITY).contains(&l)
}

/// Grades below this many (whole numbers) are counted instead of sorted.
const LEVELS: f64 = 16.0;
/// Adding 2^52 rounds a label below 2^52 to an integer held in the low mantissa bits:
/// the label was whole iff subtracting gives it back (a branch-free test, unlike a
/// saturating float-to-int cast).
const ROUND: f64 = 4_503_599_627_370_496.0;

/// What one group's labels hold, from a single branch-free pass (it vectorises).
struct LabelFacts {
    negative: bool,
    /// The highest label, when every label is a whole number below [`LEVELS`].
    top_grade: Option<f64>,
    /// Labels at or above the relevance level.
    num_rel: usize,
}

impl LabelFacts {
    /// One pass over a group's labels: eight lanes wide with AVX-512 (four times the
    /// baseline's; see [`crate::simd`]).
    fn scan(labels: &[f64], level: f64) -> Self {
        crate::simd::by_level!(
            "avx512f,avx512dq",
            (labels: &[f64] = labels, level: f64 = level) -> LabelFacts,
            LabelFacts::scan_lanes(labels, level)
        )
    }

    #[inline(always)]
    fn scan_lanes(labels: &[f64], level: f64) -> Self {
        let (mut negative, mut small_whole, mut top, mut num_rel) = (false, true, 0u32, 0usize);
        for &l in labels {
            negative |= l < 0.0;
            small_whole &= (l < LEVELS) & ((l + ROUND) - ROUND == l);
            // For a small whole label the low mantissa bits are its value (-0.0 gives
            // 0): an integer maximum, which vectorises where a float one does not.
            top = top.max((l + ROUND).to_bits() as u32);
            num_rel += usize::from(l >= level);
        }
        LabelFacts {
            negative,
            top_grade: (small_whole && !negative).then_some(f64::from(top)),
            num_rel,
        }
    }
}

/// The `depth` largest labels in descending order. Small whole-number grades (the
/// usual case; `top_grade` is then the highest) are counted grade by grade from the
/// top, which usually fills the cutoff after one or two vectorised passes; other
/// labels are selected and sorted.
fn ideal_ranking(labels: &[f64], top_grade: Option<f64>, depth: usize, out: &mut Vec<f64>) {
    out.clear();
    if depth == 0 {
        return;
    }
    /// Grades counted one vectorised pass each before a single counting pass.
    const GRADE_PASSES: usize = 3;
    if let Some(mut grade) = top_grade {
        for _ in 0..GRADE_PASSES {
            if out.len() == depth || grade < 0.0 {
                return;
            }
            let count = labels.iter().filter(|&&l| l == grade).count();
            out.extend(std::iter::repeat_n(grade, count.min(depth - out.len())));
            grade -= 1.0;
        }
        // Many grades to go: count the rest in one pass.
        let mut counts = [0u32; LEVELS as usize];
        for &l in labels.iter().filter(|&&l| l <= grade) {
            counts[l as usize] += 1;
        }
        for g in (0..=grade as usize).rev() {
            let take = (counts[g] as usize).min(depth - out.len());
            out.extend(std::iter::repeat_n(g as f64, take));
        }
        return;
    }
    out.extend_from_slice(labels);
    if depth < labels.len() {
        out.select_nth_unstable_by(depth - 1, |a, b| b.total_cmp(a));
        out.truncate(depth);
    }
    out.sort_unstable_by(|a, b| b.total_cmp(a));
}

fn rank_and_score(
    scores: &[f64],
    labels: &[f64],
    facts: &LabelFacts,
    plan: &Plan,
    s: &mut RankScratch,
    out: &mut [f64],
) {
    let (options, depth) = (plan.options, &plan.depth);
    let n = scores.len();
    let ranking_depth = match options.ties {
        Ties::Stable => depth.ranking.unwrap_or(n).min(n),
        Ties::Average => n,
    };
    // Score descending, position ascending: a total order, so the partial and the
    // full sort agree and no thread count changes the result.
    s.ranked.clear();
    if ranking_depth > 0 && ranking_depth * 4 <= n {
        // A short prefix: select it in linear time, then sort only the prefix.
        s.order.clear();
        s.order.extend(
            scores
                .iter()
                .enumerate()
                .map(|(i, &x)| (score_desc_key(x), i as u32)),
        );
        s.order.select_nth_unstable(ranking_depth - 1);
        s.order[..ranking_depth].sort_unstable();
        s.ranked.extend(
            s.order[..ranking_depth]
                .iter()
                .map(|&(_, i)| labels[i as usize]),
        );
    } else if ranking_depth > 0 {
        s.sorter.rank_values(scores, labels, &mut s.ranked);
        s.ranked.truncate(ranking_depth);
    }

    s.tie_ends.clear();
    if options.ties == Ties::Average {
        // `==` on scores: -0.0 and 0.0 tie, as their keys do.
        let at = s.sorter.ranked_scores();
        for i in 1..=n {
            if i == n || at[i] != at[i - 1] {
                s.tie_ends.push(i as u32);
            }
        }
    }

    let ideal_depth = depth.ideal.unwrap_or(n).min(n);
    ideal_ranking(labels, facts.top_grade, ideal_depth, &mut s.ideal);
    let num_rel = facts.num_rel;
    let list = RankedList {
        ranked: &s.ranked,
        tie_ends: (options.ties == Ties::Average).then_some(&s.tie_ends[..]),
        num_ret: n,
        ideal: &s.ideal,
        num_rel,
        num_judged_nonrel: n - num_rel,
        level: options.relevance_level,
        relevant_retrieved: Some(num_rel),
    };
    for (slot, spec) in out.iter_mut().zip(plan.metrics) {
        *slot = list.score(spec);
    }
}

/// Evaluate every group; ids are the group (row) numbers.
pub fn evaluate(
    scores: (&str, &ArrayRef),
    labels: (&str, &ArrayRef),
    metrics: &[MetricSpec],
    options: GroupedOptions,
) -> Result<Evaluation> {
    check_ties(metrics, options.ties)?;
    if options.relevance_level.is_nan() {
        return Err(Error::bad_argument(
            "relevance_level",
            "relevance_level must be a number, not NaN",
        ));
    }
    let s = ListColumn::new(scores.0, scores.1)?;
    let l = ListColumn::new(labels.0, labels.1)?;
    if s.len() != l.len() {
        return Err(Error::argument(format!(
            "'{}' has {} groups but '{}' has {}",
            scores.0,
            s.len(),
            labels.0,
            l.len()
        )));
    }
    let plan = Plan {
        metrics,
        options,
        depth: depths(metrics),
        exponential_gain: metrics.iter().any(|m| m.measure == Measure::NdcgBurges),
    };
    let nm = metrics.len();
    let mut values = vec![0.0; s.len() * nm];
    crate::progress::stage("groups");
    parallel::fill_rows(&mut values, nm, 256, |scratch: &mut Scratch, g, out| {
        score_group(g, &s, &l, &plan, scratch, out)
    })?;
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..s.len() as i64));
    Ok(Evaluation::new(metrics.to_vec(), ids, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_ranking_counts_whole_grades_and_sorts_the_rest() {
        for labels in [
            vec![0.0f64, 3.0, 1.0, 3.0, 15.0, -0.0],
            vec![0.5, 3.0, 2.25, 1.0],
            vec![16.0, 1.0, 1e300, 0.0],
            (0..40).map(|i| ((i * 7) % 9) as f64).collect(),
            vec![2.0, 2.0, 0.0, 2.0, 1.0],
        ] {
            for depth in 0..=labels.len() {
                let mut expected = labels.clone();
                expected.sort_by(|a, b| b.total_cmp(a));
                expected.truncate(depth);
                for (level, got) in crate::simd::at_each_level(|_| {
                    let mut got = Vec::new();
                    let top = LabelFacts::scan(&labels, 1.0).top_grade;
                    ideal_ranking(&labels, top, depth, &mut got);
                    got
                }) {
                    assert_eq!(got, expected, "{level:?} {labels:?} depth {depth}");
                }
            }
        }
    }

    #[test]
    fn label_scans_agree_at_every_level() {
        let mut rng = crate::random::Rng::for_stream(11, 0);
        for n in [0usize, 1, 3, 4, 7, 8, 9, 31, 64, 257] {
            for pool in [
                &[0.0, 1.0, 2.0, 3.0][..],
                &[0.0, -0.0, 0.5, 4.0, 1e300, -1.0],
            ] {
                let labels: Vec<f64> = (0..n)
                    .map(|_| pool[rng.below(pool.len() as u64) as usize])
                    .collect();
                let facts = crate::simd::at_each_level(|_| {
                    let f = LabelFacts::scan(&labels, 1.0);
                    (f.negative, f.top_grade, f.num_rel)
                });
                let negative = labels.iter().any(|&l| l < 0.0);
                let num_rel = labels.iter().filter(|&&l| l >= 1.0).count();
                for (level, f) in facts {
                    assert_eq!((f.0, f.2), (negative, num_rel), "{level:?} {labels:?}");
                    assert_eq!(
                        f.1.is_some(),
                        !negative && labels.iter().all(|&l| l.fract() == 0.0 && l < LEVELS),
                        "{level:?} {labels:?}"
                    );
                }
            }
        }
    }
}
