//! Which pairs of a group `all_pairs` keeps (without draws), as bit masks: for each
//! completion `i` and each block of 64 later partners, bit `b` says whether the pair
//! `(i, base + b)` is kept and whether `i` is its chosen side. A pair's fate is a coin
//! flip to a branch predictor, so the masks come from branch-free compares; AVX2
//! makes four of them at once and AVX-512 eight, at the [`crate::simd::level`] in
//! force.
//!
//! With `d = |s_i - s_j|`, a pair is kept when `d >= min_margin` and the scores
//! differ (or ties are kept), and `i` is chosen when `s_i >= s_j` (ties keep the
//! earlier completion first). Equal scores are `d = 0` apart, infinities included
//! (where the subtraction gives NaN). Scores hold no NaN (checked when the group is
//! read).

/// The masks of one completion's block of partners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Block {
    /// The completion.
    pub i: u32,
    /// The first partner of the block.
    pub base: u32,
    /// Bit `b`: the pair `(i, base + b)` is kept; only partners after `i` are set.
    pub kept: u64,
    /// Bit `b`: `i` is the chosen side of `(i, base + b)`.
    pub forward: u64,
}

/// Every completion's blocks of later partners, in order of `(i, base)`, into `out`
/// (cleared first).
pub(super) fn kept_blocks(s: &[f64], min_margin: f64, keep_ties: bool, out: &mut Vec<Block>) {
    out.clear();
    #[cfg(target_arch = "x86_64")]
    match crate::simd::level() {
        // SAFETY: the level in force never exceeds what the CPU runs.
        crate::simd::Level::Avx512 => unsafe { avx512::kept_blocks(s, min_margin, keep_ties, out) },
        // SAFETY: as above.
        crate::simd::Level::Avx2 => unsafe { avx2::kept_blocks(s, min_margin, keep_ties, out) },
        crate::simd::Level::Baseline => kept_blocks_portable(s, min_margin, keep_ties, out),
    }
    #[cfg(not(target_arch = "x86_64"))]
    kept_blocks_portable(s, min_margin, keep_ties, out);
}

/// Whether the pair `(i, j)` with scores `si`, `sj` is kept, and whether `i` is its
/// chosen side: the rule every variant computes.
#[inline(always)]
fn pair_bits(si: f64, sj: f64, min_margin: f64, keep_ties: bool) -> (bool, bool) {
    // `&` and `|`, not `&&` and `||`: no branches on unpredictable bits.
    let tie = si == sj;
    let far = ((si - sj).abs() >= min_margin) | (tie & (min_margin <= 0.0));
    (far & (!tie | keep_ties), si >= sj)
}

/// Every completion's blocks of later partners, in order of `(i, base)`, into `out`:
/// `masks(i, base, end)` gives the block's kept and forward bits for partners
/// `base..end` (at most 64); the bits of partners at or before `i` are cleared here.
/// Inlined into each variant, so that `masks` is compiled with its instructions.
#[inline(always)]
fn each_block(
    n: usize,
    out: &mut Vec<Block>,
    mut masks: impl FnMut(usize, usize, usize) -> (u64, u64),
) {
    for i in 0..n {
        // The blocks holding a partner after `i`.
        for base in ((i + 1) / 64 * 64..n).step_by(64) {
            let (kept, forward) = masks(i, base, (base + 64).min(n));
            let kept = match base <= i {
                true => kept & (u64::MAX << (i - base) << 1),
                false => kept,
            };
            out.push(Block {
                i: i as u32,
                base: base as u32,
                kept,
                forward,
            });
        }
    }
}

/// Partners `from..end` of `si` by the scalar rule, as bits from `from - base` up.
#[inline(always)]
fn scalar_bits(
    s: &[f64],
    si: f64,
    base: usize,
    from: usize,
    end: usize,
    rule: (f64, bool),
) -> (u64, u64) {
    let (mut kept, mut forward) = (0u64, 0u64);
    for (b, &sj) in s[from..end].iter().enumerate() {
        let (keep, fw) = pair_bits(si, sj, rule.0, rule.1);
        kept |= u64::from(keep) << (from - base + b);
        forward |= u64::from(fw) << (from - base + b);
    }
    (kept, forward)
}

fn kept_blocks_portable(s: &[f64], min_margin: f64, keep_ties: bool, out: &mut Vec<Block>) {
    each_block(s.len(), out, |i, base, end| {
        scalar_bits(s, s[i], base, base, end, (min_margin, keep_ties))
    });
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{each_block, Block};
    use std::arch::x86_64::*;

    /// [`super::kept_blocks_portable`], eight partners per compare.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn kept_blocks(
        s: &[f64],
        min_margin: f64,
        keep_ties: bool,
        out: &mut Vec<Block>,
    ) {
        let margin = _mm512_set1_pd(min_margin);
        // Ties are 0 apart (two equal infinities subtract to NaN): far enough at margin 0.
        let ties_far: __mmask8 = if min_margin <= 0.0 { 0xFF } else { 0 };
        each_block(s.len(), out, |i, base, end| {
            let si = _mm512_set1_pd(s[i]);
            let (mut kept, mut forward) = (0u64, 0u64);
            for j in (base..end).step_by(8) {
                let lanes = (0xFFu32 >> (8 - (end - j).min(8))) as __mmask8;
                // SAFETY: the mask loads only lanes `j..end`, inside `s`.
                let sj = unsafe { _mm512_maskz_loadu_pd(lanes, s.as_ptr().add(j)) };
                let distance = _mm512_abs_pd(_mm512_sub_pd(si, sj));
                let differ = _mm512_mask_cmp_pd_mask::<_CMP_NEQ_UQ>(lanes, si, sj);
                let far = _mm512_mask_cmp_pd_mask::<_CMP_GE_OQ>(lanes, distance, margin)
                    | (lanes & !differ & ties_far);
                let keep = if keep_ties { far } else { far & differ };
                let fw = _mm512_mask_cmp_pd_mask::<_CMP_GE_OQ>(lanes, si, sj);
                kept |= u64::from(keep) << (j - base);
                forward |= u64::from(fw) << (j - base);
            }
            (kept, forward)
        });
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{each_block, scalar_bits, Block};
    use std::arch::x86_64::*;

    /// [`super::kept_blocks_portable`], four partners per compare; a block's last
    /// partners (fewer than four) take the scalar rule.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn kept_blocks(
        s: &[f64],
        min_margin: f64,
        keep_ties: bool,
        out: &mut Vec<Block>,
    ) {
        let margin = _mm256_set1_pd(min_margin);
        let sign = _mm256_set1_pd(-0.0);
        // Ties are 0 apart (two equal infinities subtract to NaN): far enough at margin 0.
        let ties_far: u64 = if min_margin <= 0.0 { 0xF } else { 0 };
        let bits = |v: __m256d| _mm256_movemask_pd(v) as u64;
        each_block(s.len(), out, |i, base, end| {
            let si = _mm256_set1_pd(s[i]);
            let (mut kept, mut forward) = (0u64, 0u64);
            let mut j = base;
            while j + 4 <= end {
                // SAFETY: lanes `j..j + 4` are inside `s` (`j + 4 <= end <= n`).
                let sj = unsafe { _mm256_loadu_pd(s.as_ptr().add(j)) };
                let distance = _mm256_andnot_pd(sign, _mm256_sub_pd(si, sj));
                let differ = bits(_mm256_cmp_pd::<_CMP_NEQ_UQ>(si, sj));
                let far =
                    bits(_mm256_cmp_pd::<_CMP_GE_OQ>(distance, margin)) | (!differ & ties_far);
                let keep = if keep_ties { far } else { far & differ };
                kept |= keep << (j - base);
                forward |= bits(_mm256_cmp_pd::<_CMP_GE_OQ>(si, sj)) << (j - base);
                j += 4;
            }
            let (tail_kept, tail_forward) =
                scalar_bits(s, s[i], base, j, end, (min_margin, keep_ties));
            (kept | tail_kept, forward | tail_forward)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Rng;

    /// The pairs the blocks keep, as (chosen, rejected).
    fn pairs_of(blocks: &[Block]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for b in blocks {
            for bit in 0..64 {
                if b.kept >> bit & 1 == 1 {
                    let (i, j) = (b.i as usize, b.base as usize + bit);
                    out.push(if b.forward >> bit & 1 == 1 {
                        (i, j)
                    } else {
                        (j, i)
                    });
                }
            }
        }
        out
    }

    #[test]
    fn blocks_keep_the_pairs_the_rules_keep() {
        let mut rng = Rng::for_stream(7, 0);
        for n in [0, 1, 2, 7, 8, 9, 63, 64, 65, 130] {
            // Few distinct values (many ties), both zeros, and infinities.
            let pool = [0.0, -0.0, 1.0, 1.5, 3.0, f64::INFINITY, f64::NEG_INFINITY];
            let s: Vec<f64> = (0..n).map(|_| pool[rng.below(7) as usize]).collect();
            for (margin, keep_ties) in [(0.0, false), (0.0, true), (1.0, false), (1.0, true)] {
                let mut want = Vec::new();
                for i in 0..n {
                    for j in i + 1..n {
                        let (c, r) = if s[i] >= s[j] { (i, j) } else { (j, i) };
                        let tie = s[c] == s[r]; // equal infinities too: 0 apart
                        let d = if tie { 0.0 } else { s[c] - s[r] };
                        if d >= margin && (s[c] > s[r] || keep_ties) {
                            want.push((c, r));
                        }
                    }
                }
                for (level, blocks) in crate::simd::at_each_level(|_| {
                    let mut blocks = Vec::new();
                    kept_blocks(&s, margin, keep_ties, &mut blocks);
                    blocks
                }) {
                    assert_eq!(
                        pairs_of(&blocks),
                        want,
                        "{level:?} n {n} margin {margin} {keep_ties}"
                    );
                }
            }
        }
    }
}
