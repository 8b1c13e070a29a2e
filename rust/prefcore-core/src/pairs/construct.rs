//! Chosen/rejected pairs from scored completions (one group of candidates per prompt).
//!
//! Every strategy works on one group's scores and emits `(chosen, rejected)` positions.
//! Randomness is drawn from a stream per group, so the output depends only on the
//! seed, never on the thread count. [`super::table`] writes the chosen pairs out as
//! columns.

use super::masks::{kept_blocks, Block};
use crate::columns::ListColumn;
use crate::error::{Error, Result};
use crate::parallel;
use crate::parse_option;
use crate::random::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    BestWorst,
    BestRandom,
    BestVsRest,
    TopKBottomK,
    AllPairs,
    RandomPairs,
}

parse_option!(Strategy, "strategy", {
    "best_worst" => Strategy::BestWorst,
    "best_random" => Strategy::BestRandom,
    "best_vs_rest" => Strategy::BestVsRest,
    "top_k_bottom_k" => Strategy::TopKBottomK,
    "all_pairs" => Strategy::AllPairs,
    "random_pairs" => Strategy::RandomPairs,
});

/// What to do with two completions of equal score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    /// Never pair them; the first best / last worst is picked when several tie.
    Drop,
    /// Pair them (margin 0) with the earlier completion as chosen.
    Keep,
    /// Pair them with a coin flip for the orientation; tied bests/worsts are drawn
    /// at random.
    Random,
}

parse_option!(Ties, "ties", {
    "drop" => Ties::Drop,
    "keep" => Ties::Keep,
    "random" => Ties::Random,
});

/// How the text columns of a pair table hold their values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextLayout {
    /// Each pair's texts written out: plain string (or conversation) columns.
    Copy,
    /// `dictionary<int32, …>` columns whose dictionaries are the input's own prompt and
    /// completion arrays: nothing is copied, and the output stays the input's size
    /// however many pairs a completion joins.
    Dictionary,
}

parse_option!(TextLayout, "texts", {
    "copy" => TextLayout::Copy,
    "dictionary" => TextLayout::Dictionary,
});

/// Groups with fewer than two completions: an error, or skipped and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortGroups {
    Error,
    Skip,
}

parse_option!(ShortGroups, "short_groups", {
    "error" => ShortGroups::Error,
    "skip" => ShortGroups::Skip,
});

#[derive(Clone, Debug)]
pub struct PairOptions {
    pub strategy: Strategy,
    pub min_margin: f64,
    pub ties: Ties,
    /// Rejections per prompt for `best_random`, the size of each end for
    /// `top_k_bottom_k`, pairs per prompt for `random_pairs`.
    pub k: usize,
    pub seed: u64,
    pub max_pairs_per_group: Option<usize>,
    pub score_range: Option<(f64, f64)>,
    pub short_groups: ShortGroups,
    /// Index of the first prompt in a larger dataset processed in batches: each
    /// prompt's random draws depend on its index in the whole dataset, and the
    /// `group_id` written is that index.
    pub first_group: u64,
    pub texts: TextLayout,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            strategy: Strategy::BestWorst,
            min_margin: 0.0,
            ties: Ties::Drop,
            k: 1,
            seed: 0,
            max_pairs_per_group: None,
            score_range: None,
            short_groups: ShortGroups::Error,
            first_group: 0,
            texts: TextLayout::Copy,
        }
    }
}

/// What happened to the groups: every prompt is accounted for.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct PairStats {
    pub groups: usize,
    /// Prompts with at least one pair.
    pub groups_with_pairs: usize,
    /// Prompts with fewer than two completions (only with `ShortGroups::Skip`).
    pub groups_skipped_short: usize,
    /// Prompts whose completions all tie or fall short of `min_margin`.
    pub groups_without_eligible_pair: usize,
    /// Pairs removed by `max_pairs_per_group`.
    pub pairs_capped: usize,
}

/// Is chosen `sc` at least `min_margin` above rejected `sr`? Equal scores are 0 apart,
/// equal infinities included (their difference is NaN).
#[inline]
fn far_enough(sc: f64, sr: f64, min_margin: f64) -> bool {
    (sc - sr >= min_margin) | ((sc == sr) & (min_margin <= 0.0))
}

struct Group<'a> {
    s: &'a [f64],
    min_margin: f64,
    ties: Ties,
    /// Scratch for all_pairs' masks.
    blocks: &'a mut Vec<Block>,
}

impl Group<'_> {
    /// `(c, r)` oriented as a pair, or None when it may not be one.
    fn orient(&self, i: usize, j: usize, rng: &mut Rng) -> Option<(usize, usize)> {
        let (si, sj) = (self.s[i], self.s[j]);
        let (c, r) = if si > sj {
            (i, j)
        } else if sj > si {
            (j, i)
        } else {
            match self.ties {
                Ties::Drop => return None,
                Ties::Keep => (i.min(j), i.max(j)),
                Ties::Random if rng.below(2) == 0 => (i, j),
                Ties::Random => (j, i),
            }
        };
        far_enough(self.s[c], self.s[r], self.min_margin).then_some((c, r))
    }

    /// May `c` be chosen over `r` (in this orientation)?
    #[inline]
    fn eligible(&self, c: usize, r: usize) -> bool {
        (c != r) & self.may_choose(self.s[c], self.s[r])
    }

    /// May a completion scored `sc` be chosen over one scored `sr`? Non-short-circuit
    /// `&` and `|`: the answer is unpredictable, and `&&` compiles to branches.
    #[inline]
    fn may_choose(&self, sc: f64, sr: f64) -> bool {
        let tie_ok = (sc == sr) & (self.ties != Ties::Drop);
        far_enough(sc, sr, self.min_margin) & ((sc > sr) | tie_ok)
    }

    /// The best position: the first of the tied highest, or a random one of them.
    fn best(&self, rng: &mut Rng) -> usize {
        if self.ties == Ties::Random {
            let top = self.s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            return self.pick_index(|i| self.s[i] == top, rng);
        }
        // Selects rather than branches: where the maximum sits is unpredictable.
        let (mut best, mut top) = (0, self.s[0]);
        for (i, &v) in self.s.iter().enumerate().skip(1) {
            let higher = v > top;
            best = if higher { i } else { best };
            top = if higher { v } else { top };
        }
        best
    }

    /// The worst position other than `best`: the last of the tied lowest, or a random one.
    fn worst(&self, best: usize, rng: &mut Rng) -> usize {
        let low = (0..self.s.len())
            .filter(|&i| i != best)
            .map(|i| self.s[i])
            .fold(f64::INFINITY, f64::min);
        let s = self.s;
        let candidates = |i: usize| i != best && s[i] == low;
        match self.ties {
            Ties::Random => self.pick_index(candidates, rng),
            _ => (0..s.len()).rev().find(|&i| candidates(i)).unwrap_or(best),
        }
    }

    /// A uniformly drawn position among those where `tied` holds.
    fn pick_index(&self, tied: impl Fn(usize) -> bool, rng: &mut Rng) -> usize {
        let n = (0..self.s.len()).filter(|&i| tied(i)).count();
        let nth = rng.below(n.max(1) as u64) as usize;
        (0..self.s.len()).filter(|&i| tied(i)).nth(nth).unwrap_or(0)
    }

    /// Positions ordered by score, highest first; ties in input order, or shuffled.
    fn order(&self, rng: &mut Rng) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.s.len()).collect();
        if self.ties == Ties::Random {
            shuffle(&mut order, rng);
        }
        order.sort_by(|&a, &b| self.s[b].total_cmp(&self.s[a]));
        order
    }

    /// all_pairs without draws: `emit(chosen, rejected)` for each kept pair, in the
    /// order of positions `(i, j)`, `i < j`. The masks of [`kept_blocks`] make a pair
    /// cost one bit scan.
    #[inline]
    fn each_kept(&mut self, mut emit: impl FnMut(usize, usize)) {
        let keep_ties = self.ties != Ties::Drop;
        kept_blocks(self.s, self.min_margin, keep_ties, self.blocks);
        for &Block {
            i,
            base,
            mut kept,
            forward,
        } in self.blocks.iter()
        {
            let (i, base) = (i as usize, base as usize);
            while kept != 0 {
                let b = kept.trailing_zeros() as usize;
                kept &= kept - 1;
                let j = base + b;
                let fw = (forward >> b) & 1 == 1;
                emit(if fw { i } else { j }, if fw { j } else { i });
            }
        }
    }

    fn all_pairs(&mut self, rng: &mut Rng, out: &mut Vec<(usize, usize)>) {
        let n = self.s.len();
        if self.ties != Ties::Random {
            self.each_kept(|c, r| out.push((c, r)));
            return;
        }
        for i in 0..n {
            for j in i + 1..n {
                if let Some(p) = self.orient(i, j, rng) {
                    out.push(p);
                }
            }
        }
    }

    fn pairs(&mut self, options: &PairOptions, rng: &mut Rng, out: &mut Vec<(usize, usize)>) {
        match options.strategy {
            Strategy::BestWorst => {
                let best = self.best(rng);
                let worst = self.worst(best, rng);
                if self.eligible(best, worst) {
                    out.push((best, worst));
                }
            }
            Strategy::BestRandom | Strategy::BestVsRest => {
                let best = self.best(rng);
                let n = self.s.len();
                if options.strategy == Strategy::BestRandom && options.k == 1 {
                    // One draw among the eligible. Short lists are compacted without
                    // branches (eligibility is unpredictable), longer ones counted.
                    let mut listed = [0u8; 64];
                    let m = if n <= listed.len() {
                        let mut m = 0;
                        for r in 0..n {
                            listed[m] = r as u8;
                            m += usize::from(self.eligible(best, r));
                        }
                        m
                    } else {
                        (0..n).filter(|&r| self.eligible(best, r)).count()
                    };
                    if m > 0 {
                        let j = rng.below(m as u64) as usize;
                        let r = if n <= listed.len() {
                            Some(listed[j] as usize)
                        } else {
                            (0..n).filter(|&r| self.eligible(best, r)).nth(j)
                        };
                        out.extend(r.map(|r| (best, r)));
                    }
                    return;
                }
                let start = out.len();
                for r in 0..n {
                    if self.eligible(best, r) {
                        out.push((best, r));
                    }
                }
                if options.strategy == Strategy::BestRandom {
                    keep_random(out, start, options.k, rng, false);
                }
            }
            Strategy::TopKBottomK => {
                let order = self.order(rng);
                let top = options.k.min(order.len() - 1);
                let bottom_start = order.len().saturating_sub(options.k).max(top);
                for &c in &order[..top] {
                    for &r in &order[bottom_start..] {
                        if self.eligible(c, r) {
                            out.push((c, r));
                        }
                    }
                }
            }
            Strategy::AllPairs => self.all_pairs(rng, out),
            Strategy::RandomPairs => {
                let start = out.len();
                self.all_pairs(rng, out);
                keep_random(out, start, options.k, rng, true);
            }
        }
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// Keep `k` of `out[start..]`, drawn without replacement: in the drawn order, or in
/// their original order when `in_order`.
fn keep_random(
    out: &mut Vec<(usize, usize)>,
    start: usize,
    k: usize,
    rng: &mut Rng,
    in_order: bool,
) {
    let n = out.len() - start;
    if n <= k {
        return;
    }
    let tail = &mut out[start..];
    // Partial Fisher-Yates: the first k slots become a uniform sample.
    for i in 0..k {
        let j = i + rng.below((n - i) as u64) as usize;
        tail.swap(i, j);
    }
    out.truncate(start + k);
    if in_order {
        out[start..].sort_unstable();
    }
}

/// Groups per parallel work item: large enough to amortise, small enough to balance.
const GROUPS_PER_TASK: usize = 2048;

/// Check every score against `range`; the error names the row and the position.
fn check_range(scores: &ListColumn, g: usize, s: &[f64], range: Option<(f64, f64)>) -> Result<()> {
    if let Some((lo, hi)) = range {
        if let Some(p) = s.iter().position(|&v| v < lo || v > hi) {
            return Err(Error::value(
                scores.name(),
                g,
                format!(
                    "score {} at position {p} is outside score_range [{lo}, {hi}]",
                    s[p]
                ),
            ));
        }
    }
    Ok(())
}

/// A task's buffers, reused from group to group.
#[derive(Default)]
struct Scratch {
    /// The group's scores, when they are not `float64` already.
    scores: Vec<f64>,
    /// Pairs before a draw or a cap.
    local: Vec<(usize, usize)>,
    blocks: Vec<Block>,
}

/// The pairs of group `g` appended to `chunk` (through the scratch's `local`); its
/// fate is added to the chunk's stats. Deterministic in `(options.seed, g)`, so a
/// second run gives the same pairs.
fn group_pairs<P: Position>(
    scores: &ListColumn,
    g: usize,
    options: &PairOptions,
    scratch: &mut Scratch,
    chunk: &mut Chunk<P>,
) -> Result<()> {
    let local = &mut scratch.local;
    local.clear();
    let stats = &mut chunk.stats;
    let s = scores.group(g, &mut scratch.scores)?;
    check_range(scores, g, s, options.score_range)?;
    stats.groups += 1;
    if s.len() < 2 {
        if options.short_groups == ShortGroups::Error {
            return Err(Error::value(
                scores.name(),
                g,
                format!(
                    "{} completion(s); a pair needs at least 2 \
                     (pass short_groups='skip' to skip such prompts)",
                    s.len()
                ),
            ));
        }
        stats.groups_skipped_short += 1;
        return Ok(());
    }
    let mut group = Group {
        s,
        min_margin: options.min_margin,
        ties: options.ties,
        blocks: &mut scratch.blocks,
    };
    let before = chunk.pairs.len();
    if options.strategy == Strategy::AllPairs
        && options.ties != Ties::Random
        && options.max_pairs_per_group.is_none()
    {
        // No draws and no cap: straight into the chunk (millions of pairs; a detour
        // through `local` would write and read each one once more).
        // Into the reserved room (`pair_chunks` reserved the most the group can make),
        // without a capacity check per pair.
        let room = chunk.pairs.spare_capacity_mut();
        let mut made = 0;
        group.each_kept(|c, r| {
            room[made].write((P::of(c), P::of(r)));
            made += 1;
        });
        // SAFETY: the first `made` slots of the room were just written.
        unsafe { chunk.pairs.set_len(before + made) };
    } else {
        let mut rng = Rng::for_stream(options.seed, options.first_group + g as u64);
        group.pairs(options, &mut rng, local);
        if let Some(cap) = options.max_pairs_per_group {
            let made = local.len();
            keep_random(local, 0, cap, &mut rng, true);
            stats.pairs_capped += made - local.len();
        }
        chunk
            .pairs
            .extend(local.iter().map(|&(c, r)| (P::of(c), P::of(r))));
    }
    let made = chunk.pairs.len() - before;
    if made == 0 {
        stats.groups_without_eligible_pair += 1;
    } else {
        stats.groups_with_pairs += 1;
        chunk.runs.push((g as u32, made));
    }
    Ok(())
}

fn check_options(options: &PairOptions) -> Result<()> {
    if options.min_margin.is_nan() || options.min_margin < 0.0 {
        return Err(Error::bad_argument(
            "min_margin",
            format!("min_margin must be >= 0, got {}", options.min_margin),
        ));
    }
    if options.k == 0 {
        return Err(Error::bad_argument("k", "k must be >= 1"));
    }
    if let Some((lo, hi)) = options.score_range {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(Error::bad_argument(
                "score_range",
                format!("score_range must be (low, high) with low <= high, got ({lo}, {hi})"),
            ));
        }
    }
    Ok(())
}

/// The most pairs `options` can make from a group of `n` completions.
fn max_pairs(options: &PairOptions, n: usize) -> usize {
    let all = n * n.saturating_sub(1) / 2;
    let most = match options.strategy {
        Strategy::BestWorst => 1,
        Strategy::BestRandom => options.k,
        Strategy::BestVsRest => n.saturating_sub(1),
        Strategy::TopKBottomK => options.k.saturating_mul(options.k),
        Strategy::AllPairs => all,
        Strategy::RandomPairs => options.k,
    };
    most.min(all)
        .min(options.max_pairs_per_group.unwrap_or(usize::MAX))
}

/// A completion's position within its group, stored as narrow as the largest group
/// allows: pairs are written once and read once, so their size is memory traffic.
pub(super) trait Position: Copy + Send + Sync {
    /// `i`, which the caller has checked fits (groups of at most 2^16 completions for
    /// `u16`).
    fn of(i: usize) -> Self;
    fn index(self) -> usize;
}

macro_rules! position {
    ($($t:ty),*) => {$(
        impl Position for $t {
            #[inline]
            fn of(i: usize) -> Self {
                i as $t
            }
            #[inline]
            fn index(self) -> usize {
                self as usize
            }
        }
    )*};
}
position!(u16, u32);

/// Whether a group of `completions` that made `pairs` pairs has each completion's text
/// looked up once (many pairs) rather than each pair's two (few pairs: one per group
/// for most strategies). Both the byte count and the copy decide by this.
pub(super) fn reads_every_completion(pairs: usize, completions: usize) -> bool {
    pairs * 2 >= completions
}

/// One parallel task's pairs: the groups that made any, in order, each with its
/// count (`runs`), and every pair's (chosen, rejected) positions in its group.
pub(super) struct Chunk<P> {
    pub(super) runs: Vec<(u32, usize)>,
    pub(super) pairs: Vec<(P, P)>,
    stats: PairStats,
    /// Text bytes of the pairs (prompt, chosen, rejected), when counted.
    pub(super) bytes: [usize; 3],
}

impl<P> Default for Chunk<P> {
    fn default() -> Self {
        Chunk {
            runs: Vec::new(),
            pairs: Vec::new(),
            stats: PairStats::default(),
            bytes: [0; 3],
        }
    }
}

/// Text lengths of a pair table's sources, for counting each task's text bytes.
pub(super) trait TextLengths: Sync {
    /// Group `g`'s prompt length (0 without a prompt).
    fn prompt(&self, g: usize) -> usize;
    /// The length of completion `i` of group `g`.
    fn completion(&self, g: usize, i: usize) -> usize;
}

/// The pairs of every group of `scores`, as parallel tasks of consecutive groups
/// (in group order), each with its pairs and its groups' fates.
///
/// With `lengths`, each task also counts its pairs' text bytes (prompt, chosen,
/// rejected) as it makes them, while the group's lengths are in cache.
pub(super) fn pair_chunks<P: Position, L: TextLengths>(
    scores: &ListColumn,
    options: &PairOptions,
    lengths: Option<&L>,
) -> Result<Vec<Chunk<P>>> {
    check_options(options)?;
    let n_groups = scores.len();
    let tasks: Vec<std::ops::Range<usize>> = (0..n_groups)
        .step_by(GROUPS_PER_TASK)
        .map(|start| start..(start + GROUPS_PER_TASK).min(n_groups))
        .collect();
    crate::progress::stage("groups");
    let chunks: Vec<Result<Chunk<P>>> = parallel::map_interruptible(tasks.len(), |t| {
        let range = &tasks[t];
        let (mut scratch, mut chunk) = (Scratch::default(), Chunk::default());
        // Reserve the most pairs the strategy can make: never reallocated, and
        // pages left unused are never touched.
        let bound: usize = range
            .clone()
            .map(|g| max_pairs(options, scores.group_len(g)))
            .sum();
        chunk.pairs.reserve(bound);
        let mut lens = Vec::new();
        for g in range.clone() {
            let before = chunk.pairs.len();
            group_pairs(scores, g, options, &mut scratch, &mut chunk)?;
            if let Some(lengths) = lengths {
                let made: &[(P, P)] = &chunk.pairs[before..];
                let (mut chosen, mut rejected) = (0, 0);
                let n = scores.group_len(g);
                if reads_every_completion(made.len(), n) {
                    lens.clear();
                    lens.extend((0..n).map(|i| lengths.completion(g, i)));
                    for &(c, r) in made {
                        chosen += lens[c.index()];
                        rejected += lens[r.index()];
                    }
                } else {
                    for &(c, r) in made {
                        chosen += lengths.completion(g, c.index());
                        rejected += lengths.completion(g, r.index());
                    }
                }
                let bytes = &mut chunk.bytes;
                bytes[0] += lengths.prompt(g) * made.len();
                bytes[1] += chosen;
                bytes[2] += rejected;
            }
        }
        Ok(chunk)
    })?;
    // The first failing task in group order names the first failing group it met.
    chunks.into_iter().collect()
}

pub(super) fn total_stats<P>(chunks: &[Chunk<P>]) -> PairStats {
    let mut total = PairStats::default();
    for add in chunks.iter().map(|c| &c.stats) {
        total.groups += add.groups;
        total.groups_with_pairs += add.groups_with_pairs;
        total.groups_skipped_short += add.groups_skipped_short;
        total.groups_without_eligible_pair += add.groups_without_eligible_pair;
        total.pairs_capped += add.pairs_capped;
    }
    total
}

#[cfg(test)]
mod tests {
    //! The all_pairs fast path writes into reserved room without bounds checks: these
    //! tests pin its count and contents against a brute-force enumeration, at the
    //! sizes where the mask blocks (64 partners) begin and end.
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, ListArray};
    use arrow_buffer::OffsetBuffer;
    use arrow_schema::{DataType, Field};

    use super::*;

    struct NoLengths;

    impl TextLengths for NoLengths {
        fn prompt(&self, _: usize) -> usize {
            0
        }
        fn completion(&self, _: usize, _: usize) -> usize {
            0
        }
    }

    fn lists(groups: &[Vec<f64>]) -> ArrayRef {
        let values: Vec<f64> = groups.iter().flatten().copied().collect();
        Arc::new(ListArray::new(
            Arc::new(Field::new("item", DataType::Float64, true)),
            OffsetBuffer::from_lengths(groups.iter().map(Vec::len)),
            Arc::new(Float64Array::from(values)),
            None,
        ))
    }

    /// Every (chosen, rejected) pair of each group, by the rules written out.
    fn brute_force(s: &[f64], min_margin: f64, ties: Ties) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                let (c, r) = if s[j] > s[i] { (j, i) } else { (i, j) };
                // A pair needs chosen − rejected >= min_margin; a kept tie has margin 0.
                let tie = s[i] == s[j];
                if (tie && ties == Ties::Drop) || s[c] - s[r] < min_margin {
                    continue;
                }
                out.push((c, r));
            }
        }
        out.sort_unstable();
        out
    }

    fn all_pairs<P: Position>(
        groups: &[Vec<f64>],
        min_margin: f64,
        ties: Ties,
    ) -> Vec<Vec<(usize, usize)>> {
        let array = lists(groups);
        let scores = ListColumn::new("scores", &array).unwrap();
        let options = PairOptions {
            strategy: Strategy::AllPairs,
            min_margin,
            ties,
            short_groups: ShortGroups::Skip,
            ..Default::default()
        };
        let chunks = pair_chunks::<P, NoLengths>(&scores, &options, None).unwrap();
        let mut out = vec![Vec::new(); groups.len()];
        for chunk in &chunks {
            let mut at = 0;
            for &(g, made) in &chunk.runs {
                let mut pairs: Vec<(usize, usize)> = chunk.pairs[at..at + made]
                    .iter()
                    .map(|&(c, r)| (c.index(), r.index()))
                    .collect();
                pairs.sort_unstable();
                out[g as usize] = pairs;
                at += made;
            }
            assert_eq!(
                at,
                chunk.pairs.len(),
                "runs cover the chunk's pairs exactly"
            );
        }
        out
    }

    #[test]
    fn distinct_scores_fill_the_reserved_room_exactly() {
        for n in [2usize, 3, 63, 64, 65, 127, 128, 129, 300] {
            let s: Vec<f64> = (0..n).map(|i| ((i * 37) % n) as f64).collect();
            let got = all_pairs::<u16>(std::slice::from_ref(&s), 0.0, Ties::Drop);
            assert_eq!(got[0].len(), n * (n - 1) / 2, "n = {n}");
            assert_eq!(got[0], brute_force(&s, 0.0, Ties::Drop), "n = {n}");
        }
    }

    #[test]
    fn equal_scores_make_no_pair_or_every_pair() {
        for n in [2usize, 64, 65, 200] {
            let s = vec![1.5; n];
            assert!(all_pairs::<u16>(std::slice::from_ref(&s), 0.0, Ties::Drop)[0].is_empty());
            let kept = all_pairs::<u32>(std::slice::from_ref(&s), 0.0, Ties::Keep);
            assert_eq!(kept[0], brute_force(&s, 0.0, Ties::Keep), "n = {n}");
            assert!(
                kept[0].iter().all(|&(c, r)| c < r),
                "the earlier one is chosen"
            );
        }
    }

    #[test]
    fn margins_and_ties_across_many_groups_match_brute_force() {
        // Sizes around the 64-partner blocks, scores from a few values so ties happen,
        // enough groups that several tasks run.
        let mut x = 7u64;
        let groups: Vec<Vec<f64>> = (0..3000)
            .map(|g| {
                let n = [0usize, 1, 2, 5, 63, 64, 65, 130][g % 8];
                (0..n)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((x >> 33) % 9) as f64 * 0.5
                    })
                    .collect()
            })
            .collect();
        for (min_margin, ties) in [(0.0, Ties::Drop), (1.0, Ties::Drop), (1.0, Ties::Keep)] {
            let small = all_pairs::<u16>(&groups, min_margin, ties);
            let wide = all_pairs::<u32>(&groups, min_margin, ties);
            for (g, s) in groups.iter().enumerate() {
                let want = if s.len() < 2 {
                    Vec::new()
                } else {
                    brute_force(s, min_margin, ties)
                };
                assert_eq!(small[g], want, "group {g}, margin {min_margin}, {ties:?}");
                assert_eq!(wide[g], want, "group {g}");
            }
        }
    }
}
