//! Reward-model metrics on paired scores: accuracy (RewardBench semantics) and
//! calibration of P(chosen ≻ rejected) = σ(scale · (r_chosen − r_rejected)).

use crate::error::{Error, Result};
use crate::numeric::sigmoid;

/// What a tie (chosen score == rejected score) counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiePolicy {
    /// Not strictly greater, so not correct (RewardBench).
    Wrong,
    /// Half a correct answer.
    Half,
    /// Left out of the counts (reported as `ties`).
    Drop,
}

crate::parse_option!(TiePolicy, "ties", {
    "wrong" => TiePolicy::Wrong,
    "half" => TiePolicy::Half,
    "drop" => TiePolicy::Drop,
});

/// Counts of one subset (or of everything).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccuracyCounts {
    /// Pairs counted (ties excluded under `TiePolicy::Drop`).
    pub count: usize,
    /// Correct answers (ties add 0.5 under `TiePolicy::Half`).
    pub correct: f64,
    /// Pairs with equal scores.
    pub ties: usize,
}

impl AccuracyCounts {
    pub fn accuracy(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.correct / self.count as f64
        }
    }
}

fn check_finite(column: &str, values: &[f64]) -> Result<()> {
    match crate::columns::first_nan(values) {
        Some(row) => Err(Error::value(column, row, "NaN score")),
        None => Ok(()),
    }
}

/// More bins than this hold one probability each even for millions of pairs: a
/// larger count is a mistake, not a finer table.
pub const MAX_BINS: usize = 1_000_000;

/// Accuracy counts per subset. `subset_of[i]` is the subset index of pair `i`
/// (all zeros when there are no subsets); `num_subsets` sizes the output.
pub fn pairwise_accuracy(
    chosen: &[f64],
    rejected: &[f64],
    subset_of: &[u32],
    num_subsets: usize,
    ties: TiePolicy,
) -> Result<Vec<AccuracyCounts>> {
    if chosen.len() != rejected.len() || chosen.len() != subset_of.len() {
        return Err(Error::argument(format!(
            "chosen ({}), rejected ({}) and subsets ({}) differ in length",
            chosen.len(),
            rejected.len(),
            subset_of.len()
        )));
    }
    check_finite("chosen", chosen)?;
    check_finite("rejected", rejected)?;
    let mut out = vec![AccuracyCounts::default(); num_subsets];
    for ((&c, &r), &s) in chosen.iter().zip(rejected).zip(subset_of) {
        let counts = &mut out[s as usize];
        if c == r {
            counts.ties += 1;
            match ties {
                TiePolicy::Wrong => counts.count += 1,
                TiePolicy::Half => {
                    counts.count += 1;
                    counts.correct += 0.5;
                }
                TiePolicy::Drop => {}
            }
        } else {
            counts.count += 1;
            if c > r {
                counts.correct += 1.0;
            }
        }
    }
    Ok(out)
}

/// One bin of the reliability table.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean predicted probability in the bin (NaN when empty).
    pub mean_predicted: f64,
    /// Fraction of outcomes that were wins (NaN when empty).
    pub fraction_positive: f64,
}

/// Calibration of the reward margin read as a win probability.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Expected calibration error: Σ_b (n_b / N) |win rate_b − mean predicted_b|.
    pub ece: f64,
    /// Largest gap over non-empty bins.
    pub mce: f64,
    /// Mean squared error of the predicted probability of the chosen response.
    pub brier: f64,
    pub bins: Vec<ReliabilityBin>,
}

/// Each pair is scored in both orientations, (p, won) and (1 − p, lost), so the
/// reliability table covers [0, 1] and is symmetric; a model that always prefers the
/// chosen side by a huge margin is then overconfident only if it is ever wrong.
pub fn calibration(
    chosen: &[f64],
    rejected: &[f64],
    n_bins: usize,
    scale: f64,
) -> Result<Calibration> {
    if n_bins == 0 || n_bins > MAX_BINS {
        return Err(Error::bad_argument(
            "n_bins",
            format!("n_bins must be in [1, {MAX_BINS}], not {n_bins}"),
        ));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::bad_argument(
            "scale",
            format!("scale must be a positive number, not {scale}"),
        ));
    }
    if chosen.len() != rejected.len() {
        return Err(Error::argument(format!(
            "chosen ({}) and rejected ({}) differ in length",
            chosen.len(),
            rejected.len()
        )));
    }
    if chosen.is_empty() {
        return Err(Error::argument("calibration needs at least one pair"));
    }
    // An infinite score has no win probability against another infinite one.
    for (column, values) in [("chosen", chosen), ("rejected", rejected)] {
        if let Some(row) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::value(column, row, "NaN or infinite score"));
        }
    }
    let mut count = crate::alloc::filled(n_bins, 0usize, "n_bins")?;
    let mut sum_p = crate::alloc::filled(n_bins, 0.0f64, "n_bins")?;
    let mut sum_y = crate::alloc::filled(n_bins, 0.0f64, "n_bins")?;
    let mut brier = 0.0;
    let mut add = |p: f64, y: f64| {
        let b = ((p * n_bins as f64) as usize).min(n_bins - 1);
        count[b] += 1;
        sum_p[b] += p;
        sum_y[b] += y;
    };
    for (&c, &r) in chosen.iter().zip(rejected) {
        let p = sigmoid(scale * (c - r));
        brier += (1.0 - p) * (1.0 - p);
        add(p, 1.0);
        add(1.0 - p, 0.0);
    }
    let total = 2 * chosen.len();
    let mut ece = 0.0;
    let mut mce: f64 = 0.0;
    let bins = (0..n_bins)
        .map(|b| {
            let n = count[b];
            let (mp, fp) = if n > 0 {
                (sum_p[b] / n as f64, sum_y[b] / n as f64)
            } else {
                (f64::NAN, f64::NAN)
            };
            if n > 0 {
                let gap = (fp - mp).abs();
                ece += n as f64 / total as f64 * gap;
                mce = mce.max(gap);
            }
            ReliabilityBin {
                lower: b as f64 / n_bins as f64,
                upper: (b + 1) as f64 / n_bins as f64,
                count: n,
                mean_predicted: mp,
                fraction_positive: fp,
            }
        })
        .collect();
    Ok(Calibration {
        ece,
        mce,
        brier: brier / chosen.len() as f64,
        bins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_greater_is_correct() {
        let c = [2.0, 1.0, 1.0, 0.0];
        let r = [1.0, 1.0, 2.0, -1.0];
        let s = [0, 0, 1, 1];
        let wrong = pairwise_accuracy(&c, &r, &s, 2, TiePolicy::Wrong).unwrap();
        assert_eq!(wrong[0].accuracy(), 0.5);
        assert_eq!(wrong[1].accuracy(), 0.5);
        let half = pairwise_accuracy(&c, &r, &s, 2, TiePolicy::Half).unwrap();
        assert_eq!(half[0].accuracy(), 0.75);
        let drop = pairwise_accuracy(&c, &r, &s, 2, TiePolicy::Drop).unwrap();
        assert_eq!(
            (drop[0].count, drop[0].ties, drop[0].accuracy()),
            (1, 1, 1.0)
        );
    }

    #[test]
    fn calibration_of_a_hand_case() {
        // margin 0 → p = 0.5 twice in the middle bin, win rate 0.5: perfectly calibrated.
        let cal = calibration(&[1.0], &[1.0], 2, 1.0).unwrap();
        assert_eq!(cal.bins[1].count, 2);
        assert!(cal.ece.abs() < 1e-12);
        assert!((cal.brier - 0.25).abs() < 1e-12);
        // margin ln 3 → p = 0.75: bin [0.5,1) holds (0.75, won), bin [0,0.5) (0.25, lost).
        let cal = calibration(&[3f64.ln()], &[0.0], 2, 1.0).unwrap();
        assert!((cal.ece - 0.25).abs() < 1e-12, "{}", cal.ece);
    }
}
