//! Scoring one ranked list: the formulas, shared by TREC tables and grouped lists.

use std::sync::OnceLock;

use super::spec::{Measure, MetricSpec};

/// Relevance given to a retrieved item that has no judgement (TREC runs only).
/// It counts as non-relevant everywhere; bpref and infAP skip it.
pub const UNJUDGED: f64 = -1.0;

/// Relevance given to a retrieved item whose qrels grade is negative: in the pool
/// but not judged (trec_eval's `-1`). Like [`UNJUDGED`] everywhere but in infAP,
/// which counts it among the items ranked above a relevant one.
pub const POOLED_UNJUDGED: f64 = -2.0;

fn is_unjudged(r: f64) -> bool {
    r == UNJUDGED || r == POOLED_UNJUDGED
}

/// One ranked list with the facts about its judgements that the metrics need.
pub struct RankedList<'a> {
    /// Relevance of the retrieved items in rank order ([`UNJUDGED`] when unknown).
    /// At least as long as the deepest cutoff asked for, or the whole list.
    pub ranked: &'a [f64],
    /// With `ties="average"`: exclusive end of each group of tied scores over `ranked`.
    pub tie_ends: Option<&'a [u32]>,
    /// Number of items retrieved (the full list, even when `ranked` is a prefix).
    pub num_ret: usize,
    /// All judged relevance values in descending order (the ideal ranking), at least
    /// as long as the deepest nDCG cutoff asked for.
    pub ideal: &'a [f64],
    /// Judged items with relevance >= `level`.
    pub num_rel: usize,
    /// Judged items with relevance < `level` (bpref's denominator).
    pub num_judged_nonrel: usize,
    /// Binary relevance threshold (not applied to nDCG/DCG gains).
    pub level: f64,
    /// Relevant items in the whole retrieved list, when known beforehand (a grouped
    /// list ranks every judged item, so all `num_rel` of them): spares counting the
    /// full list for cutoffs past its end.
    pub relevant_retrieved: Option<usize>,
}

/// Positions with a precomputed discount.
const DISCOUNTS: usize = 1024;

/// 1 / log2(i + 2), the DCG discount of 0-based position `i` (a table lookup for the
/// first positions; the table holds exactly the values the formula gives).
#[inline]
fn discount(i: usize) -> f64 {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| (0..DISCOUNTS).map(discount_formula).collect());
    match table.get(i) {
        Some(&d) => d,
        None => discount_formula(i),
    }
}

fn discount_formula(i: usize) -> f64 {
    1.0 / ((i + 2) as f64).log2()
}

#[inline]
fn linear_gain(r: f64) -> f64 {
    if r > 0.0 {
        r
    } else {
        0.0
    }
}

#[inline]
fn exp_gain(r: f64) -> f64 {
    if r > 0.0 {
        r.exp2() - 1.0
    } else {
        0.0
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// `terms[j] = (hits + j + 1) / ranks[j]`: the precision at each relevant rank. The
/// divisions are independent; with AVX-512 eight go at once instead of two.
fn precisions(terms: &mut [f64], ranks: &[i32], hits: i32) {
    crate::simd::by_level!(
        "avx512f",
        (terms: &mut [f64] = terms, ranks: &[i32] = ranks, hits: i32 = hits) -> (),
        for (j, (t, &rank)) in terms.iter_mut().zip(ranks).enumerate() {
            *t = f64::from(hits + j as i32 + 1) / f64::from(rank);
        }
    )
}

impl RankedList<'_> {
    /// Whether a ranked item counts as relevant for the binary metrics.
    #[inline]
    fn is_relevant(&self, r: f64) -> bool {
        // Grades are never negative, and the unjudged marks are: one comparison with
        // a bound the compiler hoists out of the loops keeps them out.
        r >= self.level.max(0.0)
    }

    /// [`RankedList::is_relevant`] as the 0/1 value the sums use.
    fn relevant(&self, r: f64) -> f64 {
        f64::from(u8::from(self.is_relevant(r)))
    }

    /// Σ over the top `k` positions of `value(rel) * weight(position)`. Under tie
    /// averaging each position holds the mean value of its tie group, which is the
    /// expectation over all orders of the tied items.
    fn top_sum(&self, k: usize, value: impl Fn(f64) -> f64, weight: impl Fn(usize) -> f64) -> f64 {
        let n = k.min(self.ranked.len());
        match self.tie_ends {
            None => (0..n).map(|i| value(self.ranked[i]) * weight(i)).sum(),
            Some(ends) => {
                let mut total = 0.0;
                let mut start = 0usize;
                for &end in ends {
                    if start >= n {
                        break;
                    }
                    let end = end as usize;
                    let mean = self.ranked[start..end]
                        .iter()
                        .map(|&r| value(r))
                        .sum::<f64>()
                        / (end - start) as f64;
                    let weights: f64 = (start..end.min(n)).map(&weight).sum();
                    total += mean * weights;
                    start = end;
                }
                total
            }
        }
    }

    fn relevant_in_top(&self, k: usize) -> f64 {
        if let (Some(all), true) = (self.relevant_retrieved, k >= self.num_ret) {
            return all as f64;
        }
        if self.tie_ends.is_none() {
            // A count (it vectorises) rather than a float sum: the same whole number.
            let top = &self.ranked[..k.min(self.ranked.len())];
            return top.iter().filter(|&&r| self.is_relevant(r)).count() as f64;
        }
        self.top_sum(k, |r| self.relevant(r), |_| 1.0)
    }

    fn dcg(&self, k: usize, gain: fn(f64) -> f64) -> f64 {
        self.top_sum(k, gain, discount)
    }

    fn ideal_dcg(&self, k: usize, gain: fn(f64) -> f64) -> f64 {
        self.ideal
            .iter()
            .take(k)
            .enumerate()
            .map(|(i, &r)| gain(r) * discount(i))
            .sum()
    }

    fn average_precision(&self, k: usize) -> f64 {
        // trec_eval adds hits / rank at each relevant rank, in rank order. Here the
        // relevant ranks are collected without branches (relevance is a coin flip to
        // the branch predictor), the divisions run side by side (they vectorise), and
        // only the additions stay in sequence: the same sum, bit for bit.
        const CHUNK: usize = 64;
        let top = &self.ranked[..k.min(self.ranked.len())];
        let (mut ranks, mut terms) = ([0i32; CHUNK], [0.0f64; CHUNK]);
        let mut hits = 0i32;
        let mut sum = 0.0;
        for (c, chunk) in top.chunks(CHUNK).enumerate() {
            let base = (c * CHUNK) as i32 + 1;
            let mut found = 0usize;
            for (i, &r) in chunk.iter().enumerate() {
                // `found <= i < CHUNK`: the modulo only spares a bounds check.
                ranks[found % CHUNK] = base + i as i32;
                found += usize::from(self.is_relevant(r));
            }
            precisions(&mut terms[..found], &ranks, hits);
            for &t in &terms[..found] {
                sum += t;
            }
            hits += found as i32;
        }
        ratio(sum, self.num_rel as f64)
    }

    fn reciprocal_rank(&self, k: usize) -> f64 {
        self.ranked
            .iter()
            .take(k)
            .position(|&r| self.is_relevant(r))
            .map_or(0.0, |i| 1.0 / (i + 1) as f64)
    }

    /// trec_eval's bpref: each relevant item loses the fraction of (at most R)
    /// judged non-relevant items ranked above it; unjudged items are skipped.
    fn bpref(&self) -> f64 {
        let r = self.num_rel;
        let denom = r.min(self.num_judged_nonrel) as f64;
        let mut nonrel_above = 0usize;
        let mut sum = 0.0;
        for &rel in self.ranked {
            if is_unjudged(rel) {
                continue;
            }
            if rel >= self.level {
                sum += if nonrel_above > 0 {
                    1.0 - nonrel_above.min(r) as f64 / denom
                } else {
                    1.0
                };
            } else {
                nonrel_above += 1;
            }
        }
        ratio(sum, r as f64)
    }

    /// trec_eval's interpolated precision at recall `level` (in hundredths): the best
    /// precision at or below the rank of the k-th relevant item, where k is the level
    /// as a count of relevant items rounded as trec_eval rounds it, floor(level · R +
    /// 0.9); 0 where fewer than k relevant items are retrieved.
    fn interpolated_precision(&self, level: usize) -> f64 {
        if self.num_rel == 0 {
            return 0.0;
        }
        let needed = ((level as f64 / 100.0) * self.num_rel as f64 + 0.9) as usize;
        let (mut hits, mut best) = (0usize, 0.0f64);
        for (i, &r) in self.ranked.iter().enumerate() {
            if self.is_relevant(r) {
                hits += 1;
                // Precision peaks at relevant ranks, so these are the only candidates.
                if hits >= needed.max(1) {
                    best = best.max(hits as f64 / (i + 1) as f64);
                }
            }
        }
        best
    }

    /// trec_eval's infAP (Yilmaz and Aslam's inferred AP, for judgements that sample
    /// the pool): items outside the pool are skipped; at each judged relevant item
    /// the precision above it is estimated from the judged items there, with pooled
    /// but unjudged items counted as ranked above but not as judged.
    fn inferred_average_precision(&self) -> f64 {
        const EPSILON: f64 = 1e-5; // trec_eval's INFAP_EPSILON
        let (mut rel, mut nonrel, mut pooled_unjudged) = (0usize, 0usize, 0usize);
        let mut sum = 0.0;
        for (i, &r) in self.ranked.iter().enumerate() {
            if r == UNJUDGED {
                continue;
            }
            if r == POOLED_UNJUDGED {
                pooled_unjudged += 1;
                continue;
            }
            if r < self.level {
                nonrel += 1;
                continue;
            }
            if i == 0 {
                sum += 1.0;
            } else {
                let at = i as f64;
                let pooled_above = (rel + nonrel + pooled_unjudged) as f64;
                let judged_precision =
                    (rel as f64 + EPSILON) / ((rel + nonrel) as f64 + 2.0 * EPSILON);
                sum +=
                    1.0 / (at + 1.0) + (at / (at + 1.0)) * (pooled_above / at) * judged_precision;
            }
            rel += 1;
        }
        ratio(sum, self.num_rel as f64)
    }

    /// The value of one metric on this list.
    pub fn score(&self, spec: &MetricSpec) -> f64 {
        let all = usize::MAX;
        let k = spec.cutoff.unwrap_or(all);
        let num_rel = self.num_rel as f64;
        match spec.measure {
            Measure::Ndcg => ratio(self.dcg(k, linear_gain), self.ideal_dcg(k, linear_gain)),
            Measure::NdcgBurges => ratio(self.dcg(k, exp_gain), self.ideal_dcg(k, exp_gain)),
            Measure::Dcg => self.dcg(k, linear_gain),
            Measure::Map => self.average_precision(k),
            Measure::Mrr => self.reciprocal_rank(k),
            Measure::Precision => self.relevant_in_top(k) / k as f64,
            Measure::Recall => ratio(self.relevant_in_top(k), num_rel),
            // 2PR/(P+R) simplifies to 2·hits/(k+R), which is linear in hits.
            Measure::F1 => ratio(2.0 * self.relevant_in_top(k), (k + self.num_rel) as f64),
            Measure::RPrecision => ratio(self.relevant_in_top(self.num_rel), num_rel),
            Measure::HitRate => {
                if self.ranked.iter().take(k).any(|&r| self.is_relevant(r)) {
                    1.0
                } else {
                    0.0
                }
            }
            Measure::Bpref => self.bpref(),
            Measure::NumRet => self.num_ret as f64,
            Measure::NumRel => num_rel,
            Measure::NumRelRet => self.relevant_in_top(all),
            Measure::IprecAtRecall => self.interpolated_precision(k),
            Measure::GmMap => self.average_precision(all),
            Measure::InfAp => self.inferred_average_precision(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::spec::parse_metric;

    fn list<'a>(ranked: &'a [f64], ideal: &'a [f64], num_rel: usize) -> RankedList<'a> {
        RankedList {
            ranked,
            tie_ends: None,
            num_ret: ranked.len(),
            ideal,
            num_rel,
            num_judged_nonrel: ideal.len() - num_rel,
            level: 1.0,
            relevant_retrieved: None,
        }
    }

    fn m(name: &str, l: &RankedList) -> f64 {
        l.score(&parse_metric(name).unwrap())
    }

    #[test]
    fn inferred_ap_skips_unpooled_items_and_counts_pooled_unjudged_ones_above() {
        const E: f64 = 1e-5;
        // rel, unpooled, pooled-unjudged, nonrel, rel; 3 relevant in the qrels.
        let ranked = [1.0, UNJUDGED, POOLED_UNJUDGED, 0.0, 2.0];
        let l = list(&ranked, &[2.0, 1.0, 1.0, 0.0], 3);
        // First relevant at rank 1: 1. Second at index 4: 1/5 + (4/5)·(3/4)·(1+ε)/(2+2ε),
        // where 3 = the relevant, the pooled-unjudged and the non-relevant item above.
        let second = 1.0 / 5.0 + (4.0 / 5.0) * (3.0 / 4.0) * ((1.0 + E) / (2.0 + 2.0 * E));
        assert!((m("infAP", &l) - (1.0 + second) / 3.0).abs() < 1e-15);
        // Everything judged: within the smoothing of AP.
        let judged = list(&[1.0, 0.0, 1.0, 0.0], &[1.0, 1.0, 0.0, 0.0], 2);
        assert!((m("infap", &judged) - m("map", &judged)).abs() < 1e-5);
        assert_eq!(
            m("bpref", &l),
            m("bpref", &list(&[1.0, 0.0, 2.0], &[2.0, 1.0, 1.0, 0.0], 3))
        );
    }

    #[test]
    fn interpolated_precision_is_the_best_precision_at_or_past_the_recall_level() {
        // Relevant at ranks 1 and 3 of 3 relevant: (P, R) = (1, 1/3) and (2/3, 2/3).
        // Level l asks for floor(3l + 0.9) relevant items (trec_eval's rounding).
        let l = list(&[1.0, 0.0, 1.0, 0.0, 0.0], &[1.0, 1.0, 1.0], 3);
        assert_eq!(m("iprec_at_recall_0.00", &l), 1.0); // 0 items: the best of all
        assert_eq!(m("iprec_at_recall@0.3", &l), 1.0); // 1 item
        assert_eq!(m("iprec_at_recall_0.40", &l), 2.0 / 3.0); // floor(2.1) = 2 items
                                                              // 0.7 · 3 + 0.9 is 2.9999999999999996 in doubles, in trec_eval too: 2 items.
        assert_eq!(m("iprec_at_recall_0.70", &l), 2.0 / 3.0);
        assert_eq!(m("iprec_at_recall_0.80", &l), 0.0); // 3 items: only 2 retrieved
        assert_eq!(m("iprec_at_recall_1.00", &l), 0.0);
        assert!(parse_metric("iprec_at_recall_1.5").is_err());
        assert!(parse_metric("iprec_at_recall_0.505").is_err());
        // Per query gm_map is the AP: (1 + 2/3) / 3.
        assert_eq!(m("gm_map", &l), (1.0 + 2.0 / 3.0) / 3.0);
    }

    #[test]
    fn hand_computed_values() {
        // ranking: rel, non, rel, non; one more relevant item was never retrieved.
        let ranked = [1.0, 0.0, 1.0, 0.0];
        let ideal = [1.0, 1.0, 1.0, 0.0, 0.0];
        let l = list(&ranked, &ideal, 3);
        assert!((m("map", &l) - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m("mrr", &l), 1.0);
        assert_eq!(m("P.2", &l), 0.5);
        assert_eq!(m("P.10", &l), 0.2); // divides by k even past the end
        assert!((m("recall@4", &l) - 2.0 / 3.0).abs() < 1e-12);
        assert!((m("Rprec", &l) - 2.0 / 3.0).abs() < 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        assert!((m("ndcg", &l) - dcg / idcg).abs() < 1e-12);
        assert!((m("f1@4", &l) - 2.0 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)).abs() < 1e-12);
        // bpref: first rel has no nonrel above (1), second has one of min(3, 2)=2 (1/2).
        assert!((m("bpref", &l) - 1.5 / 3.0).abs() < 1e-12);
        assert_eq!(m("num_rel_ret", &l), 2.0);
    }

    #[test]
    fn average_precision_is_trec_evals_sum_bit_for_bit() {
        // trec_eval's loop, written out: hits / rank added at each relevant rank.
        let mut x: u64 = 7;
        for len in [0usize, 1, 5, 63, 64, 65, 130, 1000] {
            let ranked: Vec<f64> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    [0.0, 1.0, 2.0, UNJUDGED][(x >> 61) as usize % 4]
                })
                .collect();
            let num_rel = ranked.iter().filter(|&&r| r >= 1.0).count() + 3;
            let ideal = vec![1.0; num_rel];
            for k in [1, 10, 64, 100, usize::MAX] {
                let (mut hits, mut sum) = (0u64, 0.0f64);
                for (i, &r) in ranked.iter().take(k).enumerate() {
                    if r >= 1.0 {
                        hits += 1;
                        sum += hits as f64 / (i + 1) as f64;
                    }
                }
                let want = sum / num_rel as f64;
                for (level, got) in crate::simd::at_each_level(|_| {
                    list(&ranked, &ideal, num_rel).average_precision(k)
                }) {
                    assert_eq!(got.to_bits(), want.to_bits(), "{level:?} len {len} k {k}");
                }
            }
        }
    }

    #[test]
    fn tie_average_is_the_expectation_over_orders() {
        // Two tied items, one relevant: P@1 is 1/2, DCG@1 is 1/2.
        let ranked = [1.0, 0.0];
        let ends = [2u32];
        let ideal = [1.0, 0.0];
        let mut l = list(&ranked, &ideal, 1);
        l.tie_ends = Some(&ends);
        assert_eq!(m("P@1", &l), 0.5);
        assert_eq!(m("dcg@1", &l), 0.5);
    }

    #[test]
    fn a_known_relevant_count_gives_the_counted_values_past_the_end() {
        // A grouped list ranks every judged item: its relevant count is num_rel.
        let ranked = [2.0, 0.0, 1.0, 0.0, 3.0];
        let ideal = [3.0, 2.0, 1.0, 0.0, 0.0];
        let counted = list(&ranked, &ideal, 3);
        let known = RankedList {
            relevant_retrieved: Some(3),
            ..list(&ranked, &ideal, 3)
        };
        for name in [
            "recall@5",
            "recall@100",
            "f1@9",
            "num_rel_ret",
            "P@3",
            "recall@2",
        ] {
            assert_eq!(m(name, &known), m(name, &counted), "{name}");
        }
        assert_eq!(m("num_rel_ret", &known), 3.0);
    }

    #[test]
    fn empty_judgements_give_zero_not_nan() {
        let l = list(&[0.0, 0.0], &[0.0, 0.0], 0);
        for name in ["ndcg", "map", "recall@5", "Rprec", "bpref", "f1@3"] {
            assert_eq!(m(name, &l), 0.0, "{name}");
        }
    }
}
