//! The per-list ranking sort: score keys with a tie-break, in expected linear time.
//!
//! Ranking lists are short (tens to thousands of items) and sorted millions of times,
//! so the sort is the hot spot of every metric. Items are first distributed into
//! buckets by interpolating their score between the list's extremes (one bucket per
//! item on average), then an insertion sort finishes the job; bucket order agrees with
//! score order because float subtraction and multiplication are monotonic. Lists that
//! are short, span an infinite range or bunch up in a bucket take the comparison sort.
//! Either way the result is the unique order defined by the comparator.

use std::cmp::Ordering;

use crate::keys::score_of_desc_key;

/// Lists at most this long use the comparison sort directly.
const SMALL: usize = 48;
/// A bucket fuller than this sends the list to the comparison sort.
const MAX_BUCKET: u32 = 24;

/// Reusable buffers of [`sort_ranking`].
#[derive(Default)]
pub struct Sorter {
    buf: Vec<(u64, u32)>,
    counts: Vec<u32>,
    bucket_of: Vec<u32>,
}

impl Sorter {
    /// Sort `items` (score key from `score_desc_key`, payload) ascending by key, ties
    /// ordered by `tie(payload_a, payload_b)`. `tie` must be a total order on payloads.
    pub fn sort(&mut self, items: &mut Vec<(u64, u32)>, tie: impl Fn(u32, u32) -> Ordering) {
        let cmp = |a: &(u64, u32), b: &(u64, u32)| a.0.cmp(&b.0).then_with(|| tie(a.1, b.1));
        let n = items.len();
        if n <= SMALL || !self.bucket(items) {
            items.sort_unstable_by(cmp);
            return;
        }
        // Buckets leave only local disorder: insertion sort is linear here.
        let v = &mut self.buf;
        for i in 1..n {
            let mut j = i;
            let x = v[i];
            while j > 0 && cmp(&v[j - 1], &x) == Ordering::Greater {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = x;
        }
        std::mem::swap(items, &mut self.buf);
    }

    /// Distribute `items` into `self.buf` in bucket order; false if not worth it.
    fn bucket(&mut self, items: &[(u64, u32)]) -> bool {
        let n = items.len();
        let (kmin, kmax) = items.iter().fold((u64::MAX, 0u64), |(lo, hi), it| {
            (lo.min(it.0), hi.max(it.0))
        });
        let (top, bottom) = (score_of_desc_key(kmin), score_of_desc_key(kmax));
        let range = top - bottom;
        if !(range.is_finite() && range > 0.0) {
            return false;
        }
        let scale = (n - 1) as f64 / range;
        if !scale.is_finite() {
            return false;
        }
        let last = (n - 1) as u32;
        self.bucket_of.clear();
        self.bucket_of.extend(
            items
                .iter()
                .map(|it| (((top - score_of_desc_key(it.0)) * scale) as u32).min(last)),
        );
        self.counts.clear();
        self.counts.resize(n + 1, 0);
        for &b in &self.bucket_of {
            self.counts[b as usize + 1] += 1;
        }
        if self.counts.iter().any(|&c| c > MAX_BUCKET) {
            return false;
        }
        for b in 0..n {
            self.counts[b + 1] += self.counts[b];
        }
        // Every slot is overwritten below: only grow, never re-zero.
        self.buf.resize(n.max(self.buf.len()), (0, 0));
        self.buf.truncate(n);
        for (&it, &b) in items.iter().zip(&self.bucket_of) {
            let at = &mut self.counts[b as usize];
            self.buf[*at as usize] = it;
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

    fn check(scores: &[f64]) {
        let mut items: Vec<(u64, u32)> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (score_desc_key(s), i as u32))
            .collect();
        let mut expected = items.clone();
        expected.sort_unstable();
        Sorter::default().sort(&mut items, |a, b| a.cmp(&b));
        assert_eq!(items, expected);
    }

    proptest! {
        #[test]
        fn equals_the_comparison_sort(scores in prop::collection::vec(
            prop_oneof![-1e3f64..1e3, Just(0.0), Just(-0.0), Just(1.5), (0u8..4).prop_map(f64::from)],
            0..300)) {
            check(&scores);
        }

        #[test]
        fn wide_and_infinite_ranges(scores in prop::collection::vec(
            prop_oneof![any::<f64>().prop_filter("not NaN", |x| !x.is_nan()),
                        Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MIN_POSITIVE)],
            0..200)) {
            check(&scores);
        }
    }

    #[test]
    fn uniform_and_skewed_lists() {
        let uniform: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        check(&uniform);
        let skewed: Vec<f64> = (0..1000)
            .map(|i| if i % 10 == 0 { 1e9 } else { i as f64 * 1e-6 })
            .collect();
        check(&skewed);
    }
}
