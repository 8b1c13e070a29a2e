//! Chosen/rejected pairs from scored completions (one group of candidates per prompt).
//!
//! Every strategy works on one group's scores and emits `(chosen, rejected)` positions.
//! Randomness is drawn from a stream per group, so the output depends only on the
//! seed, never on the thread count.

use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, Int64Array, OffsetSizeTrait,
};
use arrow_buffer::NullBuffer;
use rayon::prelude::*;

use crate::columns::{list_parts, ListColumn};
use crate::error::{Error, Result};
use crate::gather::{gather_columns, StrSource, TextColumns, TextWriter};
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
    /// prompt's random draws depend on its index in the whole dataset.
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

struct Group<'a> {
    s: &'a [f64],
    min_margin: f64,
    ties: Ties,
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
        (self.s[c] - self.s[r] >= self.min_margin).then_some((c, r))
    }

    /// May `c` be chosen over `r` (in this orientation)? Non-short-circuit `&` and
    /// `|`: the answer is unpredictable, and `&&` compiles to branches here.
    #[inline]
    fn eligible(&self, c: usize, r: usize) -> bool {
        let (sc, sr) = (self.s[c], self.s[r]);
        let tie_ok = (sc == sr) & (self.ties != Ties::Drop);
        (c != r) & (sc - sr >= self.min_margin) & ((sc > sr) | tie_ok)
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

    /// Whether all_pairs without draws (`ties` drop or keep) keeps positions `i < j`,
    /// and whether `i` is then the chosen one (ties keep the earlier first).
    #[inline]
    fn kept(&self, i: usize, j: usize) -> (bool, bool) {
        let (si, sj) = (self.s[i], self.s[j]);
        let forward = si >= sj;
        let (sc, sr) = if forward { (si, sj) } else { (sj, si) };
        let keep = sc - sr >= self.min_margin && (sc > sr || self.ties == Ties::Keep);
        (keep, forward)
    }

    /// all_pairs without draws, 64 candidate partners at a time: `visit(i, base, kept,
    /// forward)` where bit `b` of `kept` keeps the pair of positions `i < base + b` and
    /// bit `b` of `forward` makes `i` the chosen one; in order of `(i, j)`. The masks
    /// come from branch-free compares (a pair's fate is a coin flip to a branch
    /// predictor), so a pair then costs one bit scan.
    #[inline]
    fn kept_masks(&self, mut visit: impl FnMut(usize, usize, u64, u64)) {
        let n = self.s.len();
        for i in 0..n {
            let first = (i + 1) / 64 * 64; // the block that holds `i + 1`
            for base in (first..n).step_by(64) {
                let (mut kept, mut forward) = (0u64, 0u64);
                for j in base..(base + 64).min(n) {
                    let (keep, fw) = self.kept(i, j);
                    kept |= u64::from(keep) << (j - base);
                    forward |= u64::from(fw) << (j - base);
                }
                if base <= i {
                    kept &= u64::MAX << (i - base) << 1; // only partners after `i`
                }
                visit(i, base, kept, forward);
            }
        }
    }

    /// all_pairs without draws: `emit(chosen, rejected)` for each kept pair, in the
    /// order of positions `(i, j)`, `i < j`.
    #[inline]
    fn each_kept(&self, mut emit: impl FnMut(usize, usize)) {
        self.kept_masks(|i, base, mut kept, forward| {
            while kept != 0 {
                let b = kept.trailing_zeros() as usize;
                kept &= kept - 1;
                let j = base + b;
                let fw = (forward >> b) & 1 == 1;
                emit(if fw { i } else { j }, if fw { j } else { i });
            }
        });
    }

    fn all_pairs(&self, rng: &mut Rng, out: &mut Vec<(usize, usize)>) {
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

    fn pairs(&self, options: &PairOptions, rng: &mut Rng, out: &mut Vec<(usize, usize)>) {
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

/// The pairs of group `g` appended to `chunk` (through `local`, a scratch buffer); its
/// fate is added to the chunk's stats. Deterministic in `(options.seed, g)`, so a second run gives the same pairs.
fn group_pairs(
    scores: &ListColumn,
    g: usize,
    options: &PairOptions,
    buf: &mut Vec<f64>,
    local: &mut Vec<(usize, usize)>,
    chunk: &mut Chunk,
) -> Result<()> {
    local.clear();
    let stats = &mut chunk.stats;
    let s = scores.group(g, buf)?;
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
    let group = Group {
        s,
        min_margin: options.min_margin,
        ties: options.ties,
    };
    let before = chunk.pairs.len();
    let id = g as u32;
    if options.strategy == Strategy::AllPairs
        && options.ties != Ties::Random
        && options.max_pairs_per_group.is_none()
    {
        // No draws and no cap: straight into the chunk (millions of pairs; a detour
        // through `local` would write and read each one once more).
        let pairs = &mut chunk.pairs;
        group.each_kept(|c, r| pairs.push((id, c as u32, r as u32)));
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
            .extend(local.iter().map(|&(c, r)| (id, c as u32, r as u32)));
    }
    if chunk.pairs.len() == before {
        stats.groups_without_eligible_pair += 1;
    } else {
        stats.groups_with_pairs += 1;
    }
    Ok(())
}

fn check_options(options: &PairOptions) -> Result<()> {
    if options.min_margin.is_nan() || options.min_margin < 0.0 {
        return Err(Error::argument(format!(
            "min_margin must be >= 0, got {}",
            options.min_margin
        )));
    }
    if options.k == 0 {
        return Err(Error::argument("k must be >= 1"));
    }
    if let Some((lo, hi)) = options.score_range {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(Error::argument(format!(
                "score_range must be (low, high) with low <= high, got ({lo}, {hi})"
            )));
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

/// One parallel task's pairs, as (group, chosen, rejected).
#[derive(Default)]
struct Chunk {
    pairs: Vec<(u32, u32, u32)>,
    stats: PairStats,
    /// Text bytes of the pairs (prompt, chosen, rejected), when counted.
    bytes: [usize; 3],
}

/// The pairs of every group of `scores`, as parallel tasks of consecutive groups
/// (in group order), each with its pairs and its groups' fates.
///
/// With `lengths`, each task also counts its pairs' text bytes (prompt, chosen,
/// rejected): `lengths(group, out)` gives the prompt's length and fills `out` with the
/// completions' lengths, read once per group.
fn pair_chunks<L>(
    scores: &ListColumn,
    options: &PairOptions,
    lengths: Option<&L>,
) -> Result<Vec<Chunk>>
where
    L: Fn(usize, &mut Vec<usize>) -> usize + Sync,
{
    check_options(options)?;
    let n_groups = scores.len();
    let tasks: Vec<std::ops::Range<usize>> = (0..n_groups)
        .step_by(GROUPS_PER_TASK)
        .map(|start| start..(start + GROUPS_PER_TASK).min(n_groups))
        .collect();
    let chunks: Vec<Result<Chunk>> = parallel::install(|| {
        tasks
            .par_iter()
            .map(|range| {
                let (mut buf, mut local, mut chunk) = (Vec::new(), Vec::new(), Chunk::default());
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
                    group_pairs(scores, g, options, &mut buf, &mut local, &mut chunk)?;
                    if let Some(lengths) = lengths {
                        let made = &chunk.pairs[before..];
                        let prompt = lengths(g, &mut lens);
                        let (mut chosen, mut rejected) = (0, 0);
                        for &(_, c, r) in made {
                            chosen += lens[c as usize];
                            rejected += lens[r as usize];
                        }
                        let bytes = &mut chunk.bytes;
                        bytes[0] += prompt * made.len();
                        bytes[1] += chosen;
                        bytes[2] += rejected;
                    }
                }
                Ok(chunk)
            })
            .collect()
    });
    // The first failing task in group order names the first failing group it met.
    chunks.into_iter().collect()
}

fn total_stats(chunks: &[Chunk]) -> PairStats {
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

/// The numeric output columns, one row per pair.
struct PairColumns {
    group: Vec<i64>,
    chosen: Vec<i64>,
    rejected: Vec<i64>,
    score_chosen: Vec<f64>,
    score_rejected: Vec<f64>,
    margin: Vec<f64>,
}

/// What the numeric pass also writes for the text columns, while each pair's group
/// and positions are in registers and its group's data in cache.
enum TextPrep<'a> {
    /// Nothing: the texts are gathered afterwards (values that are not strings).
    Gather,
    /// Dictionary keys: the prompt's row, and each completion's index in the flat
    /// completion values (`offsets` are the completion list's).
    Keys(&'a [usize]),
    /// The texts themselves, into each stretch's [`TextWriter`]s (prompt when given,
    /// chosen, rejected).
    Copy {
        prompt: Option<StrSource<'a>>,
        values: StrSource<'a>,
        offsets: &'a [usize],
    },
}

/// Uninitialised room for `n` values at the end of `v` (which has that capacity).
fn room<T>(v: &mut Vec<T>, n: usize) -> &mut [MaybeUninit<T>] {
    &mut v.spare_capacity_mut()[..n]
}

/// One task's stretch of every output column.
struct Stretch<'a, O> {
    chunk: &'a Chunk,
    numbers: [&'a mut [MaybeUninit<i64>]; 3],
    scores: [&'a mut [MaybeUninit<f64>]; 3],
    /// Empty unless keys are written.
    keys: [&'a mut [MaybeUninit<i32>]; 3],
    /// Empty unless texts are copied.
    texts: Vec<TextWriter<'a, O>>,
}

/// Split `n` slots off the front of each column.
fn take_front<'a, T, const C: usize>(
    columns: &mut [&'a mut [MaybeUninit<T>]; C],
    n: usize,
) -> [&'a mut [MaybeUninit<T>]; C] {
    std::array::from_fn(|i| {
        let (front, rest) = std::mem::take(&mut columns[i]).split_at_mut(n);
        columns[i] = rest;
        front
    })
}

impl<O: OffsetSizeTrait> Stretch<'_, O> {
    /// Fill this stretch with its chunk's pairs and what `prep` asks for.
    fn fill(self, scores: &ListColumn, prep: &TextPrep) {
        let Stretch {
            chunk,
            numbers: [g, c, r],
            scores: [sc, sr, m],
            keys: [kp, kc, kr],
            texts,
        } = self;
        let mut texts = texts.into_iter();
        let (mut tp, mut tc, mut tr) = match prep {
            TextPrep::Copy { prompt, .. } => (
                prompt.and_then(|_| texts.next()),
                texts.next(),
                texts.next(),
            ),
            _ => (None, None, None),
        };
        let (mut buf, mut last, mut s) = (Vec::new(), u32::MAX, &[][..]);
        for (k, &(group, chosen, rejected)) in chunk.pairs.iter().enumerate() {
            if group != last {
                s = scores.values_of(group as usize, &mut buf);
                last = group;
            }
            let (high, low) = (s[chosen as usize], s[rejected as usize]);
            g[k].write(group as i64);
            c[k].write(chosen as i64);
            r[k].write(rejected as i64);
            sc[k].write(high);
            sr[k].write(low);
            m[k].write(high - low);
            match prep {
                TextPrep::Gather => {}
                TextPrep::Keys(offsets) => {
                    // In range: `pair_table` checked that every flat index fits an i32.
                    let base = offsets[group as usize];
                    kp[k].write(group as i32);
                    kc[k].write((base + chosen as usize) as i32);
                    kr[k].write((base + rejected as usize) as i32);
                }
                TextPrep::Copy {
                    prompt,
                    values,
                    offsets,
                } => {
                    let base = offsets[group as usize];
                    if let (Some(w), Some(p)) = (&mut tp, prompt) {
                        w.push(k, p.bytes(group as usize));
                    }
                    if let (Some(wc), Some(wr)) = (&mut tc, &mut tr) {
                        wc.push(k, values.bytes(base + chosen as usize));
                        wr.push(k, values.bytes(base + rejected as usize));
                    }
                }
            }
        }
        for w in [tp, tc, tr].iter().flatten() {
            w.check_full("a task's pairs");
        }
    }
}

impl PairColumns {
    /// Each chunk fills its own stretch of every column, straight into reserved memory
    /// (no zeroing pass over hundreds of megabytes first), and what `prep` asks for:
    /// dictionary keys (returned), or texts into `texts` (one set of writers per
    /// chunk).
    fn write<O: OffsetSizeTrait>(
        chunks: &[Chunk],
        scores: &ListColumn,
        prep: TextPrep,
        texts: Vec<Vec<TextWriter<O>>>,
    ) -> (Self, [Vec<i32>; 3]) {
        let total: usize = chunks.iter().map(|c| c.pairs.len()).sum();
        let with_keys = matches!(prep, TextPrep::Keys(_));
        let mut out = PairColumns {
            group: Vec::with_capacity(total),
            chosen: Vec::with_capacity(total),
            rejected: Vec::with_capacity(total),
            score_chosen: Vec::with_capacity(total),
            score_rejected: Vec::with_capacity(total),
            margin: Vec::with_capacity(total),
        };
        let key_rows = if with_keys { total } else { 0 };
        let mut keys: [Vec<i32>; 3] = std::array::from_fn(|_| Vec::with_capacity(key_rows));
        let mut parts = Vec::with_capacity(chunks.len());
        {
            let mut numbers = [
                room(&mut out.group, total),
                room(&mut out.chosen, total),
                room(&mut out.rejected, total),
            ];
            let mut floats = [
                room(&mut out.score_chosen, total),
                room(&mut out.score_rejected, total),
                room(&mut out.margin, total),
            ];
            let [kp, kc, kr] = &mut keys;
            let mut key_room = [room(kp, key_rows), room(kc, key_rows), room(kr, key_rows)];
            let mut texts = texts.into_iter();
            for chunk in chunks {
                let n = chunk.pairs.len();
                parts.push(Stretch {
                    chunk,
                    numbers: take_front(&mut numbers, n),
                    scores: take_front(&mut floats, n),
                    keys: take_front(&mut key_room, if with_keys { n } else { 0 }),
                    texts: texts.next().unwrap_or_default(),
                });
            }
        }
        parallel::install(|| {
            parts
                .into_par_iter()
                .for_each(|stretch| stretch.fill(scores, &prep))
        });
        // SAFETY: the chunks' stretches tile `0..total` (`0..key_rows` for the keys)
        // and `fill` wrote every slot of each.
        unsafe {
            out.group.set_len(total);
            out.chosen.set_len(total);
            out.rejected.set_len(total);
            out.score_chosen.set_len(total);
            out.score_rejected.set_len(total);
            out.margin.set_len(total);
            for k in &mut keys {
                k.set_len(key_rows);
            }
        }
        (out, keys)
    }
}

/// `keys` into `values` as a dictionary column. Every key must index `values`.
fn dictionary(keys: Vec<i32>, values: &ArrayRef) -> ArrayRef {
    debug_assert!(keys.iter().all(|&k| (k as usize) < values.len()));
    let keys = Int32Array::from(keys);
    // SAFETY: the keys are prompt rows and flat completion positions of existing
    // groups, so each indexes `values` (checking them again costs a pass over
    // hundreds of megabytes).
    Arc::new(unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys, values.clone()) })
}

/// The pairs as named columns: `prompt` (when given), `chosen`, `rejected` (values of
/// the completions list, any type; copied or dictionary-encoded as `options.texts`
/// says), scores, margin and positions.
pub fn pair_table(
    prompt: Option<(&str, &ArrayRef)>,
    completions: (&str, &ArrayRef),
    scores: &ListColumn,
    options: &PairOptions,
) -> Result<(Vec<(String, ArrayRef)>, PairStats)> {
    let (name, column) = completions;
    let expected = "a list of completions (strings or conversations) per row";
    let (offsets, values) = list_parts(name, column, expected)?;
    if offsets.len() != scores.offsets().len() {
        return Err(Error::argument(format!(
            "'{name}' has {} rows but '{}' has {}",
            offsets.len() - 1,
            scores.name(),
            scores.len()
        )));
    }
    for g in 0..scores.len() {
        let (n, m) = (offsets[g + 1] - offsets[g], scores.group_len(g));
        if n != m {
            return Err(Error::value(
                scores.name(),
                g,
                format!("{m} scores for {n} completions in '{name}'"),
            ));
        }
    }
    if options.texts == TextLayout::Dictionary && values.len().max(scores.len()) > i32::MAX as usize
    {
        return Err(Error::argument(format!(
            "texts='dictionary' indexes prompts and completions with int32 keys, but \
             '{name}' holds {} completions: use texts='copy'",
            values.len()
        )));
    }
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    let prompt_source = prompt.map(|(_, p)| StrSource::of(p));
    let p = match (options.texts, StrSource::of(&values), prompt_source) {
        (TextLayout::Dictionary, _, _) => {
            let chunks = pair_chunks(scores, options, None::<&NoBytes>)?;
            let prep = TextPrep::Keys(&offsets);
            let (p, [kp, kc, kr]) = PairColumns::write::<i32>(&chunks, scores, prep, Vec::new());
            if let Some((prompt_name, prompt)) = prompt {
                columns.push((prompt_name.to_string(), dictionary(kp, prompt)));
            }
            columns.push(("chosen".to_string(), dictionary(kc, &values)));
            columns.push(("rejected".to_string(), dictionary(kr, &values)));
            (p, total_stats(&chunks))
        }
        // Strings (and a string prompt, if any): copied in the numeric pass.
        (TextLayout::Copy, Some(values_source), None | Some(Some(_))) => {
            let prompt_source = prompt_source.flatten();
            let source = TextSources {
                prompt: prompt_source,
                values: values_source,
                offsets: &offsets,
            };
            let (p, texts, stats) = source.copy(scores, options)?;
            let mut texts = texts.into_iter();
            if let Some((prompt_name, _)) = prompt {
                let t = texts.next().expect("a prompt column");
                columns.push((prompt_name.to_string(), t));
            }
            columns.push(("chosen".to_string(), texts.next().expect("chosen")));
            columns.push(("rejected".to_string(), texts.next().expect("rejected")));
            (p, stats)
        }
        // Conversations or other values: gathered after the numeric pass.
        (TextLayout::Copy, _, _) => {
            let chunks = pair_chunks(scores, options, None::<&NoBytes>)?;
            let stats = total_stats(&chunks);
            let (p, _) = PairColumns::write::<i32>(&chunks, scores, TextPrep::Gather, Vec::new());
            drop(chunks);
            let [pc, c, r] = gather_columns(
                [prompt.map_or(&values, |(_, p)| p), &values, &values],
                p.group.len(),
                |i| {
                    let g = p.group[i] as usize;
                    let base = offsets[g];
                    [
                        g,
                        base + p.chosen[i] as usize,
                        base + p.rejected[i] as usize,
                    ]
                },
            )?;
            if let Some((prompt_name, _)) = prompt {
                columns.push((prompt_name.to_string(), pc));
            }
            columns.push(("chosen".to_string(), c));
            columns.push(("rejected".to_string(), r));
            (p, stats)
        }
    };
    let (p, stats) = p;
    let float = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let int = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    columns.extend([
        ("score_chosen".to_string(), float(p.score_chosen)),
        ("score_rejected".to_string(), float(p.score_rejected)),
        ("margin".to_string(), float(p.margin)),
        ("group_id".to_string(), int(p.group)),
        ("chosen_index".to_string(), int(p.chosen)),
        ("rejected_index".to_string(), int(p.rejected)),
    ]);
    Ok((columns, stats))
}

/// The lengths closure type of a [`pair_chunks`] call that counts no text bytes.
type NoBytes = fn(usize, &mut Vec<usize>) -> usize;

/// Where copied pair texts come from.
struct TextSources<'a> {
    prompt: Option<StrSource<'a>>,
    values: StrSource<'a>,
    /// The completion list's offsets into `values`.
    offsets: &'a [usize],
}

impl TextSources<'_> {
    /// Group `g`'s prompt length (0 without one); its completions' lengths into `out`.
    fn lengths(&self, g: usize, out: &mut Vec<usize>) -> usize {
        out.clear();
        out.extend((self.offsets[g]..self.offsets[g + 1]).map(|i| self.values.span(i).len()));
        self.prompt.map_or(0, |p| p.span(g).len())
    }

    /// The numeric columns and the copied texts (prompt when given, chosen,
    /// rejected): each task counts its pairs' bytes as it makes them, so the numeric
    /// pass writes the texts too, without a pass of its own.
    fn copy(
        &self,
        scores: &ListColumn,
        options: &PairOptions,
    ) -> Result<(PairColumns, Vec<ArrayRef>, PairStats)> {
        let lengths = |g: usize, out: &mut Vec<usize>| self.lengths(g, out);
        let chunks = pair_chunks(scores, options, Some(&lengths))?;
        let stats = total_stats(&chunks);
        let first = usize::from(self.prompt.is_none()); // the prompt column, if any
        let totals: Vec<usize> = (first..3)
            .map(|c| chunks.iter().map(|k| k.bytes[c]).sum())
            .collect();
        let (p, texts) = if totals.iter().all(|&t| t <= i32::MAX as usize) {
            self.write::<i32>(&chunks, scores, &totals)
        } else {
            self.write::<i64>(&chunks, scores, &totals)
        };
        Ok((p, texts, stats))
    }

    fn write<O: OffsetSizeTrait>(
        &self,
        chunks: &[Chunk],
        scores: &ListColumn,
        totals: &[usize],
    ) -> (PairColumns, Vec<ArrayRef>) {
        let first = 3 - totals.len();
        let rows: Vec<usize> = chunks.iter().map(|k| k.pairs.len()).collect();
        let bytes: Vec<Vec<usize>> = chunks.iter().map(|k| k.bytes[first..].to_vec()).collect();
        let len: usize = rows.iter().sum();
        let mut texts = TextColumns::<O>::new(len, totals);
        let prep = TextPrep::Copy {
            prompt: self.prompt,
            values: self.values,
            offsets: self.offsets,
        };
        let (p, _) = PairColumns::write(chunks, scores, prep, texts.writers(&rows, &bytes));
        // Nulls of the sources carry over, row by row.
        let (group, chosen, rejected) = (&p.group, &p.chosen, &p.rejected);
        let valid = |source: StrSource, row: &dyn Fn(usize) -> usize| {
            source
                .nulls()
                .map(|n| NullBuffer::from_iter((0..len).map(|i| n.is_valid(row(i)))))
        };
        let flat = |i: usize, at: &[i64]| self.offsets[group[i] as usize] + at[i] as usize;
        let mut nulls = Vec::new();
        if let Some(prompt) = self.prompt {
            nulls.push(valid(prompt, &|i| group[i] as usize));
        }
        nulls.push(valid(self.values, &|i| flat(i, chosen)));
        nulls.push(valid(self.values, &|i| flat(i, rejected)));
        // SAFETY: the chunks' writers tile the rows and, by the counts made with the
        // pairs (each writer checked full), the bytes; each copied whole strings of
        // string arrays.
        let arrays = unsafe { texts.finish(nulls) };
        (p, arrays)
    }
}
