//! Several annotators' votes per item: consensus (majority or Dawid-Skene) and
//! agreement (raw, Fleiss' κ, Krippendorff's α for nominal data, per annotator).
//!
//! Inputs are dense codes (items, annotators and vote classes numbered from 0).

use crate::error::{Error, Result};

pub struct Votes<'a> {
    pub item: &'a [u32],
    pub annotator: &'a [u32],
    pub class: &'a [u32],
    pub n_items: usize,
    pub n_annotators: usize,
    pub n_classes: usize,
}

/// Consensus for one item: the winning class, or None on a tie (with how many tied).
#[derive(Clone, Debug, PartialEq)]
pub struct Consensus {
    pub class: Vec<Option<u32>>,
    /// Share of the item's votes (majority) or posterior probability (Dawid-Skene)
    /// of the consensus class; for a tie, that of each tied class.
    pub support: Vec<f64>,
    /// Number of classes sharing the top count / posterior (1 = no tie).
    pub tied: Vec<u32>,
    pub n_votes: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    /// Mean over items with ≥ 2 votes of the share of agreeing vote pairs.
    pub raw: f64,
    pub fleiss_kappa: f64,
    pub krippendorff_alpha: f64,
    /// Items with at least two votes (the ones agreement is measured on).
    pub items_rated_twice: usize,
}

impl Votes<'_> {
    /// (item, annotator, class) of vote `row`.
    fn vote(&self, row: usize) -> (usize, usize, usize) {
        (
            self.item[row] as usize,
            self.annotator[row] as usize,
            self.class[row] as usize,
        )
    }

    /// `counts[i * k + c]`: votes of class `c` on item `i`. Errors on a code out of
    /// range or an annotator voting twice on one item.
    pub fn counts(&self) -> Result<Vec<u32>> {
        let k = self.n_classes;
        let mut counts = vec![0u32; self.n_items * k];
        let mut seen: Vec<(u32, u32, usize)> = Vec::with_capacity(self.item.len());
        for row in 0..self.item.len() {
            let (i, a, c) = (self.item[row], self.annotator[row], self.class[row]);
            if i as usize >= self.n_items || c as usize >= k || a as usize >= self.n_annotators {
                return Err(Error::value("votes", row, "code out of range"));
            }
            counts[i as usize * k + c as usize] += 1;
            seen.push((i, a, row));
        }
        seen.sort_unstable();
        if let Some(w) = seen
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1)
        {
            return Err(Error::value(
                "annotator",
                w[1].2,
                format!("this annotator already voted on this item (row {})", w[0].2),
            ));
        }
        Ok(counts)
    }

    /// Majority vote per item.
    pub fn majority(&self, counts: &[u32]) -> Consensus {
        let k = self.n_classes;
        let rows = (0..self.n_items).map(|i| {
            let c = &counts[i * k..(i + 1) * k];
            let n: u32 = c.iter().sum();
            let top = c.iter().copied().max().unwrap_or(0);
            let tied = c.iter().filter(|&&v| v == top).count() as u32;
            let class =
                (tied == 1 && n > 0).then(|| c.iter().position(|&v| v == top).unwrap() as u32);
            let support = if n > 0 {
                top as f64 / n as f64
            } else {
                f64::NAN
            };
            (class, support, if n == 0 { 0 } else { tied }, n)
        });
        collect(rows)
    }

    /// Dawid-Skene EM: class priors and one confusion matrix per annotator, started
    /// from the vote shares; `class` is the argmax of each item's posterior.
    pub fn dawid_skene(&self, counts: &[u32], max_iter: usize, tol: f64) -> (Consensus, usize) {
        let (n, k, m) = (self.n_items, self.n_classes, self.n_annotators);
        // Posterior T[i, c], initialised from vote shares.
        let mut t: Vec<f64> = (0..n)
            .flat_map(|i| {
                let c = &counts[i * k..(i + 1) * k];
                let total: u32 = c.iter().sum();
                c.iter().map(move |&v| {
                    if total > 0 {
                        v as f64 / total as f64
                    } else {
                        1.0 / k as f64
                    }
                })
            })
            .collect();
        let smoothing = 1e-2;
        let mut iterations = 0;
        for it in 0..max_iter {
            iterations = it + 1;
            // M-step: priors and confusion[a, true, voted].
            let mut prior = vec![0.0; k];
            for i in 0..n {
                for c in 0..k {
                    prior[c] += t[i * k + c];
                }
            }
            let total: f64 = prior.iter().sum();
            prior.iter_mut().for_each(|p| *p /= total);
            let mut conf = vec![smoothing; m * k * k];
            for row in 0..self.item.len() {
                let (i, a, v) = self.vote(row);
                for c in 0..k {
                    conf[(a * k + c) * k + v] += t[i * k + c];
                }
            }
            for ac in conf.chunks_mut(k) {
                let s: f64 = ac.iter().sum();
                ac.iter_mut().for_each(|v| *v = (*v / s).ln());
            }
            // E-step in log space.
            let mut log_t: Vec<f64> = (0..n)
                .flat_map(|_| prior.iter().map(|p| p.max(1e-300).ln()))
                .collect();
            for row in 0..self.item.len() {
                let (i, a, v) = self.vote(row);
                for c in 0..k {
                    log_t[i * k + c] += conf[(a * k + c) * k + v];
                }
            }
            let mut change: f64 = 0.0;
            for i in 0..n {
                let row = &log_t[i * k..(i + 1) * k];
                let top = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = row.iter().map(|l| (l - top).exp()).sum();
                for c in 0..k {
                    let p = (row[c] - top).exp() / z;
                    change = change.max((p - t[i * k + c]).abs());
                    t[i * k + c] = p;
                }
            }
            if change < tol {
                break;
            }
        }
        let rows = (0..n).map(|i| {
            let p = &t[i * k..(i + 1) * k];
            let top = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            // Posteriors within 1e-9 of the top are a tie.
            let tied = p.iter().filter(|&&v| top - v <= 1e-9).count() as u32;
            let class = (tied == 1).then(|| p.iter().position(|&v| v == top).unwrap() as u32);
            let votes: u32 = counts[i * k..(i + 1) * k].iter().sum();
            (class, top, tied, votes)
        });
        (collect(rows), iterations)
    }

    /// Raw agreement, Fleiss' κ (unequal numbers of raters allowed) and
    /// Krippendorff's α (nominal), over items with at least two votes.
    pub fn agreement(&self, counts: &[u32]) -> Agreement {
        let k = self.n_classes;
        let mut raw_sum = 0.0;
        let mut rated = 0usize;
        let mut class_totals = vec![0.0; k];
        let mut pairable = 0.0; // Σ n_i over items with n_i ≥ 2
        let mut observed_disagreement = 0.0; // Σ_u Σ_{c≠k} o_ck contributions
        for i in 0..self.n_items {
            let c = &counts[i * k..(i + 1) * k];
            let n: f64 = c.iter().map(|&v| v as f64).sum();
            if n < 2.0 {
                continue;
            }
            rated += 1;
            let same: f64 = c.iter().map(|&v| v as f64 * (v as f64 - 1.0)).sum();
            raw_sum += same / (n * (n - 1.0));
            for (t, &v) in class_totals.iter_mut().zip(c) {
                *t += v as f64;
            }
            pairable += n;
            observed_disagreement += (n * (n - 1.0) - same) / (n - 1.0);
        }
        if rated == 0 {
            return Agreement {
                raw: f64::NAN,
                fleiss_kappa: f64::NAN,
                krippendorff_alpha: f64::NAN,
                items_rated_twice: 0,
            };
        }
        let raw = raw_sum / rated as f64;
        let expected: f64 = class_totals.iter().map(|t| (t / pairable).powi(2)).sum();
        let fleiss_kappa = (raw - expected) / (1.0 - expected);
        let sum_sq: f64 = class_totals.iter().map(|t| t * t).sum();
        let expected_disagreement = pairable * pairable - sum_sq;
        let krippendorff_alpha =
            1.0 - (pairable - 1.0) * observed_disagreement / expected_disagreement;
        Agreement {
            raw,
            fleiss_kappa,
            krippendorff_alpha,
            items_rated_twice: rated,
        }
    }

    /// Per annotator: (votes, share of votes equal to the consensus, over items with
    /// a consensus).
    pub fn annotator_agreement(&self, consensus: &[Option<u32>]) -> Vec<(u32, f64)> {
        let mut agree = vec![0u32; self.n_annotators];
        let mut judged = vec![0u32; self.n_annotators];
        let mut votes = vec![0u32; self.n_annotators];
        for row in 0..self.item.len() {
            let a = self.annotator[row] as usize;
            votes[a] += 1;
            if let Some(c) = consensus[self.item[row] as usize] {
                judged[a] += 1;
                agree[a] += (c == self.class[row]) as u32;
            }
        }
        (0..self.n_annotators)
            .map(|a| {
                let share = if judged[a] > 0 {
                    agree[a] as f64 / judged[a] as f64
                } else {
                    f64::NAN
                };
                (votes[a], share)
            })
            .collect()
    }
}

fn collect(rows: impl Iterator<Item = (Option<u32>, f64, u32, u32)>) -> Consensus {
    let mut out = Consensus {
        class: Vec::new(),
        support: Vec::new(),
        tied: Vec::new(),
        n_votes: Vec::new(),
    };
    for (class, support, tied, n) in rows {
        out.class.push(class);
        out.support.push(support);
        out.tied.push(tied);
        out.n_votes.push(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_reports_ties_and_krippendorff_matches_a_hand_count() {
        // Item 0: a, a, b; item 1: a, b (tie); item 2: b only.
        let votes = Votes {
            item: &[0, 0, 0, 1, 1, 2],
            annotator: &[0, 1, 2, 0, 1, 0],
            class: &[0, 0, 1, 0, 1, 1],
            n_items: 3,
            n_annotators: 3,
            n_classes: 2,
        };
        let counts = votes.counts().unwrap();
        let m = votes.majority(&counts);
        assert_eq!(m.class, vec![Some(0), None, Some(1)]);
        assert_eq!(m.tied, vec![1, 2, 1]);
        let a = votes.agreement(&counts);
        // Pairable values: 5 (a:3, b:2). o_ab = 2/2 + 1/1 = 2 (both orders: 4).
        // α = 1 − (n − 1) · 4 / (n² − Σ n_c²) = 1 − 4 · 4 / (25 − 13) = −1/3.
        assert!((a.krippendorff_alpha + 1.0 / 3.0).abs() < 1e-12);
        // Raw: item 0 has 1 agreeing pair of 3, item 1 none: mean 1/6.
        assert!((a.raw - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn a_second_vote_by_one_annotator_is_an_error() {
        let votes = Votes {
            item: &[0, 0],
            annotator: &[1, 1],
            class: &[0, 1],
            n_items: 1,
            n_annotators: 2,
            n_classes: 2,
        };
        assert!(votes.counts().is_err());
    }
}
