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
    /// Each item's place among the earlier items of its bucket.
    within: Vec<u32>,
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
        crate::simd::by_level!(
            "avx512f,avx512dq,avx512vl,avx512bw",
            (sorter: &mut Sorter = self, scores: &[f64] = scores, order: &mut Vec<u32> = order)
                -> (),
            sorter.rank_lanes(scores, |i| i as u32, order)
        )
    }

    /// `values` (one per score) in the ranking order of [`Sorter::rank_order`]: what
    /// the grouped metrics need of a ranking (the labels), moved through the sort
    /// itself instead of gathered by position afterwards.
    pub fn rank_values(&mut self, scores: &[f64], values: &[f64], out: &mut Vec<f64>) {
        debug_assert_eq!(scores.len(), values.len());
        crate::simd::by_level!(
            "avx512f,avx512dq,avx512vl,avx512bw",
            (
                sorter: &mut Sorter = self,
                scores: &[f64] = scores,
                values: &[f64] = values,
                out: &mut Vec<f64> = out
            ) -> (),
            sorter.rank_lanes(scores, |i| values[i], out)
        )
    }

    /// The items `payload(i)` of `scores` in ranking order, into `order`.
    #[inline(always)]
    fn rank_lanes<P: Copy>(
        &mut self,
        scores: &[f64],
        payload: impl Fn(usize) -> P,
        order: &mut Vec<P>,
    ) {
        order.clear();
        if scores.len() > SMALL && self.bucket_positions(scores, &payload, order) {
            repair_inversions(order, &mut self.ranked_scores);
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
        order.extend(self.buf.iter().map(|&(_, i)| payload(i as usize)));
        self.ranked_scores.clear();
        self.ranked_scores
            .extend(self.buf.iter().map(|&(_, i)| scores[i as usize]));
    }

    /// The scores in the order of the last [`Sorter::rank_order`] (highest first).
    pub fn ranked_scores(&self) -> &[f64] {
        &self.ranked_scores
    }

    /// Items `payload(i)` (and their scores, into `ranked_scores`) distributed into
    /// `order` by bucket (score interpolated between the extremes, highest first),
    /// position order within a bucket; false where the range is not finite or a bucket is too
    /// full.
    fn bucket_positions<P: Copy>(
        &mut self,
        scores: &[f64],
        payload: impl Fn(usize) -> P,
        order: &mut Vec<P>,
    ) -> bool {
        let n = scores.len();
        let (lo, hi) = extremes(scores);
        let range = hi - lo;
        let buckets = SPREAD * n;
        let scale = (buckets - 1) as f64 / range;
        if !(range.is_finite() && range > 0.0 && scale.is_finite()) || buckets > i32::MAX as usize {
            return false;
        }
        let last = (buckets - 1) as f64;
        self.bucket_of.clear();
        self.bucket_of.extend(scores.iter().map(|&x| {
            // `hi - x` is >= 0 and at most the (finite) range, so `at` lies in
            // [0, last] once clamped from above: a plain conversion (it vectorises,
            // where the saturating `as` does not).
            let at = (hi - x) * scale;
            let at = if at > last { last } else { at };
            // SAFETY: `at` is finite and within [0, buckets - 1], which fits an i32.
            unsafe { at.to_int_unchecked::<i32>() as u32 }
        }));
        self.counts.clear();
        self.counts.resize(buckets, 0);
        // Each item's place within its bucket comes out of the count, so that the
        // scatter below only reads the bucket starts (no read-modify-write chain).
        self.within.clear();
        let counts = &mut self.counts[..];
        self.within.extend(self.bucket_of.iter().map(|&b| {
            // SAFETY: every bucket number is at most `last` = `buckets - 1` (above).
            let count = unsafe { counts.get_unchecked_mut(b as usize) };
            *count += 1;
            *count - 1
        }));
        // A branch-free test (it vectorises) before the prefix sum, which then carries
        // only the running total.
        if self
            .counts
            .iter()
            .fold(false, |full, &c| full | (c > MAX_BUCKET))
        {
            return false;
        }
        exclusive_prefix_sum(&mut self.counts);
        if n == 0 {
            return true;
        }
        order.resize(n, payload(0));
        self.ranked_scores.resize(n, 0.0);
        let places = self.bucket_of.iter().zip(&self.within);
        let (order, ranked) = (&mut order[..n], &mut self.ranked_scores[..n]);
        for (i, ((&b, &w), &x)) in places.zip(scores).enumerate() {
            // SAFETY: `b < buckets` (above), and a bucket's start plus an item's place
            // within it is that item's distinct slot among the `n`: `at < n`.
            unsafe {
                let at = (*self.counts.get_unchecked(b as usize) + w) as usize;
                *order.get_unchecked_mut(at) = payload(i);
                *ranked.get_unchecked_mut(at) = x;
            }
        }
        true
    }
}

/// The smallest and largest score. Four running extremes in fixed lanes let the
/// compiler use packed min/max instructions (a float fold over one accumulator stays
/// scalar, as `f64::min` must order NaN).
fn extremes(scores: &[f64]) -> (f64, f64) {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let mut chunks = scores.chunks_exact(4);
    for c in &mut chunks {
        for k in 0..4 {
            lo[k] = if c[k] < lo[k] { c[k] } else { lo[k] };
            hi[k] = if c[k] > hi[k] { c[k] } else { hi[k] };
        }
    }
    for &x in chunks.remainder() {
        lo[0] = lo[0].min(x);
        hi[0] = hi[0].max(x);
    }
    let lo = lo.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    (lo, hi)
}

/// Finish the bucket sort: an insertion sort that visits only the positions found out
/// of order, so its branches are taken about as rarely as they are mispredicted.
///
/// Equal scores share a bucket and were placed in position order; the strict `<`
/// keeps them so. The scores travel beside their positions: one load per comparison.
fn repair_inversions<P: Copy>(order: &mut [P], ranked: &mut [f64]) {
    let n = order.len();
    let mut done = 0usize;
    for start in (1..n).step_by(64) {
        // Bit b: position `start + b` scores higher than the one before it. The
        // fixed-size compare vectorises into a mask.
        let end = (start + 64).min(n);
        let mut inverted = 0u64;
        for (b, pair) in ranked[start - 1..end].windows(2).enumerate() {
            inverted |= u64::from(pair[0] < pair[1]) << b;
        }
        while inverted != 0 {
            let i = start + inverted.trailing_zeros() as usize;
            inverted &= inverted - 1;
            if i <= done {
                continue;
            }
            // Moving `i` left changes what sits at `i`, so `i + 1` may now be out of
            // order; no later position is affected.
            let mut at = i;
            loop {
                insert(order, ranked, at);
                if at + 1 == n || ranked[at] >= ranked[at + 1] {
                    break;
                }
                at += 1;
            }
            done = at;
        }
    }
}

/// One insertion-sort step: move item `i` left past the lower scores before it.
#[inline]
fn insert<P: Copy>(order: &mut [P], ranked: &mut [f64], i: usize) {
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

/// Counts become start offsets: each entry is replaced by the sum of those before it.
fn exclusive_prefix_sum(counts: &mut [u32]) {
    #[cfg(not(target_arch = "x86_64"))]
    let mut start = 0u32;
    #[cfg(target_arch = "x86_64")]
    let (counts, mut start) = {
        // Four counts per SSE2 register (part of x86-64 itself): a scan within the
        // register in two shifted adds, plus the running total as a broadcast; the
        // only chain from one register to the next is that one add.
        use std::arch::x86_64::*;
        let mut chunks = counts.chunks_exact_mut(4);
        // SAFETY: SSE2 is part of every x86-64 CPU; each `c` is four u32s (16 bytes),
        // read and written unaligned.
        unsafe {
            let mut carry = _mm_setzero_si128();
            for c in &mut chunks {
                let ptr = c.as_mut_ptr().cast::<__m128i>();
                let x = _mm_loadu_si128(ptr);
                let mut scan = _mm_add_epi32(x, _mm_slli_si128::<4>(x));
                scan = _mm_add_epi32(scan, _mm_slli_si128::<8>(scan));
                _mm_storeu_si128(ptr, _mm_add_epi32(_mm_sub_epi32(scan, x), carry));
                carry = _mm_add_epi32(carry, _mm_shuffle_epi32::<0xFF>(scan));
            }
            let total = _mm_cvtsi128_si32(carry) as u32;
            (chunks.into_remainder(), total)
        }
    };
    // The running total stays in a register (a chain through memory would wait on
    // store forwarding at every count).
    for c in counts.iter_mut() {
        let count = *c;
        *c = start;
        start += count;
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
        crate::simd::at_each_level(|level| {
            let mut order = vec![7; 3]; // stale content must not leak through
            let mut sorter = Sorter::default();
            sorter.rank_order(scores, &mut order);
            assert_eq!(order, expected, "{level:?} {scores:?}");
            let ranked: Vec<f64> = order.iter().map(|&i| scores[i as usize]).collect();
            assert_eq!(sorter.ranked_scores(), &ranked[..], "{level:?}");
            // Values carried through the sort land where their positions do.
            let values: Vec<f64> = (0..scores.len()).map(|i| i as f64 * 0.5 - 3.0).collect();
            let mut carried = vec![9.0; 2];
            sorter.rank_values(scores, &values, &mut carried);
            let want: Vec<f64> = expected.iter().map(|&i| values[i as usize]).collect();
            assert_eq!(carried, want, "{level:?}");
            assert_eq!(sorter.ranked_scores(), &ranked[..], "{level:?}");
        });
    }

    #[test]
    fn prefix_sums_of_every_length() {
        for n in 0..40u32 {
            let counts: Vec<u32> = (0..n).map(|i| (i * 7 + 3) % 5).collect();
            let mut got = counts.clone();
            exclusive_prefix_sum(&mut got);
            let mut total = 0;
            for (i, &c) in counts.iter().enumerate() {
                assert_eq!(got[i], total, "n {n} at {i}");
                total += c;
            }
        }
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
