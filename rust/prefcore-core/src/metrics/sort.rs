//! The per-list ranking sort: positions by score descending, in expected linear time.
//!
//! Ranking lists are short (tens to thousands of items) and sorted millions of times,
//! so the sort is the hot spot of every metric. Items are first distributed into
//! buckets by interpolating their score between the list's extremes (two buckets per
//! item), then an insertion sort finishes the job; bucket order agrees with score
//! order because float subtraction and multiplication are monotonic. Lists that are
//! short, span an infinite range or bunch up in a bucket take the comparison sort.
//! Either way the result is the unique order: score descending, then position.

/// Lists at most this long use the comparison sort directly.
const SMALL: usize = 48;
/// Buckets per item in [`Sorter::rank_order`]: two leave fewer collisions for the
/// insertion sort to repair (measured faster than one or four).
const SPREAD: usize = 2;
/// A bucket fuller than this sends the list to the comparison sort.
const MAX_BUCKET: u32 = 24;

/// Reusable buffers of [`Sorter::rank_order`].
#[derive(Default)]
pub struct Sorter {
    buf: Vec<(u64, u32)>,
    counts: Vec<u32>,
    bucket_of: Vec<u32>,
    /// The scores in ranking order, as [`Sorter::rank_order`] left them.
    ranked_scores: Vec<f64>,
}

impl Sorter {
    /// The positions of `scores` in ranking order: score descending, equal scores by
    /// position (`-0.0` equals `0.0`). No score may be NaN.
    ///
    /// The same order as sorting `(score_desc_key, position)`, but the items moved are
    /// 4-byte positions and the comparisons plain float ones: the grouped metrics'
    /// hot path.
    pub fn rank_order(&mut self, scores: &[f64], order: &mut Vec<u32>) {
        order.clear();
        if scores.len() > SMALL && self.bucket_positions(scores, order) {
            // Equal scores share a bucket and were placed in position order; the
            // strict `<` keeps them so while it repairs the order within buckets.
            // The scores travel beside their positions: one load per comparison.
            let ranked = &mut self.ranked_scores;
            for i in 1..order.len() {
                let (x, sx) = (order[i], ranked[i]);
                let mut j = i;
                while j > 0 && ranked[j - 1] < sx {
                    order[j] = order[j - 1];
                    ranked[j] = ranked[j - 1];
                    j -= 1;
                }
                order[j] = x;
                ranked[j] = sx;
            }
            return;
        }
        self.buf.clear();
        self.buf.extend(
            scores
                .iter()
                .enumerate()
                .map(|(i, &x)| (crate::keys::score_desc_key(x), i as u32)),
        );
        self.buf.sort_unstable();
        order.extend(self.buf.iter().map(|&(_, i)| i));
        self.ranked_scores.clear();
        self.ranked_scores
            .extend(order.iter().map(|&i| scores[i as usize]));
    }

    /// The scores in the order of the last [`Sorter::rank_order`] (highest first).
    pub fn ranked_scores(&self) -> &[f64] {
        &self.ranked_scores
    }

    /// Positions (and their scores, into `ranked_scores`) distributed into `order` by
    /// bucket (score interpolated between the extremes, highest first), position
    /// order within a bucket; false where the range is not finite or a bucket is too
    /// full.
    fn bucket_positions(&mut self, scores: &[f64], order: &mut Vec<u32>) -> bool {
        let n = scores.len();
        let (lo, hi) = scores
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let range = hi - lo;
        let buckets = SPREAD * n;
        let scale = (buckets - 1) as f64 / range;
        if !(range.is_finite() && range > 0.0 && scale.is_finite()) {
            return false;
        }
        let last = (buckets - 1) as u32;
        self.bucket_of.clear();
        self.bucket_of.extend(
            scores
                .iter()
                .map(|&x| (((hi - x) * scale) as u32).min(last)),
        );
        self.counts.clear();
        self.counts.resize(buckets, 0);
        for &b in &self.bucket_of {
            self.counts[b as usize] += 1;
        }
        // A branch-free test (it vectorises) before the prefix sum, which then carries
        // only the running total.
        if self
            .counts
            .iter()
            .fold(false, |full, &c| full | (c > MAX_BUCKET))
        {
            return false;
        }
        // Counts become start offsets; the running total stays in a register (a
        // chain through memory would wait on store forwarding at every bucket).
        let mut start = 0u32;
        for c in self.counts.iter_mut() {
            let count = *c;
            *c = start;
            start += count;
        }
        order.resize(n, 0);
        self.ranked_scores.resize(n, 0.0);
        for (i, (&b, &x)) in self.bucket_of.iter().zip(scores).enumerate() {
            let at = &mut self.counts[b as usize];
            order[*at as usize] = i as u32;
            self.ranked_scores[*at as usize] = x;
            *at += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::score_desc_key;
    use proptest::prelude::*;

    fn check_rank_order(scores: &[f64]) {
        let mut keyed: Vec<(u64, u32)> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (score_desc_key(s), i as u32))
            .collect();
        keyed.sort_unstable();
        let expected: Vec<u32> = keyed.iter().map(|&(_, i)| i).collect();
        let mut order = vec![7; 3]; // stale content must not leak through
        let mut sorter = Sorter::default();
        sorter.rank_order(scores, &mut order);
        assert_eq!(order, expected, "{scores:?}");
        let ranked: Vec<f64> = order.iter().map(|&i| scores[i as usize]).collect();
        assert_eq!(sorter.ranked_scores(), &ranked[..]);
    }

    proptest! {
        #[test]
        fn rank_order_equals_the_keyed_sort(scores in prop::collection::vec(
            prop_oneof![-1e3f64..1e3, Just(0.0), Just(-0.0), Just(1.5), (0u8..4).prop_map(f64::from),
                        Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(1e300), Just(-1e300)],
            0..300)) {
            check_rank_order(&scores);
        }

        #[test]
        fn wide_and_infinite_ranges(scores in prop::collection::vec(
            prop_oneof![any::<f64>().prop_filter("not NaN", |x| !x.is_nan()),
                        Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MIN_POSITIVE)],
            0..200)) {
            check_rank_order(&scores);
        }
    }

    #[test]
    fn uniform_and_skewed_lists() {
        let uniform: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let skewed: Vec<f64> = (0..1000)
            .map(|i| if i % 10 == 0 { 1e9 } else { i as f64 * 1e-6 })
            .collect();
        check_rank_order(&uniform);
        check_rank_order(&skewed);
        let rounded: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64 / 100.0).collect();
        check_rank_order(&rounded);
    }
}
