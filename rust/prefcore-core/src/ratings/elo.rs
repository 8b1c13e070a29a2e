//! Online Elo as Chatbot Arena's monitor computes it: battles applied one after
//! another in their order, each moving the two ratings by `k · (score − expected)`
//! with `expected = σ(ln(base) / scale · (r_a − r_b))`; ratings start at 0 and `init`
//! is added at the end. Bootstrap rounds replay resampled battle orders, one round per
//! task, from given resamples (to reproduce a reference's draws) or from a seed.
//!
//! ```
//! use prefcore_core::ratings::elo::{online_elo, EloOptions};
//! use prefcore_core::ratings::Battles;
//! let battles = Battles { a: &[0, 0], b: &[1, 1], score_a: &[1.0, 1.0], n_items: 2 };
//! let r = online_elo(&battles, &EloOptions::default(), None).unwrap();
//! // First battle: expected 0.5, so +2; second: expected σ(ln 10 / 400 · 4).
//! let second = 4.0 * (1.0 - 1.0 / (1.0 + (-(10f64.ln()) / 400.0 * 4.0).exp()));
//! assert!((r[0] - (1000.0 + 2.0 + second)).abs() < 1e-12);
//! assert!((r[0] + r[1] - 2000.0).abs() < 1e-12);
//! ```

use crate::error::{Error, Result};
use crate::numeric::sigmoid;
use crate::parallel;
use crate::random::Rng;
use crate::ratings::Battles;

/// The update rule's constants (FastChat's defaults).
#[derive(Clone, Copy, Debug)]
pub struct EloOptions {
    pub k: f64,
    pub base: f64,
    pub scale: f64,
    pub init: f64,
}

impl Default for EloOptions {
    fn default() -> Self {
        EloOptions {
            k: 4.0,
            base: 10.0,
            scale: 400.0,
            init: 1000.0,
        }
    }
}

impl EloOptions {
    fn check(&self) -> Result<()> {
        let rules = [
            ("k", self.k, self.k >= 0.0, "a number >= 0"),
            ("base", self.base, self.base > 1.0, "a number > 1"),
            ("scale", self.scale, self.scale > 0.0, "a number > 0"),
            ("init", self.init, true, "a finite number"),
        ];
        for (name, value, holds, wanted) in rules {
            if !(value.is_finite() && holds) {
                return Err(Error::bad_argument(
                    name,
                    format!("Elo's {name} must be {wanted}, not {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// Ratings after the battles `order` picks (all of them in their order when None).
pub fn online_elo(
    battles: &Battles,
    options: &EloOptions,
    order: Option<&[u32]>,
) -> Result<Vec<f64>> {
    options.check()?;
    let alpha = options.base.ln() / options.scale;
    let mut rating = vec![0.0; battles.n_items];
    let mut apply = |m: usize| {
        let (a, b) = (battles.a[m] as usize, battles.b[m] as usize);
        let expected = sigmoid(alpha * (rating[a] - rating[b]));
        let update = options.k * (battles.score_a[m] - expected);
        rating[a] += update;
        rating[b] -= update;
    };
    match order {
        Some(order) => order.iter().for_each(|&m| apply(m as usize)),
        None => (0..battles.a.len()).for_each(apply),
    }
    Ok(rating.into_iter().map(|r| r + options.init).collect())
}

/// Ratings of each bootstrap round: round `r` replays `resamples[r]` (battle indices,
/// each row as long as the battles), or `rounds` orders drawn with replacement from
/// `seed` (one random stream per round) when `resamples` is None.
pub fn bootstrap_elo(
    battles: &Battles,
    options: &EloOptions,
    resamples: Option<&[Vec<u32>]>,
    rounds: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    options.check()?;
    let m = battles.a.len();
    if let Some(rows) = resamples {
        for (r, row) in rows.iter().enumerate() {
            if let Some(&bad) = row.iter().find(|&&i| i as usize >= m) {
                return Err(Error::value(
                    "resamples",
                    r,
                    format!("battle index {bad} is out of range for {m} battles"),
                ));
            }
        }
    }
    let total = resamples.map_or(rounds, |rows| rows.len());
    let one = |round: usize| -> Result<Vec<f64>> {
        match resamples {
            Some(rows) => online_elo(battles, options, Some(&rows[round])),
            None => {
                let mut rng = Rng::for_stream(seed, round as u64);
                let order: Vec<u32> = (0..m).map(|_| rng.below(m as u64) as u32).collect();
                online_elo(battles, options, Some(&order))
            }
        }
    };
    parallel::rounds(total, "bootstrap", one)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resample_round_is_the_battles_replayed_in_its_order() {
        let battles = Battles {
            a: &[0, 1, 2, 0],
            b: &[1, 2, 0, 2],
            score_a: &[1.0, 0.5, 0.0, 1.0],
            n_items: 3,
        };
        let options = EloOptions::default();
        let rows = vec![vec![3, 3, 0, 1], vec![2, 1, 0, 3]];
        let boot = bootstrap_elo(&battles, &options, Some(&rows), 0, 0).unwrap();
        for (row, got) in rows.iter().zip(&boot) {
            let a: Vec<u32> = row.iter().map(|&i| battles.a[i as usize]).collect();
            let b: Vec<u32> = row.iter().map(|&i| battles.b[i as usize]).collect();
            let s: Vec<f64> = row.iter().map(|&i| battles.score_a[i as usize]).collect();
            let replay = Battles {
                a: &a,
                b: &b,
                score_a: &s,
                n_items: 3,
            };
            assert_eq!(got, &online_elo(&replay, &options, None).unwrap());
        }
        // the same seed draws the same rounds; the ratings keep their total
        let x = bootstrap_elo(&battles, &options, None, 5, 7).unwrap();
        assert_eq!(x, bootstrap_elo(&battles, &options, None, 5, 7).unwrap());
        assert!(x
            .iter()
            .all(|r| (r.iter().sum::<f64>() - 3000.0).abs() < 1e-9));
    }

    #[test]
    fn bad_options_and_indices_are_named() {
        let battles = Battles {
            a: &[0],
            b: &[1],
            score_a: &[1.0],
            n_items: 2,
        };
        let bad = EloOptions {
            base: 1.0,
            ..EloOptions::default()
        };
        let Err(Error::InvalidArgument { argument, message }) = online_elo(&battles, &bad, None)
        else {
            panic!("base 1 was accepted");
        };
        assert_eq!(argument.as_deref(), Some("base"));
        assert_eq!(message, "Elo's base must be a number > 1, not 1");
        let err =
            bootstrap_elo(&battles, &EloOptions::default(), Some(&[vec![1]]), 0, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column 'resamples', row 0: battle index 1 is out of range for 1 battles"
        );
    }
}
